"""ESMValCore's ``save`` step with the recipe's ``compression`` option (smeval.preproc_codec).

The step is called as ESMValCore's preprocessing calls it (``compute=False``,
``compress`` from ``compress_netcdf``, the data written by the returned
delayed), and the file is read back with netCDF4: which filter it holds, and
every value and mask bit for bit.
"""

from __future__ import annotations

import dask.array as da
import iris.coords
import iris.cube
import netCDF4
import numpy as np
import pytest
from esmvalcore import preprocessor

from smeval import preproc_codec
from smeval.netcdf_codec import codec_available

needs_zstd = pytest.mark.skipif(
    not codec_available("zstd"), reason="this netCDF library lacks zstd"
)


@pytest.fixture(autouse=True)
def installed():
    preproc_codec.install()


def _cube() -> iris.cube.Cube:
    rng = np.random.default_rng(5)
    values = rng.normal(20.0, 5.0, size=(24, 6, 8)).astype(np.float32)
    data = da.ma.masked_array(da.from_array(values, chunks=(12, 6, 8)))
    data = da.ma.masked_where(da.from_array(values < 15.0), data)
    time = iris.coords.DimCoord(
        np.arange(24) * 30.0 + 15.0,
        standard_name="time",
        units="days since 1979-01-01",
    )
    lat = iris.coords.DimCoord(
        np.linspace(-50.0, 50.0, 6), standard_name="latitude", units="degrees"
    )
    lon = iris.coords.DimCoord(
        np.linspace(0.0, 315.0, 8), standard_name="longitude", units="degrees"
    )
    return iris.cube.Cube(
        data,
        var_name="mrsos",
        standard_name="mass_content_of_water_in_soil_layer",
        units="kg m-2",
        dim_coords_and_dims=[(time, 0), (lat, 1), (lon, 2)],
    )


def _save(path, **options):
    """ESMValCore's call of the step for one product, then its compute."""
    cube = _cube()
    delayed = preprocessor.save([cube], path, compute=False, **options)
    delayed.compute()
    return cube


def _written_codec(path, **options) -> str | None:
    """Save a cube with ``options`` as ESMValCore does; the codec of the file, after checking its data."""
    cube = _save(path, **options)
    with netCDF4.Dataset(path) as dataset:
        variable = dataset["mrsos"]
        filters, read = variable.filters(), variable[:]
    expected = cube.data
    np.testing.assert_array_equal(np.ma.getmaskarray(read), expected.mask)
    np.testing.assert_array_equal(read.compressed(), expected.compressed())
    assert read.dtype == np.float32
    used = [codec for codec in ("zstd", "zlib") if filters.get(codec)]
    assert len(used) <= 1, filters
    return used[0] if used else None


@needs_zstd
def test_the_option_writes_the_codec_lazily_and_exactly(tmp_path):
    options = {"compress": True, "complevel": 1, "compression": "zstd"}
    assert _written_codec(tmp_path / "zstd.nc", **options) == "zstd"


def test_without_the_option_esmvalcore_writes_zlib(tmp_path):
    options = {"compress": True, "complevel": 1}
    assert _written_codec(tmp_path / "zlib.nc", **options) == "zlib"


def test_without_compress_netcdf_the_file_stays_uncompressed(tmp_path):
    options = {"compress": False, "complevel": 1, "compression": "zstd"}
    assert _written_codec(tmp_path / "plain.nc", **options) is None


def test_where_the_codec_cannot_be_written_zlib_is(tmp_path, monkeypatch):
    monkeypatch.setattr(preproc_codec, "codec_available", lambda _c: False)
    options = {"compress": True, "compression": "zstd"}
    assert _written_codec(tmp_path / "fallback.nc", **options) == "zlib"


def test_an_unknown_codec_names_the_file_even_uncompressed(tmp_path):
    path = tmp_path / "bad.nc"
    with pytest.raises(
        ValueError, match=r"bad\.nc: unknown NetCDF compression 'zsdt'"
    ):
        _save(path, compress=False, compression="zsdt")
    assert not path.exists()


def test_esmvalcore_accepts_the_option_in_a_recipe():
    # The recipe check reads the step's signature (kept by functools.wraps);
    # ESMValCore adds the filename and compress before it checks.
    preprocessor.check_preprocessor_settings(
        {
            "save": {
                "compression": "zstd",
                "complevel": 1,
                "compress": True,
                "filename": "out.nc",
            }
        }
    )


def test_install_twice_wraps_once():
    first = preprocessor.save
    preproc_codec.install()
    assert preprocessor.save is first
    assert (
        preprocessor.save.__wrapped__.__module__
        == "esmvalcore.preprocessor._io"
    )
