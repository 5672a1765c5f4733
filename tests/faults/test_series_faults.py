"""One bad member is excluded with its reason; the others are kept (issue 19, points 2 and 3).

The regional-series script runs on CMOR files of the tiny archive, each case
with one fault planted in one member; the script reads them as it reads
ESMValCore's preprocessed files (those are CMOR files too).
"""

from __future__ import annotations

from pathlib import Path

import iris
import iris.coords
import netCDF4
import numpy as np
import pandas as pd

from smeval.diag.regional_series import write_regional_series

from . import plant

MODEL = "MIROC6"
MEMBERS = ("r1i1p1f1", "r2i1p1f1")


def _cfg(tmp_path: Path, archive: Path, short_name: str, **options) -> dict:
    inputs = {}
    for member in MEMBERS:
        path = plant.cmip6_file(archive, MODEL, member, short_name)
        inputs[str(path)] = {
            "dataset": MODEL,
            "project": "CMIP6",
            "ensemble": member,
            "short_name": short_name,
            "timerange": "1979/1981",
            "family": "MIROC",
            "long_name": short_name,
        }
    for name in ("work", "run"):
        (tmp_path / name).mkdir(exist_ok=True)
    return {
        "input_data": inputs,
        "work_dir": str(tmp_path / "work"),
        "run_dir": str(tmp_path / "run"),
        **options,
    }


def _run(cfg: dict) -> tuple[set[str], pd.DataFrame]:
    """Series files written (their stems) and the exclusions."""
    written = write_regional_series(cfg)
    excluded = pd.read_csv(
        Path(cfg["work_dir"]) / "excluded.csv",
        dtype=str,
        keep_default_na=False,
    )
    return {f"{p.parent.name}/{p.stem}" for p in written}, excluded


def _only_r2_excluded(written, excluded, variable: str, reason: str) -> None:
    assert f"{variable}/{MODEL}_r1i1p1f1" in written  # the good member is kept
    assert f"{variable}/{MODEL}_r2i1p1f1" not in written
    [row] = excluded.to_dict("records")
    assert (row["dataset"], row["member"]) == (MODEL, "r2i1p1f1")
    assert reason in row["reason"], row["reason"]


def test_a_member_multiplied_by_1000_is_excluded_as_implausible(
    tmp_path, archive
):
    plant.scale(plant.cmip6_file(archive, MODEL, "r2i1p1f1", "mrsos"), 1000.0)
    written, excluded = _run(_cfg(tmp_path, archive, "mrsos"))
    _only_r2_excluded(
        written,
        excluded,
        "sm_shallow",
        "outside the plausible range -1 to 100 kg m-2",
    )


def test_a_member_of_fill_values_only_is_excluded(tmp_path, archive):
    plant.fill(plant.cmip6_file(archive, MODEL, "r2i1p1f1", "mrsos"))
    written, excluded = _run(_cfg(tmp_path, archive, "mrsos"))
    _only_r2_excluded(
        written, excluded, "sm_shallow", "all values are missing"
    )


def test_a_member_with_wrong_units_is_excluded(tmp_path, archive):
    # What ESMValCore lets through under --check_level=relaxed.
    plant.set_units(
        plant.cmip6_file(archive, MODEL, "r2i1p1f1", "mrsos"), "m3 m-3"
    )
    written, excluded = _run(_cfg(tmp_path, archive, "mrsos"))
    _only_r2_excluded(
        written,
        excluded,
        "sm_shallow",
        "units 'm3 m-3' where mrsos must be in kg m-2",
    )


def test_a_flux_in_other_units_is_excluded(tmp_path, archive):
    plant.set_units(
        plant.cmip6_file(archive, MODEL, "r2i1p1f1", "pr"), "mm day-1"
    )
    written, excluded = _run(_cfg(tmp_path, archive, "pr"))
    _only_r2_excluded(
        written,
        excluded,
        "pr",
        "units 'mm day-1' where pr must be in kg m-2 s-1",
    )


def test_overlapping_soil_layers_exclude_the_member_not_the_run(
    tmp_path, archive
):
    path = plant.cmip6_file(archive, MODEL, "r2i1p1f1", "mrsol")
    with netCDF4.Dataset(path) as nc:
        bounds = np.asarray(nc["depth_bnds"][:])
    bounds[1, 0] = bounds[0, 1] / 2  # layer 2 starts inside layer 1
    plant.set_layer_bounds(path, bounds.tolist())
    written, excluded = _run(_cfg(tmp_path, archive, "mrsol"))
    assert f"sm_deep/{MODEL}_r1i1p1f1" in written
    assert not any(name.endswith("r2i1p1f1") for name in written)
    assert set(excluded["member"]) == {"r2i1p1f1"}
    assert excluded["reason"].str.contains("failed to load").all()


def test_a_member_missing_a_year_inside_its_file_is_excluded(
    tmp_path, archive
):
    # The file name covers 1979-1981 (ESMValCore's availability check passes) but 1980 is absent.
    path = plant.cmip6_file(archive, MODEL, "r2i1p1f1", "mrsos")
    cube = iris.load_cube(str(path))
    years = np.array(
        [
            d.year
            for d in cube.coord("time").units.num2date(
                cube.coord("time").points
            )
        ]
    )
    kept = cube[years != 1980]
    kept.data  # read before the file is replaced  # noqa: B018
    tmp = path.with_name("tmp.nc")
    iris.save(kept, str(tmp))
    tmp.replace(path)
    written, excluded = _run(_cfg(tmp_path, archive, "mrsos"))
    _only_r2_excluded(
        written, excluded, "sm_shallow", "12 of 36 months missing (years 1980)"
    )


def test_good_members_are_all_kept(tmp_path, archive):
    written, excluded = _run(_cfg(tmp_path, archive, "mrsos"))
    assert written == {f"sm_shallow/{MODEL}_{m}" for m in MEMBERS}
    assert excluded.empty


def test_a_flux_in_convertible_units_gives_the_same_series(tmp_path, archive):
    """Pr in g m-2 s-1 (numbers x 1000) is converted when read: the same series, in kg m-2 s-1."""

    def series(work: Path) -> iris.cube.Cube:
        return iris.load_cube(str(work / "pr" / f"{MODEL}_r2i1p1f1.nc"))

    for run in ("a", "b"):
        (tmp_path / run).mkdir()
    _run(_cfg(tmp_path / "a", archive, "pr"))
    path = plant.cmip6_file(archive, MODEL, "r2i1p1f1", "pr")
    plant.scale(path, 1000.0)
    plant.set_units(path, "g m-2 s-1")
    written, excluded = _run(_cfg(tmp_path / "b", archive, "pr"))
    assert {f"pr/{MODEL}_{m}" for m in MEMBERS} <= written
    assert excluded.empty
    expected, got = (
        series(tmp_path / "a" / "work"),
        series(tmp_path / "b" / "work"),
    )
    assert got.units == "kg m-2 s-1"
    np.testing.assert_allclose(got.data, expected.data, rtol=1e-6)
    # The series say what they are: CF standard_name, and the box means
    # after the CMOR cell methods of the input.
    assert got.standard_name == "precipitation_flux"
    assert got.cell_methods[-1] == iris.coords.CellMethod(
        "mean where land", "area", comments="regional mean over each box"
    )
    assert got.cell_methods[:-1] == iris.load_cube(str(path)).cell_methods
