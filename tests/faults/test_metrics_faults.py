"""The metrics script: references must exist, observations never become models, units are checked (issue 19, point 3)."""

from __future__ import annotations

from pathlib import Path

import iris.coords
import numpy as np
import pandas as pd
import pytest

from smeval.core.regions import ALL_REGIONS
from smeval.diag.io import save_cube, series_cube
from smeval.diag.metrics import write_metrics
from smeval.diag.options import OptionsError
from smeval.diag.skipped import skipped_inputs

REGIONS = tuple(r.id for r in ALL_REGIONS)
RNG = np.random.default_rng(19)


def _write(
    folder: Path,
    dataset: str,
    project: str,
    member: str = "",
    units: str = "kg m-2",
    family: str = "",
) -> None:
    """A 36-month sm_shallow series file as the regional-series script writes it."""
    time = iris.coords.DimCoord(
        np.arange(36) * 30.4 + 15,
        standard_name="time",
        units="days since 1979-01-01",
        var_name="time",
    )
    template = iris.cube.Cube(np.zeros(1), var_name="mrsos", units=units)
    values = 20 + RNG.normal(size=(36, len(REGIONS)))
    attributes = {
        "smeval_dataset": dataset,
        "smeval_project": project,
        "smeval_member": member,
        "smeval_variable": "sm_shallow",
        "smeval_native_nlat": np.int32(64),
        "smeval_family": family or dataset,
    }
    cube = series_cube(
        values, time, REGIONS, template, "regional mean", attributes
    )
    save_cube(cube, folder / "sm_shallow" / f"{dataset}_{member}.nc")


@pytest.fixture
def run(tmp_path):
    series = tmp_path / "work" / "soil_moisture" / "regional_series"
    work = tmp_path / "work" / "skill" / "metrics"
    for folder in (series / "sm_shallow", work, tmp_path / "run"):
        folder.mkdir(parents=True)
    for name in ("ERA5", "ERA-Interim", "GLDAS-NOAH"):
        _write(series, name, "OBS6")
    for model in ("MIROC6", "CanESM5"):
        _write(series, model, "CMIP6", "r1i1p1f1")
    return {
        "ancestor_dirs": [series],
        "work_dir": str(work),
        "run_dir": str(tmp_path / "run"),
    }, series


def test_a_misspelled_reference_stops_with_the_right_name(run):
    cfg, _ = run
    with pytest.raises(
        OptionsError,
        match=r"reference `GLDAS` .* not a data set of this run \(did you mean `GLDAS-NOAH`\?\)",
    ):
        write_metrics({**cfg, "references": ["ERA5", "ERA-Interim", "GLDAS"]})


def test_a_model_as_reference_stops(run):
    cfg, _ = run
    with pytest.raises(
        OptionsError, match=r"reference `MIROC6` .* is a CMIP6 data set"
    ):
        write_metrics({**cfg, "references": ["ERA5", "MIROC6"]})


def test_an_observation_left_out_of_the_references_is_no_model(run):
    cfg, _ = run
    out = write_metrics({**cfg, "references": ["ERA5", "ERA-Interim"]})
    table = pd.read_csv(out["metrics"])
    assert set(table.loc[table.kind == "model", "dataset"]) == {
        "MIROC6",
        "CanESM5",
    }
    assert not table.dataset.str.contains("GLDAS").any()
    excluded = pd.read_csv(out["excluded"], keep_default_na=False)
    assert (
        "not among the references"
        in excluded.set_index("dataset").loc["GLDAS-NOAH", "reason"]
    )


def test_a_series_in_other_units_is_excluded(run):
    cfg, series = run
    _write(series, "MIROC6", "CMIP6", "r2i1p1f1", units="m3 m-3")
    out = write_metrics(cfg)
    excluded = pd.read_csv(out["excluded"], keep_default_na=False)
    row = excluded[
        (excluded.dataset == "MIROC6") & (excluded.member == "r2i1p1f1")
    ].iloc[0]
    assert "units 'm3 m-3' where sm_shallow must be in kg m-2" in row.reason
    members = pd.read_csv(out["members"], keep_default_na=False)
    assert members.set_index("dataset").loc["MIROC6", "n_members"] == 1


def test_skipped_inputs_are_read_from_esmvalcores_log(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "main_log.txt").write_text(
        "INFO    [1] Skipping: {'No input data available for years 1981 in files:\\n/a/mrsos_Lmon_MIROC6_"
        "historical_r2i1p1f1_gn_197901-198012.nc'}\n"
        "INFO    [1] Skipping: {'Missing data for Dataset: pr, Amon, CMIP6, CanESM5, CMIP, historical, "
        "r3i1p1f1, gn'}\n",
        encoding="utf-8",
    )
    rows = skipped_inputs(tmp_path)
    assert rows == [
        {
            "project": "CMIP6",
            "dataset": "MIROC6",
            "member": "r2i1p1f1",
            "variable": "mrsos",
            "reason": "skipped by ESMValCore: No input data available for years 1981",
        },
        {
            "project": "CMIP6",
            "dataset": "CanESM5",
            "member": "r3i1p1f1",
            "variable": "pr",
            "reason": "skipped by ESMValCore: Missing data for Dataset: pr, Amon, CMIP6, CanESM5, CMIP, historical, "
            "r3i1p1f1, gn",
        },
    ]
