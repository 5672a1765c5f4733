"""How sure are we? Observational spread, intervals and robust rankings (SPEC section 8).

Rows added to the tidy metrics table (docs/results.md), per variable:

* kind ``reference``: every reference against every other reference
  (dataset = the reference playing the model), statistics as for models;
* ``<stat>_ci_low`` / ``<stat>_ci_high`` for R, sigma, E' and TSS of every
  row (models, families, MMEMs, references): the percentile interval of the
  moving-block bootstrap over years (:mod:`smeval.core.bootstrap`);
* kind ``difference``, dataset ``CMIP6-MMEM-high-minus-low``, statistic
  ``TSS_difference``: TSS(MMEM-high) - TSS(MMEM-low) per reference and
  region with its interval (the paper's resolution claim).

and a robust ranking: each model's paper-style rank, the fraction of
resamples in which it is in the top five, and its rank interval. Every
statistic comes from the same resampled years, drawn once per run.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from smeval import defaults
from smeval.core.bootstrap import (
    BOOTSTRAP_STATISTICS,
    BootstrapOptions,
    bootstrap_ranks,
    bootstrap_taylor,
    calendar_years,
    percentile_interval,
    rank_summary,
)
from smeval.core.ensemble import MMEM_HIGH, MMEM_LOW
from smeval.core.taylor import taylor_statistics

from .table import (
    CI_HIGH,
    CI_LOW,
    COLUMNS,
    REGION_IDS,
    TSS_DIFFERENCE,
    taylor_table,
    tidy,
)

#: Data set name of the resolution difference TSS(MMEM-high) - TSS(MMEM-low).
RESOLUTION_DIFFERENCE = "CMIP6-MMEM-high-minus-low"
#: Columns of robust_ranking.csv.
RANKING_COLUMNS = [
    "dataset",
    "variable",
    "rank",
    "regions_above",
    "mean_tss",
    "p_top",
    "rank_ci_low",
    "rank_ci_high",
    "top",
    "level",
    "references",
]


@dataclass
class Uncertainty:
    """The uncertainty products of one variable.

    Attributes
    ----------
    rows : DataFrame
        Reference rows, interval rows and resolution-difference rows
        (columns :data:`smeval.metrics.table.COLUMNS`).
    ranking : DataFrame
        Robust ranking of the models (:data:`RANKING_COLUMNS`).
    """

    rows: pd.DataFrame
    ranking: pd.DataFrame


@dataclass(frozen=True)
class _Resampled:
    """Every data set against every reference: point TSS and bootstrap samples."""

    names: list[str]  # data sets (axis D)
    refs: list[str]  # references (axis F)
    point_tss: np.ndarray  # (D, F, R)
    samples: Mapping[str, np.ndarray]  # statistic -> (B, D, F, R)


def _interval_values(
    samples: Mapping[str, np.ndarray], level: float
) -> dict[str, np.ndarray]:
    out = {}
    for stat in BOOTSTRAP_STATISTICS:
        low, high = percentile_interval(samples[stat], level)
        out[stat + CI_LOW], out[stat + CI_HIGH] = low, high
    return out


def variable_uncertainty(
    series: Mapping[str, np.ndarray],
    info: Mapping[str, tuple[str, str, str]],
    references: Mapping[str, np.ndarray],
    variable: str,
    region_ids: tuple[str, ...],
    months: np.ndarray,
    counts: np.ndarray,
    options: BootstrapOptions,
    ranking_references: Sequence[str],
    threshold: float = defaults.TSS_THRESHOLD,
    r0: float = 1.0,
) -> Uncertainty:
    """Return reference rows, bootstrap intervals, resolution difference and robust ranking of one variable.

    Parameters
    ----------
    series, info, references, variable, region_ids
        As for :func:`smeval.metrics.table.taylor_table` (arrays
        (n_region, n_months) on the month axis ``months``).
    months : numpy.ndarray of int
        ``year * 12 + month - 1`` of each step.
    counts : numpy.ndarray, shape (B, n_years)
        Times each calendar year of ``months`` is in each resample, shared
        by every series of the run (:func:`smeval.core.bootstrap.year_counts`).
    options : BootstrapOptions
        Level and size of the top of the ranking.
    ranking_references : sequence of str
        References summed over in the ranking (the paper's: ERA5, GLDAS-NOAH).
    threshold, r0 : float
        TSS threshold of the ranking; R0 of the skill score.
    """
    names, refs = list(series), list(references)
    model = np.stack([series[n] for n in names])  # (D, R, T)
    ref = np.stack([references[r] for r in refs])  # (F, R, T)
    ref_years = calendar_years(ref, months)  # (F, R, Y, 12)
    model_years = calendar_years(model, months)  # (D, R, Y, 12)
    run = _Resampled(
        names,
        refs,
        # The point TSS of every data set against every reference, computed
        # once for the resolution difference and the ranking.
        point_tss=taylor_statistics(model[:, None], ref[None], r0).TSS,
        samples=bootstrap_taylor(
            model_years[:, None], ref_years[None], counts, r0
        ),
    )
    rows = [
        tidy(
            _interval_values(run.samples, options.level),
            names,
            refs,
            region_ids,
            info,
            variable,
        )
    ]

    # Observational spread: each reference against every other one.
    ref_samples = bootstrap_taylor(
        ref_years[:, None], ref_years[None], counts, r0
    )
    rows.append(
        _reference_rows(
            references, ref_samples, variable, region_ids, options.level, r0
        )
    )

    if MMEM_HIGH in names and MMEM_LOW in names:
        rows.append(_resolution_rows(run, region_ids, variable, options))

    models = sorted(n for n in names if info[n][0] == "model")
    ranked_refs = [r for r in ranking_references if r in refs]
    ranking = _robust_ranking(
        run, models, ranked_refs, region_ids, variable, options, threshold
    )
    return Uncertainty(pd.concat(rows, ignore_index=True)[COLUMNS], ranking)


def _reference_rows(
    references: Mapping[str, np.ndarray],
    ref_samples: Mapping[str, np.ndarray],
    variable: str,
    region_ids: tuple[str, ...],
    level: float,
    r0: float,
) -> pd.DataFrame:
    """Rows of every reference against every other one: statistics and their intervals.

    ``ref_samples``: :func:`smeval.core.bootstrap.bootstrap_taylor` of the
    references against themselves, arrays (B, F, F, R).
    """
    refs = list(references)
    ref_info = dict.fromkeys(refs, ("reference", "", ""))
    ref_rows = taylor_table(
        references, ref_info, references, variable, region_ids, r0=r0
    )
    ref_rows = pd.concat(
        [
            ref_rows,
            tidy(
                _interval_values(ref_samples, level),
                refs,
                refs,
                region_ids,
                ref_info,
                variable,
            ),
        ],
        ignore_index=True,
    )
    return ref_rows[ref_rows.dataset != ref_rows.reference]


def _resolution_rows(
    run: _Resampled, region_ids, variable, options
) -> pd.DataFrame:
    """TSS(MMEM-high) - TSS(MMEM-low) with its interval, per reference and region."""
    hi, lo = run.names.index(MMEM_HIGH), run.names.index(MMEM_LOW)
    point = run.point_tss[hi] - run.point_tss[lo]  # (F, R)
    low, high = percentile_interval(
        run.samples["TSS"][:, hi] - run.samples["TSS"][:, lo], options.level
    )
    values = {
        TSS_DIFFERENCE: point[None],
        TSS_DIFFERENCE + CI_LOW: low[None],
        TSS_DIFFERENCE + CI_HIGH: high[None],
    }
    return tidy(
        values,
        [RESOLUTION_DIFFERENCE],
        run.refs,
        region_ids,
        {RESOLUTION_DIFFERENCE: ("difference", "", "high-low")},
        variable,
    )


def _robust_ranking(
    run: _Resampled,
    models,
    ranked_refs,
    region_ids,
    variable,
    options,
    threshold,
) -> pd.DataFrame:
    """Paper-style rank, P(top), rank interval of every model (SPEC section 8)."""
    regions = [i for i, r in enumerate(region_ids) if r in REGION_IDS]
    if not models or not ranked_refs or not regions:
        return pd.DataFrame(columns=RANKING_COLUMNS)
    d = [run.names.index(m) for m in models]
    f = [run.refs.index(r) for r in ranked_refs]
    point = run.point_tss[d][:, f][:, :, regions]  # (M, F, R)
    point = np.moveaxis(point, 1, 2)[None]  # (1, M, R, F)
    boot = run.samples["TSS"][:, d][:, :, f][:, :, :, regions]  # (B, M, F, R)
    ranks = bootstrap_ranks(np.moveaxis(boot, 2, 3), threshold)
    summary = rank_summary(ranks, options.top, options.level)
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", RuntimeWarning
        )  # a model without any TSS: NaN, as in ranking()
        mean_tss = np.nanmean(np.nanmean(point[0], axis=1), axis=1)
    frame = pd.DataFrame(
        {
            "dataset": models,
            "variable": variable,
            "rank": bootstrap_ranks(point, threshold)[0],
            "regions_above": (point[0] > threshold).sum(axis=(1, 2)),
            "mean_tss": mean_tss,
            "p_top": summary["p_top"],
            "rank_ci_low": summary["rank_low"],
            "rank_ci_high": summary["rank_high"],
            "top": options.top,
            "level": options.level,
            "references": " ".join(ranked_refs),
        }
    )
    return frame.sort_values("rank", kind="stable").reset_index(drop=True)[
        RANKING_COLUMNS
    ]
