"""ERA5 and ERA-Interim: known answers, both NetCDF layouts, GRIB, ESMValCore load."""

from __future__ import annotations

import datetime as dt
import shutil

import cf_units
import netCDF4
import numpy as np
import pytest
from cmorize_helpers import load_obs6, load_obs6_variables

from smeval.cmorize import rawformats as rf
from smeval.cmorize import readers
from smeval.cmorize.convert import Options, cmorize
from smeval.cmorize.errors import MissingVariableError, TimeGapError

LAT = np.array([-60.0, -20.0, 20.0, 60.0])
LON = np.array([-135.0, -45.0, 45.0, 135.0])  # written by ECMWF as 45..315
MONTHS = [dt.datetime(1979, m, 1) for m in range(1, 13)] + [
    dt.datetime(1980, 1, 1)
]


def _era_fields(n=len(MONTHS)):
    shape = (n, LAT.size, LON.size)
    f = {
        "swvl1": np.full(shape, 0.3),
        "swvl2": np.full(shape, 0.2),
        "swvl3": np.full(shape, 0.25),
        "swvl4": np.full(shape, 0.35),
        # monthly means of daily accumulations, m of water per day
        "tp": np.full(shape, 0.00864),  # 8.64 mm/day = 1e-4 kg m-2 s-1
        "e": np.full(
            shape, -0.00216
        ),  # evaporation 2.16 mm/day (negative: ECMWF)
        "sro": np.full(shape, 0.000864),  # 0.864 mm/day = 1e-5 kg m-2 s-1
        "smlt": np.full(shape, 0.001728),  # 1.728 mm/day = 2e-5 kg m-2 s-1
        "lsm": np.full(shape, 0.7),
    }
    f["lsm"][:, 0, 0] = 0.2  # an ocean cell at (60S, 135W)
    return f


def _value(cube, lat, lon):
    i = int(np.argmin(abs(cube.coord("latitude").points - lat)))
    j = int(np.argmin(abs(cube.coord("longitude").points - lon % 360)))
    return cube.data[..., i, j]


@pytest.mark.parametrize("layout", ["valid_time", "time"])
@pytest.mark.parametrize("dataset", ["ERA5", "ERA-Interim"])
def test_known_answers_and_esmvalcore_load(tmp_path, layout, dataset):
    raw = tmp_path / "raw"
    raw.mkdir()
    rf.write_era5_monthly(
        raw / "monthly.nc",
        _era_fields(),
        LAT,
        LON,
        MONTHS,
        layout=layout,
        dataset=dataset,
        global_attributes={"synthetic": "yes: smeval sample archive"},
    )
    out = tmp_path / "out"
    files = cmorize(dataset, raw, out, Options(progress=False))
    names = sorted(p.name for p in files)
    assert names == sorted(
        [
            f"OBS6_{dataset}_reanaly_1_Lmon_mrsos_197901-198001.nc",
            f"OBS6_{dataset}_reanaly_1_Emon_mrsol_197901-198001.nc",
            f"OBS6_{dataset}_reanaly_1_Amon_pr_197901-198001.nc",
            f"OBS6_{dataset}_reanaly_1_Amon_evspsbl_197901-198001.nc",
            f"OBS6_{dataset}_reanaly_1_Lmon_mrros_197901-198001.nc",
            f"OBS6_{dataset}_reanaly_1_LImon_snm_197901-198001.nc",
            f"OBS6_{dataset}_reanaly_1_fx_sftlf.nc",
        ]
    )
    assert all(p.parent == out / "Tier3" / dataset for p in files)
    # old layout is int16-packed: tolerance of the packing (range/65534)
    rtol = 1e-5 if layout == "valid_time" else 1e-3
    expected = {
        # 0.3*0.07*1000 + 0.2*0.03*1000 = 21 + 6 = 27 kg m-2
        ("Lmon", "mrsos"): 27.0,
        ("Amon", "pr"): 0.00864 * 1000 / 86400,  # 1e-4 kg m-2 s-1
        ("Amon", "evspsbl"): 0.00216 * 1000 / 86400,  # positive upward
        ("Lmon", "mrros"): 1e-5,
        ("LImon", "snm"): 2e-5,
    }
    # Every variable through ESMValCore, each load in a fresh process, one import of it.
    loaded = load_obs6_variables(
        out,
        dataset,
        [(mip, short, "1979/1980") for mip, short in expected]
        + [("Emon", "mrsol", "1979/1980"), ("fx", "sftlf", None)],
    )
    for (mip, short), value in expected.items():
        cube, messages = loaded[mip, short]
        assert cube.shape == (13, 4, 4)
        assert not [m for m in messages if "unit" in m.lower()], messages
        np.testing.assert_allclose(_value(cube, 20, 45), value, rtol=rtol)
        assert cube.attributes["synthetic"] == "yes: smeval sample archive"
        assert cube.attributes["project_id"] == "OBS6"
        assert cube.coord("time").units.calendar == "standard"
        assert cube.coord("time").units == cf_units.Unit(
            "days since 1850-01-01", "standard"
        )
        if short in ("mrsos", "mrros", "snm"):
            assert np.ma.is_masked(_value(cube, -60, -135)), "lsm 0.2 is ocean"
        else:
            assert not np.ma.is_masked(_value(cube, -60, -135))
    cube, messages = loaded["Lmon", "mrsos"]
    depth = cube.coord("depth")
    assert depth.points.tolist() == [0.05]
    assert depth.bounds.tolist() == [[0.0, 0.1]]
    assert cube.coord("latitude").points.tolist() == [-60, -20, 20, 60]
    assert cube.coord("longitude").points.tolist() == [45, 135, 225, 315]
    assert cube.coord("longitude").has_bounds()
    assert cube.coord("latitude").has_bounds()
    cube, messages = loaded["Emon", "mrsol"]
    assert not [m for m in messages if "unit" in m.lower()], messages
    depth = cube.coord("depth")
    assert depth.var_name == "depth"
    np.testing.assert_allclose(
        depth.bounds, [[0, 0.07], [0.07, 0.28], [0.28, 1.0], [1.0, 2.89]]
    )
    np.testing.assert_allclose(
        _value(cube, 20, 45)[0],
        [0.3 * 70, 0.2 * 210, 0.25 * 720, 0.35 * 1890],
        rtol=rtol,
    )
    cube, messages = loaded["fx", "sftlf"]
    np.testing.assert_allclose(_value(cube, 20, 45), 70.0, rtol=rtol)
    assert str(cube.units) == "%"


def test_start_end_select_years(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    rf.write_era5_monthly(raw / "m.nc", _era_fields(), LAT, LON, MONTHS)
    files = cmorize(
        "ERA5",
        raw,
        tmp_path / "out",
        Options(start=1980, end=1980, variables=["mrsos"], progress=False),
    )
    assert [p.name for p in files] == [
        "OBS6_ERA5_reanaly_1_Lmon_mrsos_198001-198001.nc"
    ]


def test_files_split_by_year_and_variable(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    f = _era_fields()
    rf.write_era5_monthly(
        raw / "a_1979.nc",
        {k: f[k][:12] for k in ("swvl1", "swvl2")},
        LAT,
        LON,
        MONTHS[:12],
    )
    rf.write_era5_monthly(
        raw / "a_1980.nc",
        {k: f[k][12:] for k in ("swvl1", "swvl2")},
        LAT,
        LON,
        MONTHS[12:],
    )
    rf.write_era5_monthly(
        raw / "lsm.nc", {"lsm": f["lsm"][:1]}, LAT, LON, MONTHS[:1]
    )
    files = cmorize(
        "ERA5",
        raw,
        tmp_path / "out",
        Options(variables=["mrsos"], progress=False),
    )
    data = netCDF4.Dataset(files[0])["mrsos"][:]
    assert data.shape == (13, 4, 4)
    np.testing.assert_allclose(data[:, 2, 0], 27.0, rtol=1e-6)


def test_gap_in_months_is_an_error(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    f = _era_fields()
    keep = [i for i in range(13) if i != 5]
    rf.write_era5_monthly(
        raw / "m.nc",
        {k: v[keep] for k, v in f.items()},
        LAT,
        LON,
        [MONTHS[i] for i in keep],
    )
    with pytest.raises(
        TimeGapError, match=r"gap in the months: 1 missing \(1979-06\)"
    ) as exc:
        cmorize(
            "ERA5",
            raw,
            tmp_path / "out",
            Options(variables=["pr"], progress=False),
        )
    assert "m.nc" in str(exc.value)
    assert "'pr'" in str(exc.value)


def test_real_era5_netcdf(realdata, tmp_path):
    """grib_to_netcdf file, 6-hourly swvl1 and lsm on 2010-01-01 (5 degree grid)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(realdata / "era5" / "ERA5_example_downloaded_raw.nc", raw)
    with pytest.raises(MissingVariableError, match="'swvl2'") as exc:
        cmorize(
            "ERA5",
            raw,
            tmp_path / "out",
            Options(variables=["mrsos"], progress=False),
        )
    assert "ERA5_example_downloaded_raw.nc" in str(exc.value)
    files = cmorize(
        "ERA5",
        raw,
        tmp_path / "out",
        Options(variables=["sftlf"], progress=False),
    )
    cube, messages = load_obs6(
        tmp_path / "out", dataset="ERA5", mip="fx", short_name="sftlf"
    )
    assert not [m for m in messages if "unit" in m.lower()], messages
    with netCDF4.Dataset(raw / "ERA5_example_downloaded_raw.nc") as ds:
        lsm = ds["lsm"][0]  # latitude 90..-90, longitude 0..355
        lat = ds["latitude"][:]
    # by hand: 50N 10E (Germany) and the first grid row reversed
    i = int(np.argmin(abs(lat - 50)))
    assert _value(cube, 50, 10) == pytest.approx(
        100 * float(lsm[i, 2]), abs=1e-3
    )
    np.testing.assert_allclose(cube.data[::-1], 100 * lsm, atol=1e-3)
    assert len(files) == 1


def test_real_era5_subdaily_month_is_incomplete(realdata, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    with netCDF4.Dataset(
        realdata / "era5" / "ERA5_example_downloaded_raw.nc"
    ) as ds:
        swvl1 = ds["swvl1"][:]
        lat, lon = ds["latitude"][:], ds["longitude"][:]
    # the real swvl1 plus a second layer, as 6-hourly analyses of one day
    times = [dt.datetime(2010, 1, 1, h) for h in (0, 6, 12, 18)]
    rf.write_era5_monthly(
        raw / "an.nc",
        {"swvl1": swvl1, "swvl2": swvl1},
        lat,
        lon,
        times,
        layout="time",
    )
    # the writer stamps months; rewrite the times as 6-hourly
    with netCDF4.Dataset(raw / "an.nc", "a") as ds:
        ds["time"][:] = netCDF4.date2num(
            times, ds["time"].units, ds["time"].calendar
        )
    with pytest.raises(
        TimeGapError, match=r"2010-01 has 4 of 124 time steps \(step 6 h\)"
    ):
        cmorize(
            "ERA5",
            raw,
            tmp_path / "out",
            Options(variables=["mrsos"], progress=False),
        )
    assert not (tmp_path / "out" / "Tier3").exists()
    files = cmorize(
        "ERA5",
        raw,
        tmp_path / "out",
        Options(
            variables=["mrsos"], allow_partial_months=True, progress=False
        ),
    )
    out = netCDF4.Dataset(files[0])["mrsos"][0]
    # no lsm given: not masked; value = mean of the 4 analyses * (70 + 30)
    # int16 re-packing by the writer: quantum (max - min) / 65534 of swvl, x 100
    np.testing.assert_allclose(
        out[::-1], swvl1.mean(axis=0) * 100.0, atol=2e-3
    )


def test_subsampled_hourly_accumulations_are_incomplete_months(tmp_path):
    """ERA5 hourly tp sampled every 6 h: each value is the hour ending at its time."""
    raw = tmp_path / "raw"
    raw.mkdir()
    times = [dt.datetime(1979, 1, 1, h) for h in (0, 6, 12, 18)]
    tp = np.stack(
        [np.full((4, 4), v) for v in (0.004, 0.001, 0.002, 0.003)]
    )  # m per hour
    rf.write_era5_monthly(raw / "tp.nc", {"tp": tp}, LAT, LON, times)
    with netCDF4.Dataset(raw / "tp.nc", "a") as ds:
        ds["valid_time"][:] = netCDF4.date2num(
            times, ds["valid_time"].units, ds["valid_time"].calendar
        )
    # 00 UTC closes 1978-12-31's last hour: it counts for December
    with pytest.raises(
        TimeGapError, match=r"1978-12 has 1 of 744 time steps \(step 1 h\)"
    ):
        cmorize(
            "ERA5",
            raw,
            tmp_path / "out",
            Options(variables=["pr"], progress=False),
        )
    files = cmorize(
        "ERA5",
        raw,
        tmp_path / "out",
        Options(variables=["pr"], allow_partial_months=True, progress=False),
    )
    assert files[0].name == "OBS6_ERA5_reanaly_1_Amon_pr_197812-197901.nc"
    with netCDF4.Dataset(files[0]) as ds:
        pr = ds["pr"][:, 0, 0]
    # m per hour x 1000 kg m-3 / 3600 s: Dec 0.004 m, Jan mean of 0.001, 0.002, 0.003 m
    np.testing.assert_allclose(pr, [0.004 / 3.6, 0.002 / 3.6], rtol=1e-4)


def test_reduced_to_regular_interpolates_along_rows():
    # two rows: 4 points (0, 90, 180, 270 E) and 8 points; target 8 points
    values = np.array([0.0, 4.0, 8.0, 4.0, *list(range(8))], dtype=float)
    out = readers.reduced_to_regular(values, np.array([4, 8]), 8)
    np.testing.assert_allclose(
        out[0], [0, 2, 4, 6, 8, 6, 4, 2]
    )  # periodic at 360
    np.testing.assert_allclose(out[1], range(8))


def test_real_era_interim_grib_regular(realdata, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(
        realdata / "era-interim" / "ERAI_example_downloaded_raw.grb", raw
    )
    with pytest.raises(MissingVariableError, match="'swvl2'"):
        cmorize("ERA-Interim", raw, tmp_path / "out", Options(progress=False))
    cmorize(
        "ERA-Interim",
        raw,
        tmp_path / "out",
        Options(variables=["sftlf"], progress=False),
    )
    cube, messages = load_obs6(
        tmp_path / "out", dataset="ERA-Interim", mip="fx", short_name="sftlf"
    )
    assert cube.shape == (37, 72)
    assert _value(cube, 50, 10) == 100.0  # Germany
    assert _value(cube, 0, 330) == 0.0  # Atlantic
    assert not [m for m in messages if "unit" in m.lower()], messages


@pytest.mark.parametrize(
    "name",
    [
        "ERA-Interim_OPER_0001_AN_20000101_0000.grb",
        "39.128_EI_OPER_0001_AN_N128_20000101_0000_0.grb",
    ],
)
def test_real_era_interim_grib_reduced_gaussian(realdata, tmp_path, name):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(realdata / "era-interim" / name, raw)
    opts = Options(
        variables=["mrsos"], allow_partial_months=True, progress=False
    )
    if name.startswith("39.128"):  # swvl1 alone
        with pytest.raises(MissingVariableError, match=r"'swvl2'.*39.128_EI"):
            cmorize("ERA-Interim", raw, tmp_path / "out", opts)
        return
    files = cmorize("ERA-Interim", raw, tmp_path / "out", opts)
    assert (
        files[0].name
        == "OBS6_ERA-Interim_reanaly_1_Lmon_mrsos_200001-200001.nc"
    )
    cube, messages = load_obs6(
        tmp_path / "out",
        dataset="ERA-Interim",
        mip="Lmon",
        short_name="mrsos",
        timerange="2000/2000",
    )
    assert not [m for m in messages if "unit" in m.lower()], messages
    assert cube.shape == (1, 256, 512)  # N128 regular Gaussian grid
    with netCDF4.Dataset(files[0]) as ds:
        assert "reduced Gaussian grid" in ds.getncattr("comment")
    store = readers.scan_ecmwf_grib(
        [raw / name], ["swvl1", "swvl2", "lsm"], "ERA-Interim", tmp_path
    )
    s1, s2, lsm = (
        store[k].records[0].read() for k in ("swvl1", "swvl2", "lsm")
    )
    expected = np.ma.masked_where(lsm <= 0.5, s1 * 70.0 + s2 * 30.0)
    np.testing.assert_allclose(
        cube.data[0].filled(np.nan), expected.filled(np.nan), rtol=1e-5
    )
    assert cube.data[0].mask.sum() == (lsm <= 0.5).sum()
    assert 0.0 < float(cube.data.mean()) < 50.0
