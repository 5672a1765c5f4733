"""Real files from the CDS: ERA5 GRIB with swvl1-4, the current NetCDF layout (valid_time).

Known answers are worked by hand from values read independently of the
converter (ecCodes or netCDF4 directly): volumetric water (m3 m-3) x layer
thickness (m) x 1000 kg m-3 = kg m-2 (SPEC section 1); 0-10 cm is all of
ERA5 layer 1 (0-7 cm) and 3/21 of layer 2 (7-28 cm): swvl1 x 70 + swvl2 x 30.
"""

from __future__ import annotations

import json
import subprocess
import sys

import netCDF4
import numpy as np
import pytest
from cmorize_helpers import load_obs6

from smeval.cmorize.convert import Options, cmorize
from smeval.cmorize.errors import MissingVariableError, TimeGapError

THICKNESS_M = [0.07, 0.21, 0.72, 1.89]  # ERA5 soil layers 0-7-28-100-289 cm

_READ_GRIB = """
import json, os, sys
import eccodes
out = {}
with open(sys.argv[1], "rb") as f:
    while (h := eccodes.codes_grib_new_from_file(f)) is not None:
        name = eccodes.codes_get(h, "shortName")
        out[name] = {k: eccodes.codes_get_array(h, k).tolist()
                     for k in ("latitudes", "longitudes", "values")}
        eccodes.codes_release(h)
sys.stdout.write(json.dumps(out))
sys.stdout.flush()
os._exit(0)   # ecCodes' destructors can abort this stack at exit (see _gribworker)
"""


def _grib_by_hand(path):
    """{shortName: {(lat, lon): value}} read with ecCodes in a child process."""
    proc = subprocess.run(
        [sys.executable, "-c", _READ_GRIB, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    fields = json.loads(proc.stdout)
    return {
        name: {
            (la, lo): v
            for la, lo, v in zip(
                f["latitudes"], f["longitudes"], f["values"], strict=True
            )
        }
        for name, f in fields.items()
    }


def _cell(cube_or_array, lats, lons, lat, lon, k=None):
    i = int(np.argmin(abs(np.asarray(lats) - lat)))
    j = int(np.argmin(abs(np.asarray(lons) - lon)))
    data = cube_or_array if k is None else cube_or_array[k]
    return data[..., i, j]


def test_real_era5_grib_swvl1_to_4(realdata, tmp_path):
    """CDS GRIB (class ea, stream oper), one analysis time: mrsol and mrsos."""
    raw = tmp_path / "raw"
    raw.mkdir()
    grib = realdata / "era5-grib" / "soil-surface-level-mix.grib"
    (raw / grib.name).symlink_to(grib)
    out = tmp_path / "out"
    # one analysis of a month: incomplete without --allow-partial-months
    with pytest.raises(TimeGapError, match="2022-01 has 1 of"):
        cmorize("ERA5", raw, out, Options(variables=["mrsol"], progress=False))
    files = cmorize(
        "ERA5",
        raw,
        out,
        Options(
            variables=["mrsol", "mrsos"],
            allow_partial_months=True,
            progress=False,
        ),
    )
    assert sorted(p.name for p in files) == [
        "OBS6_ERA5_reanaly_1_Emon_mrsol_202201-202201.nc",
        "OBS6_ERA5_reanaly_1_Lmon_mrsos_202201-202201.nc",
    ]
    by_hand = _grib_by_hand(grib)
    cube, messages = load_obs6(
        out,
        dataset="ERA5",
        mip="Emon",
        short_name="mrsol",
        timerange="2022/2022",
    )
    assert not [m for m in messages if "unit" in m.lower()], messages
    assert cube.shape == (1, 4, 6, 6)
    lats = cube.coord("latitude").points
    lons = cube.coord("longitude").points
    assert sorted({la for la, _ in by_hand["swvl1"]}) == lats.tolist()
    assert sorted({lo for _, lo in by_hand["swvl1"]}) == lons.tolist()
    for la, lo in by_hand["swvl1"]:
        i, j = lats.tolist().index(la), lons.tolist().index(lo)
        expected = [
            by_hand[f"swvl{k + 1}"][(la, lo)] * THICKNESS_M[k] * 1000.0
            for k in range(4)
        ]
        np.testing.assert_allclose(cube.data[0, :, i, j], expected, rtol=1e-6)
    cube, _ = load_obs6(
        out,
        dataset="ERA5",
        mip="Lmon",
        short_name="mrsos",
        timerange="2022/2022",
    )
    la, lo = 44.0, 6.0
    expected = (
        by_hand["swvl1"][(la, lo)] * 70.0 + by_hand["swvl2"][(la, lo)] * 30.0
    )
    assert float(_cell(cube.data[0], lats, lons, la, lo)) == pytest.approx(
        expected, rel=1e-6
    )
    assert 0.0 < expected < 100.0


TEXAS = "ERA5_Texas_2024_09_01_03.nc"


def test_real_era5_valid_time_layout_sftlf(realdata, tmp_path):
    """The CDS's current NetCDF: valid_time, scalar 'number', string 'expver'."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / TEXAS).symlink_to(realdata / "era5" / TEXAS)
    with pytest.raises(
        MissingVariableError, match=r"'swvl2' \(needed for mrsos\)"
    ):
        cmorize(
            "ERA5",
            raw,
            tmp_path / "out",
            Options(
                variables=["mrsos"], progress=False, allow_partial_months=True
            ),
        )
    cmorize(
        "ERA5",
        raw,
        tmp_path / "out",
        Options(variables=["sftlf"], progress=False),
    )
    cube, messages = load_obs6(
        tmp_path / "out", dataset="ERA5", mip="fx", short_name="sftlf"
    )
    assert not [m for m in messages if "unit" in m.lower()], messages
    with netCDF4.Dataset(realdata / "era5" / TEXAS) as ds:
        lsm = ds["lsm"][0]  # first valid_time, latitude descending
        lat, lon = ds["latitude"][:], ds["longitude"][:]
    assert cube.shape == lsm.shape == (14, 31)
    np.testing.assert_allclose(cube.data, 100.0 * lsm[::-1], rtol=1e-6)
    assert cube.coord("longitude").points[0] == pytest.approx(
        float(lon[0]) % 360
    )
    assert float(cube.data.min()) >= 0.0
    assert float(cube.data.max()) <= 100.0
    assert lat[0] > lat[-1]


def test_real_era5_valid_time_hourly_swvl_monthly_mean(realdata, tmp_path):
    """72 hourly swvl1 of the real file, and a second layer, averaged to 2024-09."""
    raw = tmp_path / "raw"
    raw.mkdir()
    copy = raw / TEXAS
    copy.write_bytes((realdata / "era5" / TEXAS).read_bytes())
    with netCDF4.Dataset(copy, "a") as ds:
        # layer 2 is not in the file: add one (swvl1 x 0.8) so mrsos can be formed
        v = ds.createVariable(
            "swvl2", "f4", ds["swvl1"].dimensions, fill_value=np.nan
        )
        v.units = ds["swvl1"].units
        v.GRIB_stepType = "instant"
        v[:] = ds["swvl1"][:] * np.float32(0.8)
    with pytest.raises(
        TimeGapError, match=r"2024-09 has 72 of 720 time steps \(step 1 h\)"
    ):
        cmorize(
            "ERA5",
            raw,
            tmp_path / "out",
            Options(variables=["mrsos"], progress=False),
        )
    files = cmorize(
        "ERA5",
        raw,
        tmp_path / "out",
        Options(
            variables=["mrsos"], allow_partial_months=True, progress=False
        ),
    )
    assert files[0].name == "OBS6_ERA5_reanaly_1_Lmon_mrsos_202409-202409.nc"
    with netCDF4.Dataset(copy) as ds:
        s1 = np.ma.filled(ds["swvl1"][:].astype(np.float64), np.nan)
        s2 = np.ma.filled(ds["swvl2"][:].astype(np.float64), np.nan)
        lsm = ds["lsm"][0]
    expected = (s1 * 70.0 + s2 * 30.0).mean(axis=0)[::-1]
    land = (lsm > 0.5)[::-1]
    with netCDF4.Dataset(files[0]) as ds:
        got = ds["mrsos"][0]
    assert np.array_equal(
        ~np.ma.getmaskarray(got), land & np.isfinite(expected)
    )
    np.testing.assert_allclose(got[land], expected[land], rtol=1e-6)
    assert float(got.min()) > 0.0
    assert float(got.max()) < 70.0
    cube, messages = load_obs6(
        tmp_path / "out",
        dataset="ERA5",
        mip="Lmon",
        short_name="mrsos",
        timerange="2024/2024",
    )
    assert not [m for m in messages if "unit" in m.lower()], messages
    assert cube.shape == (1, 14, 31)
