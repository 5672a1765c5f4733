"""Streamed conversion: multi-year known answers, bounded memory, files kept open."""

from __future__ import annotations

import datetime as dt
import gc
import tracemalloc

import cftime
import netCDF4
import numpy as np
import pytest

from smeval.cmorize import convert, readers
from smeval.cmorize import rawformats as rf
from smeval.cmorize.convert import Options, cmorize


def _era_years(raw, years, lat, lon, names, seed=0):
    """One ERA5 file per year (valid_time layout, float32), random fields with gaps."""
    rng = np.random.default_rng(seed)
    for year in years:
        times = [dt.datetime(year, m, 1) for m in range(1, 13)]
        shape = (12, lat.size, lon.size)
        fields = {}
        for name in names:
            if name == "lsm":
                f = rng.uniform(0.0, 1.0, shape)
                f[:] = f[:1]  # constant in time
            elif name.startswith("swvl"):
                f = rng.uniform(0.05, 0.45, shape)
            elif name == "e":
                f = -rng.uniform(0.0, 0.005, shape)
            else:
                f = rng.uniform(0.0, 0.02, shape)
            if name != "lsm":
                f[rng.uniform(size=shape) < 0.05] = np.nan  # missing cells
            fields[name] = f
        rf.write_era5_monthly(raw / f"ERA5_{year}.nc", fields, lat, lon, times)


def _read_raw(raw, years, name):
    """Raw values by hand (time, lat ascending, lon ascending), float64 with NaN."""
    out = []
    for year in years:
        with netCDF4.Dataset(raw / f"ERA5_{year}.nc") as ds:
            v = np.ma.filled(
                np.ma.asarray(ds[name][:], dtype=np.float64), np.nan
            )
            lat = ds["latitude"][:]
            lon = np.mod(ds["longitude"][:], 360.0)
        out.append(v[:, np.argsort(lat)][:, :, np.argsort(lon)])
    return np.concatenate(out)


def test_streamed_multiyear_output_equals_hand_reference(tmp_path):
    lat = np.array([-50.0, -10.0, 30.0, 70.0])
    lon = np.array([-170.0, -60.0, 10.0, 100.0, 150.0])
    years = [1990, 1991, 1992]
    raw = tmp_path / "raw"
    raw.mkdir()
    _era_years(
        raw,
        years,
        lat,
        lon,
        ["swvl1", "swvl2", "swvl3", "swvl4", "tp", "e", "lsm"],
    )
    files = cmorize(
        "ERA5",
        raw,
        tmp_path / "out",
        Options(variables=["mrsos", "mrsol", "pr", "evspsbl"], progress=False),
    )
    by_var = {p.name.split("_")[5]: p for p in files}
    assert sorted(by_var) == ["evspsbl", "mrsol", "mrsos", "pr"]
    assert all(p.name.endswith("_199001-199212.nc") for p in files)

    raw_f = {
        n: _read_raw(raw, years, n)
        for n in ("swvl1", "swvl2", "swvl3", "swvl4", "tp", "e")
    }
    land = _read_raw(raw, years[:1], "lsm")[0] > 0.5
    assert land.any()
    assert (~land).any()
    thick = [0.07, 0.21, 0.72, 1.89]
    expected = {
        "mrsos": (raw_f["swvl1"] * 70.0 + raw_f["swvl2"] * 30.0, True),
        "mrsol": (
            np.stack(
                [raw_f[f"swvl{k + 1}"] * thick[k] * 1000.0 for k in range(4)],
                axis=1,
            ),
            True,
        ),
        "pr": (raw_f["tp"] * 1000.0 / 86400.0, False),
        "evspsbl": (-raw_f["e"] * 1000.0 / 86400.0, False),
    }
    # month bounds by hand: days since 1850-01-01 of each first of month
    starts = [
        cftime.DatetimeGregorian(y, m, 1) for y in years for m in range(1, 13)
    ]
    starts.append(cftime.DatetimeGregorian(1993, 1, 1))
    edges = np.array(
        [(s - cftime.DatetimeGregorian(1850, 1, 1)).days for s in starts],
        float,
    )
    for short, (ref, land_only) in expected.items():
        if land_only:
            ref = np.where(
                land, ref, np.nan
            )  # broadcast over time (and depth)
        with netCDF4.Dataset(by_var[short]) as ds:
            assert ds.dimensions["time"].isunlimited()
            assert len(ds.dimensions["time"]) == 36
            var = ds[short]
            var.set_auto_maskandscale(False)
            got = var[:]
            assert got.dtype == np.float32
            assert got.shape == ref.shape
            assert var.chunking() == [1, *ref.shape[1:]]
            missing = got == np.float32(1e20)
            np.testing.assert_array_equal(
                missing, ~np.isfinite(ref), err_msg=short
            )
            np.testing.assert_allclose(
                got[~missing], ref[~missing], rtol=2e-7, err_msg=short
            )
            np.testing.assert_array_equal(
                ds["time_bnds"][:], np.stack([edges[:-1], edges[1:]], 1)
            )
            np.testing.assert_array_equal(
                ds["time"][:], 0.5 * (edges[:-1] + edges[1:])
            )
            np.testing.assert_array_equal(ds["lat"][:], np.sort(lat))
            np.testing.assert_array_equal(
                ds["lon"][:], np.sort(np.mod(lon, 360))
            )


def test_raw_files_stay_open_across_months(tmp_path, monkeypatch):
    lat = np.array([-30.0, 30.0])
    lon = np.array([0.0, 90.0, 180.0, 270.0])
    years = [2000, 2001, 2002]
    raw = tmp_path / "raw"
    raw.mkdir()
    _era_years(
        raw, years, lat, lon, ["swvl1", "swvl2", "swvl3", "swvl4", "lsm"]
    )
    opened = []
    real = readers.netCDF4.Dataset

    def counting(path, *args, **kwargs):
        if str(path).startswith(str(raw)):
            opened.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(readers.netCDF4, "Dataset", counting)
    cmorize(
        "ERA5",
        raw,
        tmp_path / "out",
        Options(variables=["mrsos", "mrsol", "sftlf"], progress=False),
    )
    # per file: the inventory, then once per monthly variable (not once per
    # month and raw variable: 12 * 6 = 72), plus the land-sea mask's file
    for year in years:
        n = opened.count(str(raw / f"ERA5_{year}.nc"))
        assert n <= 1 + 2 + 2, (year, n)
    # outside a run, a record still reads by itself (and closes its file)
    store = readers.scan_ecmwf_netcdf(
        sorted(raw.glob("*.nc")), ["swvl1"], "ERA5"
    )
    assert store["swvl1"].records[0].read().shape == (2, 4)


def test_read_months_together_equals_read_month(tmp_path):
    """GLDAS 3-hourly: interleaved reading gives each variable's own monthly mean."""
    lat = np.array([-20.0, 40.0])
    lon = np.array([-90.0, 90.0])
    times = [
        dt.datetime(2001, 2, 1) + dt.timedelta(hours=3 * i)
        for i in range(28 * 8)
    ]
    rng = np.random.default_rng(3)
    fields = {
        n: rng.uniform(1, 50, (len(times), 2, 2))
        for n in ("SoilMoi0_10cm_inst", "SoilMoi10_40cm_inst")
    }
    fields["SoilMoi0_10cm_inst"][5, 0, 0] = np.nan
    rf.write_gldas_3hourly(tmp_path / "raw", fields, lat, lon, times)
    paths = sorted((tmp_path / "raw").rglob("*.nc4"))
    store = readers.scan_gldas(paths, list(fields), "GLDAS")
    opts = Options(progress=False)
    monthlies = {
        n: convert.monthly_means(store[n], "GLDAS", opts) for n in fields
    }
    alone = {n: m.read_month((2001, 2)) for n, m in monthlies.items()}
    with readers.keep_open(max_open=2) as cache:
        together = convert.read_months_together(monthlies, (2001, 2))
    assert cache.opens == len(paths)  # each 3-hourly file opened once
    for n in fields:
        np.testing.assert_array_equal(together[n], alone[n])
    assert np.isnan(
        together["SoilMoi0_10cm_inst"][0, 1]
    )  # lon -90 = 270: a step missing


def _traced_peak(raw, out, years):
    gc.collect()
    tracemalloc.start()
    try:
        cmorize(
            "ERA5",
            raw,
            out,
            Options(
                variables=["mrsol"],
                start=years[0],
                end=years[-1],
                progress=False,
            ),
        )
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_years(tmp_path):
    """Mrsol on a 2-degree grid: 2 years vs 8 years of input."""
    lat = np.arange(-89.0, 90.0, 2.0)
    lon = np.arange(0.0, 360.0, 2.0)
    years = list(range(1980, 1988))
    raw = tmp_path / "raw"
    raw.mkdir()
    _era_years(
        raw, years, lat, lon, ["swvl1", "swvl2", "swvl3", "swvl4", "lsm"]
    )
    # warm-up (imports, CMOR tables) outside the measurement
    cmorize(
        "ERA5",
        raw,
        tmp_path / "w",
        Options(variables=["mrsol"], start=1980, end=1980, progress=False),
    )
    peak2 = _traced_peak(raw, tmp_path / "o2", years[:2])
    peak8 = _traced_peak(raw, tmp_path / "o8", years)
    month = 4 * lat.size * lon.size * 8  # one month of mrsol, float64, bytes
    # Holding the series would need >= 96 months (~50 MB) for 8 years.
    assert peak8 < peak2 + 2 * month, (peak2, peak8)
    assert peak8 < 20 * month, (peak8, month)


@pytest.mark.parametrize("n_fields", [0, 2])
def test_write_monthly_counts_months(tmp_path, n_fields):
    from smeval.cmorize._stream import write_monthly

    lat, lon = np.array([-45.0, 45.0]), np.array([90.0, 270.0])
    points, bounds = (
        np.array([15.5, 45.0, 74.5]),
        np.array([[0, 31], [31, 59], [59, 90.0]]),
    )
    with pytest.raises(
        ValueError, match=r"no months|2 months written, 3 expected"
    ):
        write_monthly(
            tmp_path / "x.nc",
            (np.ones((2, 2)) for _ in range(n_fields)),
            time_points=points,
            time_bounds=bounds,
            short_name="pr",
            project="OBS6",
            mip="Amon",
            lat=lat,
            lon=lon,
        )
