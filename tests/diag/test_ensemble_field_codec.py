"""The codec of the ensemble fields: what the series scripts write comes back bit for bit.

The regional-series scripts write each data set's monthly field on the
common grid with :func:`smeval.diag.ensemble_fields.save_options` (zstd,
chunks of whole years, through iris' saver into an open netCDF4 dataset,
:func:`smeval.diag.io.save_cube`). Read back with iris, values, mask and
dtype must round-trip exactly, so that the correlation maps do not depend
on the codec; the correlation script's own reader gives iris' values
(test_field_file.py).
"""

from __future__ import annotations

import dask.array as da
import iris
import iris.coords
import iris.cube
import netCDF4
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from smeval.diag import ensemble_fields
from smeval.diag.ensemble_fields import (
    CHUNK_MONTHS,
    COMPRESSION,
    FALLBACK_COMPRESSION,
    save_options,
)
from smeval.diag.io import load_cube, save_cube
from smeval.netcdf_codec import codec_available

SHAPE = (30, 4, 6)


def field(data) -> iris.cube.Cube:
    """A (time, lat, lon) cube of monthly ``data`` as the series scripts hold it."""
    n_time, n_lat, n_lon = data.shape
    time = iris.coords.DimCoord(
        np.arange(n_time) * 30.0 + 15.0,
        standard_name="time",
        units="days since 1979-01-01",
    )
    lat = iris.coords.DimCoord(
        np.linspace(-60.0, 60.0, n_lat),
        standard_name="latitude",
        units="degrees",
    )
    lon = iris.coords.DimCoord(
        np.linspace(0.0, 300.0, n_lon),
        standard_name="longitude",
        units="degrees",
    )
    return iris.cube.Cube(
        data,
        var_name="mrsos",
        units="kg m-2",
        dim_coords_and_dims=[(time, 0), (lat, 1), (lon, 2)],
        attributes={"smeval_dataset": "MODEL-A"},
    )


def assert_exact(back, data) -> None:
    """``back`` has the dtype, mask and bits (where unmasked) of ``data``."""
    assert back.dtype == data.dtype == np.float32
    mask = np.ma.getmaskarray(data)
    np.testing.assert_array_equal(np.ma.getmaskarray(back), mask)
    np.testing.assert_array_equal(
        np.ma.getdata(back)[~mask].view(np.uint32),
        np.ma.getdata(data)[~mask].view(np.uint32),
    )


def filters(path) -> tuple[dict, object]:
    """Filters and chunk layout of the field variable of ``path``."""
    with netCDF4.Dataset(path) as dataset:
        variable = dataset["mrsos"]
        return variable.filters(), variable.chunking()


#: Any float32 (subnormals, -0.0 and extremes included) short of NetCDF's
#: default fill value 9.97e36, which marks the masked cells in any codec.
BOUND = float(np.float32(1e36))
finite32 = st.floats(min_value=-BOUND, max_value=BOUND, width=32)


@settings(max_examples=25, deadline=None)
@given(
    values=hnp.arrays(np.float32, SHAPE, elements=finite32),
    mask=hnp.arrays(np.bool_, SHAPE),
)
def test_a_field_round_trips_bit_for_bit(tmp_path_factory, values, mask):
    data = np.ma.masked_array(values, mask=mask)
    path = tmp_path_factory.mktemp("codec") / "MODEL-A.nc"
    cube = field(data)
    save_cube(cube, path, **save_options(cube.shape))
    back = load_cube(path)
    assert back.attributes["smeval_dataset"] == "MODEL-A"
    np.testing.assert_array_equal(
        back.coord("time").points, cube.coord("time").points
    )
    assert_exact(np.ma.asarray(back.lazy_data().compute()), data)


#: The netCDF library here writes zstd (the PyPI wheels do); elsewhere the
#: fields fall back to zlib (test_without_zstd_...).
needs_zstd = pytest.mark.skipif(
    not codec_available("zstd"), reason="this netCDF library lacks zstd"
)


def test_codec_available_asks_the_netcdf_library():
    assert codec_available("zlib")
    assert codec_available("zstd") == bool(netCDF4.__has_zstandard_support__)
    assert not codec_available("no-such-codec")


@needs_zstd
def test_the_fields_are_zstd_in_chunks_of_whole_years(tmp_path):
    data = np.ma.masked_less(
        np.random.default_rng(0).normal(size=SHAPE).astype(np.float32), -1.0
    )
    cube = field(data)
    options = save_options(cube.shape)
    save_cube(cube, tmp_path / "f.nc", **options)
    got, chunks = filters(tmp_path / "f.nc")
    assert options == {**COMPRESSION, "chunksizes": (CHUNK_MONTHS, 4, 6)}
    assert got["zstd"] is True
    assert got["complevel"] == 1
    assert got["zlib"] is False
    assert chunks == [12, 4, 6]
    assert_exact(iris.load_cube(str(tmp_path / "f.nc")).data, data)


@needs_zstd
def test_a_lazy_field_is_written_after_the_dataset_is_closed(tmp_path):
    # iris writes lazy data into a dataset it was handed only once that
    # dataset is closed (its compute=False): save_cube completes the write.
    data = np.ma.masked_greater(
        np.random.default_rng(1).normal(size=SHAPE).astype(np.float32), 1.0
    )
    cube = field(
        da.ma.masked_array(
            da.from_array(data.data, chunks=(7, 4, 6)), data.mask
        )
    )
    save_cube(cube, tmp_path / "lazy.nc", compression="zstd", complevel=1)
    assert filters(tmp_path / "lazy.nc")[0]["zstd"] is True
    assert_exact(load_cube(tmp_path / "lazy.nc").data, data)


def test_short_fields_take_one_chunk():
    assert save_options((5, 160, 320))["chunksizes"] == (5, 160, 320)


def test_without_zstd_the_fields_fall_back_to_zlib(tmp_path, monkeypatch):
    # A netCDF library without the zstd filter (netCDF-C < 4.9, or its HDF5
    # plugins not found) gets the codec of before, also lossless.
    monkeypatch.setattr(
        ensemble_fields, "codec_available", lambda _codec: False
    )
    data = np.ma.masked_less(
        np.random.default_rng(2).normal(size=SHAPE).astype(np.float32), 0.0
    )
    cube = field(data)
    options = save_options(cube.shape)
    assert {k: options[k] for k in FALLBACK_COMPRESSION} == dict(
        FALLBACK_COMPRESSION
    )
    save_cube(cube, tmp_path / "f.nc", **options)
    got, _ = filters(tmp_path / "f.nc")
    assert (got["zlib"], got["zstd"]) == (True, False)
    assert_exact(load_cube(tmp_path / "f.nc").data, data)


def test_an_unknown_codec_is_refused_and_leaves_no_file(tmp_path):
    cube = field(np.ma.masked_array(np.zeros(SHAPE, np.float32)))
    with pytest.raises(ValueError, match=r"f\.nc.*no-such-codec"):
        save_cube(cube, tmp_path / "f.nc", compression="no-such-codec")
    assert list(tmp_path.iterdir()) == []
