"""Real ECMWF runoff files: ERA5 hourly ``ro`` and ERA-Interim packed 3-hourly ``ro``.

Both files hold ``ro``, *total* runoff (surface + sub-surface, ERA5
parameter 205). CMOR ``mrros`` is *surface* runoff, ECMWF ``sro``
(parameter 8), so the converter refuses ``ro`` for ``mrros`` with a message
that says why (first test of each). No real ``sro`` file is available, so
the accumulation arithmetic is checked on the real values, layouts and
packing by relabelling ``ro`` as ``sro`` in a copy (second test of each):
the numbers are worked by hand from the raw file read with netCDF4.

- ERA5 hourly (CDS): each value is the accumulation, in m of water, over
  the hour ending at its time; mrros = value / 3600 s x 1000 kg m-3.
- ERA-Interim (ECMWF web API, 3-hourly forecast steps from 00 and 12 UTC):
  values accumulate from the forecast's start, so one day's total is
  value(12 UTC) + value(24 UTC) and the day's mean flux is that / 86400 s
  x 1000 kg m-3.
"""

from __future__ import annotations

import shutil

import netCDF4
import numpy as np
import pytest
from cmorize_helpers import load_obs6

from smeval.cmorize.convert import Options, cmorize
from smeval.cmorize.errors import MissingVariableError

ERA5_RO = "era5runoff.25km.20190101_mendocino_subset.nc"
ERA5_LSM = "era5_land-sea_mask_mendocino_subset.nc"
ERAI_RO = "era_interim_runoff_20140820.nc"


def _read(path, name):
    """Values in float64 (NaN missing), latitude ascending, and the latitudes."""
    with netCDF4.Dataset(path) as ds:
        v = np.ma.filled(np.ma.asarray(ds[name][:], dtype=np.float64), np.nan)
        lat = np.asarray(ds["latitude"][:])
    order = np.argsort(lat)
    return v[..., order, :], lat[order]


def _relabel_ro_as_sro(path):
    with netCDF4.Dataset(path, "a") as ds:
        ds.renameVariable("ro", "sro")


@pytest.mark.parametrize(
    ("dataset", "files"),
    [("ERA5", (ERA5_RO, ERA5_LSM)), ("ERA-Interim", (ERAI_RO,))],
)
def test_total_runoff_is_not_surface_runoff(
    realdata, tmp_path, dataset, files
):
    raw = tmp_path / "raw"
    raw.mkdir()
    folder = realdata / ("era5" if dataset == "ERA5" else "era-interim")
    for name in files:
        (raw / name).symlink_to(folder / name)
    with pytest.raises(MissingVariableError) as exc:
        cmorize(
            dataset,
            raw,
            tmp_path / "out",
            Options(
                variables=["mrros"], progress=False, allow_partial_months=True
            ),
        )
    msg = str(exc.value)
    assert "'sro' (needed for mrros)" in msg
    assert "'ro', total runoff" in msg
    assert files[0] in msg
    assert not (tmp_path / "out" / "Tier3").exists()


def test_real_era5_hourly_accumulation_to_mrros(realdata, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(realdata / "era5" / ERA5_RO, raw)
    (raw / ERA5_LSM).symlink_to(realdata / "era5" / ERA5_LSM)
    _relabel_ro_as_sro(raw / ERA5_RO)
    files = cmorize(
        "ERA5",
        raw,
        tmp_path / "out",
        Options(
            variables=["mrros"], allow_partial_months=True, progress=False
        ),
    )
    # 00 UTC of 2019-01-01 closes the last hour of 2018: two (partial) months
    assert files[0].name == "OBS6_ERA5_reanaly_1_Lmon_mrros_201812-201901.nc"
    ro, _ = _read(raw / ERA5_RO, "sro")  # (24, lat, lon), m per hour
    lsm, _ = _read(raw / ERA5_LSM, "lsm")
    land = lsm[0] > 0.5
    expected = (
        np.stack([ro[0], ro[1:].mean(axis=0)]) * 1000.0 / 3600.0
    )  # kg m-2 s-1
    with netCDF4.Dataset(files[0]) as ds:
        got = ds["mrros"][:]
    assert np.array_equal(~np.ma.getmaskarray(got[0]), land)
    np.testing.assert_allclose(
        got[:, land], expected[:, land], rtol=1e-6, atol=1e-12
    )
    assert float(got.max()) > 0.0
    assert 0.0 < land.sum() < land.size
    cube, messages = load_obs6(
        tmp_path / "out",
        dataset="ERA5",
        mip="Lmon",
        short_name="mrros",
        timerange="2018/2019",
    )
    assert not [m for m in messages if "unit" in m.lower()], messages
    assert cube.shape == (2, 9, 21)
    assert str(cube.units) == "kg m-2 s-1"


def test_real_era_interim_packed_3hourly_accumulation_to_mrros(
    realdata, tmp_path
):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(realdata / "era-interim" / ERAI_RO, raw)
    _relabel_ro_as_sro(raw / ERAI_RO)
    files = cmorize(
        "ERA-Interim",
        raw,
        tmp_path / "out",
        Options(
            variables=["mrros"], allow_partial_months=True, progress=False
        ),
    )
    assert (
        files[0].name
        == "OBS6_ERA-Interim_reanaly_1_Lmon_mrros_201408-201408.nc"
    )
    ro, _ = _read(
        raw / ERAI_RO, "sro"
    )  # int16 unpacked; 03, 06, ..., 21, 00 UTC
    day_total = ro[3] + ro[7]  # 00 UTC run at step 12 + 12 UTC run at step 12
    expected = day_total * 1000.0 / 86400.0
    with netCDF4.Dataset(files[0]) as ds:
        got = ds["mrros"][0]
        assert "not masked: no land-sea mask" in ds.getncattr("comment")
    # differences of packed values: one packing quantum (1.7e-6 m) per step at most
    quantum = 1.7110634149880833e-06 * 1000.0 / 86400.0
    np.testing.assert_allclose(got, expected, rtol=0, atol=2 * quantum)
    assert float(expected.max()) > 100 * quantum  # real signal, not noise
    cube, messages = load_obs6(
        tmp_path / "out",
        dataset="ERA-Interim",
        mip="Lmon",
        short_name="mrros",
        timerange="2014/2014",
    )
    assert not [m for m in messages if "unit" in m.lower()], messages
    assert cube.shape == (1, 361, 720)
