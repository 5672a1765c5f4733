"""What the report reads from a run folder (docs/results.md), and nothing else.

The report diagnostic receives the work folders of its ancestor scripts
(``<session>/work/<diagnostic>/<script>``). From them it reads:

- the metrics table ``metrics.csv`` and ``excluded.csv`` of the metrics script;
- the provenance records ``<session>/run/<diagnostic>/<script>/diagnostic_provenance.yml``
  of every ancestor script (figures with their ``figure``/``figure_group``,
  captions and ancestors; the fields and tables with their captions);
- the ``synthetic`` global attribute of the NetCDF files of the ancestors and
  of the regional series the metrics were computed from;
- the settings of the metrics script (period, threshold) and the filled recipe.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import yaml

from smeval.outputs import EXCLUDED, MEMBERS, METRICS

#: Figure groups of SPEC section 6, in the order of the report's sections.
FIGURE_GROUPS = {
    "regions": "Regions",
    "maps": "Maps: climatologies, bias ratios and correlations",
    "annual_cycles": "Annual cycles",
    "taylor": "Taylor diagrams",
    "skill": "Skill: Taylor skill scores, counts and ranking",
}
#: File types shown as images.
IMAGE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".gif")
#: File types of the data behind a figure.
DATA_SUFFIXES = (".csv", ".nc", ".json")
#: Global attribute that marks synthetic input (smeval.diag.io.SYNTHETIC_ATTRIBUTE;
#: not imported to keep iris out of the report).
SYNTHETIC_ATTRIBUTE = "synthetic"
EXCLUDED_COLUMNS = ["dataset", "member", "project", "variable", "reason"]


def session_of(work_dir: Path) -> Path:
    """Return the run folder of a script's work folder ``<session>/work/<diagnostic>/<script>``."""
    work_dir = Path(work_dir)
    if work_dir.parent.parent.name != "work":
        msg = f"{work_dir} is not a script work folder <session>/work/<diagnostic>/<script>"
        raise ValueError(msg)
    return work_dir.parents[2]


def run_dir_of(work_dir: Path) -> Path:
    """``<session>/run/<diagnostic>/<script>`` of a work folder."""
    work_dir = Path(work_dir)
    return session_of(work_dir) / "run" / work_dir.parent.name / work_dir.name


def script_name(work_dir: Path) -> str:
    """``<diagnostic>/<script>`` of a work folder."""
    return f"{Path(work_dir).parent.name}/{Path(work_dir).name}"


def _read_run_yaml(work_dir: Path, name: str) -> dict[str, Any]:
    """Return the YAML file ``name`` of a script's run folder, or {} if missing or empty."""
    path = run_dir_of(work_dir) / name
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def read_provenance(work_dir: Path) -> dict[str, dict[str, Any]]:
    """Return the provenance records (file -> record) a script wrote, or {} if none."""
    return _read_run_yaml(work_dir, "diagnostic_provenance.yml")


def read_settings(work_dir: Path) -> dict[str, Any]:
    """Return the ``settings.yml`` ESMValCore wrote for a script, or {}."""
    return _read_run_yaml(work_dir, "settings.yml")


def _figure_number(record: dict[str, Any], path: Path) -> int | None:
    for text in (str(record.get("figure", "")), path.name):
        match = re.search(
            r"(?:fig\.?\s*|^fig)(\d+)", text, flags=re.IGNORECASE
        )
        if match:
            return int(match.group(1))
    return None


@dataclass
class Figure:
    """One figure of the run with its provenance."""

    image: Path
    group: str
    caption: str
    label: str
    number: int | None
    ancestors: list[Path]
    other_formats: list[Path] = field(default_factory=list)
    script: str = ""


@dataclass
class Output:
    """A non-figure output of an ancestor script (a field, a table)."""

    path: Path
    caption: str
    script: str
    ancestors: list[Path]


@dataclass
class RunInputs:
    """Everything the report shows, read from the run folder."""

    session: Path
    table: pd.DataFrame
    excluded: pd.DataFrame
    metrics_dir: Path
    metrics_settings: dict[str, Any]
    figures: list[Figure]
    outputs: list[Output]
    references: list[str]
    synthetic_files: list[tuple[Path, str]]
    scanned_files: int
    filled_recipe: Path | None
    ancestor_products: list[Path]
    #: ``members.csv`` of the metrics: members of each model and variable in its mean.
    members: pd.DataFrame = field(default_factory=pd.DataFrame)


def _netcdf_synthetic(path: Path) -> str | None:
    """Return the ``synthetic`` global attribute of a NetCDF file, or None."""
    import netCDF4

    try:
        with netCDF4.Dataset(str(path)) as ds:
            if SYNTHETIC_ATTRIBUTE in ds.ncattrs():
                return str(ds.getncattr(SYNTHETIC_ATTRIBUTE))
    except OSError:
        return None
    return None


def scan_synthetic(folders: list[Path]) -> tuple[list[tuple[Path, str]], int]:
    """NetCDF files under ``folders`` with a ``synthetic`` global attribute.

    Returns ``(synthetic, n_scanned)``: (path, attribute value) pairs and the
    number of NetCDF files read.
    """
    seen: set[Path] = set()
    synthetic = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.nc")):
            if path in seen:
                continue
            seen.add(path)
            value = _netcdf_synthetic(path)
            if value is not None:
                synthetic.append((path, value))
    return synthetic, len(seen)


def rebase(path: Path | str, session: Path) -> Path:
    """``path`` inside ``session``, for records written before the run folder was moved or copied.

    Provenance records hold absolute paths; a path under another folder of
    the same run name is mapped into ``session``.
    """
    path = Path(path)
    if path.is_relative_to(session):
        return path
    parts = path.parts
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == session.name:
            return session.joinpath(*parts[i + 1 :])
    return path


def _paths(items, session: Path) -> list[Path]:
    return [rebase(a, session) for a in (items or [])]


def _output(
    path: Path, record: dict[str, Any], script: str, session: Path
) -> Output:
    return Output(
        path=path,
        caption=str(record.get("caption", "")),
        script=script,
        ancestors=_paths(record.get("ancestors"), session),
    )


def _metrics_dir(ancestor_dirs: list[Path]) -> Path:
    """Return the first ancestor work folder with ``metrics.csv``.

    Raises
    ------
    FileNotFoundError
        If no ancestor wrote ``metrics.csv``.
    """
    metrics_dirs = [d for d in ancestor_dirs if (d / METRICS).is_file()]
    if not metrics_dirs:
        msg = (
            "the report needs the metrics table: no metrics.csv in the ancestor work folders "
            + ", ".join(map(str, ancestor_dirs))
            + " (add skill/metrics to the report's ancestors)"
        )
        raise FileNotFoundError(msg)
    return metrics_dirs[0]


def _read_metrics(metrics_dir: Path) -> pd.DataFrame:
    """``metrics.csv``, with empty text columns read as "" (not NaN)."""
    table = pd.read_csv(
        metrics_dir / METRICS,
        keep_default_na=False,
        na_values=[""],
        dtype={"dataset": str, "family": str, "reference": str, "region": str},
    )
    for col in ("family", "resolution_group", "kind"):
        if col in table:
            table[col] = table[col].fillna("")
    return table


def _read_excluded(
    metrics_dir: Path, ancestor_dirs: list[Path]
) -> pd.DataFrame:
    """Return what the metrics left out (the series' exclusions included), then what other ancestors (the correlation maps) left out."""
    frames = []
    for work in [metrics_dir, *(d for d in ancestor_dirs if d != metrics_dir)]:
        excluded_path = work / EXCLUDED
        if excluded_path.is_file() and excluded_path.stat().st_size:
            with contextlib.suppress(pd.errors.EmptyDataError):
                frames.append(
                    pd.read_csv(
                        excluded_path, dtype=str, keep_default_na=False
                    )
                )
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=EXCLUDED_COLUMNS)
    )


@dataclass
class _Records:
    """The provenance records of the ancestors, sorted into figures and other outputs."""

    #: (script, file stem) -> [(path, record)] of the figure-group files
    by_stem: dict[tuple[str, str], list[tuple[Path, dict[str, Any]]]] = field(
        default_factory=dict
    )
    outputs: list[Output] = field(default_factory=list)
    references: set[str] = field(default_factory=set)
    products: list[Path] = field(default_factory=list)


def _read_records(ancestor_dirs: list[Path], session: Path) -> _Records:
    """Read the provenance records of every ancestor script."""
    found = _Records()
    for work in ancestor_dirs:
        name = script_name(work)
        for filename, record in sorted(read_provenance(work).items()):
            record = record or {}
            path = rebase(filename, session)
            found.products.append(path)
            found.references.update(record.get("references") or [])
            if record.get("figure_group"):
                # The PNG and the PDF of a figure may sit in different folders (plots/.../pdf/).
                found.by_stem.setdefault((name, path.stem), []).append(
                    (path, record)
                )
            else:
                found.outputs.append(_output(path, record, name, session))
    return found


def _figure(
    name: str,
    files: list[tuple[Path, dict[str, Any]]],
    work_dir: Path,
    session: Path,
) -> Figure | None:
    """Return the figure of script ``name`` made of ``files`` (its formats); None if none is an image."""
    images = sorted(
        (p for p, _ in files if p.suffix.lower() in IMAGE_SUFFIXES),
        key=lambda p: (p.suffix.lower() != ".png", p.suffix),
    )
    if not images:
        return None
    image = images[0]
    record = dict(files)[image]
    number = _figure_number(record, image)
    # The figure's own data file sits in the script's work folder under
    # the figure's stem (docs/results.md); then come its upstream files.
    own = sorted(
        p
        for p in work_dir.glob(f"{image.stem}.*")
        if p.suffix.lower() in DATA_SUFFIXES
    )
    ancestors = own + [
        a for a in _paths(record.get("ancestors"), session) if a not in own
    ]
    return Figure(
        image=image,
        group=str(record["figure_group"]),
        caption=str(record.get("caption", "")),
        label=str(
            record.get("figure")
            or (f"Fig. {number}" if number else image.stem)
        ),
        number=number,
        ancestors=ancestors,
        script=name,
        other_formats=sorted(p for p, _ in files if p != image),
    )


def _figures(
    by_stem: dict[tuple[str, str], list[tuple[Path, dict[str, Any]]]],
    ancestor_dirs: list[Path],
    session: Path,
) -> tuple[list[Figure], list[Output]]:
    """Return the figures of ``by_stem`` (:attr:`_Records.by_stem`), sorted by number, and the outputs among its files.

    The files of a figure group without an image are listed with the outputs.
    """
    work_of = {script_name(w): w for w in ancestor_dirs}
    figures, outputs = [], []
    for (name, _), files in by_stem.items():
        figure = _figure(name, files, work_of[name], session)
        if figure is None:
            outputs.extend(_output(p, r, name, session) for p, r in files)
        else:
            figures.append(figure)
    figures.sort(
        key=lambda f: (f.number if f.number is not None else 99, f.image.name)
    )
    return figures, outputs


def _scan_run_synthetic(
    session: Path, metrics_settings: dict[str, Any], ancestor_dirs: list[Path]
) -> tuple[list[tuple[Path, str]], int]:
    """Synthetic input: the NetCDF files of the ancestors and the regional series the metrics were computed from (the metrics script's own inputs)."""
    series_dirs = [
        rebase(p, session) for p in metrics_settings.get("input_files", [])
    ]
    series_dirs = [d for d in series_dirs if d.is_dir()]
    if not series_dirs:
        series_dirs = [session / "work" / "soil_moisture" / "regional_series"]
    return scan_synthetic(
        [d for d in [*ancestor_dirs, *series_dirs] if d.is_dir()]
    )


def read_run(ancestor_dirs: list[Path]) -> RunInputs:
    """Read what the report needs from the work folders of its ancestors.

    Raises
    ------
    FileNotFoundError
        If no ancestor wrote ``metrics.csv``.
    """
    ancestor_dirs = [Path(d) for d in ancestor_dirs]
    metrics_dir = _metrics_dir(ancestor_dirs)
    session = session_of(metrics_dir)
    table = _read_metrics(metrics_dir)
    excluded = _read_excluded(metrics_dir, ancestor_dirs)
    metrics_settings = read_settings(metrics_dir)
    records = _read_records(ancestor_dirs, session)
    figures, figure_outputs = _figures(records.by_stem, ancestor_dirs, session)
    outputs = sorted(
        [*records.outputs, *figure_outputs],
        key=lambda o: (o.script, o.path.name),
    )
    synthetic, scanned = _scan_run_synthetic(
        session, metrics_settings, ancestor_dirs
    )
    filled = sorted((session / "run").glob("recipe_*_filled.yml"))
    return RunInputs(
        session=session,
        table=table,
        excluded=excluded,
        metrics_dir=metrics_dir,
        metrics_settings=metrics_settings,
        figures=figures,
        outputs=outputs,
        references=sorted(records.references),
        synthetic_files=synthetic,
        scanned_files=scanned,
        filled_recipe=filled[0] if filled else None,
        ancestor_products=records.products,
        members=_read_members(metrics_dir),
    )


def _read_members(metrics_dir: Path) -> pd.DataFrame:
    """``members.csv`` of the metrics script (empty for a run written before it existed)."""
    path = metrics_dir / MEMBERS
    if not path.is_file() or not path.stat().st_size:
        return pd.DataFrame()
    return pd.read_csv(
        path,
        dtype={"dataset": str, "variable": str, "members": str},
        keep_default_na=False,
    )


class Linker:
    """Relative links from the report's folder to files of the same run.

    A file is linked only if it exists and lies inside the run folder (the
    preprocessed files are usually deleted at the end of a run, and files
    outside the run do not travel with it); otherwise :meth:`href` is None.
    """

    def __init__(self, session: Path, page_dir: Path) -> None:
        self.session = Path(session).resolve()
        self.page_dir = Path(page_dir).resolve()

    def inside(self, path: Path) -> bool:
        """Return whether ``path`` lies inside the run's session folder."""
        try:
            Path(path).resolve().relative_to(self.session)
        except ValueError:
            return False
        return True

    def href(self, path: Path | str | None) -> str | None:
        """Return the link to ``path``, or None for files not shown (outside the run, missing, preprocessed)."""
        if path is None:
            return None
        path = Path(path)
        if not (self.inside(path) and path.is_file()):
            return None
        if path.resolve().is_relative_to(self.session / "preproc"):
            return None
        rel = os.path.relpath(path.resolve(), self.page_dir)
        return quote(Path(rel).as_posix())

    def label(self, path: Path | str) -> str:
        """Return the path relative to the run folder (or the file name if outside)."""
        path = Path(path)
        return (
            path.resolve().relative_to(self.session).as_posix()
            if self.inside(path)
            else path.name
        )

    def citation(self, path: Path | str) -> str | None:
        """Link to the ``<stem>_citation.bibtex`` ESMValCore wrote beside an output."""
        path = Path(path)
        return self.href(path.with_name(f"{path.stem}_citation.bibtex"))
