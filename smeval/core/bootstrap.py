"""Moving-block bootstrap over years of the Taylor statistics (SPEC section 8).

Monthly soil moisture is seasonal and persistent, so a resample keeps whole
calendar years: it draws ``ceil(n_years / L)`` blocks of ``L`` consecutive
years with replacement (block starts uniform on ``0 .. n_years - L``), joins
them and keeps the first ``n_years`` years (Kuensch 1989; ``L = 1`` is the
plain year bootstrap). The same resampled years apply to model and
reference, so the pairing of the two series is kept.

Speed: a resample only changes how often each year enters, so each
statistic of SPEC section 5 is a function of per-year sums. With
``c[b, y]`` the number of times year ``y`` is in resample ``b`` and, for
each pair of series over the months where both have a value,

    S[y] = (n, sum m, sum r, sum m^2, sum r^2, sum m r)   (per year y),

the sums of resample ``b`` are ``c[b] @ S``: one matrix product for every
series of a run (resample indices are drawn once and shared). From them,
with population moments (ddof = 0)::

    var_m = Smm/n - (Sm/n)^2,  var_r = Srr/n - (Sr/n)^2,
    cov   = Smr/n - (Sm/n)(Sr/n)
    R     = cov / sqrt(var_m var_r),   sigma = sqrt(var_m / var_r)
    E'^2  = (var_m + var_r - 2 cov) / var_r      (= sigma^2 + 1 - 2 sigma R)
    TSS   = 4 (1 + R) / ((sigma + 1/sigma)^2 (1 + R0))

Series are centred on their full-period means before the sums are formed
(the statistics do not depend on a shift), which keeps the one-pass
variances accurate. The interval of a statistic is the percentile interval
of its resampled values at the chosen level (default 90 %: the 5th and 95th
percentiles).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from smeval.defaults import TSS_THRESHOLD

from ._arrays import as_float_nan
from .taylor import taylor_skill_score

#: Statistics of the bootstrap, under their SPEC names.
BOOTSTRAP_STATISTICS = ("R", "sigma", "E'", "TSS")
#: Months of a calendar year.
MONTHS_PER_YEAR = 12


@dataclass(frozen=True)
class BootstrapOptions:
    """Recipe options of the bootstrap and their defaults (the one home of both).

    Attributes
    ----------
    level : float
        Confidence level of the percentile intervals (0.90: 5th-95th
        percentiles).
    block_years : int
        Block length L in years (1 = plain year bootstrap).
    resamples : int
        Number of resamples B.
    seed : int
        Seed of the random generator (recorded in the outputs' captions).
    top : int
        Size of the "top" of the robust ranking (the paper's top five).
    """

    level: float = 0.90
    block_years: int = 2
    resamples: int = 1000
    seed: int = 20220201
    top: int = 5

    @classmethod
    def from_options(cls, options: dict[str, Any] | None) -> BootstrapOptions:
        """Options from the recipe's ``bootstrap`` mapping (missing keys: defaults)."""
        options = dict(options or {})
        unknown = set(options) - set(cls.__dataclass_fields__)
        if unknown:
            msg = (
                f"bootstrap: unknown option(s) {sorted(unknown)}; "
                f"known: {sorted(cls.__dataclass_fields__)}"
            )
            raise ValueError(msg)
        result = cls(**options)
        if not 0.0 < result.level < 1.0:
            msg = f"bootstrap: level must lie between 0 and 1, got {result.level}"
            raise ValueError(msg)
        if result.block_years < 1 or result.resamples < 1:
            msg = (
                f"bootstrap: block_years and resamples must be >= 1, got "
                f"{result.block_years} and {result.resamples}"
            )
            raise ValueError(msg)
        return result

    @property
    def quantiles(self) -> tuple[float, float]:
        """Lower and upper quantiles of the interval, e.g. (0.05, 0.95)."""
        return interval_quantiles(self.level)


def interval_quantiles(level: float) -> tuple[float, float]:
    """Lower and upper quantiles of the central interval at ``level``, e.g. (0.05, 0.95) at 0.90."""
    return (1.0 - level) / 2.0, (1.0 + level) / 2.0


def block_indices(
    n_years: int,
    block_years: int,
    resamples: int,
    seed: int | np.random.Generator,
) -> np.ndarray:
    """Year indices of moving-block resamples.

    Parameters
    ----------
    n_years : int
        Years of the series.
    block_years : int
        Block length L (years); capped at ``n_years``.
    resamples : int
        Number of resamples B.
    seed : int or numpy.random.Generator
        Seed (or generator) of ``numpy.random.default_rng``.

    Returns
    -------
    numpy.ndarray of int, shape (B, n_years)
        Row b lists the years (0-based) of resample b: ``ceil(n_years / L)``
        blocks of L consecutive years, starts drawn uniformly with
        replacement from ``0 .. n_years - L``, cut to ``n_years`` years.
    """
    if n_years < 1:
        msg = "bootstrap: no year to resample"
        raise ValueError(msg)
    length = min(int(block_years), n_years)
    n_blocks = -(-n_years // length)
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n_years - length + 1, size=(resamples, n_blocks))
    years = starts[:, :, None] + np.arange(length)
    return years.reshape(resamples, n_blocks * length)[:, :n_years]


def year_counts(indices: np.ndarray, n_years: int) -> np.ndarray:
    """How often each year is in each resample: (B, n_years) float64 from (B, k) indices."""
    indices = np.asarray(indices)
    counts = np.zeros((indices.shape[0], n_years))
    np.add.at(counts, (np.arange(indices.shape[0])[:, None], indices), 1.0)
    return counts


def calendar_years(values, months: np.ndarray) -> np.ndarray:
    """Monthly series as (..., n_years, 12), NaN-padded to whole calendar years.

    Parameters
    ----------
    values : array_like, shape (..., n_time)
        Series on the month axis ``months`` (any units; NaN = missing).
    months : array_like of int, shape (n_time,)
        ``year * 12 + month - 1`` of each step, increasing.

    Returns
    -------
    numpy.ndarray, shape (..., n_years, 12)
        Year ``y`` is calendar year ``months[0] // 12 + y``.
    """
    values = as_float_nan(values, np.float64)
    months = np.asarray(months, dtype=np.int64)
    first = months[0] // MONTHS_PER_YEAR
    n_years = months[-1] // MONTHS_PER_YEAR - first + 1
    out = np.full((*values.shape[:-1], n_years * MONTHS_PER_YEAR), np.nan)
    out[..., months - first * MONTHS_PER_YEAR] = values
    return out.reshape(*values.shape[:-1], n_years, MONTHS_PER_YEAR)


def yearly_sums(model, reference) -> np.ndarray:
    """Per-year sums of paired series, the sufficient statistics of a resample.

    Parameters
    ----------
    model, reference : array_like, shape (..., n_years, 12)
        Series by calendar year (see :func:`calendar_years`); leading axes
        broadcast. NaN = missing; a month counts only where both have a value.

    Returns
    -------
    numpy.ndarray, shape (n_years, 6, ...)
        ``(n, sum m, sum r, sum m^2, sum r^2, sum m r)`` of each year, after
        centring each series on its mean over the paired months (units of
        the inputs, squared for the last three).
    """
    m, r = np.broadcast_arrays(
        as_float_nan(model, np.float64), as_float_nan(reference, np.float64)
    )
    both = np.isfinite(m) & np.isfinite(r)
    n_all = both.sum(axis=(-2, -1), keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(
            both,
            m
            - np.where(both, m, 0.0).sum(axis=(-2, -1), keepdims=True) / n_all,
            0.0,
        )
        r = np.where(
            both,
            r
            - np.where(both, r, 0.0).sum(axis=(-2, -1), keepdims=True) / n_all,
            0.0,
        )
    sums = np.stack(
        [
            both.sum(axis=-1).astype(np.float64),
            m.sum(axis=-1),
            r.sum(axis=-1),
            (m * m).sum(axis=-1),
            (r * r).sum(axis=-1),
            (m * r).sum(axis=-1),
        ]
    )  # (6, ..., Y)
    return np.moveaxis(sums, -1, 0)


def statistics_from_sums(
    sums: np.ndarray, r0: float = 1.0, axis: int = 0
) -> dict[str, np.ndarray]:
    """R, sigma, E' and TSS from summed moments ``(n, Sm, Sr, Smm, Srr, Smr)`` along ``axis``.

    Returns a dict of dimensionless arrays (the shape of ``sums`` without
    ``axis``); NaN where fewer than two months or a variance is not positive.
    """
    n, sm, sr, smm, srr, smr = np.moveaxis(sums, axis, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_m, mean_r = sm / n, sr / n
        var_m = smm / n - mean_m**2
        var_r = srr / n - mean_r**2
        cov = smr / n - mean_m * mean_r
        ok = (n >= 2) & (var_m > 0) & (var_r > 0)
        corr = np.where(
            ok, np.clip(cov / np.sqrt(var_m * var_r), -1.0, 1.0), np.nan
        )
        sigma = np.where(ok, np.sqrt(var_m / var_r), np.nan)
        e_prime = np.where(
            ok,
            np.sqrt(np.maximum(var_m + var_r - 2.0 * cov, 0.0) / var_r),
            np.nan,
        )
    return {
        "R": corr,
        "sigma": sigma,
        "E'": e_prime,
        "TSS": taylor_skill_score(corr, sigma, r0),
    }


def bootstrap_taylor(
    model, reference, counts: np.ndarray, r0: float = 1.0
) -> dict[str, np.ndarray]:
    """Resampled R, sigma, E' and TSS of model against reference series.

    Parameters
    ----------
    model, reference : array_like, shape (..., n_years, 12)
        Series by calendar year (:func:`calendar_years`), any units; leading
        axes broadcast (e.g. (D, 1, R, Y, 12) against (1, F, R, Y, 12)).
    counts : numpy.ndarray, shape (B, n_years)
        Times each year is in each resample (:func:`year_counts`).
    r0 : float, default 1
        R0 of the skill score.

    Returns
    -------
    dict of str to numpy.ndarray, each of shape (B, ...)
        The statistics (dimensionless) of every resample.
    """
    sums = yearly_sums(model, reference)  # (Y, 6, ...)
    resampled = np.tensordot(
        np.asarray(counts, np.float64), sums, axes=(1, 0)
    )  # (B, 6, ...)
    return statistics_from_sums(resampled, r0, axis=1)


def percentile_interval(
    samples, level: float = 0.90, axis: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of resampled values along ``axis``, ignoring NaN.

    Returns (low, high) at the ``(1 - level) / 2`` and ``(1 + level) / 2``
    quantiles (linear interpolation, numpy's default), in the units of
    ``samples``; NaN where every resample is NaN.
    """
    # Resamples last and contiguous: partitioning along a strided axis is slow.
    samples = np.ascontiguousarray(
        np.moveaxis(np.asarray(samples, dtype=np.float64), axis, -1)
    )
    q = interval_quantiles(level)
    missing = np.isnan(samples)
    if not missing.any():
        low, high = np.quantile(samples, q, axis=-1)
        return low, high
    all_nan = missing.all(axis=-1)
    # nanquantile warns on all-NaN slices; give them NaN without the noise.
    filled = np.where(all_nan[..., None], 0.0, samples)
    low, high = np.nanquantile(filled, q, axis=-1)
    return np.where(all_nan, np.nan, low), np.where(all_nan, np.nan, high)


def bootstrap_ranks(tss, threshold: float = TSS_THRESHOLD) -> np.ndarray:
    """Ranks of models by the paper's criterion in each resample (SPEC section 8).

    Parameters
    ----------
    tss : array_like, shape (B, n_models, n_regions, n_references)
        TSS of each model (dimensionless) in each resample; NaN = missing.
    threshold : float, default 0.6
        A model "reproduces" a region when TSS > threshold.

    Returns
    -------
    numpy.ndarray of int, shape (B, n_models)
        Rank 1 = best: most (region, reference) pairs with TSS > threshold;
        ties broken by the mean TSS (mean over regions per reference, then
        over references, ignoring NaN; a model without any TSS last), then
        by model order (as :func:`smeval.metrics.table.ranking`, whose
        pandas sort is stable on the sorted model names).
    """
    tss = np.asarray(tss, dtype=np.float64)
    count = (tss > threshold).sum(axis=(2, 3))
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", RuntimeWarning
        )  # all-NaN models: mean NaN, ranked last
        mean = np.nanmean(np.nanmean(tss, axis=2), axis=2)
    neg_mean = np.where(np.isnan(mean), np.inf, -mean)
    order = np.lexsort((neg_mean, -count), axis=-1)
    ranks = np.empty_like(order)
    np.put_along_axis(
        ranks,
        order,
        np.arange(1, order.shape[-1] + 1)[None, :].repeat(len(order), 0),
        axis=-1,
    )
    return ranks


def rank_summary(
    ranks: np.ndarray, top: int = 5, level: float = 0.90
) -> dict[str, np.ndarray]:
    """P(rank <= top) and the percentile interval of the rank, per model.

    Parameters
    ----------
    ranks : numpy.ndarray of int, shape (B, n_models)
        Ranks in each resample (:func:`bootstrap_ranks`).

    Returns
    -------
    dict
        ``p_top`` (fraction of resamples with rank <= top), ``rank_low`` and
        ``rank_high`` (ranks at the (1 - level)/2 and (1 + level)/2
        quantiles, taken from the resampled ranks: the inverted empirical
        distribution, so they are whole ranks).
    """
    q = interval_quantiles(level)
    low, high = np.quantile(ranks, q, axis=0, method="inverted_cdf")
    return {
        "p_top": (ranks <= top).mean(axis=0),
        "rank_low": low.astype(int),
        "rank_high": high.astype(int),
    }
