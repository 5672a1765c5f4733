"""One real `esmvaltool run` of recipe_soilmoisture.yml on a tiny generated archive.

The archive is made as `make demo` makes it (sample generator with raw
reanalysis files, then the converters), plus:
- CAMS-CSM1-0, which has no mrsol in Table 1, to prove the run tolerates it;
- PLANTED-1, whose regional statistics against ERA5 are known (--planted).
The recipe is the repository's, with the period shortened to the archive's
years and each variable's data sets restricted to those in the archive.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smeval import runner

MODELS = ["MPI-ESM1-2-LR", "MPI-ESM1-2-HR", "CNRM-CM6-1", "CAMS-CSM1-0"]
YEARS = "1979-1981"
REFERENCES = {
    "ERA5": "ERA5",
    "ERA-Interim": "ERA-Interim",
    "GLDAS": "GLDAS-NOAH",
}


def _smeval(*args: str) -> None:
    exe = Path(sys.executable).with_name("smeval")
    subprocess.run(
        [str(exe), *args], check=True, capture_output=True, text=True
    )


def _add_planted(recipe: dict, planted: dict) -> None:
    entry = {
        "project": "CMIP6",
        "dataset": planted["dataset"],
        "institute": planted["institute"],
        "activity": "CMIP",
        "exp": "historical",
        "ensemble": planted["ensemble"],
        "grid": planted["grid"],
    }
    for name in ("mrsos", "sftlf", "areacella"):
        recipe["diagnostics"]["soil_moisture"]["variables"][name][
            "additional_datasets"
        ].append(dict(entry))


@pytest.fixture(scope="session")
def e2e(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    archive = root / "archive"
    _smeval(
        "sample-data",
        "--out",
        str(archive),
        "--scale",
        "tiny",
        "--models",
        *MODELS,
        "--years",
        YEARS,
        "--planted",
        "ERA5",
        "--reanalyses",
        "raw",
        "--quiet",
    )
    for raw_name in REFERENCES:
        _smeval(
            "cmorize",
            raw_name,
            "--raw",
            str(archive / "raw" / raw_name),
            "--out",
            str(archive / "OBS6"),
            "--no-progress",
        )
    planted = json.loads((archive / "planted_ERA5.json").read_text())
    present = runner.available(archive)

    def edit(recipe):
        runner.restrict_to(recipe, present)
        _add_planted(recipe, planted)

    start, end = YEARS.split("-")
    recipe = runner.write_recipe(
        root / "recipe_soilmoisture.yml", timerange=f"{start}/{end}", edit=edit
    )
    # Keep preproc/ so that the test can check every provenance ancestor
    # exists; write it compressed, as advised at the paper's scale, so that
    # the recipe's codec (zstd, smeval.preproc_codec) is read back by every
    # script (the other end-to-end runs keep ESMValCore's default).
    config = runner.write_config(
        root / "config",
        archive,
        root / "output",
        remove_preproc_dir=False,
        compress_netcdf=True,
    )
    process = runner.run_recipe(recipe, config, check=False)
    assert process.returncode == 0, (
        process.stdout[-5000:] + process.stderr[-5000:]
    )
    return {
        "run": runner.latest_run_dir(root / "output", recipe.name),
        "archive": archive,
        "planted": planted,
        "present": present,
        "recipe": recipe,
        "root": root,
    }
