"""The regional-series diagnostic and what it hands on to the metrics.

It reports, never extrapolates: a data set whose soil layers stop above 2 m
gets no deep series and an exclusion row, while its shallow series (derived
from the layers) is written with the known value. Its series files carry the
recipe's `family` facet, the family map of the metrics.
"""

from __future__ import annotations

import iris
import numpy as np
import pandas as pd
import pytest
from diag_helpers import write_uniform

from smeval.diag.map_climatologies import find_climatologies
from smeval.diag.metrics import read_series
from smeval.diag.options import OptionsError
from smeval.diag.regional_series import series_options, write_regional_series
from smeval.diag.shared import family_of


def _write(path, short_name, mip, data, depth_bounds=None):
    """A CMOR file of SHALLOW-1 on a 4 x 5 degree grid, 1980; ``data`` (time, [depth]) broadcast over the grid."""
    return write_uniform(
        path,
        dataset="SHALLOW-1",
        member="r1i1p1f1",
        short_name=short_name,
        mip=mip,
        series=data,
        years=(1980, 1980),
        lat=np.arange(-88.0, 90.0, 4.0),
        lon=np.arange(0.0, 360.0, 5.0),
        depth_bounds=depth_bounds,
    )


def _mrsol(path, bounds, values):
    return _write(
        path,
        "mrsol",
        "Emon",
        np.tile(np.asarray(values, float), (12, 1)),
        bounds,
    )


def _mrsos(path, monthly_values):
    return _write(path, "mrsos", "Lmon", monthly_values)


def _meta(short_name, mip, **extra):
    return {
        "dataset": "SHALLOW-1",
        "project": "CMIP6",
        "ensemble": "r1i1p1f1",
        "short_name": short_name,
        "mip": mip,
        "timerange": "1980/1980",
        "long_name": "soil moisture",
        "units": "kg m-2",
        **extra,
    }


def _series_cfg(tmp_path, inputs, maps=None):
    for name in ("work", "run"):
        (tmp_path / name).mkdir(exist_ok=True)
    cfg = {
        "input_data": inputs,
        "work_dir": str(tmp_path / "work"),
        "run_dir": str(tmp_path / "run"),
        "shallow_from_mrsol": True,
    }
    return {**cfg, **(maps or {})}


def test_shallow_layers_excluded_from_deep_but_give_shallow(tmp_path):
    # Layers 0-0.1, 0-0.5 and 0.5-1.5 m hold 10, 40, 100 kg m-2: 0-0.1 m is
    # 10 kg m-2 everywhere, and 2 m is never reached.
    path = _mrsol(
        tmp_path / "mrsol.nc",
        [[0, 0.1], [0.1, 0.5], [0.5, 1.5]],
        [10.0, 40.0, 100.0],
    )
    written = write_regional_series(
        _series_cfg(tmp_path, {str(path): _meta("mrsol", "Emon")})
    )

    assert [p.parent.name for p in written] == ["sm_shallow"]
    shallow = iris.load_cube(str(written[0]))
    assert np.allclose(shallow.data, 10.0)
    excluded = pd.read_csv(tmp_path / "work" / "excluded.csv")
    row = excluded[
        (excluded.dataset == "SHALLOW-1") & (excluded.variable == "sm_deep")
    ]
    assert len(row) == 1
    assert "1.5 m" in row.reason.item()
    assert "2 m" in row.reason.item()


def test_series_carry_the_recipe_family_to_the_metrics(tmp_path):
    # The `family` facet of the recipe travels with the series file; without a
    # facet the catalogue's family (or the data set's own name) is used.
    path = _mrsol(
        tmp_path / "mrsol.nc",
        [[0, 0.1], [0.1, 1.0], [1.0, 3.0]],
        [10.0, 40.0, 100.0],
    )
    write_regional_series(
        _series_cfg(
            tmp_path, {str(path): _meta("mrsol", "Emon", family="TESTFAM")}
        )
    )
    series, _, _ = read_series([tmp_path / "work"])
    assert {s.variable for s in series} == {"sm_shallow", "sm_deep"}
    assert {s.family for s in series} == {"TESTFAM"}
    assert family_of({"dataset": "CNRM-CM6-1-HR"}) == "CNRM"
    assert family_of({"dataset": "NOT-IN-TABLE-1"}) == "NOT-IN-TABLE-1"


def test_correlation_branch_refuses_a_multi_model_mean_without_family(
    tmp_path,
):
    # ESMValCore groups every model without a `family` facet into one mean: refuse it, naming the file.

    meta = {
        "dataset": "MultiModelMean",
        "project": "CMIP6",
        "short_name": "mrsos",
        "multi_model_statistics": "MultiModelMean",
    }
    cfg = {
        "input_data": {str(tmp_path / "mm.nc"): meta},
        "work_dir": str(tmp_path),
        "run_dir": str(tmp_path),
        "correlation_variables": ["mrsos"],
    }
    with pytest.raises(ValueError, match=r"mm.nc.*without a `family` facet"):
        write_regional_series(cfg)


#: The recipe's map steps (recipes/recipe_soilmoisture.yml).
CLIMATOLOGY_STEPS = {
    "climate_mean": {},
    "regrid": {
        "target_grid": "1.125x1.125",
        "scheme": {"reference": "smeval.regrid:AreaWeighted"},
    },
    "mask_landsea": {"mask_out": "sea"},
}
MAPS = {"map_variables": ["mrsos", "mrsol"], "map_steps": CLIMATOLOGY_STEPS}


#: Days of the months of the leap year 1980.
DAYS_1980 = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _month_weighted_mean(values, missing=()):
    """Mean of month k's ``values[k - 1]`` over 1980 without the ``missing`` months (0-based), weighted by days."""
    keep = np.setdiff1d(np.arange(12), missing)
    return float(
        (np.asarray(values)[keep] * DAYS_1980[keep]).sum()
        / DAYS_1980[keep].sum()
    )


def test_map_climatology_from_the_same_read_weights_months_by_their_length(
    tmp_path,
):
    # mrsos = k kg m-2 in month k of the leap year 1980: ESMValCore's mean over
    # the full period weights each month by its days, sum(k * days_k) / 366;
    # regridding a constant field keeps it; Natural Earth masks the sea.
    months = np.arange(1.0, 13.0)
    expected = _month_weighted_mean(months)
    path = _mrsos(tmp_path / "mrsos.nc", months)
    written = write_regional_series(
        _series_cfg(
            tmp_path, {str(path): _meta("mrsos", "Lmon", family="FAM")}, MAPS
        )
    )

    [(filename, meta, cube)] = find_climatologies([tmp_path / "work"])
    assert filename in map(str, written)
    assert meta == {
        "short_name": "mrsos",
        "dataset": "SHALLOW-1",
        "ensemble": "r1i1p1f1",
        "project": "CMIP6",
        "family": "FAM",
    }
    assert cube.shape == (160, 320)
    data = cube.data
    land = ~np.ma.getmaskarray(data)
    assert (
        0.2 < land.mean() < 0.4
    )  # land only: about 30 % of the globe's cells
    np.testing.assert_allclose(data[land], expected, rtol=1e-6)
    assert abs(expected - months.mean()) > 1e-3  # the weighting is visible
    # The series of the same read are written as before, and the metrics skip the maps' files.
    series, _, _ = read_series([tmp_path / "work"])
    assert [s.variable for s in series] == ["sm_shallow"]
    np.testing.assert_allclose(series[0].values[:, 0], months, rtol=1e-6)


def test_map_climatology_of_a_member_with_a_missing_month_averages_its_other_months(
    tmp_path,
):
    # June is missing (masked) everywhere: the NaN route of the time mean would
    # mask every cell, so the script redoes the climatology on the masked data,
    # where ESMValCore averages the 11 other months, weighted by their days.
    months = np.arange(1.0, 13.0)
    with_gap = months.copy()
    with_gap[5] = np.nan
    path = _mrsos(tmp_path / "mrsos.nc", with_gap)
    write_regional_series(
        _series_cfg(tmp_path, {str(path): _meta("mrsos", "Lmon")}, MAPS)
    )

    [(_, _, cube)] = find_climatologies([tmp_path / "work"])
    data = cube.data
    land = ~np.ma.getmaskarray(data)
    assert 0.2 < land.mean() < 0.4
    np.testing.assert_allclose(
        data[land], _month_weighted_mean(months, missing=[5]), rtol=1e-6
    )


def test_map_climatology_of_mrsol_is_that_of_its_depth_columns(tmp_path):
    # Layers 0-0.1, 0.1-1 and 1-3 m hold k x (10, 40, 100) kg m-2 in month k:
    # 0-2 m holds k x (10 + 40 + 100 / 2) = 100 k and 0-0.1 m holds 10 k
    # (no mrsos: shallow from the layers). The maps get the month-weighted
    # mean of those columns, and the series of the same read are unchanged.
    # k runs 0.5, 1, ..., 6: at most 60 kg m-2 in 0-0.1 m, a plausible value.
    months = np.arange(1.0, 13.0) / 2
    path = _write(
        tmp_path / "mrsol.nc",
        "mrsol",
        "Emon",
        months[:, None] * [10.0, 40.0, 100.0],
        [[0, 0.1], [0.1, 1.0], [1.0, 3.0]],
    )
    written = write_regional_series(
        _series_cfg(tmp_path, {str(path): _meta("mrsol", "Emon")}, MAPS)
    )

    found = {
        meta["short_name"]: (filename, cube)
        for filename, meta, cube in find_climatologies([tmp_path / "work"])
    }
    assert set(found) == {"sm_deep", "sm_shallow"}
    for name, per_month in (("sm_deep", 100.0), ("sm_shallow", 10.0)):
        filename, cube = found[name]
        assert filename in map(str, written)
        assert cube.shape == (160, 320)
        assert cube.units == "kg m-2"
        assert cube.coord("depth").bounds.tolist() == [
            [0.0, 2.0 if name == "sm_deep" else 0.1]
        ]
        land = ~np.ma.getmaskarray(cube.data)
        assert 0.2 < land.mean() < 0.4
        np.testing.assert_allclose(
            cube.data[land],
            per_month * _month_weighted_mean(months),
            rtol=1e-6,
        )

    series = {
        s.variable: s.values[:, 0] for s in read_series([tmp_path / "work"])[0]
    }
    np.testing.assert_allclose(series["sm_deep"], 100.0 * months, rtol=1e-6)
    np.testing.assert_allclose(series["sm_shallow"], 10.0 * months, rtol=1e-6)


def test_map_climatology_of_mrsol_with_mrsos_gives_the_deep_column_only(
    tmp_path,
):
    # With mrsos, shallow soil moisture (series and map) is mrsos's own.
    mrsol = _mrsol(
        tmp_path / "mrsol.nc",
        [[0, 0.1], [0.1, 1.0], [1.0, 3.0]],
        [10.0, 40.0, 100.0],
    )
    mrsos = _mrsos(tmp_path / "mrsos.nc", np.full(12, 7.0))
    inputs = {
        str(mrsol): _meta("mrsol", "Emon"),
        str(mrsos): _meta("mrsos", "Lmon"),
    }
    write_regional_series(_series_cfg(tmp_path, inputs, MAPS))

    found = {
        meta["short_name"]: cube
        for _, meta, cube in find_climatologies([tmp_path / "work"])
    }
    assert set(found) == {"sm_deep", "mrsos"}
    for name, value in (("sm_deep", 100.0), ("mrsos", 7.0)):
        data = found[name].data
        np.testing.assert_allclose(
            data[~np.ma.getmaskarray(data)], value, rtol=1e-6
        )


def test_map_and_series_steps_are_checked_from_the_signatures_before_any_data_is_read():
    # No input_data at all: the steps fail before a file is opened, in one line naming the recipe key.
    cfg = {"run_dir": "/out/run/soil_moisture/regional_series"}

    def error(**options):
        with pytest.raises(OptionsError) as info:
            series_options({**cfg, **options})
        assert "\n" not in str(info.value)
        return str(info.value)

    assert error(
        map_variables=["pr"], map_steps={"climate_statistic": {}}
    ) == (
        "soil_moisture/regional_series: map_steps: unknown step 'climate_statistic' (did you mean "
        "`climate_statistics`?); a step is a function of smeval.preprocessor or esmvalcore.preprocessor"
    )
    message = error(
        map_steps={"regrid": {"target_grid": "1x1", "schme": "linear"}}
    )
    assert message.startswith(
        "soil_moisture/regional_series: map_steps: regrid: unknown option 'schme' "
        "(did you mean `scheme`?) (accepted: target_grid, scheme, lat_offset"
    )
    assert error(map_steps={"regrid": {"target_grid": "1x1"}}) == (
        "soil_moisture/regional_series: map_steps: regrid: missing option 'scheme'"
    )
    assert (
        "ensemble_statistics: works on 'products', not on one cube"
        in error(map_steps={"ensemble_statistics": {"statistics": ["mean"]}})
    )
    assert "map_steps: load: works on 'file'" in error(map_steps={"load": {}})
    assert (
        "option `map_variables` is set but `map_steps` names no step"
        in error(map_variables=["pr"])
    )
    assert (
        "series_steps: soil_column: option 'depth' is set by the script"
        in error(series_steps={"soil_column": {"depth": 1.0}, "box_means": {}})
    )
    assert "series_steps: the last step must be box_means" in error(
        series_steps={"box_means": {}, "soil_column": {}}
    )
    assert "series_steps: the steps must include soil_column" in error(
        series_steps={"box_means": {}}
    )
    assert "series_steps: box_means: unknown option 'exclude'" in error(
        series_steps={"soil_column": {}, "box_means": {"exclude": False}}
    )
    # The recipe's own steps, and ESMValCore's climate_statistics, pass.
    options = series_options({**cfg, **MAPS})
    assert list(options.map_steps) == [
        "climate_mean",
        "regrid",
        "mask_landsea",
    ]
    assert list(options.series_steps) == ["soil_column", "box_means"]
    series_options(
        {
            **cfg,
            "map_steps": {
                "climate_statistics": {"operator": "mean", "period": "full"}
            },
        }
    )


def test_map_climatology_that_keeps_time_is_reported_and_the_series_still_written(
    tmp_path,
):
    # Steps that do not reduce time give no climatology: an exclusion row naming
    # the file, and the series of the member are still written.
    path = _mrsos(tmp_path / "mrsos.nc", np.arange(1.0, 13.0))
    maps = {
        "map_variables": ["mrsos"],
        "map_steps": {"regrid": CLIMATOLOGY_STEPS["regrid"]},
    }
    written = write_regional_series(
        _series_cfg(tmp_path, {str(path): _meta("mrsos", "Lmon")}, maps)
    )
    assert [p.parent.name for p in written] == ["sm_shallow"]
    excluded = pd.read_csv(tmp_path / "work" / "excluded.csv")
    [reason] = excluded.reason
    assert "mrsos.nc" in reason
    assert "12 time steps" in reason
