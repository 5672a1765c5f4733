"""Real ECMWF runoff files: ERA5 hourly ``ro`` and ERA-Interim packed 3-hourly ``ro``.

Both files hold ``ro``, *total* runoff (surface + sub-surface, ERA5
parameter 205). CMOR ``mrros`` is *surface* runoff, ECMWF ``sro``
(parameter 8), so by default the converter refuses ``ro`` for ``mrros``
with a message that says why and names the opt-in
(``--mrros-from-total-runoff``, first test). With the opt-in the original
files convert, with the ``sro`` arithmetic, into a file whose ``comment``
says it is total runoff; the numbers are worked by hand from the raw file
read with netCDF4:

- ERA5 hourly (CDS): each value is the accumulation, in m of water, over
  the hour ending at its time; mrros = value / 3600 s x 1000 kg m-3.
- ERA-Interim (ECMWF web API, 3-hourly forecast steps from 00 and 12 UTC):
  values accumulate from the forecast's start, so one day's total is
  value(12 UTC) + value(24 UTC) and the day's mean flux is that / 86400 s
  x 1000 kg m-3.

``sro`` is preferred to ``ro`` when both are there: checked on a copy of the
ERA5 file to which an ``sro`` of a quarter of ``ro`` is added.
"""

from __future__ import annotations

import shutil

import netCDF4
import numpy as np
import pytest
from cmorize_helpers import checksums, load_obs6

from smeval import cli
from smeval.cmorize.convert import TOTAL_RUNOFF_LABEL, Options, cmorize
from smeval.cmorize.errors import CMORizeError, MissingVariableError

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


def _linked(realdata, tmp_path, dataset, files):
    """A raw folder with symbolic links to the real files (never modified)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    folder = realdata / ("era5" if dataset == "ERA5" else "era-interim")
    for name in files:
        (raw / name).symlink_to(folder / name)
    return raw


def _mrros(dataset, raw, out, total_runoff=True):
    return cmorize(
        dataset,
        raw,
        out,
        Options(
            variables=["mrros"],
            allow_partial_months=True,
            progress=False,
            mrros_from_total_runoff=total_runoff,
        ),
    )


def _era5_expected(ro, lsm):
    """Hand-worked ERA5 mrros (kg m-2 s-1) of hourly ``ro`` (24, lat, lon) in m per hour.

    00 UTC of 2019-01-01 closes the last hour of 2018 (December); the 23
    other hours are January's.
    """
    land = lsm[0] > 0.5
    return np.stack([ro[0], ro[1:].mean(axis=0)]) * 1000.0 / 3600.0, land


@pytest.mark.parametrize(
    ("dataset", "files"),
    [("ERA5", (ERA5_RO, ERA5_LSM)), ("ERA-Interim", (ERAI_RO,))],
)
def test_total_runoff_is_not_surface_runoff(
    realdata, tmp_path, dataset, files
):
    raw = _linked(realdata, tmp_path, dataset, files)
    with pytest.raises(MissingVariableError) as exc:
        _mrros(dataset, raw, tmp_path / "out", total_runoff=False)
    msg = str(exc.value)
    assert "'sro' (needed for mrros)" in msg
    assert "'ro', total runoff" in msg
    assert "--mrros-from-total-runoff converts it knowingly" in msg
    assert files[0] in msg
    assert not (tmp_path / "out" / "Tier3").exists()


def test_real_era5_hourly_total_runoff_to_mrros(realdata, tmp_path):
    raw = _linked(realdata, tmp_path, "ERA5", (ERA5_RO, ERA5_LSM))
    before = checksums(realdata / "era5")
    files = _mrros("ERA5", raw, tmp_path / "out")
    # 00 UTC of 2019-01-01 closes the last hour of 2018: two (partial) months
    assert files[0].name == "OBS6_ERA5_reanaly_1_Lmon_mrros_201812-201901.nc"
    ro, _ = _read(raw / ERA5_RO, "ro")  # (24, lat, lon), m per hour
    lsm, _ = _read(raw / ERA5_LSM, "lsm")
    expected, land = _era5_expected(ro, lsm)
    with netCDF4.Dataset(files[0]) as ds:
        got = ds["mrros"][:]
        comment = ds.getncattr("comment")
        assert ds.getncattr("raw_variables") == "ro"
    assert np.array_equal(~np.ma.getmaskarray(got[0]), land)
    np.testing.assert_allclose(
        got[:, land], expected[:, land], rtol=1e-6, atol=1e-12
    )
    assert float(got.max()) > 0.0
    assert 0.0 < land.sum() < land.size
    assert "mrros = ro [m day-1] * 1000 / 86400" in comment
    assert TOTAL_RUNOFF_LABEL in comment
    assert (
        "'ro', TOTAL runoff (surface + sub-surface), an upper bound of surface runoff"
        in comment
    )
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
    # ESMValCore keeps the label (its provenance records the global attributes
    # of input files; the variable has a `comment` of its own)
    assert TOTAL_RUNOFF_LABEL in cube.attributes.globals["comment"]
    assert checksums(realdata / "era5") == before


def test_real_era_interim_packed_3hourly_total_runoff_to_mrros(
    realdata, tmp_path
):
    raw = _linked(realdata, tmp_path, "ERA-Interim", (ERAI_RO,))
    files = _mrros("ERA-Interim", raw, tmp_path / "out")
    assert (
        files[0].name
        == "OBS6_ERA-Interim_reanaly_1_Lmon_mrros_201408-201408.nc"
    )
    # int16 unpacked; 03, 06, ..., 21, 00 UTC
    ro, _ = _read(raw / ERAI_RO, "ro")
    day_total = ro[3] + ro[7]  # 00 UTC run at step 12 + 12 UTC run at step 12
    expected = day_total * 1000.0 / 86400.0
    with netCDF4.Dataset(files[0]) as ds:
        got = ds["mrros"][0]
        comment = ds.getncattr("comment")
    assert "not masked: no land-sea mask" in comment
    assert TOTAL_RUNOFF_LABEL in comment
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
    assert TOTAL_RUNOFF_LABEL in cube.attributes.globals["comment"]


def test_sro_is_preferred_to_ro(realdata, tmp_path):
    """With both in the input, mrros is made from sro even with the opt-in."""
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(realdata / "era5" / ERA5_RO, raw)
    (raw / ERA5_LSM).symlink_to(realdata / "era5" / ERA5_LSM)
    with netCDF4.Dataset(raw / ERA5_RO, "a") as ds:
        ro = ds["ro"]
        sro = ds.createVariable(
            "sro",
            ro.dtype,
            ro.dimensions,
            fill_value=ro.getncattr("_FillValue"),
        )
        sro.setncatts(
            {k: ro.getncattr(k) for k in ro.ncattrs() if k != "_FillValue"}
        )
        sro[:] = ro[:] * 0.25  # planted: a quarter of total runoff
    files = _mrros("ERA5", raw, tmp_path / "out")
    ro, _ = _read(raw / ERA5_RO, "ro")
    lsm, _ = _read(raw / ERA5_LSM, "lsm")
    expected, land = _era5_expected(ro * 0.25, lsm)
    with netCDF4.Dataset(files[0]) as ds:
        got = ds["mrros"][:]
        comment = ds.getncattr("comment")
        assert ds.getncattr("raw_variables") == "sro"
    np.testing.assert_allclose(
        got[:, land], expected[:, land], rtol=1e-5, atol=1e-12
    )
    assert "mrros = sro [m day-1]" in comment
    assert "TOTAL runoff" not in comment


def test_opt_in_is_refused_for_other_data_sets(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    with pytest.raises(CMORizeError, match="ERA5 and ERA-Interim only"):
        _mrros("GLDAS", raw, tmp_path / "out")


def test_command_converts_total_runoff_with_the_flag(
    realdata, tmp_path, capsys
):
    raw = _linked(realdata, tmp_path, "ERA5", (ERA5_RO, ERA5_LSM))
    args = ["cmorize", "ERA5", "--raw", str(raw), "--variables", "mrros"]
    args += ["--allow-partial-months", "--no-progress"]
    assert cli.main([*args, "--out", str(tmp_path / "o1")]) == 1
    assert "--mrros-from-total-runoff" in capsys.readouterr().err
    out = tmp_path / "o2"
    code = cli.main([*args, "--out", str(out), "--mrros-from-total-runoff"])
    assert code == 0
    (path,) = capsys.readouterr().out.split()
    with netCDF4.Dataset(path) as ds:
        assert TOTAL_RUNOFF_LABEL in ds.getncattr("comment")
