"""The work of ``diagnostics/metrics.py``: regional series -> metrics table.

Reads the series files of the ``regional_series`` scripts (self-describing
NetCDF, see :mod:`smeval.diag.regional_series`), forms the model, family and
multi-model ensemble means (SPEC section 4) and writes the tidy metrics table,
its nested JSON, the annual cycles, the rankings and the list of exclusions
(docs/results.md).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import iris
import numpy as np
import pandas as pd

import smeval
from smeval import defaults, outputs
from smeval.catalogue import load_catalogue
from smeval.core.bootstrap import BootstrapOptions, block_indices, year_counts
from smeval.core.ensemble import HIGH_RESOLUTION_MIN_NLAT
from smeval.metrics.cmec import metric_bundle
from smeval.metrics.series import RegionalSeries, months_of
from smeval.metrics.table import (
    COLUMNS,
    annual_cycle_table,
    ensemble_series,
    ranking,
    taylor_table,
)
from smeval.metrics.uncertainty import RANKING_COLUMNS, variable_uncertainty

from .checks import in_expected_units, units_problem
from .io import EXCLUDED_COLUMNS, SERIES_GLOB
from .options import (
    OBS_PROJECTS,
    OptionsError,
    check_range,
    check_references,
    is_model,
    option,
    parse_options,
)
from .provenance import record
from .shared import ProvenanceLogger, atomic_write_text, family_of
from .skipped import skipped_inputs

logger = logging.getLogger(__name__)

#: CMIP6 variable each evaluated variable comes from.
SOURCE = {"sm_shallow": "mrsos (or mrsol)", "sm_deep": "mrsol"}


@dataclass(frozen=True)
class EvaluationOptions:
    """Options shared by the scripts of the evaluation (``evaluation_options`` of the recipe)."""

    #: Name of the script in error messages.
    SCRIPT: ClassVar[str] = "metrics"
    references: tuple[str, ...] = option(
        defaults.REFERENCES, "reference data sets"
    )
    r0: float = option(defaults.R0, "R0 of the Taylor skill score", "1")
    tss_threshold: float = option(
        defaults.TSS_THRESHOLD,
        "TSS above which a model reproduces a region",
        "1",
    )
    high_resolution_min_nlat: int = option(
        HIGH_RESOLUTION_MIN_NLAT,
        "native latitude rows from which a model is high resolution",
    )
    period: str = option(defaults.PERIOD, "period named in captions")

    def __post_init__(self) -> None:
        script = self.SCRIPT
        if not self.references:
            msg = f"{script}: option `references` names no data set"
            raise OptionsError(msg)
        check_range(script, "r0", self.r0, -1.0, 1.0, high_open=False)
        check_range(script, "tss_threshold", self.tss_threshold, 0.0, 1.0)
        check_range(
            script,
            "high_resolution_min_nlat",
            self.high_resolution_min_nlat,
            0.0,
        )


@dataclass(frozen=True)
class MetricsOptions(EvaluationOptions):
    """Options of ``diagnostics/metrics.py`` (see its docstring)."""

    bootstrap: dict[str, Any] = option(
        MappingProxyType(dataclasses.asdict(BootstrapOptions())),
        "moving-block bootstrap over whole years",
    )
    ranking_references: tuple[str, ...] = option(
        defaults.FIGURE_REFERENCES, "references of the robust ranking"
    )

    @property
    def bootstrap_options(self) -> BootstrapOptions:
        """The checked ``bootstrap`` mapping, missing keys at their defaults."""
        return BootstrapOptions.from_options(dict(self.bootstrap))

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            self.bootstrap_options  # noqa: B018 - checks the mapping now, before any data is read
        except (TypeError, ValueError) as err:
            msg = f"{self.SCRIPT}: option `bootstrap`: {err}"
            raise OptionsError(msg) from None


def split_models(
    datasets: dict[str, str], references, script: str
) -> tuple[list[str], list[dict[str, str]]]:
    """Return the models among ``datasets`` (name -> project), and exclusion rows of observations that are no reference.

    A data set of an observation project (OBS, OBS6, obs4MIPs, ...) that is
    not among ``references`` is never evaluated as a model.
    """
    models = sorted(
        d for d, p in datasets.items() if is_model(d, p, references)
    )
    rows = [
        {
            "dataset": d,
            "member": "",
            "project": p,
            "variable": "",
            "reason": f"{script}: an observation data set ({p}) that is not among the references "
            f"({', '.join(references)}): not evaluated as a model",
        }
        for d, p in sorted(datasets.items())
        if p in OBS_PROJECTS and d not in references
    ]
    return models, rows


def read_series(
    folders: list[Path],
) -> tuple[list[RegionalSeries], dict[str, list[str]], list[pd.DataFrame]]:
    """All series files under ``folders``; returns (series, files by dataset, exclusion tables)."""
    series: list[RegionalSeries] = []
    files: dict[str, list[str]] = defaultdict(list)
    excluded: list[pd.DataFrame] = []
    for folder in folders:
        for path in sorted(Path(folder).glob(SERIES_GLOB)):
            cube = iris.load_cube(str(path))
            attrs = cube.attributes
            if "smeval_variable" not in attrs:
                continue
            region = cube.coord("region").points.tolist()
            # Convertible units are converted here; others stay, and
            # _with_expected_units excludes the series with the reason.
            in_expected_units(cube, str(attrs["smeval_variable"]))
            series.append(
                RegionalSeries(
                    dataset=str(attrs["smeval_dataset"]),
                    member=str(attrs.get("smeval_member", "")),
                    variable=str(attrs["smeval_variable"]),
                    units=str(cube.units),
                    months=months_of(cube.coord("time")),
                    region_ids=tuple(region),
                    values=np.ma.filled(
                        np.ma.asarray(cube.data, dtype=np.float64), np.nan
                    ),
                    project=str(attrs.get("smeval_project", "")),
                    native_nlat=int(attrs.get("smeval_native_nlat", 0)),
                    family=str(attrs.get("smeval_family", "")),
                )
            )
            files[series[-1].dataset].append(str(path))
        for path in sorted(Path(folder).rglob(outputs.EXCLUDED)):
            excluded.append(
                pd.read_csv(path, dtype=str, keep_default_na=False)
            )
    return series, files, excluded


def _skipped_by_esmvalcore(work_dir: Path) -> list[dict[str, str]]:
    """Return inputs ESMValCore skipped in this run (its main log), for ``excluded.csv``."""
    if (
        work_dir.parent.parent.name != "work"
    ):  # not in a run folder <session>/work/<diagnostic>/<script>
        return []
    return skipped_inputs(work_dir.parents[2])


def _with_expected_units(
    series: list[RegionalSeries],
) -> tuple[list[RegionalSeries], list[dict[str, str]]]:
    """Return the series in the units of their variable, and exclusion rows of the others (smeval.diag.checks)."""
    kept, rows = [], []
    for s in series:
        problem = units_problem(s.units, s.variable)
        if problem:
            rows.append(
                {
                    "dataset": s.dataset,
                    "member": s.member,
                    "project": s.project,
                    "variable": s.variable,
                    "reason": f"metrics: {problem}",
                }
            )
        else:
            kept.append(s)
    return kept, rows


#: Columns of ``members.csv``.
MEMBER_COLUMNS = ["dataset", "family", "variable", "n_members", "members"]


def member_counts(series: list[RegionalSeries], references) -> pd.DataFrame:
    """Members of each model and variable that enter the model means (``members.csv``)."""
    members: dict[tuple[str, str], set[str]] = defaultdict(set)
    families = {}
    for s in series:
        if s.dataset not in references:
            members[(s.dataset, s.variable)].add(s.member)
            families[s.dataset] = family_of(
                {"dataset": s.dataset, "family": s.family}
            )
    rows = [
        {
            "dataset": d,
            "family": families[d],
            "variable": v,
            "n_members": len(m),
            "members": " ".join(sorted(m)),
        }
        for (d, v), m in sorted(members.items())
    ]
    return pd.DataFrame(rows, columns=MEMBER_COLUMNS)


#: The metrics script's products: name -> file name (in its work folder).
METRICS_PRODUCTS = MappingProxyType(
    {
        "metrics": outputs.METRICS,
        "metrics_json": outputs.METRIC_BUNDLE,
        "annual_cycle": outputs.ANNUAL_CYCLE,
        "ranking": outputs.RANKING,
        "robust_ranking": outputs.ROBUST_RANKING,
        "excluded": outputs.EXCLUDED,
        "members": outputs.MEMBERS,
    }
)


def _evaluated_series(cfg: dict[str, Any], references: list[str]):
    """Return the ancestors' series of the references and models, their files and the exclusions so far."""
    all_series, files, excluded = read_series(cfg["ancestor_dirs"])
    if not all_series:
        msg = f"no regional series found in {', '.join(map(str, cfg['ancestor_dirs']))}"
        raise FileNotFoundError(msg)
    projects = {s.dataset: s.project for s in all_series}
    check_references("metrics", references, projects)
    models_here, not_models = split_models(projects, references, "metrics")
    all_series, wrong_units = _with_expected_units(all_series)
    all_series = [
        s
        for s in all_series
        if s.dataset in references or s.dataset in models_here
    ]
    skipped = _skipped_by_esmvalcore(Path(cfg["work_dir"]))
    if not_models or wrong_units or skipped:
        excluded.append(
            pd.DataFrame(
                not_models + wrong_units + skipped, columns=EXCLUDED_COLUMNS
            )
        )
    return all_series, files, excluded


def _absent_models(
    by_variable: dict[str, list[RegionalSeries]],
    references: list[str],
    excluded: list[pd.DataFrame],
) -> list[dict[str, str]]:
    """Rows of ``excluded.csv`` for a model evaluated for some variable but absent from another."""
    all_models = {
        s.dataset
        for items in by_variable.values()
        for s in items
        if s.dataset not in references
    }
    already = {
        (row["dataset"], row["variable"])
        for frame in excluded
        for _, row in frame.iterrows()
    }
    rows = []
    for variable, items in sorted(by_variable.items()):
        for model in sorted(all_models - {s.dataset for s in items}):
            if (model, variable) not in already:
                rows.append(
                    {
                        "dataset": model,
                        "member": "",
                        "project": "CMIP6",
                        "variable": variable,
                        "reason": f"no {SOURCE.get(variable, variable)} data in this run "
                        "(not provided by the model, or not in the archive)",
                    }
                )
    return rows


def _split_variable(
    items: list[RegionalSeries],
    references: list[str],
    months: np.ndarray,
    region_ids: tuple[str, ...],
):
    """Return the members by model, the reference series on ``months`` and each model's native latitude rows."""
    catalogue = load_catalogue()
    models: dict[str, list[RegionalSeries]] = defaultdict(list)
    refs: dict[str, np.ndarray] = {}
    n_lat: dict[str, int] = {}
    for s in items:
        if s.dataset in references:
            refs[s.dataset] = s.on(months, region_ids)
        else:
            models[s.dataset].append(s)
            entry = catalogue.models.get(s.dataset)
            n_lat[s.dataset] = entry.grid.nlat if entry else s.native_nlat
    return models, refs, n_lat


def _variable_metrics(
    variable: str,
    items: list[RegionalSeries],
    options: MetricsOptions,
    run: dict[str, Any],
    missing_refs: list[dict[str, str]],
):
    """Metrics rows, robust ranking (or None) and annual cycles of one variable; None if it has no model.

    ``run`` holds what every variable shares: ``months``, ``region_ids``,
    ``families`` and the bootstrap's year ``counts``. A reference without a
    series of this variable is appended to ``missing_refs``.
    """
    references, months, region_ids = (
        list(options.references),
        run["months"],
        run["region_ids"],
    )
    models, refs, n_lat = _split_variable(
        items, references, months, region_ids
    )
    for ref in references:
        if ref not in refs:
            missing_refs.append(
                {
                    "dataset": ref,
                    "member": "",
                    "project": "OBS6",
                    "variable": variable,
                    "reason": f"no {variable} series of this reference in the run",
                }
            )
    if not models:
        return None
    series, info, _ = ensemble_series(
        models,
        months,
        region_ids,
        run["families"],
        n_lat,
        options.high_resolution_min_nlat,
    )
    tables, robust = (
        [
            taylor_table(
                series, info, refs, variable, region_ids, r0=options.r0
            )
        ],
        None,
    )
    if refs:
        sure = variable_uncertainty(
            series,
            info,
            refs,
            variable,
            region_ids,
            months,
            run["counts"],
            options.bootstrap_options,
            list(options.ranking_references),
            options.tss_threshold,
            options.r0,
        )
        tables.append(sure.rows)
        robust = sure.ranking
    kinds = {name: kind for name, (kind, _, _) in info.items()}
    cycle_series = {k: v for k, v in series.items() if info[k][0] != "family"}
    cycle_series.update(refs)
    kinds.update(dict.fromkeys(refs, "reference"))
    cycle = annual_cycle_table(
        cycle_series, kinds, months, variable, items[0].units, region_ids
    )
    return tables, robust, cycle


def _run_frame(
    all_series: list[RegionalSeries], boot: BootstrapOptions
) -> dict[str, Any]:
    """Return what every variable shares: months, region ids, families and one draw of resampled years."""
    # The recipe's family facets, carried by the series files.
    families = {
        s.dataset: family_of({"dataset": s.dataset, "family": s.family})
        for s in all_series
    }
    first = min(int(s.months.min()) for s in all_series)
    last = max(int(s.months.max()) for s in all_series)
    months = np.arange(first, last + 1)
    # One draw of resampled years for every series of the run (SPEC section 8).
    n_years = int(months[-1] // 12 - months[0] // 12 + 1)
    counts = year_counts(
        block_indices(n_years, boot.block_years, boot.resamples, boot.seed),
        n_years,
    )
    return {
        "months": months,
        "region_ids": all_series[0].region_ids,
        "families": families,
        "counts": counts,
    }


def _ranking_table(
    table: pd.DataFrame, references: list[str], threshold: float
) -> pd.DataFrame:
    """``ranking.csv``: every variable's ranking against the references it has."""
    ranks = []
    for variable in sorted(table["variable"].unique()) if len(table) else []:
        refs_here = [
            r
            for r in references
            if r in set(table[table.variable == variable].reference)
        ]
        rank = ranking(table, variable, refs_here, threshold)
        if len(rank):
            ranks.append(
                rank.reset_index()
                .rename(columns={"index": "dataset"})
                .assign(variable=variable)
            )
    return pd.concat(ranks, ignore_index=True) if ranks else pd.DataFrame()


def _metrics_captions(options: MetricsOptions, period: str) -> dict[str, str]:
    """Provenance caption of each product of :data:`METRICS_PRODUCTS`."""
    r0, threshold, boot = (
        options.r0,
        options.tss_threshold,
        options.bootstrap_options,
    )
    references, ranking_refs = (
        list(options.references),
        list(options.ranking_references),
    )
    return {
        "metrics": (
            f"Taylor statistics (R, sigma, E', TSS with R0 = {r0:g}) of every CMIP6 model, family mean "
            f"and multi-model ensemble mean against {', '.join(references)}, per region, "
            f"regional-mean monthly series {period}, each reference against the others (kind "
            f"reference), {100 * boot.level:g} % intervals (<statistic>_ci_low/_ci_high) from "
            f"{boot.resamples} moving-block bootstrap resamples of whole years ({boot.block_years}-year "
            f"blocks, seed {boot.seed}) and TSS(CMIP6-MMEM-high) - TSS(CMIP6-MMEM-low): the tidy "
            "metrics table."
        ),
        "metrics_json": (
            f"The metrics table as a CMEC metric bundle, nested by data set, reference, variable, "
            f"region and statistic, {period}."
        ),
        "annual_cycle": f"Mean annual cycles of the regional-mean series of models, ensemble means and references, {period}.",
        "ranking": (
            f"Models ranked by the number of regions with TSS > {threshold:g}, summed over "
            f"{', '.join(references)}, {period}."
        ),
        "excluded": "Data sets excluded from parts of the evaluation, and why.",
        "members": "Number of members of each model and variable that entered its model mean.",
        "robust_ranking": (
            f"Robust ranking of the models: rank by the number of regions with TSS > {threshold:g} "
            f"summed over {', '.join(ranking_refs)} (ties by mean TSS), the fraction of "
            f"{boot.resamples} moving-block bootstrap resamples ({boot.block_years}-year blocks, "
            f"seed {boot.seed}) in which the model is in the top {boot.top}, and its "
            f"{100 * boot.level:g} % rank interval, {period}."
        ),
    }


def _concat(frames: list[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else empty


def write_metrics(cfg: dict[str, Any]) -> dict[str, Path]:
    """Compute and write the metrics products; returns them by name."""
    options = parse_options(MetricsOptions, cfg, "metrics")
    references = list(options.references)
    all_series, files, excluded = _evaluated_series(cfg, references)
    run = _run_frame(all_series, options.bootstrap_options)
    by_variable: dict[str, list[RegionalSeries]] = defaultdict(list)
    for s in all_series:
        by_variable[s.variable].append(s)
    missing_refs = _absent_models(by_variable, references, excluded)
    tables, cycles, robust = [], [], []
    for variable, items in sorted(by_variable.items()):
        done = _variable_metrics(variable, items, options, run, missing_refs)
        if done is not None:
            tables += done[0]
            robust += [] if done[1] is None else [done[1]]
            cycles.append(done[2])
    table = _concat(tables, pd.DataFrame(columns=COLUMNS))
    products = {
        "metrics": table.to_csv(index=False),
        "metrics_json": json.dumps(
            metric_bundle(
                table,
                provenance={
                    "software": f"smeval {smeval.__version__}",
                    "table": outputs.METRICS,
                    "r0": options.r0,
                },
            ),
            indent=1,
            allow_nan=False,
        ),
        "annual_cycle": _concat(cycles, pd.DataFrame()).to_csv(index=False),
        "ranking": _ranking_table(
            table, references, options.tss_threshold
        ).to_csv(index=False),
        "excluded": _concat(
            [*excluded, pd.DataFrame(missing_refs)]
            if (excluded or missing_refs)
            else [],
            pd.DataFrame(columns=EXCLUDED_COLUMNS),
        ).to_csv(index=False),
        "members": member_counts(all_series, references).to_csv(index=False),
        "robust_ranking": _concat(
            robust, pd.DataFrame(columns=RANKING_COLUMNS)
        ).to_csv(index=False),
    }
    return _write_products(
        cfg,
        products,
        files,
        _metrics_captions(options, _period(run["months"])),
        len(table),
    )


def _period(months: np.ndarray) -> str:
    """'1979-2014' style period of a month index (months since year 0)."""
    return f"{months[0] // 12}-{months[-1] // 12}"


def _write_products(
    cfg: dict[str, Any],
    products: dict[str, str],
    files: dict[str, list[str]],
    captions: dict[str, str],
    n_rows: int,
) -> dict[str, Path]:
    """Write each product atomically in the work folder, then its provenance; returns the paths by name."""
    work = Path(cfg["work_dir"])
    out = {
        name: work / file_name for name, file_name in METRICS_PRODUCTS.items()
    }
    for name, path in out.items():
        atomic_write_text(path, products[name])
    ancestors = sorted({f for fs in files.values() for f in fs})
    datasets = sorted(files)
    with ProvenanceLogger(cfg) as provlog:
        for name, path in out.items():
            provlog.log(
                path,
                record(
                    captions[name],
                    ancestors,
                    datasets,
                    extra_references=["taylor01jgr"],
                    statistics=["corr", "stddev", "rmsd"],
                ),
            )
    logger.info(
        "Metrics of %d rows for %d data sets written to %s",
        n_rows,
        len(datasets),
        work,
    )
    return out
