"""The work of ``diagnostics/metrics.py``: regional series -> metrics table.

Reads the series files of the ``regional_series`` scripts (self-describing
NetCDF, see :mod:`smeval.diag.series`), forms the model, family and
multi-model ensemble means (SPEC section 4) and writes the tidy metrics table,
its nested JSON, the annual cycles, the rankings and the list of exclusions
(docs/results.md).
"""

from __future__ import annotations

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

from smeval.core.bootstrap import BootstrapOptions, block_indices, year_counts
from smeval.core.ensemble import HIGH_RESOLUTION_MIN_NLAT
import smeval
from smeval.metrics.series import RegionalSeries, months_of
from smeval.metrics.table import (
    COLUMNS,
    annual_cycle_table,
    ensemble_series,
    ranking,
    taylor_table,
)
from smeval.metrics.uncertainty import RANKING_COLUMNS, variable_uncertainty
from smeval.metrics.cmec import metric_bundle
from smeval.catalogue import load_catalogue
from smeval import defaults, outputs

from .checks import units_problem
from .climatology import CLIMATOLOGY_DIR
from .io import EXCLUDED_COLUMNS
from .options import OBS_PROJECTS, OptionsError, check_range, check_references, is_model, option, parse_options
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
    references: tuple[str, ...] = option(defaults.REFERENCES, "reference data sets")
    r0: float = option(defaults.R0, "R0 of the Taylor skill score", "1")
    tss_threshold: float = option(defaults.TSS_THRESHOLD, "TSS above which a model reproduces a region", "1")
    high_resolution_min_nlat: int = option(HIGH_RESOLUTION_MIN_NLAT, "native latitude rows from which a model is high resolution")
    period: str = option(defaults.PERIOD, "period named in captions")

    def __post_init__(self) -> None:
        script = self.SCRIPT
        if not self.references:
            raise OptionsError(f"{script}: option `references` names no data set")
        check_range(script, "r0", self.r0, -1.0, 1.0, high_open=False)
        check_range(script, "tss_threshold", self.tss_threshold, 0.0, 1.0)
        check_range(script, "high_resolution_min_nlat", self.high_resolution_min_nlat, 0.0)


@dataclass(frozen=True)
class MetricsOptions(EvaluationOptions):
    """Options of ``diagnostics/metrics.py`` (see its docstring)."""

    bootstrap: dict[str, Any] = option(MappingProxyType({}), "moving-block bootstrap: level, block_years, "
                                       "resamples, seed, top (defaults: smeval.core.bootstrap.BootstrapOptions)")
    ranking_references: tuple[str, ...] = option(defaults.FIGURE_REFERENCES, "references of the robust ranking")

    @property
    def bootstrap_options(self) -> BootstrapOptions:
        """The checked ``bootstrap`` mapping, missing keys at their defaults."""
        return BootstrapOptions.from_options(dict(self.bootstrap))

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            self.bootstrap_options  # noqa: B018 - checks the mapping now, before any data is read
        except (TypeError, ValueError) as err:
            raise OptionsError(f"{self.SCRIPT}: option `bootstrap`: {err}") from None


def split_models(datasets: dict[str, str], references, script: str) -> tuple[list[str], list[dict[str, str]]]:
    """The models among ``datasets`` (name -> project), and exclusion rows of observations that are no reference.

    A data set of an observation project (OBS, OBS6, obs4MIPs, ...) that is
    not among ``references`` is never evaluated as a model.
    """
    models = sorted(d for d, p in datasets.items() if is_model(d, p, references))
    rows = [{"dataset": d, "member": "", "project": p, "variable": "",
             "reason": f"{script}: an observation data set ({p}) that is not among the references "
                       f"({', '.join(references)}): not evaluated as a model"}
            for d, p in sorted(datasets.items()) if p in OBS_PROJECTS and d not in references]
    return models, rows


def read_series(folders: list[Path]) -> tuple[list[RegionalSeries], dict[str, list[str]], list[pd.DataFrame]]:
    """All series files under ``folders``; returns (series, files by dataset, exclusion tables)."""
    series: list[RegionalSeries] = []
    files: dict[str, list[str]] = defaultdict(list)
    excluded: list[pd.DataFrame] = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.nc")):
            if CLIMATOLOGY_DIR in path.relative_to(folder).parts:
                continue  # the maps' climatologies, not series
            cube = iris.load_cube(str(path))
            attrs = cube.attributes
            if "smeval_variable" not in attrs:
                continue
            region = cube.coord("region").points.tolist()
            series.append(RegionalSeries(
                dataset=str(attrs["smeval_dataset"]),
                member=str(attrs.get("smeval_member", "")),
                variable=str(attrs["smeval_variable"]),
                units=str(cube.units),
                months=months_of(cube.coord("time")),
                region_ids=tuple(region),
                values=np.ma.filled(np.ma.asarray(cube.data, dtype=np.float64), np.nan),
                project=str(attrs.get("smeval_project", "")),
                native_nlat=int(attrs.get("smeval_native_nlat", 0)),
                family=str(attrs.get("smeval_family", "")),
            ))
            files[series[-1].dataset].append(str(path))
        for path in sorted(Path(folder).rglob(outputs.EXCLUDED)):
            excluded.append(pd.read_csv(path, dtype=str, keep_default_na=False))
    return series, files, excluded


def _skipped_by_esmvalcore(work_dir: Path) -> list[dict[str, str]]:
    """Inputs ESMValCore skipped in this run (its main log), for ``excluded.csv``."""
    if work_dir.parent.parent.name != "work":  # not in a run folder <session>/work/<diagnostic>/<script>
        return []
    return skipped_inputs(work_dir.parents[2])


def _with_expected_units(series: list[RegionalSeries]) -> tuple[list[RegionalSeries], list[dict[str, str]]]:
    """The series in the units of their variable, and exclusion rows of the others (smeval.diag.checks)."""
    kept, rows = [], []
    for s in series:
        problem = units_problem(s.units, s.variable)
        if problem:
            rows.append({"dataset": s.dataset, "member": s.member, "project": s.project, "variable": s.variable,
                         "reason": f"metrics: {problem}"})
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
            families[s.dataset] = family_of({"dataset": s.dataset, "family": s.family})
    rows = [{"dataset": d, "family": families[d], "variable": v, "n_members": len(m),
             "members": " ".join(sorted(m))} for (d, v), m in sorted(members.items())]
    return pd.DataFrame(rows, columns=MEMBER_COLUMNS)


def write_metrics(cfg: dict[str, Any]) -> dict[str, Path]:
    """Compute and write the metrics products; returns them by name."""
    options = parse_options(MetricsOptions, cfg, "metrics")
    references = list(options.references)
    r0, threshold, min_nlat = options.r0, options.tss_threshold, options.high_resolution_min_nlat
    boot = options.bootstrap_options
    ranking_refs = list(options.ranking_references)
    catalogue = load_catalogue()

    all_series, files, excluded = read_series(cfg["ancestor_dirs"])
    if not all_series:
        msg = f"no regional series found in {', '.join(map(str, cfg['ancestor_dirs']))}"
        raise FileNotFoundError(msg)
    projects = {s.dataset: s.project for s in all_series}
    check_references("metrics", references, projects)
    models_here, not_models = split_models(projects, references, "metrics")
    all_series, wrong_units = _with_expected_units(all_series)
    all_series = [s for s in all_series if s.dataset in references or s.dataset in models_here]
    skipped = _skipped_by_esmvalcore(Path(cfg["work_dir"]))
    if not_models or wrong_units or skipped:
        excluded.append(pd.DataFrame(not_models + wrong_units + skipped, columns=EXCLUDED_COLUMNS))
    # The recipe's family facets, carried by the series files.
    families = {s.dataset: family_of({"dataset": s.dataset, "family": s.family}) for s in all_series}
    first = min(int(s.months.min()) for s in all_series)
    last = max(int(s.months.max()) for s in all_series)
    months = np.arange(first, last + 1)
    region_ids = all_series[0].region_ids
    # One draw of resampled years for every series of the run (SPEC section 8).
    n_years = int(months[-1] // 12 - months[0] // 12 + 1)
    counts = year_counts(block_indices(n_years, boot.block_years, boot.resamples, boot.seed), n_years)

    by_variable: dict[str, list[RegionalSeries]] = defaultdict(list)
    for s in all_series:
        by_variable[s.variable].append(s)

    tables, cycles, robust = [], [], []
    missing_refs: list[dict[str, str]] = []
    # A model evaluated for some variable but absent from another is reported.
    all_models = {s.dataset for s in all_series if s.dataset not in references}
    already = {(row["dataset"], row["variable"]) for frame in excluded for _, row in frame.iterrows()}
    for variable, items in sorted(by_variable.items()):
        for model in sorted(all_models - {s.dataset for s in items}):
            if (model, variable) not in already:
                missing_refs.append({"dataset": model, "member": "", "project": "CMIP6", "variable": variable,
                                     "reason": f"no {SOURCE.get(variable, variable)} data in this run "
                                               "(not provided by the model, or not in the archive)"})
    for variable, items in sorted(by_variable.items()):
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
        for ref in references:
            if ref not in refs:
                missing_refs.append({"dataset": ref, "member": "", "project": "OBS6", "variable": variable,
                                     "reason": f"no {variable} series of this reference in the run"})
        if not models:
            continue
        series, info, _ = ensemble_series(models, months, region_ids, families, n_lat, min_nlat)
        tables.append(taylor_table(series, info, refs, variable, region_ids, r0=r0))
        if refs:
            sure = variable_uncertainty(series, info, refs, variable, region_ids, months, counts, boot,
                                        ranking_refs, threshold, r0)
            tables.append(sure.rows)
            robust.append(sure.ranking)
        units = items[0].units
        kinds = {name: kind for name, (kind, _, _) in info.items()}
        cycle_series = {k: v for k, v in series.items() if info[k][0] != "family"}
        cycle_series.update(refs)
        kinds.update({r: "reference" for r in refs})
        cycles.append(annual_cycle_table(cycle_series, kinds, months, variable, units, region_ids))

    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=COLUMNS)
    cycle = pd.concat(cycles, ignore_index=True) if cycles else pd.DataFrame()
    excluded_all = pd.concat([*excluded, pd.DataFrame(missing_refs)], ignore_index=True) if (excluded or missing_refs) else pd.DataFrame(columns=EXCLUDED_COLUMNS)

    work = Path(cfg["work_dir"])
    out = {
        "metrics": work / outputs.METRICS,
        "metrics_json": work / outputs.METRIC_BUNDLE,
        "annual_cycle": work / outputs.ANNUAL_CYCLE,
        "ranking": work / outputs.RANKING,
        "robust_ranking": work / outputs.ROBUST_RANKING,
        "excluded": work / outputs.EXCLUDED,
        "members": work / outputs.MEMBERS,
    }
    atomic_write_text(out["metrics"], table.to_csv(index=False))
    bundle = metric_bundle(table, provenance={"software": f"smeval {smeval.__version__}", "table": outputs.METRICS,
                                              "r0": r0})
    atomic_write_text(out["metrics_json"], json.dumps(bundle, indent=1, allow_nan=False))
    atomic_write_text(out["annual_cycle"], cycle.to_csv(index=False))
    ranks = []
    for variable in sorted(table["variable"].unique()) if len(table) else []:
        refs_here = [r for r in references if r in set(table[table.variable == variable].reference)]
        rank = ranking(table, variable, refs_here, threshold)
        if len(rank):
            ranks.append(rank.reset_index().rename(columns={"index": "dataset"}).assign(variable=variable))
    atomic_write_text(out["ranking"], (pd.concat(ranks, ignore_index=True) if ranks else pd.DataFrame()).to_csv(index=False))
    atomic_write_text(out["excluded"], excluded_all.to_csv(index=False))
    atomic_write_text(out["members"], member_counts(all_series, references).to_csv(index=False))
    robust_table = pd.concat(robust, ignore_index=True) if robust else pd.DataFrame(columns=RANKING_COLUMNS)
    atomic_write_text(out["robust_ranking"], robust_table.to_csv(index=False))

    ancestors = sorted({f for fs in files.values() for f in fs})
    datasets = sorted(files)
    period = f"{months[0] // 12}-{months[-1] // 12}"
    captions = {
        "metrics": (f"Taylor statistics (R, sigma, E', TSS with R0 = {r0:g}) of every CMIP6 model, family mean "
                    f"and multi-model ensemble mean against {', '.join(references)}, per region, "
                    f"regional-mean monthly series {period}, each reference against the others (kind "
                    f"reference), {100 * boot.level:g} % intervals (<statistic>_ci_low/_ci_high) from "
                    f"{boot.resamples} moving-block bootstrap resamples of whole years ({boot.block_years}-year "
                    f"blocks, seed {boot.seed}) and TSS(CMIP6-MMEM-high) - TSS(CMIP6-MMEM-low): the tidy "
                    "metrics table."),
        "metrics_json": (f"The metrics table as a CMEC metric bundle, nested by data set, reference, variable, "
                         f"region and statistic, {period}."),
        "annual_cycle": f"Mean annual cycles of the regional-mean series of models, ensemble means and references, {period}.",
        "ranking": (f"Models ranked by the number of regions with TSS > {threshold:g}, summed over "
                    f"{', '.join(references)}, {period}."),
        "excluded": "Data sets excluded from parts of the evaluation, and why.",
        "members": "Number of members of each model and variable that entered its model mean.",
        "robust_ranking": (f"Robust ranking of the models: rank by the number of regions with TSS > {threshold:g} "
                           f"summed over {', '.join(ranking_refs)} (ties by mean TSS), the fraction of "
                           f"{boot.resamples} moving-block bootstrap resamples ({boot.block_years}-year blocks, "
                           f"seed {boot.seed}) in which the model is in the top {boot.top}, and its "
                           f"{100 * boot.level:g} % rank interval, {period}."),
    }
    with ProvenanceLogger(cfg) as provlog:
        for name, path in out.items():
            provlog.log(path, record(captions[name], ancestors, datasets, extra_references=["taylor01jgr"],
                                     statistics=["corr", "stddev", "rmsd"]))
    logger.info("Metrics of %d rows for %d data sets written to %s", len(table), len(datasets), work)
    return out
