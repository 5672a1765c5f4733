"""The distributor-format writers reproduce the structure of the real files."""

from __future__ import annotations

import datetime as dt

import netCDF4
import numpy as np

from smeval.cmorize import rawformats as rf


def _structure(path, var):
    with netCDF4.Dataset(path) as ds:
        v = ds[var]
        return {
            "format": ds.data_model,
            "dims": v.dimensions,
            "dtype": v.dtype,
            "attrs": set(v.ncattrs()),
            "units": v.units,
            "globals": set(ds.ncattrs()),
            "lat": np.asarray(ds[v.dimensions[-2]][:]),
            "lon": np.asarray(ds[v.dimensions[-1]][:]),
        }


def test_era5_old_layout_matches_real_file(realdata, tmp_path):
    real = _structure(
        realdata / "era5" / "ERA5_example_downloaded_raw.nc", "swvl1"
    )
    lat = np.linspace(-90, 90, 37)
    lon = np.arange(0, 360, 5.0)
    path = rf.write_era5_monthly(
        tmp_path / "x.nc",
        {"swvl1": np.full((1, 37, 72), 0.3)},
        lat,
        lon,
        [dt.datetime(2010, 1, 1)],
        layout="time",
    )
    mine = _structure(path, "swvl1")
    for key in ("format", "dims", "dtype", "attrs", "units", "globals"):
        assert mine[key] == real[key], key
    np.testing.assert_array_equal(mine["lat"], real["lat"])  # 90 .. -90
    np.testing.assert_array_equal(mine["lon"], real["lon"])  # 0 .. 355
    real_path = realdata / "era5" / "ERA5_example_downloaded_raw.nc"
    with netCDF4.Dataset(path) as ds, netCDF4.Dataset(real_path) as ref:
        np.testing.assert_allclose(ds["swvl1"][:], 0.3, atol=1e-6)
        assert ds["time"].units == ref["time"].units
        assert ds["time"].calendar == ref["time"].calendar
        assert ds["time"][0] == ref["time"][0]  # 2010-01-01 00 UTC


def test_old_layout_packing_keeps_every_value_and_matches_ecmwf(
    realdata, tmp_path
):
    # A land-sea mask of 0 and 1 (and a field with a single minimum): no value
    # may be packed to the fill value -32767. ECMWF maps the range onto
    # -32766..32767; the real file's lsm (0..1) fixes scale and offset.
    lat = np.linspace(-90, 90, 37)
    lon = np.arange(0, 360, 5.0)
    lsm = np.zeros((1, 37, 72))
    lsm[:, 10:20, 30:50] = 1.0
    tp = np.linspace(0.0, 0.02, 37 * 72).reshape(1, 37, 72)
    path = rf.write_era5_monthly(
        tmp_path / "x.nc",
        {"lsm": lsm, "tp": tp},
        lat,
        lon,
        [dt.datetime(2010, 1, 1)],
        layout="time",
    )
    with (
        netCDF4.Dataset(path) as ds,
        netCDF4.Dataset(
            realdata / "era5" / "ERA5_example_downloaded_raw.nc"
        ) as ref,
    ):
        for name, values in (("lsm", lsm), ("tp", tp)):
            read = ds[name][:]
            assert np.ma.count_masked(read) == 0, name
            np.testing.assert_allclose(
                read, values[:, ::-1], atol=ds[name].scale_factor / 2 * 1.001
            )
        np.testing.assert_allclose(
            ds["lsm"].scale_factor, ref["lsm"].scale_factor, rtol=1e-12
        )
        np.testing.assert_allclose(
            ds["lsm"].add_offset, ref["lsm"].add_offset, rtol=1e-12
        )
        ds.set_auto_maskandscale(False)
        assert ds["lsm"][:].min() == -32766
        assert ds["lsm"][:].max() == 32767


def test_era5_new_layout(tmp_path):
    lat = np.array([-45.0, 45.0])
    lon = np.array([-90.0, 90.0])
    data = np.array([[[1.0, 2.0], [3.0, 4.0]]]) * 1e-3
    path = rf.write_era5_monthly(
        tmp_path / "y.nc",
        {"e": -data},
        lat,
        lon,
        [np.datetime64("1979-03-01")],
        global_attributes={"synthetic": "yes"},
    )
    with netCDF4.Dataset(path) as ds:
        assert ds["e"].dimensions == ("valid_time", "latitude", "longitude")
        assert ds["e"].GRIB_stepType == "avgad"
        assert ds["e"].units == "m of water equivalent"
        assert ds["latitude"][:].tolist() == [45.0, -45.0]
        assert ds["longitude"][:].tolist() == [90.0, 270.0]
        # (45N, 90E) was data[0, 1, 1]; (45N, 270E = 90W) was data[0, 1, 0]
        np.testing.assert_allclose(
            ds["e"][0], -np.array([[4.0, 3.0], [2.0, 1.0]]) * 1e-3
        )
        assert ds["expver"][:].tolist() == ["0001"]
        assert int(ds["number"][...]) == 0
        assert (
            netCDF4.num2date(ds["valid_time"][0], ds["valid_time"].units).month
            == 3
        )
        assert ds.synthetic == "yes"


def test_gldas_3hourly_matches_real_file(realdata, tmp_path):
    real_path = realdata / "gldas" / "GLDAS_NOAH025_3H.A20160101.0300.021.nc4"
    real = _structure(real_path, "SoilMoi0_10cm_inst")
    lat = np.arange(-59.875, 90, 0.25)
    lon = np.arange(-179.875, 180, 0.25)
    paths = rf.write_gldas_3hourly(
        tmp_path,
        {"SoilMoi0_10cm_inst": np.full((1, 600, 1440), 20.0)},
        lat,
        lon,
        [dt.datetime(2016, 1, 1, 3)],
    )
    assert paths[0].name == real_path.name
    mine = _structure(paths[0], "SoilMoi0_10cm_inst")
    for key in ("format", "dims", "dtype", "attrs", "units"):
        assert mine[key] == real[key], key
    assert real["globals"] - {"NCO", "history"} <= mine["globals"]
    np.testing.assert_array_equal(mine["lat"], real["lat"])
    np.testing.assert_array_equal(mine["lon"], real["lon"])
    with netCDF4.Dataset(paths[0]) as a, netCDF4.Dataset(real_path) as b:
        assert a["time"][:].tolist() == b["time"][:].tolist()
        assert a["time_bnds"][:].tolist() == b["time_bnds"][:].tolist()
        assert a["time"].units == b["time"].units


def test_esacci_matches_real_file(realdata, tmp_path):
    real_path = (
        realdata
        / "esacci"
        / "ESACCI-SOILMOISTURE-L3S-SSMV-PASSIVE-20161227000000-fv04.2.nc"
    )
    real = _structure(real_path, "sm")
    lat = np.arange(-89.875, 90, 0.25)
    lon = np.arange(0.125, 360, 0.25)
    paths = rf.write_esacci_daily(
        tmp_path,
        np.full((1, 720, 1440), 0.2),
        lat,
        lon,
        [dt.date(2016, 12, 27)],
        product="PASSIVE",
    )
    assert paths[0].name == real_path.name
    mine = _structure(paths[0], "sm")
    for key in ("format", "dims", "dtype", "attrs", "units"):
        assert mine[key] == real[key], key
    np.testing.assert_array_equal(mine["lat"], real["lat"])
    np.testing.assert_array_equal(mine["lon"], real["lon"])
    with netCDF4.Dataset(paths[0]) as a, netCDF4.Dataset(real_path) as b:
        assert a["time"][:].tolist() == b["time"][:].tolist()


def test_gldas_monthly_names_and_values(tmp_path):
    lat = np.array([10.0, -10.0])
    lon = np.array([200.0, 20.0])  # 200E is written as -160
    paths = rf.write_gldas_monthly(
        tmp_path,
        {"Evap_tavg": np.array([[[1.0, 2.0], [3.0, np.nan]]])},
        lat,
        lon,
        [dt.datetime(1979, 1, 1)],
    )
    assert [p.name for p in paths] == ["GLDAS_NOAH025_M.A197901.020.nc4"]
    with netCDF4.Dataset(paths[0]) as ds:
        assert ds["lat"][:].tolist() == [-10.0, 10.0]
        assert ds["lon"][:].tolist() == [-160.0, 20.0]
        got = ds["Evap_tavg"][0]
        assert got[1, 0] == 1.0
        assert got[1, 1] == 2.0
        assert got[0, 0] == 3.0
        assert np.ma.is_masked(got[0, 1])
        assert ds["Evap_tavg"].units == "kg m-2 s-1"
