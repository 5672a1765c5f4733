"""The report's summary: rankings, counts and main messages as sentences.

Every number is a query on the metrics table (:mod:`smeval.metrics.table`):
``ranking`` for the top and bottom models, ``count_models_above`` and
``count_regions_above`` for the counts of Fig. 14, ``tss_matrix`` for the TSS
of the ensemble means. Nothing is recomputed from series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from smeval import defaults
from smeval.core.ensemble import MMEM_HIGH, MMEM_LOW
from smeval.metrics.table import (
    REGION_IDS,
    count_models_above,
    count_regions_above,
    ranking,
    tss_matrix,
)
from smeval.variables import SOIL_MOISTURE, VARIABLE_LABELS, variable_label


def ordered_variables(table: pd.DataFrame) -> list[str]:
    """Return the variables of ``table``: the paper's order first, then the others sorted."""
    present = list(dict.fromkeys(table["variable"].tolist()))
    return [v for v in VARIABLE_LABELS if v in present] + sorted(
        v for v in present if v not in VARIABLE_LABELS
    )


def ordered_references(table: pd.DataFrame) -> list[str]:
    """Return the references of ``table``: the default order first, then the others sorted."""
    present = set(table["reference"])
    known = list(defaults.REFERENCES)
    return [r for r in known if r in present] + sorted(present - set(known))


def ranking_references(
    table: pd.DataFrame, wanted: Sequence[str] | None = None
) -> list[str]:
    """Return the references rankings and counts use: ``wanted`` (default ERA5, GLDAS-NOAH) present in the table.

    Falls back to every reference of the table if none of them is present.
    """
    present = ordered_references(table)
    chosen = [
        r for r in (wanted or defaults.FIGURE_REFERENCES) if r in present
    ]
    return chosen or present


def _names(items: Sequence[str], limit: int = 4) -> str:
    items = list(items)
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} and {len(items) - limit} more"


def _references_of(
    table: pd.DataFrame, variable: str, references: Sequence[str]
) -> list[str]:
    """Return the ``references`` that have rows of ``variable`` in the table."""
    present = set(table.loc[table.variable == variable, "reference"])
    return [r for r in references if r in present]


def _regions(table: pd.DataFrame, variable: str, reference: str) -> list[str]:
    present = set(
        table[(table.variable == variable) & (table.reference == reference)][
            "region"
        ]
    )
    return [r for r in REGION_IDS if r in present]


@dataclass
class RankedModel:
    """A model's place in a variable's ranking: regions above the TSS threshold."""

    rank: int
    dataset: str
    regions_above: int
    per_reference: dict[str, int]
    mean_tss: float


@dataclass
class VariableRanking:
    """The ranking of the models for one variable, as the report shows it."""

    variable: str
    label: str
    references: list[str]
    n_regions: int
    top: list[RankedModel]
    bottom: list[RankedModel]
    n_models: int


def rankings(
    table: pd.DataFrame,
    threshold: float,
    references: Sequence[str],
    n: int = 3,
    variables: Sequence[str] = SOIL_MOISTURE,
) -> list[VariableRanking]:
    """Top and bottom ``n`` models of each soil-moisture variable (``ranking``)."""
    out = []
    for variable in variables:
        refs = _references_of(table, variable, references)
        if not refs:
            continue
        rank = ranking(table, variable, refs, threshold)
        if rank.empty:
            continue
        models = [
            RankedModel(
                int(row["rank"]),
                str(name),
                int(row["regions_above"]),
                {r: int(row[f"regions_above_{r}"]) for r in refs},
                float(row["mean_tss"]),
            )
            for name, row in rank.iterrows()
        ]
        # Top and bottom never overlap: with few models both lists are shorter.
        k = min(n, len(models) // 2)
        out.append(
            VariableRanking(
                variable,
                variable_label(variable),
                refs,
                len(_regions(table, variable, refs[0])),
                models[: max(k, 1)],
                models[len(models) - k :] if k else [],
                len(models),
            )
        )
    return out


def top_ranking(
    table: pd.DataFrame,
    variable: str,
    references: Sequence[str],
    threshold: float,
    n: int = 5,
) -> pd.DataFrame:
    """Return the first ``n`` rows of ``ranking`` (Fig. 14's top five)."""
    refs = _references_of(table, variable, references)
    if not refs:
        return pd.DataFrame()
    return ranking(table, variable, refs, threshold).head(n)


def _regions_message(
    table: pd.DataFrame,
    variable: str,
    ref: str,
    threshold: float,
    regions: list[str],
) -> tuple[str, tuple[int, int]] | None:
    """Sentence on the regions the models reproduce against ``ref``, and (model-region pairs above, all); None without scores."""
    matrix = tss_matrix(table, variable, ref, regions=regions)
    if matrix.empty:
        return None
    label, thr = variable_label(variable), f"{threshold:g}"
    n_models = len(matrix)
    counts = count_models_above(
        table, variable, ref, threshold, regions=regions
    )
    half = int(np.sum(counts.to_numpy() >= n_models / 2))
    best, worst = counts.max(), counts.min()
    best_regions = [r for r in regions if counts[r] == best]
    worst_regions = [r for r in regions if counts[r] == worst]
    text = (
        f"Against {ref}, {label} is reproduced (TSS > {thr}) by at least half of the "
        f"{n_models} models in {half} of {len(regions)} regions; "
    )
    if best == worst:
        text += f"every region is reproduced by {best} of {n_models} models."
    else:
        text += (
            f"best simulated: {_names(best_regions)} ({best} of {n_models} models), "
            f"worst simulated: {_names(worst_regions)} ({worst} of {n_models} models)."
        )
    return text, (int(counts.sum()), n_models * len(regions))


def _mmem_message(
    table: pd.DataFrame, variable: str, ref: str, regions: list[str]
) -> str | None:
    """Sentence comparing the high- and low-resolution MMEMs against ``ref``; None without both."""
    mmem = tss_matrix(table, variable, ref, kind="mmem", regions=regions)
    if not (MMEM_HIGH in mmem.index and MMEM_LOW in mmem.index):
        return None
    high, low = mmem.loc[MMEM_HIGH], mmem.loc[MMEM_LOW]
    valid = high.notna() & low.notna()
    wins = int((high[valid] > low[valid]).sum())
    losses = int((high[valid] < low[valid]).sum())
    verdict = (
        "beats"
        if wins > losses
        else "does not beat"
        if wins < losses
        else "ties with"
    )
    return (
        f"Against {ref}, {MMEM_HIGH} {verdict} {MMEM_LOW} for {variable_label(variable)}: its TSS is "
        f"higher in {wins} and lower in {losses} of {int(valid.sum())} regions."
    )


def _references_message(
    variable: str, totals: dict[str, tuple[int, int]], threshold: float
) -> str:
    """Sentence on the reference the models agree best and worst with (``totals``: pairs above, all)."""
    label, thr = variable_label(variable), f"{threshold:g}"
    ordered = sorted(
        totals.items(), key=lambda kv: -kv[1][0] / max(kv[1][1], 1)
    )
    (ref_a, (a, n_a)), (ref_b, (b, n_b)) = ordered[0], ordered[-1]
    if a * n_b == b * n_a:
        return (
            f"For {label}, the models agree equally well with {ref_a} and {ref_b}: "
            f"{a} of {n_a} model-region pairs have TSS > {thr} against each."
        )
    return (
        f"For {label}, the models agree better with {ref_a} than with {ref_b}: "
        f"{a} of {n_a} model-region pairs have TSS > {thr} against {ref_a}, "
        f"{b} of {n_b} against {ref_b}."
    )


def messages(
    table: pd.DataFrame, threshold: float, references: Sequence[str]
) -> list[str]:
    """Return the main messages of the run, as sentences built from the metrics table."""
    out: list[str] = []
    for variable in SOIL_MOISTURE:
        totals: dict[str, tuple[int, int]] = {}
        for ref in references:
            regions = _regions(table, variable, ref)
            found = _regions_message(table, variable, ref, threshold, regions)
            if found is None:
                continue
            text, totals[ref] = found
            out.append(text)
            mmem = _mmem_message(table, variable, ref, regions)
            if mmem is not None:
                out.append(mmem)
        if len(totals) >= 2:
            out.append(_references_message(variable, totals, threshold))
    return out


def _counts(
    table: pd.DataFrame,
    threshold: float,
    references: Sequence[str],
    variables: Sequence[str],
    count,
) -> tuple[list[tuple[str, str]], dict]:
    """``count(table, variable, ref, threshold, regions=...)`` per (variable, reference) present."""
    columns, data = [], {}
    for variable in variables:
        for ref in references:
            regions = _regions(table, variable, ref)
            if not regions:
                continue
            columns.append((variable, ref))
            data[(variable, ref)] = count(
                table, variable, ref, threshold, regions=regions
            )
    return columns, data


def counts_by_region(
    table: pd.DataFrame,
    threshold: float,
    references: Sequence[str],
    variables: Sequence[str] = SOIL_MOISTURE,
) -> tuple[list[tuple[str, str]], pd.DataFrame]:
    """Fig. 14a: models with TSS > threshold per region, one column per (variable, reference)."""
    columns, data = _counts(
        table, threshold, references, variables, count_models_above
    )
    frame = pd.DataFrame(data).reindex(
        [r for r in REGION_IDS if any(r in s.index for s in data.values())]
    )
    return columns, frame


def counts_by_model(
    table: pd.DataFrame,
    threshold: float,
    references: Sequence[str],
    variables: Sequence[str] = SOIL_MOISTURE,
) -> tuple[list[tuple[str, str]], pd.DataFrame]:
    """Fig. 14b: regions with TSS > threshold per model, one column per (variable, reference)."""
    columns, data = _counts(
        table, threshold, references, variables, count_regions_above
    )
    return columns, pd.DataFrame(data).sort_index()
