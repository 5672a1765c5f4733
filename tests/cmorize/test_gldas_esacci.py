"""GLDAS-2 Noah (monthly 2.0, 3-hourly 2.1) and ESA CCI SM: known answers, real files."""

from __future__ import annotations

import datetime as dt
import shutil

import netCDF4
import numpy as np
import pytest
from cmorize_helpers import load_obs6, load_obs6_variables

from smeval.cmorize import rawformats as rf
from smeval.cmorize.convert import Options, cmorize
from smeval.cmorize.errors import TimeGapError

LAT = np.array([-45.0, -15.0, 15.0, 45.0])
LON = np.array([-150.0, -30.0, 30.0, 150.0])


def _gldas_fields(n):
    shape = (n, LAT.size, LON.size)
    f = {
        "SoilMoi0_10cm_inst": np.full(shape, 25.0),
        "SoilMoi10_40cm_inst": np.full(shape, 60.0),
        "SoilMoi40_100cm_inst": np.full(shape, 110.0),
        "SoilMoi100_200cm_inst": np.full(shape, 200.0),
        "Rainf_f_tavg": np.full(shape, 3e-5),  # kg m-2 s-1
        "Evap_tavg": np.full(shape, 2e-5),  # kg m-2 s-1, positive upward
        "Qs_acc": np.full(shape, 0.54),  # kg m-2 per 3 h = 5e-5 kg m-2 s-1
        "Qsm_acc": np.full(shape, 0.108),  # kg m-2 per 3 h = 1e-5 kg m-2 s-1
    }
    for v in f.values():
        v[:, 0, 0] = np.nan  # ocean cell: GLDAS missing value -9999
    return f


def _value(cube, lat, lon):
    i = int(np.argmin(abs(cube.coord("latitude").points - lat)))
    j = int(np.argmin(abs(cube.coord("longitude").points - lon % 360)))
    return cube.data[..., i, j]


def test_gldas_monthly_known_answers(tmp_path):
    months = [dt.datetime(2000, m, 1) for m in range(1, 13)]
    rf.write_gldas_monthly(
        tmp_path / "raw",
        _gldas_fields(12),
        LAT,
        LON,
        months,
        global_attributes={"synthetic": "yes: smeval sample archive"},
    )
    out = tmp_path / "out"
    files = cmorize("GLDAS", tmp_path / "raw", out, Options(progress=False))
    assert {p.name for p in files} == {
        "OBS6_GLDAS-NOAH_reanaly_1_Lmon_mrsos_200001-200012.nc",
        "OBS6_GLDAS-NOAH_reanaly_1_Emon_mrsol_200001-200012.nc",
        "OBS6_GLDAS-NOAH_reanaly_1_Amon_pr_200001-200012.nc",
        "OBS6_GLDAS-NOAH_reanaly_1_Amon_evspsbl_200001-200012.nc",
        "OBS6_GLDAS-NOAH_reanaly_1_Lmon_mrros_200001-200012.nc",
        "OBS6_GLDAS-NOAH_reanaly_1_LImon_snm_200001-200012.nc",
        "OBS6_GLDAS-NOAH_reanaly_1_fx_sftlf.nc",
    }
    expected = {
        ("Lmon", "mrsos"): 25.0,
        ("Amon", "pr"): 3e-5,
        ("Amon", "evspsbl"): 2e-5,
        ("Lmon", "mrros"): 0.54 / 10800,
        ("LImon", "snm"): 0.108 / 10800,
    }
    # Every variable through ESMValCore, each load in a fresh process, one import of it.
    loaded = load_obs6_variables(
        out,
        "GLDAS-NOAH",
        [(mip, short, "2000/2000") for mip, short in expected]
        + [("Emon", "mrsol", "2000/2000"), ("fx", "sftlf", None)],
    )
    for (mip, short), value in expected.items():
        cube, messages = loaded[mip, short]
        assert not [m for m in messages if "unit" in m.lower()], messages
        assert cube.shape == (12, 4, 4)
        np.testing.assert_allclose(_value(cube, 15, 30), value, rtol=1e-6)
        assert np.ma.is_masked(_value(cube, -45, -150))
        assert cube.attributes["synthetic"] == "yes: smeval sample archive"
    cube, _ = loaded["Emon", "mrsol"]
    np.testing.assert_allclose(
        cube.coord("depth").bounds,
        [[0, 0.1], [0.1, 0.4], [0.4, 1.0], [1.0, 2.0]],
    )
    np.testing.assert_allclose(
        _value(cube, 15, 30)[0], [25, 60, 110, 200], rtol=1e-6
    )
    cube, _ = loaded["fx", "sftlf"]
    assert _value(cube, 15, 30) == 100.0
    assert _value(cube, -45, -150) == 0.0


def test_gldas_3hourly_full_month_is_averaged(tmp_path):
    stamps = [
        dt.datetime(2001, 2, 1) + dt.timedelta(hours=3 * k)
        for k in range(28 * 8)
    ]
    f = _gldas_fields(len(stamps))
    ramp = np.arange(len(stamps), dtype=float)
    f["SoilMoi0_10cm_inst"][:, 1:, :] += ramp[:, None, None]  # varies in time
    rf.write_gldas_3hourly(
        tmp_path / "raw",
        {k: f[k] for k in ("SoilMoi0_10cm_inst", "Qs_acc")},
        LAT,
        LON,
        stamps,
    )
    files = cmorize(
        "GLDAS",
        tmp_path / "raw",
        tmp_path / "out",
        Options(variables=["mrsos", "mrros"], progress=False),
    )
    mrsos = netCDF4.Dataset(files[0])["mrsos"][:]
    assert mrsos.shape == (1, 4, 4)
    assert mrsos[0, 2, 2] == pytest.approx(25.0 + ramp.mean())
    mrros = netCDF4.Dataset(files[1])["mrros"][:]
    assert mrros[0, 2, 2] == pytest.approx(0.54 / 10800)


def test_real_gldas_3hourly(realdata, tmp_path):
    """Seven real 3-hourly GLDAS-2.1 files of 2016-01-01 (03..21 UTC)."""
    raw = tmp_path / "raw"
    shutil.copytree(realdata / "gldas", raw)
    with pytest.raises(
        TimeGapError, match=r"2016-01 has 7 of 248 time steps \(step 3 h\)"
    ):
        cmorize(
            "GLDAS",
            raw,
            tmp_path / "out",
            Options(variables=["mrsos"], progress=False),
        )
    files = cmorize(
        "GLDAS",
        raw,
        tmp_path / "out",
        Options(
            variables=["mrsos"], allow_partial_months=True, progress=False
        ),
    )
    assert (
        files[0].name
        == "OBS6_GLDAS-NOAH_reanaly_1_Lmon_mrsos_201601-201601.nc"
    )
    cube, messages = load_obs6(
        tmp_path / "out",
        dataset="GLDAS-NOAH",
        mip="Lmon",
        short_name="mrsos",
        timerange="2016/2016",
    )
    assert not [m for m in messages if "unit" in m.lower()], messages
    assert cube.shape == (1, 600, 1440)
    stack = []
    for path in sorted(raw.glob("*.nc4")):
        with netCDF4.Dataset(path) as ds:
            stack.append(ds["SoilMoi0_10cm_inst"][0])
            lat, lon = ds["lat"][:], ds["lon"][:]
    by_hand = np.ma.stack(stack).mean(
        axis=0
    )  # (600, 1440) lat ascending, lon -180..180
    # a cell in the Amazon (5.125 S, 60.125 W) and one in Siberia (60.125 N, 100.125 E)
    for la, lo in ((-5.125, -60.125), (60.125, 100.125)):
        i, j = int(np.argmin(abs(lat - la))), int(np.argmin(abs(lon - lo)))
        assert float(_value(cube, la, lo)[0]) == pytest.approx(
            float(by_hand[i, j]), rel=1e-6
        )
    assert cube.data.mask.sum() == np.ma.getmaskarray(by_hand).sum()
    np.testing.assert_allclose(
        float(cube.data.mean()), float(by_hand.mean()), rtol=1e-5
    )


def test_esacci_min_valid_days(tmp_path):
    days = [dt.date(2005, 6, d) for d in range(1, 31)]
    sm = np.full((30, LAT.size, LON.size), 0.25)
    sm[:, 1, 1] = np.where(np.arange(30) < 5, 0.4, np.nan)  # 5 valid days only
    sm[:, 2, 2] = np.linspace(0.1, 0.3, 30)
    rf.write_esacci_daily(tmp_path / "raw", sm, LAT, LON, days)
    files = cmorize(
        "ESACCI-SM",
        tmp_path / "raw",
        tmp_path / "out",
        Options(min_valid_days=10, progress=False),
    )
    assert files[0].relative_to(tmp_path / "out").as_posix() == (
        "Tier2/ESACCI-SOILMOISTURE/"
        "OBS6_ESACCI-SOILMOISTURE_sat_L3S-SSMV-COMBINED-v04.2_Lmon_mrsos_200506-200506.nc"
    )
    cube, messages = load_obs6(
        tmp_path / "out",
        dataset="ESACCI-SOILMOISTURE",
        mip="Lmon",
        short_name="mrsos",
        tier=2,
        type="sat",
        version="L3S-SSMV-COMBINED-v04.2",
        timerange="2005/2005",
    )
    assert not [m for m in messages if "unit" in m.lower()], messages
    # m3 m-3 -> 0-10 cm: sm * 0.1 m * 1000 kg m-3
    assert float(_value(cube, 45, 150)[0]) == pytest.approx(25.0, rel=1e-6)
    assert float(_value(cube, 15, 30)[0]) == pytest.approx(20.0, rel=1e-5)
    assert np.ma.is_masked(_value(cube, -15, -30)[0])  # 5 < 10 valid days
    files = cmorize(
        "ESACCI-SM",
        tmp_path / "raw",
        tmp_path / "out2",
        Options(min_valid_days=5, progress=False),
    )
    assert netCDF4.Dataset(files[0])["mrsos"][0, 1, 3] == pytest.approx(
        40.0
    )  # lon -30 -> 330


def test_real_esacci(realdata, tmp_path):
    """Five real daily ESA CCI SM v04.2 PASSIVE files, 2016-12-27..31."""
    raw = tmp_path / "raw"
    shutil.copytree(realdata / "esacci", raw)
    files = cmorize(
        "ESACCI-SM",
        raw,
        tmp_path / "out",
        Options(min_valid_days=3, progress=False),
    )
    assert files[0].name == (
        "OBS6_ESACCI-SOILMOISTURE_sat_L3S-SSMV-PASSIVE-v04.2_Lmon_mrsos_201612-201612.nc"
    )
    cube, messages = load_obs6(
        tmp_path / "out",
        dataset="ESACCI-SOILMOISTURE",
        mip="Lmon",
        short_name="mrsos",
        tier=2,
        type="sat",
        version="L3S-SSMV-PASSIVE-v04.2",
        timerange="2016/2016",
    )
    assert not [m for m in messages if "unit" in m.lower()], messages
    assert cube.shape == (1, 720, 1440)
    stack = []
    for path in sorted(raw.glob("*.nc")):
        with netCDF4.Dataset(path) as ds:
            stack.append(ds["sm"][0])
    stack = np.ma.stack(stack)  # lat 90..-90, lon -180..180
    count = stack.count(axis=0)
    by_hand = np.ma.masked_where(count < 3, stack.mean(axis=0)) * 100.0
    data = cube.data[0][::-1]  # back to north-first
    data = np.roll(data, 720, axis=1)  # lon 0..360 -> -180..180
    assert np.array_equal(
        np.ma.getmaskarray(data), np.ma.getmaskarray(by_hand)
    )
    np.testing.assert_allclose(
        data.compressed(), by_hand.compressed(), rtol=1e-5
    )
    assert by_hand.count() > 1000
