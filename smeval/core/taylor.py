"""Standardised Taylor statistics and the Taylor skill score (SPEC section 5).

For a model series m and a reference series r (time last), with population
moments (ddof = 0) over the time steps where both have a value:

* ``R``     Pearson correlation of m and r;
* ``sigma`` std(m) / std(r), the standardised standard deviation;
* ``E'``    centred root-mean-square difference / std(r), computed directly
  from the anomalies; it obeys the law of cosines
  ``E'^2 = sigma^2 + 1 - 2 sigma R`` (Taylor 2001, eq. 2, divided by std(r)^2);
* ``TSS``   ``4 (1 + R) / ((sigma + 1/sigma)^2 (1 + R0))`` (Taylor 2001,
  eq. 4, as used by Qiao et al. 2022, eq. 1).

Everything is vectorised over the leading axes, so one call computes the
statistics of (datasets x regions x references) series; leading axes of
model and reference broadcast against each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._arrays import as_float_nan


@dataclass(frozen=True)
class TaylorStatistics:
    """Taylor statistics of model series against reference series.

    Each attribute has the broadcast shape of the leading axes of the inputs
    (a 0-d array for one pair of series). NaN where fewer than two common
    time steps exist or a standard deviation is zero.

    Attributes
    ----------
    R : numpy.ndarray
        Pearson correlation (dimensionless).
    sigma : numpy.ndarray
        std(model) / std(reference) (dimensionless).
    E : numpy.ndarray
        E', centred RMS difference / std(reference) (dimensionless).
    TSS : numpy.ndarray
        Taylor skill score (dimensionless, 0..1).
    std_model, std_ref : numpy.ndarray
        Population standard deviations (units of the inputs).
    n : numpy.ndarray of int
        Number of time steps where both series have a value.
    """

    R: np.ndarray
    sigma: np.ndarray
    E: np.ndarray
    TSS: np.ndarray
    std_model: np.ndarray
    std_ref: np.ndarray
    n: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        """Statistics under their SPEC names: ``R``, ``sigma``, ``E'``, ``TSS``."""
        return {
            "R": self.R,
            "sigma": self.sigma,
            "E'": self.E,
            "TSS": self.TSS,
        }


def taylor_skill_score(r, sigma, r0: float = 1.0):
    """Taylor skill score from correlation and standardised deviation.

    Parameters
    ----------
    r : array_like
        Correlation R (dimensionless, -1..1).
    sigma : array_like
        std(model) / std(reference) (dimensionless, >= 0).
    r0 : float, default 1
        Maximum attainable correlation R0 (dimensionless).

    Returns
    -------
    numpy.ndarray
        ``4 (1 + R) / ((sigma + 1/sigma)^2 (1 + R0))``, dimensionless, in
        [0, 1] for R0 = 1. Evaluated as ``4 (1 + R) sigma^2 / ((sigma^2 + 1)^2
        (1 + R0))``, the same expression multiplied through by sigma^2, so
        that sigma = 0 gives its limit 0 instead of a division by zero.
    """
    r = np.asarray(r, dtype=np.float64)
    s2 = np.asarray(sigma, dtype=np.float64) ** 2
    return 4.0 * (1.0 + r) * s2 / ((s2 + 1.0) ** 2 * (1.0 + r0))


def taylor_statistics(model, reference, r0: float = 1.0) -> TaylorStatistics:
    """R, sigma, E' and TSS of *model* against *reference*, time on the last axis.

    Parameters
    ----------
    model : array_like, shape (..., n_time)
        Model series, any units; NaN or masked values are missing.
    reference : array_like, shape (..., n_time)
        Reference series, same units; leading axes broadcast with *model*
        (e.g. model (n_datasets, n_regions, 1, T) against reference
        (1, n_regions, n_refs, T)).
    r0 : float, default 1
        R0 of the skill score.

    Returns
    -------
    TaylorStatistics
        Statistics over the time steps where both series have a value
        (pairwise complete), with population moments (ddof = 0).
    """
    m = as_float_nan(model, np.float64)
    r = as_float_nan(reference, np.float64)
    m, r = np.broadcast_arrays(m, r)
    both = np.isfinite(m) & np.isfinite(r)
    n = both.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        m_anom = np.where(both, m - _masked_mean(m, both, n), 0.0)
        r_anom = np.where(both, r - _masked_mean(r, both, n), 0.0)
        std_m = np.sqrt((m_anom**2).sum(axis=-1) / n)
        std_r = np.sqrt((r_anom**2).sum(axis=-1) / n)
        cov = (m_anom * r_anom).sum(axis=-1) / n
        rms = np.sqrt(((m_anom - r_anom) ** 2).sum(axis=-1) / n)
        ok = (n >= 2) & (std_m > 0) & (std_r > 0)
        corr = np.where(ok, np.clip(cov / (std_m * std_r), -1.0, 1.0), np.nan)
        sigma = np.where(ok, std_m / std_r, np.nan)
        e_prime = np.where(ok, rms / std_r, np.nan)
    nan_if_short = lambda x: np.where(n >= 2, x, np.nan)  # noqa: E731
    return TaylorStatistics(
        R=corr,
        sigma=sigma,
        E=e_prime,
        TSS=taylor_skill_score(corr, sigma, r0),
        std_model=nan_if_short(std_m),
        std_ref=nan_if_short(std_r),
        n=n,
    )


def _masked_mean(x, valid, n):
    """Mean over the last axis of the entries where *valid*, kept as a trailing axis."""
    return (np.where(valid, x, 0.0).sum(axis=-1) / n)[..., None]
