"""Tests of smeval.core.ensemble: members -> models -> families -> MMEMs (SPEC section 4)."""

import warnings

import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smeval.core.ensemble import (
    MMEM_ALL,
    MMEM_HIGH,
    MMEM_LOW,
    hierarchical_means,
    resolution_group,
)

# Family A: A1 (3 members, low res), A2 (1 member, high), A3 (2 members, high, one with a gap);
# family B: B1 (2 members, low). Values are 2-element series; the second element tests missing values.
MEMBERS = {
    "A1": [np.array([1.0, 1.0]), np.array([2.0, 2.0]), np.array([3.0, 3.0])],
    "A2": [np.array([6.0, 6.0])],
    "A3": [np.array([4.0, np.nan]), np.array([4.0, 8.0])],
    "B1": [
        np.array([10.0, 10.0]),
        np.ma.masked_array([20.0, 0.0], mask=[False, True]),
    ],
}
FAMILY = {"A1": "A", "A2": "A", "A3": "A", "B1": "B"}
NLAT = {"A1": 96, "A2": 192, "A3": 160, "B1": 64}


def test_hand_worked_hierarchy():
    # Model means: A1 2, A2 6, A3 4 (8 at the gap), B1 15 (10 at the mask); families A 4, B 15; MMEM 9.5.
    res = hierarchical_means(MEMBERS, FAMILY, NLAT)
    np.testing.assert_allclose(res.model_means["A1"], [2, 2])
    np.testing.assert_allclose(res.model_means["A3"], [4, 8])
    np.testing.assert_allclose(res.model_means["B1"], [15, 10])
    np.testing.assert_allclose(res.family_means["A"], [4, (2 + 6 + 8) / 3])
    np.testing.assert_allclose(res.family_means["B"], [15, 10])
    np.testing.assert_allclose(res.mmem[MMEM_ALL], [9.5, (16 / 3 + 10) / 2])


def test_resolution_groups_and_membership():
    # 160 rows is high (A2, A3); MMEM-high is family A from A2, A3 only = 5; MMEM-low = (A1 2 + B1 15) / 2.
    res = hierarchical_means(MEMBERS, FAMILY, NLAT)
    np.testing.assert_allclose(res.mmem[MMEM_HIGH], [5, 7])
    np.testing.assert_allclose(res.mmem[MMEM_LOW], [8.5, 6])
    assert res.models_in[MMEM_HIGH] == ["A2", "A3"]
    assert res.families_in[MMEM_LOW] == ["A", "B"]
    assert res.models_in[MMEM_ALL] == ["A1", "A2", "A3", "B1"]
    assert resolution_group(160) == "high"
    assert resolution_group(159) == "low"


def test_family_weighting_differs_from_flat_mean():
    # The family mean counts family A once: 9.5, whereas the plain mean of models is (2+6+4+15)/4 = 6.75.
    res = hierarchical_means(MEMBERS, FAMILY, NLAT)
    flat = np.mean([res.model_means[m][0] for m in MEMBERS])
    assert flat == pytest.approx(6.75)
    assert res.mmem[MMEM_ALL][0] == pytest.approx(9.5)


def test_all_missing_gives_nan_and_default_family():
    # An element missing in every member is NaN; a model absent from the family map is its own family.
    members = {"X": [np.array([np.nan, 1.0])], "Y": np.array([np.nan, 3.0])}
    res = hierarchical_means(members, {}, {"X": 64, "Y": 64})
    assert res.family_of == {"X": "X", "Y": "Y"}
    assert np.isnan(res.mmem[MMEM_ALL][0])
    assert res.mmem[MMEM_ALL][1] == pytest.approx(2.0)
    assert MMEM_HIGH not in res.mmem  # no high-resolution model: no MMEM-high


def test_fields_and_dask():
    # Fields (time, lat, lon) as lazy arrays: the hierarchy stays lazy and equals the numpy result.
    rng = np.random.default_rng(1)
    members = {
        m: [rng.normal(size=(4, 3, 5)) for _ in range(k)]
        for m, k in [("A1", 3), ("A2", 1), ("B1", 2)]
    }
    lazy = {
        m: [da.from_array(x, chunks=2) for x in xs]
        for m, xs in members.items()
    }
    fam, nlat = (
        {"A1": "A", "A2": "A", "B1": "B"},
        {"A1": 96, "A2": 192, "B1": 64},
    )
    want = hierarchical_means(members, fam, nlat).mmem[MMEM_ALL]
    got = hierarchical_means(lazy, fam, nlat).mmem[MMEM_ALL]
    assert isinstance(got, da.Array)
    np.testing.assert_allclose(got.compute(), want)


def test_errors_name_the_model():
    # Missing resolution or mismatched member shapes are errors that name the model.
    with pytest.raises(KeyError, match="B1"):
        hierarchical_means(MEMBERS, FAMILY, {"A1": 96, "A2": 192, "A3": 160})
    with pytest.raises(ValueError, match="Z"):
        hierarchical_means({"Z": [np.zeros(2), np.zeros(3)]}, {}, {"Z": 64})


def test_streamed_mmem_equals_the_hierarchy_and_loads_one_model_at_a_time():
    # Model means streamed one by one give exactly the hierarchical CMIP6-MMEM
    # (and MMEM-high for a subset); each model is loaded once, and at most the
    # model being loaded and the previous one are alive at any time.
    import weakref

    from smeval.core.ensemble import nanmean_of, streamed_mmem

    model_means = {
        m: np.asarray(nanmean_of(v if isinstance(v, list) else [v]))
        for m, v in MEMBERS.items()
    }
    loaded, live, peak = [], [0], [0]

    def loader(m):
        def load():
            arr = model_means[m].copy()
            loaded.append(m)
            live[0] += 1
            peak[0] = max(peak[0], live[0])
            weakref.finalize(arr, lambda: live.__setitem__(0, live[0] - 1))
            return arr

        return load

    loaders = {m: loader(m) for m in MEMBERS}
    got = streamed_mmem(loaders, FAMILY)
    full = hierarchical_means(MEMBERS, FAMILY, NLAT)
    np.testing.assert_allclose(got, full.mmem[MMEM_ALL])
    assert sorted(loaded) == sorted(MEMBERS)
    assert peak[0] <= 2
    np.testing.assert_allclose(
        streamed_mmem(loaders, FAMILY, models=["A2", "A3"]),
        full.mmem[MMEM_HIGH],
    )
    with pytest.raises(ValueError, match="no model"):
        streamed_mmem(loaders, FAMILY, models=[])


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 5),
    shape=st.tuples(st.integers(1, 4), st.integers(1, 5)),
    seed=st.integers(0, 2**32 - 1),
    lazy=st.booleans(),
)
def test_nanmean_of_equals_numpy_nanmean(n, shape, seed, lazy):
    # Independent route: numpy's nanmean over the stacked inputs (NaN where all are missing).
    from smeval.core.ensemble import nanmean_of

    rng = np.random.default_rng(seed)
    arrays = [
        np.where(rng.random(shape) < 0.4, np.nan, rng.normal(size=shape))
        for _ in range(n)
    ]
    inputs = (
        [da.from_array(a, chunks=1) for a in arrays]
        if lazy
        else [a.copy() for a in arrays]
    )
    got = np.asarray(nanmean_of(inputs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanmean(np.stack(arrays), axis=0)
    np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True)
    for a, b in zip(inputs, arrays, strict=True):  # inputs are not modified
        np.testing.assert_array_equal(np.asarray(a), b)
