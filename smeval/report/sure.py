"""The report's "How sure are we?" section (SPEC section 8), from the tidy table and robust_ranking.csv.

Plain sentences with the numbers behind them: where the references disagree
more than the models differ from them, how many skill scores cannot be
placed on either side of the threshold, which models the resamples cannot
tell apart, whether MMEM-high beats MMEM-low, and how the correlation maps
control the false discovery rate. Nothing is computed twice: every number
is a row of ``metrics.csv`` or ``robust_ranking.csv``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smeval.core.bootstrap import BootstrapOptions
from smeval.metrics.table import (
    CI_HIGH,
    CI_LOW,
    REGION_IDS,
    TSS_DIFFERENCE,
    reference_agreement,
    tss_matrix,
)
from smeval.metrics.uncertainty import RESOLUTION_DIFFERENCE
from smeval.outputs import ROBUST_RANKING
from smeval.variables import SOIL_MOISTURE, variable_label

#: Fewer years than this, and the report warns that the intervals are not to be trusted.
FEW_YEARS = 10


def _f(value) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):.2f}"


def _regions(table: pd.DataFrame, variable: str, reference: str) -> list[str]:
    present = set(
        table[
            (table.variable == variable) & (table.reference == reference)
        ].region
    )
    return [r for r in REGION_IDS if r in present]


def observational_spread(
    table: pd.DataFrame, variable: str, reference: str
) -> dict[str, Any] | None:
    """Regions where another reference agrees with ``reference`` less than the median model does."""
    regions = _regions(table, variable, reference)
    agree = reference_agreement(table, variable, reference, regions)
    if agree.isna().all():
        return None
    models = tss_matrix(table, variable, reference, regions=regions)
    median = models.median(axis=0)
    within = models.gt(agree, axis=1)
    rows = [
        {
            "region": r,
            "references": _f(agree[r]),
            "median_model": _f(median[r]),
            "n_within": int(within[r].sum()),
            "n_models": int(models[r].notna().sum()),
        }
        for r in regions
    ]
    return {
        "reference": reference,
        "rows": rows,
        "disagree": [
            r["region"]
            for r in rows
            if agree[r["region"]] < median[r["region"]]
        ],
        "n_within": int(within.to_numpy().sum()),
        "n_cells": int(models.notna().to_numpy().sum()),
    }


def straddling(
    table: pd.DataFrame, variable: str, reference: str, threshold: float
) -> dict[str, Any] | None:
    """How many model-region TSS intervals contain the threshold."""
    regions = _regions(table, variable, reference)
    low = tss_matrix(
        table, variable, reference, regions=regions, statistic="TSS" + CI_LOW
    )
    high = tss_matrix(
        table, variable, reference, regions=regions, statistic="TSS" + CI_HIGH
    )
    if low.empty:
        return None
    tss = tss_matrix(table, variable, reference, regions=regions)
    both = low.notna() & high.notna()
    mixed = (low <= threshold) & (high > threshold)
    width = (high - low).to_numpy()[both.to_numpy()]
    return {
        "reference": reference,
        "n_straddle": int(mixed.to_numpy().sum()),
        "n_cells": int(both.to_numpy().sum()),
        "n_above": int((tss > threshold).to_numpy().sum()),
        "n_sure_above": int((low > threshold).to_numpy().sum()),
        "median_width": _f(np.median(width)) if width.size else "",
    }


def resolution(
    table: pd.DataFrame, variable: str, reference: str
) -> dict[str, Any] | None:
    """TSS(MMEM-high) - TSS(MMEM-low) per region with its interval and verdict."""
    regions = _regions(table, variable, reference)
    point = tss_matrix(
        table, variable, reference, "difference", regions, TSS_DIFFERENCE
    )
    if RESOLUTION_DIFFERENCE not in point.index:
        return None
    low, high = (
        tss_matrix(
            table,
            variable,
            reference,
            "difference",
            regions,
            TSS_DIFFERENCE + end,
        ).loc[RESOLUTION_DIFFERENCE]
        for end in (CI_LOW, CI_HIGH)
    )
    rows = []
    for r in regions:
        verdict = (
            "high better"
            if low[r] > 0
            else "low better"
            if high[r] < 0
            else "cannot tell"
            if np.isfinite(low[r])
            else ""
        )
        rows.append(
            {
                "region": r,
                "difference": _f(point.loc[RESOLUTION_DIFFERENCE, r]),
                "low": _f(low[r]),
                "high": _f(high[r]),
                "verdict": verdict,
            }
        )
    count = {
        v: sum(row["verdict"] == v for row in rows)
        for v in ("high better", "low better", "cannot tell")
    }
    return {"reference": reference, "rows": rows, "count": count}


def robust_ranking(
    ranking: pd.DataFrame, variable: str
) -> dict[str, Any] | None:
    """Return the paper-style ranking beside P(top) and the rank interval; who cannot be told apart.

    ``ranking`` is the content of robust_ranking.csv (every variable).
    """
    frame = ranking[ranking.variable == variable].sort_values("rank")
    if frame.empty:
        return None
    top = int(frame.top.iloc[0])
    rows = [
        {
            "rank": int(r["rank"]),
            "dataset": r.dataset,
            "regions_above": int(r.regions_above),
            "mean_tss": _f(r.mean_tss),
            "p_top": f"{r.p_top:.2f}",
            "interval": f"{int(r.rank_ci_low)}-{int(r.rank_ci_high)}",
        }
        for _, r in frame.iterrows()
    ]
    inside = frame[frame["rank"] <= top]
    sure = list(inside[inside.p_top >= 0.95].dataset)
    unsure = list(
        frame[(frame.rank_ci_low <= top) & (frame.rank_ci_high > top)].dataset
    )
    best = list(frame[frame.rank_ci_low == 1].dataset)
    # Neighbours in the ranking whose rank intervals overlap.
    ties = [
        f"{a.dataset} and {b.dataset}"
        for (_, a), (_, b) in itertools.pairwise(frame.iterrows())
        if b.rank_ci_low <= a.rank_ci_high
    ]
    return {
        "variable": variable,
        "label": variable_label(variable),
        "top": top,
        "rows": rows,
        "sure": sure,
        "unsure": unsure,
        "best": best,
        "ties": ties,
        "level": f"{100 * float(frame.level.iloc[0]):g}",
        "references": str(frame.references.iloc[0]),
    }


def how_sure(
    table: pd.DataFrame,
    metrics_dir: Path,
    metrics_settings: dict[str, Any],
    threshold: float,
    references: Sequence[str],
    fig11_caption: str | None,
) -> dict[str, Any]:
    """Context of the report section "How sure are we?"."""
    options = BootstrapOptions.from_options(metrics_settings.get("bootstrap"))
    ranking_csv = Path(metrics_dir) / ROBUST_RANKING
    ranking = (
        pd.read_csv(ranking_csv)
        if ranking_csv.is_file()
        else pd.DataFrame(columns=["variable", "rank"])
    )
    present = set(table.variable)
    variables = []
    for variable in (v for v in SOIL_MOISTURE if v in present):
        per_ref = [
            (
                observational_spread(table, variable, ref),
                straddling(table, variable, ref, threshold),
                resolution(table, variable, ref),
            )
            for ref in references
        ]
        variables.append(
            {
                "variable": variable,
                "label": variable_label(variable),
                "spread": [s for s, _, _ in per_ref if s],
                "straddle": [c for _, c, _ in per_ref if c],
                "resolution": [r for _, _, r in per_ref if r],
                "ranking": robust_ranking(ranking, variable),
            }
        )
    has_intervals = table.statistic.astype(str).str.endswith(CI_LOW).any()
    months = table.loc[table.statistic == "n_months", "value"]
    n_years = (
        int(np.ceil(months.max() / 12))
        if len(months) and np.isfinite(months.max())
        else 0
    )
    return {
        "available": bool(has_intervals),
        "level": f"{100 * options.level:g}",
        "resamples": options.resamples,
        "n_years": n_years,
        "few_years": 0 < n_years < FEW_YEARS,
        "block_years": options.block_years,
        "seed": options.seed,
        "threshold": f"{threshold:g}",
        "variables": variables,
        "fig11": fig11_caption,
    }
