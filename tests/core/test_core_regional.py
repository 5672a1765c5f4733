"""Tests of smeval.core.regional: area-weighted regional means in one matrix product."""

import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smeval.core.regional import (
    EARTH_RADIUS,
    cell_areas,
    region_weight_matrix,
    regional_means,
)
from smeval.core.regions import ALL_REGIONS, region_weights


def grid(nlat, nlon, lon0=0.0):
    lat_edges = np.linspace(-90, 90, nlat + 1)
    lon_edges = np.linspace(lon0, lon0 + 360, nlon + 1)
    return np.stack([lat_edges[:-1], lat_edges[1:]], 1), np.stack(
        [lon_edges[:-1], lon_edges[1:]], 1
    )


def brute_force(data, lat_b, lon_b, areas, land):
    """Per-region, per-time, per-cell Python loop: sum(w x) / sum(w) over valid cells."""
    nt, nlat, nlon = data.shape
    out = np.full((nt, len(ALL_REGIONS)), np.nan)
    for j, region in enumerate(ALL_REGIONS):
        frac = region_weights(lat_b, lon_b, region)
        for t in range(nt):
            num = den = 0.0
            for y in range(nlat):
                for x in range(nlon):
                    if np.ma.is_masked(data[t, y, x]) or not np.isfinite(
                        data[t, y, x]
                    ):
                        continue
                    w = areas[y, x] * land[y, x] * frac[y, x]
                    num += w * float(data[t, y, x])
                    den += w
            if den > 0:
                out[t, j] = num / den
    return out


def test_cell_areas_sum_to_sphere():
    # Cells of any regular grid tile the sphere: total 4 pi R^2.
    lat, lon = grid(160, 320)
    assert cell_areas(lat, lon).sum() == pytest.approx(
        4 * np.pi * EARTH_RADIUS**2, rel=1e-12
    )


def test_against_brute_force_loop_with_masks_land_fraction_and_areacella():
    # Random data on a coarse grid, a time-varying mask, random land fraction and areacella: same as the loop.
    rng = np.random.default_rng(7)
    lat, lon = grid(18, 24, lon0=-180)
    data = np.ma.masked_array(
        rng.normal(20, 5, (5, 18, 24)), mask=rng.random((5, 18, 24)) < 0.3
    )
    data[2, :, :] = np.ma.masked  # a time step with nothing valid anywhere
    areas = rng.uniform(1, 2, (18, 24))
    land = rng.uniform(0, 1, (18, 24))
    w = region_weight_matrix(lat, lon, areacella=areas, land_fraction=land)
    got = regional_means(data, w)
    np.testing.assert_allclose(
        got,
        brute_force(data, lat, lon, areas, land),
        rtol=1e-10,
        equal_nan=True,
    )
    assert np.isnan(got[2]).all()


def test_time_invariant_mask_and_nan_input():
    # A fixed land mask given as NaN (ocean) takes the shortcut path and still matches the loop.
    rng = np.random.default_rng(8)
    lat, lon = grid(12, 16)
    data = rng.normal(size=(4, 12, 16))
    data[:, rng.random((12, 16)) < 0.5] = np.nan
    w = region_weight_matrix(lat, lon)
    ones = np.ones((12, 16))
    np.testing.assert_allclose(
        regional_means(data, w),
        brute_force(data, lat, lon, cell_areas(lat, lon), ones),
        rtol=1e-10,
        equal_nan=True,
    )


def test_region_without_valid_cell_is_nan():
    # Mask everything inside TIB's box: TIB's mean is NaN, other regions still have values.
    lat, lon = grid(36, 72)
    data = np.ma.masked_array(np.ones((2, 36, 72)))
    data[:, region_weights(lat, lon, "TIB") > 0] = np.ma.masked
    w = region_weight_matrix(lat, lon)
    out = regional_means(data, w)
    tib = w.region_ids.index("TIB")
    assert np.isnan(out[:, tib]).all()
    assert np.allclose(np.delete(out, tib, axis=1), 1.0)


def test_dask_matches_numpy_and_is_lazy():
    # Lazy masked data chunked in time: same result, computed block by block.
    rng = np.random.default_rng(9)
    lat, lon = grid(20, 40)
    data = np.ma.masked_array(
        rng.normal(size=(10, 20, 40)), mask=rng.random((10, 20, 40)) < 0.2
    )
    lazy = da.ma.masked_array(
        da.from_array(data.data, chunks=(3, 10, 40)), mask=data.mask
    )
    w = region_weight_matrix(lat, lon)
    got = regional_means(lazy, w)
    assert isinstance(got, da.Array)
    assert got.shape == (10, len(ALL_REGIONS))
    np.testing.assert_allclose(
        got.compute(), regional_means(data, w), rtol=1e-12, equal_nan=True
    )


def test_leading_axes_and_grid_check():
    # Extra leading axes (e.g. member, time) pass through; a wrong grid is refused.
    lat, lon = grid(10, 20)
    w = region_weight_matrix(lat, lon, regions=("NH", "SH"))
    data = np.ones((2, 3, 10, 20))
    assert regional_means(data, w).shape == (2, 3, 2)
    with pytest.raises(ValueError, match="grid"):
        regional_means(np.ones((3, 11, 20)), w)


def test_land_fraction_in_percent_is_refused():
    # sftlf is in %: passing it unscaled is caught instead of silently weighting.
    lat, lon = grid(10, 20)
    with pytest.raises(ValueError, match="divide"):
        region_weight_matrix(lat, lon, land_fraction=np.full((10, 20), 100.0))


@settings(max_examples=30, deadline=None)
@given(
    st.integers(6, 40),
    st.integers(8, 60),
    st.floats(-180, 180),
    st.floats(-1e3, 1e3),
)
def test_weights_sum_to_one_constant_field_returns_constant(
    nlat, nlon, lon0, value
):
    # Normalised weights sum to one, so a constant field's regional mean is that constant in every region.
    lat, lon = grid(nlat, nlon, lon0)
    w = region_weight_matrix(lat, lon)
    out = regional_means(np.full((2, nlat, nlon), value), w)
    has_cells = w.total > 0
    np.testing.assert_allclose(out[:, has_cells], value, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(
        (w.matrix / w.total[:, None])[has_cells].sum(axis=1), 1.0, rtol=1e-12
    )
