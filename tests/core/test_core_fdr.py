"""Tests of the Benjamini-Hochberg field significance (SPEC section 8)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from smeval.core.correlation import benjamini_hochberg

#: Benjamini and Hochberg (1995), section 4.1: the 15 p-values of the
#: myocardial-infarction study (Neuhaus et al. 1992). At q = 0.05 their
#: procedure rejects the four smallest (Bonferroni only the three smallest).
BH95 = [
    0.0001,
    0.0004,
    0.0019,
    0.0095,
    0.0201,
    0.0278,
    0.0298,
    0.0344,
    0.0459,
    0.3240,
    0.4262,
    0.5719,
    0.6528,
    0.7590,
    1.000,
]


def test_published_example_of_benjamini_and_hochberg_1995():
    reject = benjamini_hochberg(BH95, alpha=0.05)
    np.testing.assert_array_equal(reject, [True] * 4 + [False] * 11)


def test_published_example_in_any_order_and_shape_with_nan():
    rng = np.random.default_rng(0)
    order = rng.permutation(15)
    field = np.full((4, 5), np.nan)  # 5 cells without a test (sea)
    field.ravel()[:15] = np.array(BH95)[order]
    reject = benjamini_hochberg(field, alpha=0.05)
    assert reject.shape == (4, 5)
    assert sorted(field[reject].tolist()) == BH95[:4]
    assert not reject.ravel()[15:].any()


def test_step_up_rejects_below_a_failing_p():
    # p_(2) > 2/3 alpha, but p_(3) <= alpha: step-up rejects all three.
    np.testing.assert_array_equal(
        benjamini_hochberg([0.01, 0.04, 0.049], 0.05), [True, True, True]
    )
    assert not benjamini_hochberg([0.2, 0.3, np.nan], 0.05).any()
    assert not benjamini_hochberg([np.nan, np.nan], 0.05).any()


@settings(max_examples=200, deadline=None)
@given(
    p=arrays(np.float64, st.integers(1, 300), elements=st.floats(0, 1)),
    alpha=st.floats(0.001, 0.5),
)
def test_agrees_with_scipy_false_discovery_control(p, alpha):
    # Second route: scipy's BH-adjusted p-values, rejected where <= alpha.
    adjusted = stats.false_discovery_control(p, method="bh")
    ours = benjamini_hochberg(p, alpha)
    # Adjusted p-values are products/minima of p m / i: allow their rounding at alpha.
    clear = np.abs(adjusted - alpha) > 1e-12
    np.testing.assert_array_equal(ours[clear], (adjusted <= alpha)[clear])
    # Monotone: whatever is rejected, every smaller p is rejected too.
    if ours.any():
        assert np.all(ours[p <= p[ours].max()])
    # Never more rejections than the uncorrected test, never fewer than Bonferroni.
    assert ours.sum() <= (p <= alpha).sum()
    assert ours.sum() >= (p <= alpha / p.size).sum()


def test_alpha_fdr_controls_the_false_discovery_rate_under_the_null_mix():
    # 2000 maps of 500 cells, 400 null (uniform p) and 100 true effects: the
    # mean fraction of false among rejected cells stays below alpha m0 / m.
    rng = np.random.default_rng(1)
    alpha, fdp = 0.10, []
    for _ in range(2000):
        p = np.concatenate(
            [rng.uniform(size=400), stats.norm.sf(rng.normal(3.0, 1.0, 100))]
        )
        reject = benjamini_hochberg(p, alpha)
        fdp.append(reject[:400].sum() / max(reject.sum(), 1))
    assert np.mean(fdp) <= alpha * 400 / 500 + 0.01
    assert np.mean(fdp) == pytest.approx(alpha * 400 / 500, abs=0.02)
