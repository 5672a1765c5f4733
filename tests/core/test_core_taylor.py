"""Tests of smeval.core.taylor: R, sigma, E', TSS (SPEC section 5)."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from smeval.core.taylor import taylor_skill_score, taylor_statistics

N_MONTHS = 432


def _pair(seed, n=N_MONTHS):
    rng = np.random.default_rng(seed)
    ref = rng.normal(50, 5, n)
    return 0.7 * ref + rng.normal(0, 3, n) + 10, ref


def test_against_scipy_pearsonr_and_numpy_std():
    # R equals scipy's Pearson r; sigma equals the ratio of numpy's population std (ddof=0).
    model, ref = _pair(1)
    s = taylor_statistics(model, ref)
    assert (
        pytest.approx(stats.pearsonr(model, ref).statistic, abs=1e-12) == s.R
    )
    assert s.sigma == pytest.approx(np.std(model) / np.std(ref), rel=1e-12)
    assert s.std_ref == pytest.approx(np.std(ref, ddof=0), rel=1e-12)
    # E' directly from the anomalies, independently of R and sigma.
    e = np.sqrt(
        np.mean(((model - model.mean()) - (ref - ref.mean())) ** 2)
    ) / np.std(ref)
    assert pytest.approx(e, rel=1e-12) == s.E
    assert int(s.n) == N_MONTHS


def test_law_of_cosines():
    # E'^2 = sigma^2 + 1 - 2 sigma R for every pair (Taylor 2001, eq. 2 standardised).
    rng = np.random.default_rng(2)
    ref = rng.normal(size=(20, 5, N_MONTHS))
    model = rng.uniform(-1, 1, (20, 5, 1)) * ref + rng.normal(
        size=(20, 5, N_MONTHS)
    ) * rng.uniform(0.1, 3, (20, 5, 1))
    s = taylor_statistics(model, ref)
    np.testing.assert_allclose(
        s.E**2, s.sigma**2 + 1 - 2 * s.sigma * s.R, rtol=1e-10
    )


@pytest.mark.parametrize(
    ("region", "r", "sigma", "e_paper"),
    [("TIB", 0.48, 0.33, 0.89), ("NA-WA", 0.70, 0.76, 0.72)],
)
def test_paper_mmem_figures_reproduced(region, r, sigma, e_paper):
    # Qiao et al. (2022) Fig. 9a MMEM vs ERA5: a model built with exactly the paper's R and sigma has its E'.
    rng = np.random.default_rng(3)
    ref = rng.normal(20, 4, N_MONTHS)
    other = rng.normal(size=N_MONTHS)
    # Orthogonal, equally scaled component: remove ref's projection from noise.
    ra = (ref - ref.mean()) / ref.std()
    oa = other - other.mean()
    oa = oa - (oa @ ra) / (ra @ ra) * ra
    oa /= oa.std()
    model = sigma * ref.std() * (r * ra + np.sqrt(1 - r**2) * oa) + 35.0
    s = taylor_statistics(model, ref)
    assert pytest.approx(r, abs=1e-12) == s.R
    assert s.sigma == pytest.approx(sigma, abs=1e-12)
    assert round(float(s.E), 2) == e_paper


def test_tss_equals_one_only_at_perfect_r_and_sigma():
    # On a fine (R, sigma) grid the maximum 1 is attained only at R = 1, sigma = 1.
    r, sigma = np.meshgrid(
        np.linspace(-1, 1, 201), np.linspace(0, 4, 401), indexing="ij"
    )
    tss = taylor_skill_score(r, sigma)
    assert tss.max() == pytest.approx(1.0)
    at_one = np.isclose(tss, 1.0, rtol=0, atol=1e-12)
    assert at_one.sum() == 1
    assert r[at_one][0] == pytest.approx(1.0)
    assert sigma[at_one][0] == pytest.approx(1.0)


def test_tss_hand_value():
    # R = 0.5, sigma = 2: 4 * 1.5 / ((2 + 0.5)^2 * 2) = 6 / 12.5 = 0.48.
    assert taylor_skill_score(0.5, 2.0) == pytest.approx(0.48)
    # R0 < 1 raises the score: 6 / (6.25 * 1.5) = 0.64.
    assert taylor_skill_score(0.5, 2.0, r0=0.5) == pytest.approx(0.64)


@settings(max_examples=200)
@given(st.floats(-1, 1), st.floats(1e-3, 1e3))
def test_tss_in_unit_interval_and_symmetric_in_sigma(r, sigma):
    # TSS lies in [0, 1] and is unchanged when sigma is replaced by 1/sigma.
    t = taylor_skill_score(r, sigma)
    assert 0.0 <= t <= 1.0 + 1e-12
    assert t == pytest.approx(
        taylor_skill_score(r, 1 / sigma), rel=1e-9, abs=1e-15
    )


def test_tss_zero_sigma_is_zero_not_error():
    # sigma = 0 (a flat model) gives the limit TSS = 0, not a division by zero.
    assert taylor_skill_score(0.3, 0.0) == 0.0


def test_vectorised_over_datasets_regions_references():
    # Broadcast (datasets, regions, 1, T) against (1, regions, refs, T) equals the per-series loop.
    rng = np.random.default_rng(4)
    model = rng.normal(size=(3, 4, 1, 60))
    ref = model[:1] * 0.5 + rng.normal(size=(1, 4, 2, 60))
    s = taylor_statistics(model, ref)
    assert s.R.shape == (3, 4, 2)
    for d in range(3):
        for g in range(4):
            for f in range(2):
                one = taylor_statistics(model[d, g, 0], ref[0, g, f])
                assert s.R[d, g, f] == pytest.approx(float(one.R))
                assert s.TSS[d, g, f] == pytest.approx(float(one.TSS))


def test_pairwise_complete_with_nan_and_mask():
    # Missing steps in either series (NaN or masked) drop the pair; the rest matches scipy.
    model, ref = _pair(5, 100)
    model[[3, 10]] = np.nan
    ref_m = np.ma.masked_array(ref, mask=np.zeros(100, bool))
    ref_m[[10, 50, 51]] = np.ma.masked
    keep = np.ones(100, bool)
    keep[[3, 10, 50, 51]] = False
    s = taylor_statistics(model, ref_m)
    assert int(s.n) == keep.sum()
    assert (
        pytest.approx(stats.pearsonr(model[keep], ref[keep]).statistic) == s.R
    )
    assert s.sigma == pytest.approx(model[keep].std() / ref[keep].std())


def test_degenerate_series_give_nan():
    # One common step, or a constant reference: statistics are undefined (NaN), not errors.
    s = taylor_statistics(
        np.array([1.0, np.nan, 3.0]), np.array([np.nan, 2.0, 3.0])
    )
    assert np.isnan(s.R)
    assert np.isnan(s.TSS)
    s = taylor_statistics(np.arange(5.0), np.ones(5))
    assert np.isnan(s.sigma)
    assert np.isnan(s.E)


series = arrays(np.float64, 24, elements=st.floats(-100, 100, allow_nan=False))


@settings(max_examples=100, deadline=None)
@given(series, series, st.floats(0.01, 100), st.floats(-1e3, 1e3))
def test_scaling_both_and_shifting_model_leave_statistics_unchanged(
    model, ref, scale, shift
):
    # R, sigma, E' and TSS are invariant to a common scale factor and to an offset of the model.
    assume(
        model.std() > 1e-3 * (1 + np.abs(model).max())
        and ref.std() > 1e-3 * (1 + np.abs(ref).max())
    )
    base = taylor_statistics(model, ref)
    scaled = taylor_statistics(model * scale, ref * scale)
    shifted = taylor_statistics(model + shift, ref)
    for other in (scaled, shifted):
        for name in ("R", "sigma", "E", "TSS"):
            assert getattr(other, name) == pytest.approx(
                getattr(base, name), rel=1e-7, abs=1e-9
            )
