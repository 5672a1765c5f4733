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
from pathlib import Path
from typing import Any

import iris
import numpy as np
import pandas as pd

import smeval
from smeval.metrics.series import RegionalSeries, months_of
from smeval.metrics.table import (
    COLUMNS,
    annual_cycle_table,
    ensemble_series,
    ranking,
    taylor_table,
)
from smeval.metrics.cmec import metric_bundle
from smeval.sample.catalogue import load_catalogue

from .climatology import CLIMATOLOGY_DIR
from .io import EXCLUDED_COLUMNS
from .provenance import record
from .shared import ProvenanceLogger, atomic_write_text, family_of

logger = logging.getLogger(__name__)

#: Default references (SPEC section 1).
DEFAULT_REFERENCES = ("ERA5", "ERA-Interim", "GLDAS-NOAH")
#: CMIP6 variable each evaluated variable comes from.
SOURCE = {"sm_shallow": "mrsos (or mrsol)", "sm_deep": "mrsol"}


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
        for path in sorted(Path(folder).rglob("excluded.csv")):
            excluded.append(pd.read_csv(path, dtype=str, keep_default_na=False))
    return series, files, excluded


def write_metrics(cfg: dict[str, Any]) -> dict[str, Path]:
    """Compute and write the metrics products; returns them by name."""
    references = list(cfg.get("references", DEFAULT_REFERENCES))
    r0 = float(cfg.get("r0", 1.0))
    threshold = float(cfg.get("tss_threshold", 0.6))
    min_nlat = int(cfg.get("high_resolution_min_nlat", 160))
    catalogue = load_catalogue()

    all_series, files, excluded = read_series(cfg["ancestor_dirs"])
    # The recipe's family facets, carried by the series files.
    families = {s.dataset: family_of({"dataset": s.dataset, "family": s.family}) for s in all_series}
    if not all_series:
        msg = f"no regional series found in {', '.join(map(str, cfg['ancestor_dirs']))}"
        raise FileNotFoundError(msg)
    first = min(int(s.months.min()) for s in all_series)
    last = max(int(s.months.max()) for s in all_series)
    months = np.arange(first, last + 1)
    region_ids = all_series[0].region_ids

    by_variable: dict[str, list[RegionalSeries]] = defaultdict(list)
    for s in all_series:
        by_variable[s.variable].append(s)

    tables, cycles = [], []
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
        "metrics": work / "metrics.csv",
        "metrics_json": work / "metrics_cmec.json",
        "annual_cycle": work / "annual_cycle.csv",
        "ranking": work / "ranking.csv",
        "excluded": work / "excluded.csv",
    }
    atomic_write_text(out["metrics"], table.to_csv(index=False))
    bundle = metric_bundle(table, provenance={"software": f"smeval {smeval.__version__}", "table": "metrics.csv",
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

    ancestors = sorted({f for fs in files.values() for f in fs})
    datasets = sorted(files)
    period = f"{months[0] // 12}-{months[-1] // 12}"
    captions = {
        "metrics": (f"Taylor statistics (R, sigma, E', TSS with R0 = {r0:g}) of every CMIP6 model, family mean "
                    f"and multi-model ensemble mean against {', '.join(references)}, per region, "
                    f"regional-mean monthly series {period}: the tidy metrics table."),
        "metrics_json": (f"The metrics table as a CMEC metric bundle, nested by data set, reference, variable, "
                         f"region and statistic, {period}."),
        "annual_cycle": f"Mean annual cycles of the regional-mean series of models, ensemble means and references, {period}.",
        "ranking": (f"Models ranked by the number of regions with TSS > {threshold:g}, summed over "
                    f"{', '.join(references)}, {period}."),
        "excluded": "Data sets excluded from parts of the evaluation, and why.",
    }
    with ProvenanceLogger(cfg) as provlog:
        for name, path in out.items():
            provlog.log(path, record(captions[name], ancestors, datasets, extra_references=["taylor01jgr"],
                                     statistics=["corr", "stddev", "rmsd"]))
    logger.info("Metrics of %d rows for %d data sets written to %s", len(table), len(datasets), work)
    return out
