"""Tests of smeval.core.bootstrap: moving-block bootstrap over years (SPEC section 8)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smeval.core.bootstrap import (
    BootstrapOptions,
    block_indices,
    bootstrap_ranks,
    bootstrap_taylor,
    calendar_years,
    percentile_interval,
    rank_summary,
    year_counts,
)
from smeval.core.taylor import taylor_skill_score, taylor_statistics

N_YEARS = 36


def _ar1_seasonal(n_rep, n_years, phi, rho, scale, seed):
    """Model and reference: a common seasonal cycle plus AR(1) noises correlated rho.

    x = scale (s + a), y = s + c, with s = sin(2 pi t / 12) (population
    variance 1/2 over whole years), a and c AR(1) with lag-1 autocorrelation
    phi, unit variance, innovations correlated rho (so corr(a, c) = rho).
    True values: R = (1/2 + rho) / (1/2 + 1), sigma = scale.
    """
    rng = np.random.default_rng(seed)
    n = n_years * 12
    innov = rng.standard_normal((2, n_rep, n))
    innov[1] = rho * innov[0] + np.sqrt(1 - rho**2) * innov[1]
    noise = np.empty((2, n_rep, n))
    start = rng.standard_normal(n_rep)
    noise[:, :, 0] = (
        start,
        rho * start + np.sqrt(1 - rho**2) * rng.standard_normal(n_rep),
    )
    for t in range(1, n):
        noise[:, :, t] = (
            phi * noise[:, :, t - 1] + np.sqrt(1 - phi**2) * innov[:, :, t]
        )
    season = np.sin(2 * np.pi * np.arange(n) / 12)
    x = scale * (season + noise[0])
    y = season + noise[1]
    true_r = (0.5 + rho) / 1.5
    return (
        x.reshape(n_rep, n_years, 12),
        y.reshape(n_rep, n_years, 12),
        true_r,
        scale,
    )


def test_coverage_of_90_percent_intervals_on_ar1_with_seasonal_cycle():
    # 1000 replications of 36 years, monthly lag-1 autocorrelation 0.5, the
    # default block of 2 years and 1000 resamples: the 90 % intervals of R,
    # sigma and TSS contain the true values in 85-95 % of the replications.
    x, y, true_r, true_sigma = _ar1_seasonal(
        1000, N_YEARS, phi=0.5, rho=0.5, scale=1.3, seed=11
    )
    counts = year_counts(block_indices(N_YEARS, 2, 1000, seed=3), N_YEARS)
    samples = bootstrap_taylor(x, y, counts)
    truth = {
        "R": true_r,
        "sigma": true_sigma,
        "TSS": taylor_skill_score(true_r, true_sigma),
    }
    for stat, value in truth.items():
        low, high = percentile_interval(samples[stat], 0.90)
        coverage = np.mean((low <= value) & (value <= high))
        assert 0.85 <= coverage <= 0.95, (stat, coverage)


def _loop_bootstrap(model, reference, indices):
    """The bootstrap of R, sigma, E', TSS the plain way: build each resampled series and compute."""
    out = {k: [] for k in ("R", "sigma", "E'", "TSS")}
    for years in indices:
        m = np.concatenate([model[y] for y in years])
        r = np.concatenate([reference[y] for y in years])
        ok = np.isfinite(m) & np.isfinite(r)
        m, r = m[ok], r[ok]
        ma, ra = m - m.mean(), r - r.mean()
        corr = np.sum(ma * ra) / np.sqrt(np.sum(ma**2) * np.sum(ra**2))
        sigma = np.std(m) / np.std(r)
        out["R"].append(corr)
        out["sigma"].append(sigma)
        out["E'"].append(np.sqrt(np.mean((ma - ra) ** 2)) / np.std(r))
        out["TSS"].append(4 * (1 + corr) / ((sigma + 1 / sigma) ** 2 * 2))
    return {k: np.array(v) for k, v in out.items()}


def test_vectorised_bootstrap_equals_plain_loop_for_a_fixed_seed():
    # Same seed -> same resampled years; the per-year sums route and the
    # loop over concatenated series give the same numbers (to rounding).
    rng = np.random.default_rng(5)
    reference = (
        30
        + 5 * np.sin(np.arange(N_YEARS * 12) * np.pi / 6)
        + rng.normal(0, 2, N_YEARS * 12)
    )
    model = 0.6 * reference + rng.normal(0, 3, N_YEARS * 12)
    model[[7, 100, 101]] = np.nan  # missing months drop out pairwise
    indices = block_indices(N_YEARS, 3, 300, seed=42)
    fast = bootstrap_taylor(
        model.reshape(N_YEARS, 12),
        reference.reshape(N_YEARS, 12),
        year_counts(indices, N_YEARS),
    )
    slow = _loop_bootstrap(
        model.reshape(N_YEARS, 12), reference.reshape(N_YEARS, 12), indices
    )
    for stat in slow:
        np.testing.assert_allclose(
            fast[stat], slow[stat], rtol=1e-11, atol=1e-13, err_msg=stat
        )
    # And a second draw with the same seed is the same draw.
    np.testing.assert_array_equal(
        indices, block_indices(N_YEARS, 3, 300, seed=42)
    )


def test_block_indices_are_blocks_of_consecutive_years():
    idx = block_indices(10, 3, 500, seed=1)
    assert idx.shape == (500, 10)
    assert idx.min() >= 0
    assert idx.max() <= 9
    # ceil(10 / 3) = 4 blocks of 3 consecutive years, cut to 10 (the last keeps 1 year).
    blocks = np.concatenate([idx, np.full((500, 2), -99)], axis=1).reshape(
        500, 4, 3
    )
    np.testing.assert_array_equal(np.diff(blocks[:, :3], axis=-1), 1)
    # Every start 0..7 occurs; L = 1 is the plain year bootstrap (any year, any order).
    assert set(blocks[:, :, 0].ravel()) == set(range(8))
    assert set(block_indices(10, 1, 200, seed=2).ravel()) == set(range(10))


def test_calendar_years_pads_partial_years():
    months = np.arange(1979 * 12 + 2, 1980 * 12 + 1)  # Mar 1979 .. Jan 1980
    values = np.arange(len(months), dtype=float)[None]
    years = calendar_years(values, months)
    assert years.shape == (1, 2, 12)
    assert np.isnan(years[0, 0, :2]).all()
    assert years[0, 0, 2] == 0
    assert years[0, 1, 0] == 10
    assert np.isnan(years[0, 1, 1:]).all()


def test_options_defaults_and_errors():
    opts = BootstrapOptions.from_options(None)
    assert (opts.level, opts.block_years, opts.resamples, opts.top) == (
        0.90,
        2,
        1000,
        5,
    )
    assert opts.quantiles == pytest.approx((0.05, 0.95))
    assert BootstrapOptions.from_options({"resamples": 50}).resamples == 50
    with pytest.raises(ValueError, match="unknown option"):
        BootstrapOptions.from_options({"blocks": 2})
    with pytest.raises(ValueError, match="level"):
        BootstrapOptions.from_options({"level": 90})


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_years=st.integers(3, 12),
    block=st.integers(1, 4),
    slope=st.floats(-2, 2),
    noise=st.floats(0.1, 3),
    shift=st.floats(-1e3, 1e3),
)
def test_properties_of_resampled_statistics(
    seed, n_years, block, slope, noise, shift
):
    # Every resample obeys the law of cosines and 0 <= TSS <= 1, |R| <= 1; a
    # shift of the model changes nothing; the point estimate of the full
    # sample is the resample that takes every year once.
    rng = np.random.default_rng(seed)
    ref = rng.normal(size=(n_years, 12)) + np.sin(np.arange(12))
    model = slope * ref + noise * rng.normal(size=(n_years, 12))
    counts = np.vstack(
        [
            np.ones(n_years),
            year_counts(block_indices(n_years, block, 40, seed), n_years),
        ]
    )
    s = bootstrap_taylor(model, ref, counts)
    assert np.all(np.abs(s["R"]) <= 1)
    assert np.all((s["TSS"] >= 0) & (s["TSS"] <= 1))
    np.testing.assert_allclose(
        s["E'"] ** 2, s["sigma"] ** 2 + 1 - 2 * s["sigma"] * s["R"], atol=1e-9
    )
    shifted = bootstrap_taylor(model + shift, ref, counts)
    for k in s:
        np.testing.assert_allclose(shifted[k], s[k], rtol=1e-8, atol=1e-10)
    point = taylor_statistics(model.ravel(), ref.ravel())
    assert s["R"][0] == pytest.approx(float(point.R), abs=1e-10)
    assert s["sigma"][0] == pytest.approx(float(point.sigma), rel=1e-10)
    low, high = percentile_interval(s["TSS"][1:], 0.9)
    assert low <= high


def test_percentile_interval_matches_numpy_and_handles_nan():
    x = np.random.default_rng(0).normal(size=(1000, 3))
    x[:, 2] = np.nan
    x[:10, 1] = np.nan
    low, high = percentile_interval(x, 0.8)
    assert low[0] == pytest.approx(np.quantile(x[:, 0], 0.1))
    assert high[1] == pytest.approx(np.quantile(x[10:, 1], 0.9))
    assert np.isnan(low[2])
    assert np.isnan(high[2])


def test_ranks_by_count_then_mean_tss():
    # 3 models, 2 regions, 1 reference; threshold 0.6.
    tss = np.array(
        [
            [
                [[0.7], [0.1]],  # A: 1 above, mean 0.40
                [[0.9], [0.65]],  # B: 2 above
                [[0.61], [0.5]],
            ],  # C: 1 above, mean 0.555
            [
                [[0.1], [0.1]],  # resample 2: A worst,
                [[0.2], [0.2]],  # B middle,
                [[np.nan], [np.nan]],
            ],
        ]
    )  # C missing: last
    ranks = bootstrap_ranks(tss, 0.6)
    np.testing.assert_array_equal(ranks, [[3, 1, 2], [2, 1, 3]])
    summary = rank_summary(ranks, top=1, level=0.9)
    np.testing.assert_allclose(summary["p_top"], [0, 1, 0])
    np.testing.assert_array_equal(summary["rank_low"], [2, 1, 2])
    np.testing.assert_array_equal(summary["rank_high"], [3, 1, 3])
