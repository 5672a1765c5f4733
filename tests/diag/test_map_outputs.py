"""The maps diagnostic's files explain themselves (issue 16, point 6).

Units are converted at the edge with cf_units (a field in g m-2 s-1 gives
the map of the same field in kg m-2 s-1), a unit of another dimension is
left out as before, and the written fields carry a ``dataset`` coordinate,
their variable's CF standard_name and the cell method ``time: mean``.
The member climatologies are planted uniform fields, so each map's value is
known by hand.
"""

from __future__ import annotations

import iris
import iris.coords
import iris.cube
import numpy as np
import pytest

from smeval.diag.climatology_fields import climatology_fields
from smeval.diag.io import fields_by_dataset, save_cube
from smeval.diag.map_climatologies import climatology_path, label

#: A planted precipitation rate: 1 mm of water a day (kg m-2 s-1).
ONE_MM_PER_DAY = 1.0 / 86400.0
#: The model of the tests (in the catalogue), its family and members.
MODEL, FAMILY, MEMBERS = "MIROC6", "MIROC", ("r1i1p1f1", "r2i1p1f1")


def _climatology(value: float, units: str) -> iris.cube.Cube:
    lat = iris.coords.DimCoord(
        np.arange(-60.0, 61.0, 30.0), standard_name="latitude", units="degrees"
    )
    lon = iris.coords.DimCoord(
        np.arange(0.0, 360.0, 60.0), standard_name="longitude", units="degrees"
    )
    return iris.cube.Cube(
        np.full((5, 6), value, np.float32),
        var_name="pr",
        units=units,
        dim_coords_and_dims=[(lat, 0), (lon, 1)],
    )


def _cfg(tmp_path, planted: dict[tuple[str, str], tuple[float, str]]) -> dict:
    """Settings of the maps script whose ancestor holds ``planted``: (dataset, member) -> (value, units) of pr."""
    series = tmp_path / "series"
    for (dataset, member), (value, units) in planted.items():
        project = "CMIP6" if dataset == MODEL else "OBS6"
        meta = {
            "dataset": dataset,
            "ensemble": member,
            "project": project,
            "short_name": "pr",
            "family": FAMILY if project == "CMIP6" else "",
        }
        path = climatology_path(series, meta)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_cube(label(_climatology(value, units), meta), path)
    for name in ("work", "run"):
        (tmp_path / name).mkdir(exist_ok=True)
    return {
        "ancestor_dirs": [str(series)],
        "work_dir": str(tmp_path / "work"),
        "run_dir": str(tmp_path / "run"),
        "references": ["ERA5"],
    }


def _pr_maps(
    tmp_path, model_units: str, factor: float
) -> dict[str, iris.cube.Cube]:
    """Write the pr climatologies of the model's members and of ERA5.

    The members: 1 and 3 mm day-1, times ``factor`` in ``model_units``;
    ERA5: 2 mm day-1.
    """
    planted = {
        (MODEL, member): (value * ONE_MM_PER_DAY * factor, model_units)
        for member, value in zip(MEMBERS, (1.0, 3.0), strict=True)
    }
    planted[("ERA5", "")] = (2.0 * ONE_MM_PER_DAY, "kg m-2 s-1")
    climatology_fields(_cfg(tmp_path, planted))
    return fields_by_dataset(tmp_path / "work" / "climatology_pr.nc")


def test_flux_maps_are_in_mm_per_julian_year_with_a_dataset_coordinate(
    tmp_path,
):
    maps = _pr_maps(tmp_path, "kg m-2 s-1", 1.0)
    assert list(maps) == ["CMIP6-MMEM", "ERA5"]
    # 1 kg m-2 of water is 1 mm; a Julian year is 365.25 days: the MMEM is
    # the mean of the members, 2 mm a day.
    for dataset, field in maps.items():
        np.testing.assert_allclose(
            field.data, 2.0 * 365.25, rtol=1e-6, err_msg=dataset
        )
        assert field.units == "mm Julian_year-1"
        assert field.standard_name == "precipitation_flux"
        assert field.cell_methods == (iris.coords.CellMethod("mean", "time"),)
    [cube] = iris.load(str(tmp_path / "work" / "climatology_pr.nc"))
    assert cube.shape == (2, 5, 6)
    assert cube.coord_dims("dataset") == (0,)
    # The bias ratio of a reference equal to the MMEM is 0 everywhere.
    ratio = fields_by_dataset(tmp_path / "work" / "bias_ratio_pr.nc")
    assert list(ratio) == ["ERA5"]
    np.testing.assert_allclose(ratio["ERA5"].data, 0.0, atol=1e-6)


def test_a_flux_in_convertible_units_gives_the_same_maps(tmp_path):
    expected = _pr_maps(tmp_path / "a", "kg m-2 s-1", 1.0)
    got = _pr_maps(tmp_path / "b", "g m-2 s-1", 1000.0)
    assert list(got) == list(expected)
    for dataset, field in got.items():
        np.testing.assert_allclose(
            field.data, expected[dataset].data, rtol=1e-6, err_msg=dataset
        )


def test_fields_are_in_the_order_of_the_references_option(tmp_path):
    planted = {(MODEL, "r1i1p1f1"): (ONE_MM_PER_DAY, "kg m-2 s-1")}
    planted.update(
        {
            (ref, ""): (ONE_MM_PER_DAY, "kg m-2 s-1")
            for ref in ("ERA5", "ERA-Interim", "GLDAS-NOAH")
        }
    )
    cfg = _cfg(tmp_path, planted)
    cfg["references"] = ["GLDAS-NOAH", "ERA5", "ERA-Interim"]
    climatology_fields(cfg)
    work = tmp_path / "work"
    assert list(fields_by_dataset(work / "climatology_pr.nc")) == [
        "CMIP6-MMEM",
        *cfg["references"],
    ]
    assert (
        list(fields_by_dataset(work / "bias_ratio_pr.nc")) == cfg["references"]
    )


@pytest.mark.parametrize("units", ["mm day-1", "m3 m-3"])
def test_a_flux_in_inconvertible_units_is_left_out_of_the_maps(
    tmp_path, units, caplog
):
    maps = _pr_maps(tmp_path, units, 86400.0)
    # The model's members are left out, so there is no MMEM; ERA5 stays.
    assert list(maps) == ["ERA5"]
    assert f"units '{units}' where pr must be in kg m-2 s-1" in caplog.text
