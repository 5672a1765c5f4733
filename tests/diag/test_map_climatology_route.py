"""The maps' climatologies run ESMValCore's time mean on NaN-filled data when that is exact.

`MapClimatology.lazy` applies `climate_statistics` (mean, full period) to
the data with masked points as NaN, because dask's masked average is several
times slower. That must give ESMValCore's own result on the masked data bit
for bit whenever every cell is valid at all time steps or at none, and must
say so (the `redo` flag) otherwise. These tests compare the two routes.
"""

from __future__ import annotations

import dask.array as da
import iris.coords
import iris.cube
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from smeval import cmorio
from smeval.diag.preprocess import MapClimatology

MEAN = {"climate_statistics": {"operator": "mean", "period": "full"}}


def _cube(values: np.ndarray, mask: np.ndarray, chunk: int = 5) -> iris.cube.Cube:
    """A lazy masked (month, lat, lon) cube of 1980 on a coarse grid."""
    points, bounds = cmorio.monthly_time_axis(1980, 1980, "standard")
    n_time, n_lat, n_lon = values.shape
    lat = np.linspace(-60.0, 60.0, n_lat)
    lon = np.linspace(0.0, 300.0, n_lon)
    data = da.ma.masked_array(da.from_array(values.astype(np.float32), chunks=(chunk, -1, -1)),
                              mask=da.from_array(mask, chunks=(chunk, -1, -1)))
    time = iris.coords.DimCoord(points[:n_time], bounds=bounds[:n_time], standard_name="time",
                                units=cmorio.CMIP6_TIME_UNITS)
    return iris.cube.Cube(data, var_name="mrsos", units="kg m-2", dim_coords_and_dims=[
        (time, 0), (iris.coords.DimCoord(lat, standard_name="latitude", units="degrees"), 1),
        (iris.coords.DimCoord(lon, standard_name="longitude", units="degrees"), 2)])


def _both_routes(cube: iris.cube.Cube, steps=MEAN):
    maps = MapClimatology(("mrsos",), steps)
    fast, redo = maps.lazy(cube.copy(), "test.nc")
    masked, none = maps.lazy(cube.copy(), "test.nc", masked_arithmetic=True)
    assert none is None
    return fast.data, masked.data, bool(redo.compute())


@settings(max_examples=40, deadline=None)
@given(values=hnp.arrays(np.float32, (12, 3, 4), elements=st.floats(-1e4, 1e4, width=32)),
       static=hnp.arrays(np.bool_, (3, 4)),
       flips=hnp.arrays(np.bool_, (12, 3, 4)),
       time_varying=st.booleans())
def test_nan_route_is_esmvalcore_exactly_or_asks_to_redo(values, static, flips, time_varying):
    mask = np.broadcast_to(static, values.shape).copy()
    if time_varying:
        mask ^= flips
    fast, masked, redo = _both_routes(_cube(values, mask))
    counts = mask.sum(axis=0)
    assert redo == bool(((counts > 0) & (counts < 12)).any())
    if not redo:
        np.testing.assert_array_equal(np.ma.getmaskarray(fast), np.ma.getmaskarray(masked))
        np.testing.assert_array_equal(np.ma.filled(fast, 0.0), np.ma.filled(masked, 0.0))
        assert fast.dtype == masked.dtype


def test_month_lengths_weight_both_routes():
    # Month k holds k; the mean of 1980 weights months by their days.
    days = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    values = np.broadcast_to(np.arange(1.0, 13.0)[:, None, None], (12, 3, 4))
    mask = np.zeros(values.shape, bool)
    mask[:, 0, 0] = True  # a sea cell: masked at every step
    mask[5, 1, 1] = True  # masked in June only
    fast, masked, redo = _both_routes(_cube(values, mask))
    assert redo  # the June gap: the masked route decides
    expected = (np.arange(1.0, 13.0) * days).sum() / days.sum()
    without_june = np.delete(np.arange(1.0, 13.0) * days, 5).sum() / np.delete(days, 5).sum()
    assert masked[0, 0] is np.ma.masked
    np.testing.assert_allclose(masked[1, 1], without_june, rtol=1e-6)
    np.testing.assert_allclose(masked[2, 3], expected, rtol=1e-6)
    assert fast[1, 1] is np.ma.masked  # what the NaN route alone would give


def test_other_first_steps_average_the_masked_data():
    cube = _cube(np.ones((12, 3, 4)), np.zeros((12, 3, 4), bool))
    maps = MapClimatology(("mrsos",), {"climate_statistics": {"operator": "max", "period": "full"}})
    _, redo = maps.lazy(cube, "test.nc")
    assert redo is None
