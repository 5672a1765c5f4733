"""Grid-point correlation of two fields over time, with a significance test (SPEC section 5).

Pearson's R over the time steps where both fields have a value, tested
two-sided with Student's t, ``t = R sqrt((n - 2) / (1 - R^2))`` on
``n - 2`` degrees of freedom (Fig. 11 of Qiao et al. 2022).

Optionally n is replaced by an effective sample size that accounts for
serial correlation of the two series (Bretherton, Widmann, Dymnikov,
Wallace and Bladé 1999, "The effective number of spatial degrees of freedom
of a time-varying field", J. Climate 12, 1990-2009; their result for two AR(1)
series with lag-1 autocorrelations r1 and r2)::

    n_eff = n (1 - r1 r2) / (1 + r1 r2)

capped at n (negative r1 r2 would otherwise inflate the sample). Monthly
series with a seasonal cycle have r1 near 1, so this option is far more
conservative than the plain test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import fields as fields_of

import numpy as np
from scipy import stats

from ._arrays import as_float_nan


@dataclass(frozen=True)
class CorrelationResult:
    """Result of :func:`gridpoint_correlation`; arrays of the field shape.

    Attributes
    ----------
    R : numpy.ndarray
        Pearson correlation (dimensionless); NaN with fewer than 3 common
        time steps or a constant series.
    p_value : numpy.ndarray
        Two-sided p-value (dimensionless); NaN where R is NaN or the
        effective sample size is 2 or less.
    significant : numpy.ndarray of bool
        ``p_value < alpha``; False where p is NaN.
    n : numpy.ndarray of int
        Common time steps.
    n_eff : numpy.ndarray
        Sample size used in the test (equal to n without the option).
    """

    R: np.ndarray
    p_value: np.ndarray
    significant: np.ndarray
    n: np.ndarray
    n_eff: np.ndarray


def lag1_autocorrelation(x, axis: int = 0) -> np.ndarray:
    """Lag-1 autocorrelation of series along *axis*, ignoring missing values.

    Parameters
    ----------
    x : array_like
        Series (any units); NaN or masked values are missing.
    axis : int, default 0
        Time axis.

    Returns
    -------
    numpy.ndarray
        ``r1 = sum_t a_t a_{t+1} / sum_t a_t^2`` with anomalies ``a`` from the
        mean of the valid values; the numerator runs over pairs where both
        steps have a value (dimensionless). NaN for a constant series.
    """
    x = np.moveaxis(as_float_nan(x, np.float64), axis, 0)
    valid = np.isfinite(x)
    n = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        anom = np.where(
            valid, x - np.where(valid, x, 0.0).sum(axis=0) / n, 0.0
        )
        num = (anom[1:] * anom[:-1]).sum(
            axis=0
        )  # invalid steps are zero, so drop out
        den = (anom**2).sum(axis=0)
        return np.where(den > 0, num / den, np.nan)


def effective_sample_size(n, r1x, r1y):
    """Bretherton et al. (1999) effective sample size for correlating two AR(1) series.

    Parameters
    ----------
    n : array_like
        Number of time steps.
    r1x, r1y : array_like
        Lag-1 autocorrelations of the two series (dimensionless).

    Returns
    -------
    numpy.ndarray
        ``n (1 - r1x r1y) / (1 + r1x r1y)``, capped at n (time steps).
    """
    prod = np.asarray(r1x, dtype=np.float64) * np.asarray(
        r1y, dtype=np.float64
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.minimum(n * (1.0 - prod) / (1.0 + prod), n)


def t_test_pvalue(r, n):
    """Two-sided p-value of a Pearson correlation *r* from *n* samples.

    ``t = r sqrt((n - 2) / (1 - r^2))``, Student's t with n - 2 degrees of
    freedom (n may be fractional, an effective size). NaN where n <= 2.
    """
    r = np.asarray(r, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    df = n - 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        t = r * np.sqrt(df / (1.0 - r**2))
        p = 2.0 * stats.t.sf(np.abs(t), np.where(df > 0, df, np.nan))
    # |R| = 1 gives t = inf, p = 0, which stats.t.sf already returns.
    return np.where((df > 0) & np.isfinite(r), p, np.nan)


def gridpoint_correlation(
    x,
    y,
    alpha: float = 0.05,
    effective_n: bool = False,
    axis: int = 0,
) -> CorrelationResult:
    """Pearson correlation of two fields over time at each grid point, with a t test.

    Parameters
    ----------
    x, y : array_like, shape (n_time, ...)
        Two fields (any units, e.g. kg m-2 and kg m-2 s-1); NaN or masked
        values are missing; only time steps where both have a value count.
    alpha : float, default 0.05
        Significance level of the two-sided test (0.05 = the 95 % level).
    effective_n : bool, default False
        Replace n by the Bretherton et al. (1999) effective sample size
        from the lag-1 autocorrelations of x and y.
    axis : int, default 0
        Time axis.

    Returns
    -------
    CorrelationResult
    """
    x = np.moveaxis(as_float_nan(x, np.float64), axis, 0)
    y = np.moveaxis(as_float_nan(y, np.float64), axis, 0)
    if x.shape != y.shape:
        msg = f"fields differ in shape: {x.shape} vs {y.shape}"
        raise ValueError(msg)
    both = np.isfinite(x) & np.isfinite(y)
    xb = np.where(both, x, np.nan)
    yb = np.where(both, y, np.nan)
    n = both.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        xa = np.where(both, x - np.where(both, x, 0.0).sum(axis=0) / n, 0.0)
        ya = np.where(both, y - np.where(both, y, 0.0).sum(axis=0) / n, 0.0)
        sxy = (xa * ya).sum(axis=0)
        sxx = (xa**2).sum(axis=0)
        syy = (ya**2).sum(axis=0)
        ok = (n >= 3) & (sxx > 0) & (syy > 0)
        r = np.where(ok, np.clip(sxy / np.sqrt(sxx * syy), -1.0, 1.0), np.nan)
    if effective_n:
        # Autocorrelations from the same (pairwise complete) steps as R.
        n_eff = effective_sample_size(
            n, lag1_autocorrelation(xb), lag1_autocorrelation(yb)
        )
    else:
        n_eff = n.astype(np.float64)
    p = t_test_pvalue(r, n_eff)
    significant = np.isfinite(p) & (p < alpha)
    return CorrelationResult(
        R=r, p_value=p, significant=significant, n=n, n_eff=n_eff
    )


#: Bytes of one float64 field of a band of rows that
#: :func:`correlation_in_bands` gives :func:`gridpoint_correlation` at once
#: (its temporaries are about ten such copies).
BLOCK_BYTES = 64 * 2**20


def correlation_in_bands(
    fields: Callable[[slice], tuple[np.ndarray, np.ndarray]],
    shape: tuple[int, int, int],
    alpha: float = 0.05,
    effective_n: bool = False,
    block_bytes: int = BLOCK_BYTES,
) -> CorrelationResult:
    """:func:`gridpoint_correlation` of two (time, row, ...) fields of ``shape``, a band of rows at a time.

    ``fields(rows)`` gives both fields' values in the band ``rows``, so a
    caller may read a band from its files and never hold a whole field. A
    band's float64 values are at most ``block_bytes`` (at least one row).
    Each cell's result depends on that cell's series alone, so the bands
    joined are the whole field's result: anything computed over the whole
    field (e.g. the false discovery rate control) is the caller's, on the
    joined result.
    """
    n_time, n_rows = shape[:2]
    row_bytes = 8 * n_time * int(np.prod(shape[2:]))
    step = max(1, block_bytes // max(row_bytes, 1))
    parts = [
        gridpoint_correlation(
            *fields(slice(i, min(i + step, n_rows))), alpha, effective_n
        )
        for i in range(0, n_rows, step)
    ]
    return CorrelationResult(
        **{
            f.name: np.concatenate([getattr(p, f.name) for p in parts])
            for f in fields_of(CorrelationResult)
        }
    )


#: Default controlled false discovery rate of the correlation maps (Wilks 2016; SPEC section 8).
DEFAULT_FDR_ALPHA = 0.10


def benjamini_hochberg(
    p_values, alpha: float = DEFAULT_FDR_ALPHA
) -> np.ndarray:
    """Cells that survive Benjamini-Hochberg control of the false discovery rate.

    Field significance of a correlation map (SPEC section 8; Benjamini and
    Hochberg 1995, J. R. Stat. Soc. B 57, 289-300; Wilks 2016, BAMS 97,
    2263-2273, doi:10.1175/BAMS-D-15-00267.1): sort the m finite p-values,
    p_(1) <= ... <= p_(m), find the largest k with ``p_(k) <= (k / m) alpha``
    and reject the k smallest. Any test's p-values will do (the plain or the
    effective-sample-size t test of :func:`gridpoint_correlation`).

    Parameters
    ----------
    p_values : array_like
        p-values (dimensionless, 0..1), any shape; NaN (e.g. sea or a
        constant series) is not a test and does not count in m.
    alpha : float, default 0.10
        Controlled false discovery rate alpha_FDR (Wilks 2016 recommends 0.10
        for the 0.05 level of single tests).

    Returns
    -------
    numpy.ndarray of bool
        Shape of *p_values*; True where the null hypothesis is rejected.
    """
    p = np.asarray(p_values, dtype=np.float64)
    finite = np.isfinite(p)
    tested = np.sort(p[finite])
    m = tested.size
    if m == 0:
        return np.zeros(p.shape, dtype=bool)
    below = tested <= alpha * np.arange(1, m + 1) / m
    if not below.any():
        return np.zeros(p.shape, dtype=bool)
    cutoff = tested[np.flatnonzero(below)[-1]]
    # Ties with p_(k) are rejected too: they are among the k smallest.
    return finite & (np.where(finite, p, np.inf) <= cutoff)
