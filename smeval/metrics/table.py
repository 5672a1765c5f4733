"""The tidy metrics table and every summary of it (docs/results.md).

One row per (dataset, reference, variable, region, statistic). Rankings,
counts of TSS above the threshold and heat-map matrices are queries on this
table, so a number in a figure, the report and the JSON is always the same
number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from smeval import defaults
from smeval.core.ensemble import (
    HIGH_RESOLUTION_MIN_NLAT,
    MMEM_ALL,
    hierarchical_means,
)
from smeval.core.fields import annual_cycle
from smeval.core.regions import REGIONS
from smeval.core.taylor import taylor_statistics

from .series import RegionalSeries

#: Columns of the metrics table, in order.
COLUMNS = [
    "dataset",
    "kind",
    "family",
    "resolution_group",
    "reference",
    "variable",
    "region",
    "statistic",
    "value",
    "units",
]
#: Point statistics written per (dataset, reference, region).
POINT_STATISTICS = ("R", "sigma", "E'", "TSS", "n_months")
#: Suffixes of the bootstrap interval of a statistic (SPEC section 8), e.g. ``TSS_ci_low``.
CI_LOW, CI_HIGH = "_ci_low", "_ci_high"
#: Interval rows written per (dataset, reference, region) (smeval.metrics.uncertainty).
INTERVAL_STATISTICS = tuple(
    f"{s}{end}"
    for s in ("R", "sigma", "E'", "TSS")
    for end in (CI_LOW, CI_HIGH)
)
#: TSS(CMIP6-MMEM-high) - TSS(CMIP6-MMEM-low), a statistic of its own: it is not a skill score (it may be < 0).
TSS_DIFFERENCE = "TSS_difference"
#: Every statistic of the table.
STATISTICS = (
    POINT_STATISTICS
    + INTERVAL_STATISTICS
    + (TSS_DIFFERENCE, TSS_DIFFERENCE + CI_LOW, TSS_DIFFERENCE + CI_HIGH)
)
#: The 13 regions of the paper, in SPEC order (heat maps and counts use these).
REGION_IDS = tuple(r.id for r in REGIONS)
#: Prefix of family-mean data set names.
FAMILY_PREFIX = "family:"


def _stack(
    series: Sequence[RegionalSeries], months: np.ndarray, region_ids
) -> list[np.ndarray]:
    return [s.on(months, region_ids) for s in series]


def ensemble_series(
    models: Mapping[str, Sequence[RegionalSeries]],
    months: np.ndarray,
    region_ids: tuple[str, ...],
    families: Mapping[str, str],
    n_lat: Mapping[str, int],
    high_resolution_min_nlat: int = HIGH_RESOLUTION_MIN_NLAT,
):
    """Model, family and MMEM series (each (n_region, n_months)) of one variable.

    Returns ``(series, info)``: ``series`` maps data set names (models,
    ``family:<F>``, the MMEMs) to arrays; ``info`` maps them to
    ``(kind, family, resolution_group)``.
    """
    members = {
        m: _stack(s, months, region_ids) for m, s in models.items() if s
    }
    means = hierarchical_means(
        members, families, n_lat, high_resolution_min_nlat
    )
    series: dict[str, np.ndarray] = {}
    info: dict[str, tuple[str, str, str]] = {}
    for model, arr in means.model_means.items():
        series[model] = arr
        info[model] = ("model", means.family_of[model], means.group_of[model])
    for fam, arr in means.family_means.items():
        name = FAMILY_PREFIX + fam
        groups = {
            means.group_of[m] for m, f in means.family_of.items() if f == fam
        }
        series[name] = arr
        info[name] = (
            "family",
            fam,
            groups.pop() if len(groups) == 1 else "mixed",
        )
    for name, arr in means.mmem.items():
        series[name] = arr
        group = "all" if name == MMEM_ALL else name.rsplit("-", 1)[-1]
        info[name] = ("mmem", "", group)
    return series, info, means


def taylor_table(
    series: Mapping[str, np.ndarray],
    info: Mapping[str, tuple[str, str, str]],
    references: Mapping[str, np.ndarray],
    variable: str,
    region_ids: tuple[str, ...],
    r0: float = 1.0,
) -> pd.DataFrame:
    """Tidy table of R, sigma, E', TSS and n_months of every data set against every reference.

    ``series`` and ``references`` map names to (n_region, n_months) arrays on
    the same month axis. Computed in one vectorised call over
    (datasets x references x regions).
    """
    names = list(series)
    refs = list(references)
    if not names or not refs:
        return pd.DataFrame(columns=COLUMNS)
    model = np.stack([series[n] for n in names])[:, None]  # (D, 1, R, T)
    ref = np.stack([references[r] for r in refs])[None]  # (1, F, R, T)
    stats = taylor_statistics(model, ref, r0=r0)
    values = {
        "R": stats.R,
        "sigma": stats.sigma,
        "E'": stats.E,
        "TSS": stats.TSS,
        "n_months": stats.n.astype(float),
    }
    return tidy(values, names, refs, region_ids, info, variable)


def tidy(
    values: Mapping[str, np.ndarray],
    names: Sequence[str],
    refs: Sequence[str],
    region_ids: Sequence[str],
    info: Mapping[str, tuple[str, str, str]],
    variable: str,
) -> pd.DataFrame:
    """Tidy rows of statistics given as (dataset, reference, region) arrays.

    ``values`` maps statistic names to arrays of shape (len(names),
    len(refs), len(region_ids)); ``info`` maps each name to (kind, family,
    resolution_group).
    """
    d_idx, f_idx, r_idx = np.meshgrid(
        np.arange(len(names)),
        np.arange(len(refs)),
        np.arange(len(region_ids)),
        indexing="ij",
    )
    frames = []
    for stat, value in values.items():
        frames.append(
            pd.DataFrame(
                {
                    "dataset": np.asarray(names, dtype=object)[d_idx.ravel()],
                    "reference": np.asarray(refs, dtype=object)[f_idx.ravel()],
                    "region": np.asarray(region_ids, dtype=object)[
                        r_idx.ravel()
                    ],
                    "statistic": stat,
                    "value": np.asarray(value, dtype=np.float64).ravel(),
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    table["kind"] = table["dataset"].map(lambda n: info[n][0])
    table["family"] = table["dataset"].map(lambda n: info[n][1])
    table["resolution_group"] = table["dataset"].map(lambda n: info[n][2])
    table["variable"] = variable
    table["units"] = "1"
    return table[COLUMNS]


#: Columns of an annual-cycle table (one row per data set, region and month).
CYCLE_COLUMNS = (
    "dataset",
    "kind",
    "variable",
    "region",
    "month",
    "value",
    "units",
)


def annual_cycle_table(
    series: Mapping[str, np.ndarray],
    kinds: Mapping[str, str],
    months: np.ndarray,
    variable: str,
    units: str,
    region_ids: tuple[str, ...],
) -> pd.DataFrame:
    """Tidy annual cycles (dataset, kind, variable, region, month, value, units)."""
    month_numbers = months % 12 + 1
    rows = []
    for name, arr in series.items():
        cycle = np.asarray(
            annual_cycle(np.moveaxis(arr, -1, 0), month_numbers)
        )  # (12, R)
        for r, rid in enumerate(region_ids):
            for m in range(12):
                rows.append(
                    (
                        name,
                        kinds[name],
                        variable,
                        rid,
                        m + 1,
                        float(cycle[m, r]),
                        units,
                    )
                )
    return pd.DataFrame(
        rows,
        columns=list(CYCLE_COLUMNS),
    )


# --- queries -----------------------------------------------------------------


def select(table: pd.DataFrame, **where) -> pd.DataFrame:
    """Rows whose columns equal the given values (a value may be a list)."""
    mask = np.ones(len(table), dtype=bool)
    for col, val in where.items():
        mask &= (
            table[col].isin(val).to_numpy()
            if isinstance(val, (list, tuple, set))
            else (table[col] == val).to_numpy()
        )
    return table[mask]


def tss_matrix(
    table: pd.DataFrame,
    variable: str,
    reference: str,
    kind: str = "model",
    regions: Sequence[str] = REGION_IDS,
    statistic: str = "TSS",
) -> pd.DataFrame:
    """TSS (or ``statistic``, e.g. ``TSS_ci_low``) of each data set of ``kind`` (rows, sorted) in each region."""
    rows = select(
        table,
        variable=variable,
        reference=reference,
        statistic=statistic,
        kind=kind,
        region=list(regions),
    )
    matrix = rows.pivot(index="dataset", columns="region", values="value")
    return matrix.reindex(columns=list(regions)).sort_index()


def reference_agreement(
    table: pd.DataFrame,
    variable: str,
    reference: str,
    regions: Sequence[str] = REGION_IDS,
) -> pd.Series:
    """Observational spread: the lowest TSS of another reference against ``reference``, per region.

    Where a model's TSS against ``reference`` exceeds it, the model agrees
    with that reference better than another reference does: its skill cannot
    be told apart from observational uncertainty there (SPEC section 8).
    NaN where no other reference was evaluated.
    """
    matrix = tss_matrix(
        table, variable, reference, kind="reference", regions=regions
    )
    return matrix.min(axis=0).reindex(list(regions))


def count_models_above(
    table: pd.DataFrame,
    variable: str,
    reference: str,
    threshold: float = defaults.TSS_THRESHOLD,
    regions: Sequence[str] = REGION_IDS,
) -> pd.Series:
    """Return the number of models with TSS > ``threshold`` in each region (Fig. 14a)."""
    return (
        tss_matrix(table, variable, reference, regions=regions) > threshold
    ).sum(axis=0)


def count_regions_above(
    table: pd.DataFrame,
    variable: str,
    reference: str,
    threshold: float = defaults.TSS_THRESHOLD,
    regions: Sequence[str] = REGION_IDS,
) -> pd.Series:
    """Return the number of regions in which each model has TSS > ``threshold`` (Fig. 14b)."""
    return (
        tss_matrix(table, variable, reference, regions=regions) > threshold
    ).sum(axis=1)


def ranking(
    table: pd.DataFrame,
    variable: str,
    references: Sequence[str],
    threshold: float = defaults.TSS_THRESHOLD,
    regions: Sequence[str] = REGION_IDS,
) -> pd.DataFrame:
    """Models ranked by the regions with TSS > ``threshold``, summed over ``references``.

    Ties are broken by the mean TSS over those regions and references. Returns
    a frame indexed by model with columns ``regions_above`` (total),
    ``regions_above_<ref>`` for each reference, ``mean_tss`` and ``rank``
    (1 = best).
    """
    out = pd.DataFrame()
    means = []
    for ref in references:
        matrix = tss_matrix(table, variable, ref, regions=regions)
        out[f"regions_above_{ref}"] = (matrix > threshold).sum(axis=1)
        means.append(matrix.mean(axis=1))
    if out.empty:
        return out
    out["regions_above"] = out.sum(axis=1)
    out["mean_tss"] = pd.concat(means, axis=1).mean(axis=1)
    out = out.sort_values(
        ["regions_above", "mean_tss"], ascending=[False, False]
    )
    out["rank"] = np.arange(1, len(out) + 1)
    return out
