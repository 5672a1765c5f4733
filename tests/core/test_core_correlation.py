"""Tests of smeval.core.correlation: grid-point R, t test, effective sample size."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from smeval.core.correlation import (
    correlation_in_bands,
    effective_sample_size,
    gridpoint_correlation,
    lag1_autocorrelation,
    t_test_pvalue,
)


def _fields(seed, n=120, shape=(4, 5)):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape))
    strength = np.linspace(0, 0.4, np.prod(shape)).reshape(shape)
    y = strength * x + rng.normal(size=(n, *shape))
    return x, y


def test_r_and_p_match_scipy_pearsonr_at_every_point():
    # R, the two-sided p-value and the 95 % mask agree with scipy.stats.pearsonr point by point.
    x, y = _fields(0)
    res = gridpoint_correlation(x, y)
    for idx in np.ndindex(x.shape[1:]):
        ref = stats.pearsonr(x[(slice(None), *idx)], y[(slice(None), *idx)])
        assert res.R[idx] == pytest.approx(ref.statistic, abs=1e-12)
        assert res.p_value[idx] == pytest.approx(
            ref.pvalue, rel=1e-8, abs=1e-300
        )
        assert res.significant[idx] == (ref.pvalue < 0.05)
    assert res.significant.any()
    assert not res.significant.all()


def test_missing_values_pairwise_and_t_formula():
    # NaN in x or masked y drops the step; p is 2 P(T > |t|), t = R sqrt((n-2)/(1-R^2)), df = n - 2.
    x, y = _fields(1, shape=(1,))
    x[5, 0] = np.nan
    y = np.ma.masked_array(y, mask=False)
    y[7, 0] = np.ma.masked
    res = gridpoint_correlation(x, y)
    keep = np.ones(120, bool)
    keep[[5, 7]] = False
    r = stats.pearsonr(x[keep, 0], y.data[keep, 0]).statistic
    n = keep.sum()
    t = r * np.sqrt((n - 2) / (1 - r**2))
    assert res.n[0] == n
    assert res.R[0] == pytest.approx(r)
    assert res.p_value[0] == pytest.approx(2 * stats.t.sf(abs(t), n - 2))


def test_lag1_autocorrelation_and_n_eff_by_hand():
    # x = 1, 2, 3, 2, 1: anomalies -0.8, 0.2, 1.2, 0.2, -0.8; r1 = (-0.16 + 0.24 + 0.24 - 0.16) / 2.8 = 0.16 / 2.8.
    x = np.array([1.0, 2.0, 3.0, 2.0, 1.0])
    r1x = lag1_autocorrelation(x)
    assert r1x == pytest.approx(0.16 / 2.8)
    # y alternates: anomalies +-1 (mean 0 over 4 steps), r1 = -3 / 4.
    y = np.array([1.0, -1.0, 1.0, -1.0])
    assert lag1_autocorrelation(y) == pytest.approx(-0.75)
    # Bretherton et al. (1999): n (1 - r1 r2) / (1 + r1 r2), capped at n.
    assert effective_sample_size(100, 0.5, 0.4) == pytest.approx(
        100 * 0.8 / 1.2
    )
    assert effective_sample_size(100, 0.5, -0.4) == 100


def test_n_eff_on_ar1_series():
    # Two long AR(1) series with phi = 0.6: r1 estimates phi and n_eff ~ n (1 - 0.36) / (1 + 0.36).
    rng = np.random.default_rng(3)
    n, phi = 20000, 0.6
    e = rng.normal(size=(n, 2))
    s = np.zeros((n, 2))
    for t in range(1, n):
        s[t] = phi * s[t - 1] + e[t]
    r1 = lag1_autocorrelation(s)
    np.testing.assert_allclose(r1, phi, atol=0.02)
    res = gridpoint_correlation(s[:, :1], s[:, 1:], effective_n=True)
    assert res.n_eff[0] == pytest.approx(
        n * (1 - r1[0] * r1[1]) / (1 + r1[0] * r1[1])
    )
    assert res.n_eff[0] == pytest.approx(n * 0.64 / 1.36, rel=0.05)


def test_effective_n_makes_test_more_conservative():
    # Smooth (autocorrelated) series: the effective-n p-value is larger than the plain one.
    rng = np.random.default_rng(4)
    base = np.cumsum(rng.normal(size=(200, 3)), axis=0)
    other = base + np.cumsum(rng.normal(size=(200, 3)), axis=0) * 2
    plain = gridpoint_correlation(base, other)
    eff = gridpoint_correlation(base, other, effective_n=True)
    assert np.all(eff.n_eff < plain.n_eff)
    assert np.all(eff.p_value > plain.p_value)


def test_degenerate_points_are_nan_not_significant():
    # A constant series or fewer than 3 common steps: R and p are NaN and the point is not significant.
    x = np.stack([np.ones(10), np.arange(10.0)], axis=1)
    y = np.stack(
        [np.arange(10.0), np.r_[np.arange(2.0), [np.nan] * 8]], axis=1
    )
    res = gridpoint_correlation(x, y)
    assert np.isnan(res.R).all()
    assert np.isnan(res.p_value).all()
    assert not res.significant.any()
    assert np.isnan(t_test_pvalue(0.5, 2))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(3, 30), st.integers(1, 9), st.integers(1, 5)),
    rows=st.integers(1, 10),
    effective_n=st.booleans(),
)
def test_blocks_of_rows_give_the_whole_fields_correlation(
    seed, shape, rows, effective_n
):
    # Each cell depends on its own series only: blocks of `rows` rows give
    # the whole field's result, with missing values and constant cells
    # among them.
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    y = 0.5 * x + rng.normal(size=shape)
    x[rng.random(shape) < 0.1] = np.nan
    y = np.ma.masked_where(rng.random(shape) < 0.1, y)
    x[:, 0, 0] = 1.0  # a constant cell: R is NaN
    whole = gridpoint_correlation(x, y, effective_n=effective_n)
    row_bytes = 8 * shape[0] * shape[2]
    bands = []

    def band(rows):
        bands.append(rows)
        return x[:, rows], y[:, rows]

    blocked = correlation_in_bands(
        band, shape, effective_n=effective_n, block_bytes=rows * row_bytes
    )
    # Consecutive bands of `rows` rows (the last may be shorter).
    assert [b.start for b in bands] == list(range(0, shape[1], rows))
    assert bands[-1].stop == shape[1]
    for name in ("significant", "n"):
        np.testing.assert_array_equal(
            getattr(blocked, name), getattr(whole, name), err_msg=name
        )
    # numpy's sums over time may take another order of additions for
    # another width of the rows: equal to rounding.
    for name in ("R", "p_value", "n_eff"):
        np.testing.assert_allclose(
            getattr(blocked, name),
            getattr(whole, name),
            rtol=1e-12,
            err_msg=name,
        )
