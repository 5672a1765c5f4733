"""Tests of smeval.core.depth: vertical normalisation (SPEC section 2)."""

import dask.array as da
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from smeval.core.depth import (
    BOUNDS_ATOL,
    DEEP_DEPTH,
    SHALLOW_DEPTH,
    DepthNotReachedError,
    deep_from_layers,
    layer_weights,
    normalise_depth,
    shallow_from_layers,
    volumetric_to_mass,
)

ERA5_BOUNDS = [[0.0, 0.07], [0.07, 0.28], [0.28, 1.0], [1.0, 2.89]]
GLDAS_BOUNDS = [[0.0, 0.1], [0.1, 0.4], [0.4, 1.0], [1.0, 2.0]]


def test_layer_straddling_target_depth():
    # 0-5 cm counts fully, 5-20 cm contributes the 5 cm of its 15 cm above 10 cm.
    w = layer_weights([[0.0, 0.05], [0.05, 0.2]], 0.1)
    np.testing.assert_allclose(w, [1.0, 0.05 / 0.15])


def test_thin_top_layers():
    # CLM-like thin layers: 0-2, 2-6, 6-12, 12-20 cm -> the 6-12 cm layer gives 4 of its 6 cm.
    w = layer_weights(
        [[0, 0.02], [0.02, 0.06], [0.06, 0.12], [0.12, 0.2]], 0.1
    )
    np.testing.assert_allclose(w, [1.0, 1.0, 4 / 6, 0.0])


def test_layers_stopping_short_raise_with_deepest_bound():
    # Layers to 1.5 m cannot give 0-2 m: excluded, never extrapolated.
    with pytest.raises(DepthNotReachedError) as info:
        layer_weights([[0, 0.5], [0.5, 1.5]], 2.0, dataset="MODEL-X")
    assert info.value.deepest == 1.5
    assert info.value.depth == 2.0
    assert "MODEL-X" in str(info.value)


def test_era5_layers_give_0_10_cm():
    # ERA5: 0-7 cm fully plus 3 of the 21 cm of the 7-28 cm layer.
    data = np.array([20.0, 63.0, 200.0, 500.0]).reshape(1, 4, 1, 1)
    out = shallow_from_layers(data, ERA5_BOUNDS)
    np.testing.assert_allclose(out, [[[20.0 + 63.0 * 3 / 21]]])


def test_era5_layers_give_0_200_cm():
    # ERA5 deep: three layers fully plus 1.0 of the 1.89 m of layer 4.
    data = np.array([20.0, 63.0, 200.0, 500.0]).reshape(1, 4, 1, 1)
    out = deep_from_layers(data, ERA5_BOUNDS)
    np.testing.assert_allclose(out, [[[283.0 + 500.0 / 1.89]]])


def test_gldas_layers_give_0_200_cm_and_0_10_cm():
    # GLDAS' four layers end exactly at 2 m: deep is their sum, shallow the first layer.
    data = np.array([30.0, 90.0, 180.0, 300.0]).reshape(1, 4, 1, 1)
    np.testing.assert_allclose(
        deep_from_layers(data, GLDAS_BOUNDS), [[[600.0]]]
    )
    np.testing.assert_allclose(
        shallow_from_layers(data, GLDAS_BOUNDS), [[[30.0]]]
    )


def test_float32_bounds_reach_exact_depth():
    # Bounds stored in float32 (2.0 m as float32 from a sum) still reach 2 m.
    b = np.array(GLDAS_BOUNDS, dtype=np.float32) * np.float32(1.0000001)
    np.testing.assert_allclose(layer_weights(b, DEEP_DEPTH), [1, 1, 1, 1])


def test_masked_contributing_layer_masks_cell_but_deep_mask_does_not():
    # Cell 0: layer 2 masked (contributes to 0-10 cm) -> masked; cell 1: only layer 4 masked -> fine.
    data = np.ma.masked_array(np.ones((1, 4, 1, 2)) * 70.0, mask=False)
    data[0, 1, 0, 0] = np.ma.masked
    data[0, 3, 0, 1] = np.ma.masked
    out = shallow_from_layers(data, ERA5_BOUNDS)
    assert out.mask[0, 0, 0]
    assert not out.mask[0, 0, 1]
    np.testing.assert_allclose(out[0, 0, 1], 70.0 + 70.0 * 3 / 21)
    deep = deep_from_layers(data, ERA5_BOUNDS)
    assert deep.mask[0, 0, 0]
    assert deep.mask[0, 0, 1]


def test_nan_counts_as_missing():
    # A NaN in a contributing layer masks the cell instead of spreading NaN silently.
    data = np.ones((2, 4, 1, 1))
    data[1, 0] = np.nan
    out = deep_from_layers(data, GLDAS_BOUNDS)
    assert not out.mask[0].any()
    assert out.mask[1].all()


def test_dask_matches_numpy_and_stays_lazy():
    # Lazy input: same values and mask as numpy, computed only on demand.
    rng = np.random.default_rng(0)
    data = np.ma.masked_greater(rng.uniform(0, 100, (6, 4, 3, 5)), 95)
    lazy = da.ma.masked_array(
        da.from_array(data.data, chunks=(2, 4, 3, 5)), mask=data.mask
    )
    got = normalise_depth(lazy, ERA5_BOUNDS, 1.0)
    assert isinstance(got, da.Array)
    want = normalise_depth(data, ERA5_BOUNDS, 1.0)
    got = got.compute()
    np.testing.assert_array_equal(np.ma.getmaskarray(got), want.mask)
    np.testing.assert_allclose(got.filled(0), want.filled(0))


def test_layer_axis_option():
    # The layer axis may be anywhere: (lat, layer) gives the same as (layer, lat) transposed.
    data = np.arange(8.0).reshape(4, 2)
    np.testing.assert_allclose(
        normalise_depth(data, GLDAS_BOUNDS, 0.4, axis=0),
        normalise_depth(data.T, GLDAS_BOUNDS, 0.4, axis=1),
    )


@pytest.mark.parametrize(
    "bounds",
    [
        [[0, 0.1], [0.2, 2.0]],
        [[0.05, 0.1], [0.1, 2.0]],
        [[0, 0.3], [0.2, 2.0]],
        [[0, 0.1], [0.1, 0.1], [0.1, 2]],
    ],
    ids=["gap", "not-from-surface", "overlap", "zero-thickness"],
)
def test_bad_layerings_are_rejected(bounds):
    # A gap, overlap, zero-thickness layer or missing surface layer would drop or double-count water.
    with pytest.raises(ValueError, match="soil layer"):
        layer_weights(bounds, 0.1)


def test_volumetric_to_mass_era5_top_layer():
    # 0.3 m3 m-3 over 7 cm is 0.3 * 0.07 m * 1000 kg m-3 = 21 kg m-2.
    np.testing.assert_allclose(
        volumetric_to_mass(np.array([0.3]), 0.07), [21.0]
    )


@st.composite
def layerings(draw):
    n = draw(st.integers(1, 6))
    thick = draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n))
    edges = np.concatenate([[0.0], np.cumsum(thick)])
    return np.stack([edges[:-1], edges[1:]], axis=1)


@settings(max_examples=60, deadline=None)
@given(layerings(), st.floats(0.0, 1.0), st.data())
def test_splitting_a_layer_leaves_total_unchanged(bounds, frac, data):
    # Water is uniform within a layer, so splitting one in two (content shared by thickness) changes nothing.
    depth = data.draw(st.floats(0.005, float(bounds[-1, 1])))
    k = data.draw(st.integers(0, len(bounds) - 1))
    content = np.array(
        data.draw(
            st.lists(
                st.floats(0, 500), min_size=len(bounds), max_size=len(bounds)
            )
        )
    )
    a, b = bounds[k]
    cut = a + (b - a) * min(max(frac, 0.05), 0.95)
    split_bounds = np.concatenate(
        [bounds[:k], [[a, cut], [cut, b]], bounds[k + 1 :]]
    )
    # A cut within BOUNDS_ATOL of D is snapped onto D by design (float32 bounds); keep clear of it.
    assume(abs(cut - depth) > 10 * BOUNDS_ATOL)
    share = (cut - a) / (b - a)
    split_content = np.concatenate(
        [
            content[:k],
            [content[k] * share, content[k] * (1 - share)],
            content[k + 1 :],
        ]
    )
    whole = normalise_depth(content, bounds, depth, axis=0)
    split = normalise_depth(split_content, split_bounds, depth, axis=0)
    np.testing.assert_allclose(split, whole, rtol=1e-9, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(layerings(), st.data())
def test_weighted_thickness_equals_target_depth(bounds, data):
    # The weights pick exactly D metres of soil: sum_k w_k (b_k - a_k) = D, weights in [0, 1].
    depth = data.draw(st.floats(0.005, float(bounds[-1, 1])))
    w = layer_weights(bounds, depth)
    assert np.all((w >= 0) & (w <= 1))
    np.testing.assert_allclose(
        (w * np.diff(bounds, axis=1)[:, 0]).sum(), depth, rtol=1e-9, atol=2e-6
    )


def test_layer_starting_a_float_error_above_depth_does_not_contribute():
    # float32 bounds put the 10 cm interface at 0.1000000015 m; a masked layer below it must not mask 0-10 cm.
    top = float(np.float32(0.1))
    data = np.ma.masked_array([[30.0, 0.0]], mask=[[False, True]])
    out = normalise_depth(data, [[0, top], [top, 2.0]], SHALLOW_DEPTH, axis=1)
    assert not np.ma.is_masked(out[0])
    np.testing.assert_allclose(out, [30.0])
