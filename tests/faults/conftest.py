"""One tiny archive per session for the fault-injection suite; each case plants its faults in a copy.

Three models (MPI-ESM1-2-LR, CNRM-CM6-1, MIROC6), two members each,
1979-1981, and the three reanalyses as OBS6 files: about 30 s to generate.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smeval import runner

from .plant import copy_archive

MODELS = ["MPI-ESM1-2-LR", "CNRM-CM6-1", "MIROC6"]
YEARS = "1979-1981"
TIMERANGE = "1979/1981"


@pytest.fixture(scope="session")
def tiny_archive(tmp_path_factory) -> Path:
    archive = tmp_path_factory.mktemp("faults") / "archive"
    exe = Path(sys.executable).with_name("smeval")
    subprocess.run(
        [
            str(exe),
            "sample-data",
            "--out",
            str(archive),
            "--scale",
            "tiny",
            "--models",
            *MODELS,
            "--members",
            "2",
            "--years",
            YEARS,
            "--reanalyses",
            "obs6",
            "--quiet",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return archive


@pytest.fixture
def archive(tiny_archive, tmp_path) -> Path:
    """A copy of the tiny archive (hard links) in which a test may plant faults (tests/faults/plant.py)."""
    return copy_archive(tiny_archive, tmp_path / "archive")


def case_recipe(tmp_path: Path, archive: Path, edit=None) -> tuple[Path, Path]:
    """The repository's recipe for ``archive`` (its models, 1979-1981) and a configuration for it.

    The data sets are those of the unchanged archive: faults planted after
    this call are seen by the run. ``edit`` may change the recipe further.
    """
    present = runner.available(archive)

    def change(recipe):
        runner.restrict_to(recipe, present)
        if edit is not None:
            edit(recipe)

    recipe = runner.write_recipe(
        tmp_path / "recipe_soilmoisture.yml", timerange=TIMERANGE, edit=change
    )
    config = runner.write_config(
        tmp_path / "config", archive, tmp_path / "output"
    )
    return recipe, config


def misspelled_region(recipe: dict) -> None:
    """``edit`` for :func:`case_recipe`: one model and ERA5 for shallow soil moisture, and a misspelled region.

    The regional_series script then fails on its options, after preprocessing.
    """
    diagnostic = recipe["diagnostics"]["soil_moisture"]
    diagnostic["variables"] = {"mrsos": diagnostic["variables"]["mrsos"]}
    diagnostic["variables"]["mrsos"]["additional_datasets"] = [
        d
        for d in diagnostic["variables"]["mrsos"]["additional_datasets"]
        if d["dataset"] in {"MIROC6", "ERA5"}
    ]
    diagnostic["scripts"]["regional_series"]["regions"] = ["EUR", "EUROPE"]
    diagnostic["scripts"]["regional_series"].pop("map_variables")
    recipe["diagnostics"] = {"soil_moisture": diagnostic}
