"""`smeval.preprocessor.climate_mean` is ESMValCore's full-period time mean, in one pass.

It takes the length-weighted mean of the valid time steps from plain arrays,
because dask's masked average (ESMValCore's route) is several times slower
on real files. It must give ESMValCore's own result on the masked data, to
float32 rounding, with the same mask, whether or not a cell's mask varies in
time, from one pass over the data. These tests compare the two.
"""

from __future__ import annotations

import dask
import dask.array as da
import esmvalcore.preprocessor as esmvalcore_preprocessor
import iris.coords
import iris.cube
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from smeval import cmorio
from smeval.core._arrays import valid_values
from smeval.preprocessor import climate_mean, climate_sums


def _cube(
    values: np.ndarray, mask: np.ndarray, chunk: int = 5
) -> iris.cube.Cube:
    """A lazy masked (month, lat, lon) cube of 1980 on a coarse grid."""
    points, bounds = cmorio.monthly_time_axis(1980, 1980, "standard")
    n_time, n_lat, n_lon = values.shape
    lat = np.linspace(-60.0, 60.0, n_lat)
    lon = np.linspace(0.0, 300.0, n_lon)
    data = da.ma.masked_array(
        da.from_array(values.astype(np.float32), chunks=(chunk, -1, -1)),
        mask=da.from_array(mask, chunks=(chunk, -1, -1)),
    )
    time = iris.coords.DimCoord(
        points[:n_time],
        bounds=bounds[:n_time],
        standard_name="time",
        units=cmorio.CMIP6_TIME_UNITS,
    )
    return iris.cube.Cube(
        data,
        var_name="mrsos",
        units="kg m-2",
        dim_coords_and_dims=[
            (time, 0),
            (
                iris.coords.DimCoord(
                    lat, standard_name="latitude", units="degrees"
                ),
                1,
            ),
            (
                iris.coords.DimCoord(
                    lon, standard_name="longitude", units="degrees"
                ),
                2,
            ),
        ],
    )


def _both_routes(cube: iris.cube.Cube):
    """(climate_mean, ESMValCore's climate_statistics on the masked data), computed."""
    ours = climate_mean(cube.copy())
    assert ours.has_lazy_data()
    theirs = esmvalcore_preprocessor.climate_statistics(
        cube.copy(), operator="mean", period="full"
    )
    return ours.data, theirs.data


@settings(max_examples=40, deadline=None)
@given(
    values=hnp.arrays(
        np.float32, (12, 3, 4), elements=st.floats(-1e4, 1e4, width=32)
    ),
    static=hnp.arrays(np.bool_, (3, 4)),
    flips=hnp.arrays(np.bool_, (12, 3, 4)),
    time_varying=st.booleans(),
)
def test_climate_mean_is_esmvalcores_mean_of_the_masked_data(
    values, static, flips, time_varying
):
    mask = np.broadcast_to(static, values.shape).copy()
    if time_varying:
        mask ^= flips
    ours, theirs = _both_routes(_cube(values, mask))
    assert ours.dtype == theirs.dtype == np.float32
    np.testing.assert_array_equal(
        np.ma.getmaskarray(ours), np.ma.getmaskarray(theirs)
    )
    # Means of values up to 1e4 in float32: equal to float32 rounding of the largest value.
    np.testing.assert_allclose(
        np.ma.filled(ours, 0.0),
        np.ma.filled(theirs, 0.0),
        rtol=1e-6,
        atol=1e4 * 2e-7,
    )


def test_a_time_varying_mask_is_averaged_over_the_valid_months_in_one_pass():
    # Month k holds k; the mean of 1980 weights months by their days. One cell
    # is sea (masked always), one misses June only: its mean is that of the
    # other 11 months, from the same single computation.
    days = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    values = np.broadcast_to(np.arange(1.0, 13.0)[:, None, None], (12, 3, 4))
    mask = np.zeros(values.shape, bool)
    mask[:, 0, 0] = True
    mask[5, 1, 1] = True
    cube = _cube(values, mask)
    mean = climate_mean(cube)
    with dask.config.set(scheduler="sync"):
        [data] = dask.compute(mean.core_data())
    expected = (np.arange(1.0, 13.0) * days).sum() / days.sum()
    without_june = (
        np.delete(np.arange(1.0, 13.0) * days, 5).sum()
        / np.delete(days, 5).sum()
    )
    assert data[0, 0] is np.ma.masked
    np.testing.assert_allclose(data[1, 1], without_june, rtol=1e-6)
    np.testing.assert_allclose(data[2, 3], expected, rtol=1e-6)
    assert not mean.coords("time", dim_coords=True)
    assert mean.coord("time").shape == (1,)
    theirs = esmvalcore_preprocessor.climate_statistics(
        cube.copy(), operator="mean", period="full"
    )
    assert mean.cell_methods == theirs.cell_methods
    assert mean.coord("time") == theirs.coord("time")


def test_climate_mean_reads_each_block_of_the_data_once():
    # One pass: every chunk of the input is produced once for the whole result,
    # although both sums (values and valid lengths) use it.
    calls = []

    def counted(block, block_info=None):
        calls.append(block_info[0]["chunk-location"])
        return block

    cube = _cube(np.ones((12, 3, 4)), np.zeros((12, 3, 4), bool), chunk=4)
    data = cube.core_data()
    cube.data = da.map_blocks(
        counted,
        data,
        dtype=data.dtype,
        meta=np.ma.masked_array([], dtype=data.dtype),
    )
    climate_mean(cube).data  # noqa: B018 - realise it
    assert sorted(calls) == [(0, 0, 0), (1, 0, 0), (2, 0, 0)]


def test_data_that_are_not_lazy_floats_go_to_esmvalcore_unchanged():
    cube = _cube(
        np.arange(12.0 * 12).reshape(12, 3, 4), np.zeros((12, 3, 4), bool)
    )
    cube.data = cube.data  # realised
    np.testing.assert_array_equal(
        climate_mean(cube.copy()).data,
        esmvalcore_preprocessor.climate_statistics(
            cube, operator="mean", period="full"
        ).data,
    )


def _whole_chunk_sums(cube: iris.cube.Cube):
    """The two sums as whole-chunk float64 arrays (the formula climate_sums replaced): a second route."""
    data = cube.core_data()
    lengths = np.diff(cube.coord("time").bounds, axis=-1)[:, 0]
    values, valid = valid_values(data)
    weights = lengths[:, None, None]
    total = da.where(valid, values * weights, 0.0).sum(
        axis=0, dtype=np.float64
    )
    return total, (valid * weights).sum(axis=0)


@settings(max_examples=40, deadline=None)
@given(
    values=hnp.arrays(
        np.float32,
        (12, 3, 4),
        elements=st.floats(-1e4, 1e4, width=32) | st.just(np.nan),
    ),
    mask=hnp.arrays(np.bool_, (12, 3, 4)),
    chunk=st.integers(1, 12),
)
def test_the_sums_a_map_at_a_time_are_the_whole_chunks_sums(
    values, mask, chunk
):
    # Bit for bit: the same float64 products added in the same order.
    cube = _cube(values, mask, chunk=chunk)
    ours = dask.compute(*climate_sums(cube))
    theirs = dask.compute(*_whole_chunk_sums(cube))
    for one, other in zip(ours, theirs, strict=True):
        assert one.dtype == other.dtype == np.float64
        np.testing.assert_array_equal(one, other)
