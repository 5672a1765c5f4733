"""Copy the example plots of docs/recipe_soilmoisture.rst from a run of the recipe.

Usage (from the repository root)::

    python docs/make_example_plots.py RUN_DIR
    python docs/make_example_plots.py --tiny WORK_DIR

``RUN_DIR`` is a finished run of ``recipe_soilmoisture.yml`` on the synthetic
sample archive (e.g. the one ``make demo`` prints). ``--tiny WORK_DIR``
first makes such a run: it generates the tiny archive of the end-to-end test
(``smeval sample-data --scale tiny``, CMORized with ``smeval cmorize``) in
``WORK_DIR`` and runs the recipe on it, restricted to the archive's data sets
and years (a few minutes on 2 cores).

The chosen PNGs are copied to ``docs/figures/soilmoisture/`` under the names
the documentation uses, shrunk until each is at most ``MAX_BYTES``. A figure
with an input file that is not from the synthetic sample archive (by its
provenance record) is refused: the captions say "synthetic sample data, not
a result".
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

from PIL import Image

from smeval.provenance_chain import lineage_files

ROOT = Path(__file__).resolve().parents[1]
#: Where the documentation's figures live.
OUT_DIR = ROOT / "docs" / "figures" / "soilmoisture"
#: Name in the documentation -> the run's PNG (glob under ``plots/``).
FIGURES = {
    "fig01_regions.png": "*/*/fig01_regions.png",
    "fig02_sm_shallow.png": "*/*/fig02_*sm_shallow*.png",
    "fig07_taylor_sm_shallow.png": "*/*/fig07_*sm_shallow*.png",
    "fig11_correlation_sm_pme.png": "*/*/fig11_correlation_sm_pme.png",
    "fig12_tss_sm_shallow.png": "*/*/fig12_*sm_shallow*.png",
}
#: Largest size of a copied figure (bytes).
MAX_BYTES = 200_000
#: The tiny archive of the end-to-end test (tests/e2e/conftest.py), without its planted model.
TINY_MODELS = ("MPI-ESM1-2-LR", "MPI-ESM1-2-HR", "CNRM-CM6-1", "CAMS-CSM1-0")
TINY_YEARS = "1979-1981"
#: XML namespaces of ESMValCore's provenance records.
PROV = "http://www.w3.org/ns/prov#"
ATTRIBUTE = "https://www.esmvaltool.org/attribute"
#: ``smeval cmorize`` names of the reanalyses.
REANALYSES = ("ERA5", "ERA-Interim", "GLDAS")


def _smeval(*args: str) -> None:
    subprocess.run(
        [str(Path(sys.executable).with_name("smeval")), *args], check=True
    )


def tiny_run(work: Path) -> Path:
    """Generate the tiny synthetic archive in ``work``, run the recipe on it; returns the run folder."""
    from smeval import (
        runner,
    )

    archive = work / "archive"
    if not (archive / "OBS6").is_dir():
        _smeval(
            "sample-data",
            "--out",
            str(archive),
            "--scale",
            "tiny",
            "--models",
            *TINY_MODELS,
            "--years",
            TINY_YEARS,
            "--reanalyses",
            "raw",
            "--quiet",
        )
        for name in REANALYSES:
            _smeval(
                "cmorize",
                name,
                "--raw",
                str(archive / "raw" / name),
                "--out",
                str(archive / "OBS6"),
                "--no-progress",
            )
    present = runner.available(archive)
    start, end = TINY_YEARS.split("-")
    recipe = runner.write_recipe(
        work / "recipe_soilmoisture.yml",
        timerange=f"{start}/{end}",
        edit=lambda r: runner.restrict_to(r, present),
    )
    config = runner.write_config(work / "config", archive, work / "output")
    process = runner.run_recipe(recipe, config, check=False)
    if process.returncode:
        sys.exit(
            f"make_example_plots: esmvaltool run failed (exit {process.returncode}); "
            f"see the log in {work / 'output'}"
        )
    return runner.latest_run_dir(work / "output", recipe.name)


def check_synthetic(figure: Path, run: Path) -> None:
    """Exit unless every input file in ``figure``'s provenance carries the ``synthetic`` attribute.

    ESMValCore records each input file of the run (not under the run folder)
    with its global attributes, in the provenance file of the output made
    from it, which the figure's provenance reaches through its chain of
    ancestors (:mod:`smeval.provenance_chain`); the sample archive marks
    every file it writes with ``synthetic``.
    """
    provenance = figure.with_name(f"{figure.stem}_provenance.xml")
    if not provenance.is_file():
        sys.exit(
            f"make_example_plots: {provenance}: missing; cannot tell whether {figure.name} is synthetic"
        )
    # smeval's outputs refer to their ancestors' provenance files: follow them.
    entities = [
        entity
        for path in lineage_files(provenance)
        for entity in ET.parse(path).iter(f"{{{PROV}}}entity")  # noqa: S314 - ESMValCore's own files
    ]
    inputs = [
        entity
        for entity in entities
        if entity.get(f"{{{PROV}}}id", "").startswith("file:")
        and f"/{run.name}/" not in entity.get(f"{{{PROV}}}id", "")
    ]
    real = [
        e.get(f"{{{PROV}}}id")[5:]
        for e in inputs
        if e.find(f"{{{ATTRIBUTE}}}synthetic") is None
    ]
    if not inputs or real:
        sys.exit(
            f"make_example_plots: {figure.name}: {len(real)} of {len(inputs)} input files are not from the "
            f"synthetic sample archive (e.g. {real[:1]}); the example captions say synthetic"
        )


def shrunk_png(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    """Return the PNG at ``path`` in 256 colours, scaled down by steps of 0.8 until it is at most ``max_bytes``.

    The figures use few colours (discrete colour levels, lines, text), so a
    palette without dithering keeps them legible at full size where a
    true-colour PNG would have to shrink until the text is unreadable.
    """
    image = Image.open(path).convert("RGB")
    scale = 1.0
    while True:
        size = (
            max(1, round(image.width * scale)),
            max(1, round(image.height * scale)),
        )
        buffer = io.BytesIO()
        small = image.resize(size, Image.LANCZOS) if scale < 1 else image
        # Fast octree keeps small markers' colours, which median cut merges into grey.
        small.quantize(
            256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
        ).save(buffer, format="PNG", optimize=True)
        if buffer.tell() <= max_bytes:
            return buffer.getvalue()
        scale *= 0.8


def copy_figures(run: Path, out_dir: Path = OUT_DIR) -> list[Path]:
    """Copy the chosen figures of ``run`` to ``out_dir``; returns the written files."""
    written = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, pattern in FIGURES.items():
        found = sorted((run / "plots").glob(pattern))
        if len(found) != 1:
            sys.exit(
                f"make_example_plots: {run}/plots/{pattern}: expected one figure, found {len(found)}"
            )
        check_synthetic(found[0], run)
        target = out_dir / name
        target.write_bytes(shrunk_png(found[0]))
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> None:
    """Copy the example figures from a run, or from a new run on the tiny archive."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "run",
        nargs="?",
        type=Path,
        help="run folder of recipe_soilmoisture.yml",
    )
    source.add_argument(
        "--tiny",
        type=Path,
        metavar="WORK_DIR",
        help="make a run on the tiny synthetic archive in WORK_DIR first",
    )
    args = parser.parse_args(argv)
    run = tiny_run(args.tiny.absolute()) if args.tiny else args.run
    for path in copy_figures(run):
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size / 1000:.0f} kB")


if __name__ == "__main__":
    main()
