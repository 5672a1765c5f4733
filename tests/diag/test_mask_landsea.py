"""smeval's ``mask_landsea`` gives ESMValCore's result and reads Natural Earth once per grid."""

from __future__ import annotations

import cartopy.io.shapereader
import dask.array as da
import esmvalcore.preprocessor
import iris.coords
import iris.cube
import numpy as np
import pytest

from smeval.diag import preprocess
from smeval.diag.preprocess import apply_steps, mask_landsea


def _cube(lazy: bool, step: float = 7.5, n_time: int = 3) -> iris.cube.Cube:
    """A (time, lat, lon) field on a global grid of ``step`` degrees with a few points masked already."""
    lat = np.arange(-90 + step / 2, 90, step)
    lon = np.arange(step / 2, 360, step)
    rng = np.random.default_rng(5)
    values = rng.normal(size=(n_time, lat.size, lon.size))
    mask = np.zeros(values.shape, bool)
    mask[0, :3, :4] = True
    data = np.ma.masked_array(values, mask)
    if lazy:
        data = da.from_array(data, chunks=(1, lat.size, lon.size))
    lat_coord = iris.coords.DimCoord(lat, "latitude", units="degrees")
    lon_coord = iris.coords.DimCoord(
        lon, "longitude", units="degrees", circular=True
    )
    for coord in (lat_coord, lon_coord):
        coord.guess_bounds()
    time = iris.coords.DimCoord(
        np.arange(n_time, dtype=float), "time", units="days since 2000-01-01"
    )
    return iris.cube.Cube(
        data,
        var_name="mrsos",
        units="kg m-2",
        dim_coords_and_dims=[(time, 0), (lat_coord, 1), (lon_coord, 2)],
    )


def _same(ours: iris.cube.Cube, theirs: iris.cube.Cube) -> None:
    np.testing.assert_array_equal(
        np.ma.getmaskarray(ours.data), np.ma.getmaskarray(theirs.data)
    )
    np.testing.assert_array_equal(
        np.ma.filled(ours.data, np.nan), np.ma.filled(theirs.data, np.nan)
    )


@pytest.fixture(autouse=True)
def _no_cached_masks(monkeypatch):
    monkeypatch.setattr(preprocess, "_SHAPEFILE_MASKS", {})


@pytest.mark.parametrize("lazy", [True, False])
@pytest.mark.parametrize("mask_out", ["sea", "land"])
def test_the_result_is_esmvalcores(lazy, mask_out):
    ours = mask_landsea(_cube(lazy), mask_out)
    theirs = esmvalcore.preprocessor.mask_landsea(_cube(lazy), mask_out)
    assert ours.has_lazy_data() == lazy
    # Natural Earth masks part of the grid, and the planted mask stays.
    mask = np.ma.getmaskarray(ours.data)
    assert 0.1 < mask[1].mean() < 0.9
    assert mask[0, :3, :4].all()
    _same(ours, theirs)


def test_longitude_before_latitude_is_masked_as_esmvalcore_does():
    def transposed():
        cube = _cube(lazy=True)
        cube.transpose([2, 0, 1])
        return cube

    _same(
        mask_landsea(transposed(), "sea"),
        esmvalcore.preprocessor.mask_landsea(transposed(), "sea"),
    )


def test_natural_earth_is_read_once_per_grid(monkeypatch):
    reads = []
    reader = cartopy.io.shapereader.Reader

    def counting(*args, **kwargs):
        reads.append(args)
        return reader(*args, **kwargs)

    monkeypatch.setattr(cartopy.io.shapereader, "Reader", counting)
    steps = {"mask_landsea": {"mask_out": "sea"}}
    first = apply_steps(_cube(lazy=True), steps)
    second = apply_steps(_cube(lazy=True, n_time=5), steps)
    assert len(reads) == 1
    apply_steps(_cube(lazy=True, step=10.0), steps)  # another grid
    assert len(reads) == 2
    _same(first, esmvalcore.preprocessor.mask_landsea(_cube(True), "sea"))
    assert np.ma.getmaskarray(second.data)[4].any()


def test_a_land_fraction_is_used_as_esmvalcore_uses_it():
    def with_fraction():
        cube = _cube(lazy=True)
        fraction = np.zeros(cube.shape[1:])
        fraction[:, : cube.shape[2] // 2] = 100.0  # half the globe is land
        cube.add_ancillary_variable(
            iris.coords.AncillaryVariable(
                fraction,
                standard_name="land_area_fraction",
                var_name="sftlf",
                units="%",
            ),
            (1, 2),
        )
        return cube

    ours = mask_landsea(with_fraction(), "sea")
    assert not preprocess._SHAPEFILE_MASKS
    mask = np.ma.getmaskarray(ours.data)
    assert mask[1, :, ours.shape[2] // 2 :].all()
    assert not mask[1, :, : ours.shape[2] // 2].any()
    _same(ours, esmvalcore.preprocessor.mask_landsea(with_fraction(), "sea"))
