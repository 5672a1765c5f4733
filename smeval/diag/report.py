"""The work of ``diagnostics/report.py``: the report page of a run, its provenance and CMEC output bundle.

The context comes from :mod:`smeval.report.inputs` and
:mod:`smeval.report.summary`, the page from :mod:`smeval.report.render`.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import math
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
from markupsafe import Markup

from smeval import defaults, resources
from smeval.core.regions import HEMISPHERE_IDS
from smeval.diag.metrics import EvaluationOptions
from smeval.diag.options import (
    OptionsError,
    check_range,
    option,
    parse_options,
)
from smeval.metrics.table import REGION_IDS, tss_matrix
from smeval.outputs import (
    EXCLUDED,
    MEMBERS,
    METRIC_BUNDLE,
    METRICS,
    METRICS_FILES,
    OUTPUT_BUNDLE,
    ROBUST_RANKING,
)
from smeval.provenance_chain import provenance_file
from smeval.report import summary
from smeval.report.bundle import output_bundle
from smeval.report.inputs import FIGURE_GROUPS, Linker, RunInputs, read_run
from smeval.report.locate import REPORT_NAME
from smeval.report.render import render
from smeval.report.sure import how_sure
from smeval.variables import variable_label

#: Folder of the jinja2 templates (top-level ``reports/`` of the repository, or of the install).
TEMPLATES = resources.folder("reports")
#: Folder of the bibtex files of smeval's references.
BIBTEX_DIR = resources.folder("references")
#: Hemispheres shown after the 13 regions in the TSS table.
EXTRA_REGIONS = HEMISPHERE_IDS
#: Tables of the metrics script that the page shows (its ancestors besides the figures).
REPORT_TABLES = frozenset({METRICS, ROBUST_RANKING, EXCLUDED, MEMBERS})
KIND_ORDER = {"model": 0, "family": 1, "mmem": 2, "reference": 3}
#: Kinds of the table that are not skill scores of a data set (left out of the TSS table).
NOT_SCORES = ("difference",)
#: Column headers of the count tables.
SHORT_LABELS = {"sm_shallow": "shallow", "sm_deep": "deep"}


@dataclass(frozen=True)
class ReportOptions(EvaluationOptions):
    """Options of ``diagnostics/report.py`` (see its docstring).

    The evaluation options it shares with the metrics script are checked
    here; where the recipe omits one, the report takes the metrics script's.
    """

    SCRIPT: ClassVar[str] = "report"
    ranking_references: tuple[str, ...] = option(
        defaults.FIGURE_REFERENCES, "references of rankings and counts"
    )
    n_top: int = option(
        3, "number of best and of weakest models named in the summary"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.SCRIPT, "n_top", self.n_top, 1, low_open=False)
        # The default names the paper's references; it is filtered to those of the run where used.
        explicit = (
            self.ranking_references
            != type(self).__dataclass_fields__["ranking_references"].default
        )
        extra = (
            [r for r in self.ranking_references if r not in self.references]
            if explicit
            else []
        )
        if extra:
            msg = (
                f"report: option `ranking_references` has {', '.join(extra)}, which option "
                f"`references` ({', '.join(self.references)}) does not evaluate"
            )
            raise OptionsError(msg)


def versions() -> dict[str, str]:
    """Versions of the software that made the run (without importing ESMValCore)."""
    import smeval

    out = {"smeval": smeval.__version__}
    for label, dist in (
        ("ESMValCore", "esmvalcore"),
        ("iris", "scitools-iris"),
        ("numpy", "numpy"),
        ("pandas", "pandas"),
    ):
        try:
            out[label] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[label] = "not installed"
    out["Python"] = platform.python_version()
    return out


def _fmt(value: float) -> str:
    return (
        ""
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.2f}"
    )


def ordered_kinds(table: pd.DataFrame) -> list[str]:
    """Return the kinds of the table: models, families, MMEMs, references, then any other but differences."""
    return sorted(
        set(table["kind"]) - set(NOT_SCORES),
        key=lambda k: (KIND_ORDER.get(k, 9), k),
    )


def report_options(
    cfg: dict[str, Any], metrics_settings: dict[str, Any]
) -> ReportOptions:
    """Return the report's options: the recipe's, and the metrics script's for an evaluation option it omits.

    Raises
    ------
    OptionsError
        If an option is unknown, of the wrong type or out of range.
    """
    shared = {field.name for field in dataclasses.fields(EvaluationOptions)}
    inherited = {
        key: value
        for key, value in metrics_settings.items()
        if key in shared and cfg.get(key) is None
    }
    return parse_options(
        ReportOptions, {**cfg, **inherited}, ReportOptions.SCRIPT
    )


def tss_rows(
    table: pd.DataFrame, threshold: float
) -> tuple[list[str], list[dict[str, Any]]]:
    """Rows of the TSS table (dataset x variable x reference, one cell per region).

    A cell is ``above`` when its TSS exceeds ``threshold`` (as in Figs. 12-14).
    """
    present = set(table["region"])
    regions = [r for r in (*REGION_IDS, *EXTRA_REGIONS) if r in present]
    rows = []
    kinds, references = ordered_kinds(table), summary.ordered_references(table)
    for variable in summary.ordered_variables(table):
        for ref in references:
            for kind in kinds:
                matrix = tss_matrix(
                    table, variable, ref, kind=kind, regions=regions
                )
                for dataset, values in matrix.iterrows():
                    cells = [
                        _tss_cell(region, value, threshold)
                        for region, value in values.items()
                    ]
                    rows.append(
                        {
                            "dataset": str(dataset),
                            "kind": kind,
                            "variable": variable,
                            "reference": ref,
                            "cells": cells,
                        }
                    )
    return regions, rows


def _tss_cell(region: str, value: float, threshold: float) -> dict[str, Any]:
    if pd.isna(value):
        return {"region": region, "text": "", "value": "", "above": False}
    value = float(value)
    return {
        "region": region,
        "text": _fmt(value),
        "value": repr(value),
        "above": value > threshold,
    }


def _link(linker: Linker, path: Path) -> dict[str, Any]:
    return {"label": linker.label(path), "href": linker.href(path)}


def _figure_sections(run: RunInputs, linker: Linker) -> list[dict[str, Any]]:
    sections = []
    groups = list(FIGURE_GROUPS) + sorted(
        {f.group for f in run.figures} - set(FIGURE_GROUPS)
    )
    for group in groups:
        figures = []
        for fig in (f for f in run.figures if f.group == group):
            figures.append(  # noqa: PERF401 - one dict per figure reads clearer as a loop
                {
                    "label": fig.label,
                    "caption": fig.caption,
                    "src": linker.href(fig.image),
                    "name": fig.image.name,
                    "formats": [_link(linker, p) for p in fig.other_formats],
                    "data": [_link(linker, p) for p in fig.ancestors],
                    "citation": linker.citation(fig.image),
                    "provenance": linker.href(provenance_file(fig.image)),
                }
            )
        sections.append(
            {
                "id": f"fig-{group}",
                "group": group,
                "title": FIGURE_GROUPS.get(
                    group, group.replace("_", " ").capitalize()
                ),
                "figures": figures,
            }
        )
    return sections


def _bibtex(keys: list[str]) -> list[dict[str, str]]:
    out = []
    for key in keys:
        path = BIBTEX_DIR / f"{key}.bibtex"
        out.append(
            {
                "key": key,
                "text": path.read_text(encoding="utf-8").strip()
                if path.is_file()
                else "",
            }
        )
    return out


def _per_variable(
    table: pd.DataFrame, variables: list[str]
) -> list[dict[str, Any]]:
    """Return each variable with its label and number of models."""
    return [
        {
            "variable": v,
            "label": variable_label(v),
            "n_models": int(
                table.loc[
                    (table.variable == v) & (table.kind == "model"), "dataset"
                ].nunique()
            ),
        }
        for v in variables
    ]


def _top5(
    table: pd.DataFrame, refs_rank: list[str], threshold: float
) -> list[dict[str, Any]]:
    """Return the five best models of each soil moisture variable (:func:`summary.top_ranking`)."""
    top5 = []
    for variable in summary.SOIL_MOISTURE:
        rank = summary.top_ranking(table, variable, refs_rank, threshold, n=5)
        if not rank.empty:
            top5.append(
                {
                    "variable": variable,
                    "label": variable_label(variable),
                    "rows": [
                        {
                            "rank": int(r["rank"]),
                            "dataset": str(name),
                            "regions_above": int(r["regions_above"]),
                            "mean_tss": _fmt(float(r["mean_tss"])),
                        }
                        for name, r in rank.iterrows()
                    ],
                }
            )
    return top5


def _count_tables(
    table: pd.DataFrame, threshold: float, refs_rank: list[str]
) -> dict[str, Any]:
    """Return the count tables: models above the threshold per region, regions above it per model."""
    by_region_cols, by_region = summary.counts_by_region(
        table, threshold, refs_rank
    )
    by_model_cols, by_model = summary.counts_by_model(
        table, threshold, refs_rank
    )
    return {
        "counts_by_region": {
            "columns": by_region_cols,
            "rows": [
                {"name": str(idx), "values": [int(v) for v in row]}
                for idx, row in by_region.iterrows()
            ],
        },
        "counts_by_model": {
            "columns": by_model_cols,
            "rows": [
                {
                    "name": str(idx),
                    "values": ["" if pd.isna(v) else int(v) for v in row],
                }
                for idx, row in by_model.iterrows()
            ],
        },
    }


def _outputs(run: RunInputs, linker: Linker) -> list[dict[str, Any]]:
    """Return the non-figure outputs of the ancestor scripts, linked."""
    return [
        {
            "script": o.script,
            "caption": o.caption,
            **_link(linker, o.path),
            "citation": linker.citation(o.path),
        }
        for o in run.outputs
    ]


def _citation_files(run: RunInputs, linker: Linker) -> list[dict[str, Any]]:
    """Return the citation files ESMValCore wrote beside the ancestors' products, linked."""
    citation_files = []
    for path in sorted(set(run.ancestor_products)):
        href = linker.citation(path)
        if href:
            citation_files.append(
                {
                    "href": href,
                    "label": linker.label(
                        path.with_name(f"{path.stem}_citation.bibtex")
                    ),
                }
            )
    return citation_files


def _run_context(
    run: RunInputs, cfg: dict[str, Any], linker: Linker, options: ReportOptions
) -> dict[str, Any]:
    """Return what the page says about the run: recipe, period, thresholds, synthetic input, data sets."""
    table = run.table

    def names(kind: str) -> list[str]:
        return sorted(set(table.loc[table["kind"] == kind, "dataset"]))

    recipe = Path(str(cfg.get("recipe", ""))).name or (
        run.filled_recipe.name if run.filled_recipe else ""
    )
    synthetic = [
        {"label": linker.label(p), "value": v} for p, v in run.synthetic_files
    ]
    return {
        "title": "Soil moisture of CMIP6 models against reanalyses",
        "recipe": recipe,
        "filled_recipe": _link(linker, run.filled_recipe)
        if run.filled_recipe
        else None,
        "period": options.period,
        "threshold": f"{options.tss_threshold:g}",
        "r0": f"{options.r0:g}",
        "synthetic": synthetic,
        "scanned_files": run.scanned_files,
        "models": names("model"),
        "families": [n.split(":", 1)[-1] for n in names("family")],
        "mmems": names("mmem"),
        "references": summary.ordered_references(table),
    }


def _skill_context(
    run: RunInputs, options: ReportOptions, refs_rank: list[str]
) -> dict[str, Any]:
    """Return the rankings, messages, TSS table and counts of the run."""
    table, threshold = run.table, options.tss_threshold
    variables = summary.ordered_variables(table)
    regions, rows = tss_rows(table, threshold)
    fig11 = next(
        (f.caption for f in run.figures if f.label == "Fig. 11"), None
    )
    return {
        "ranking_references": refs_rank,
        "per_variable": _per_variable(table, variables),
        "rankings": summary.rankings(
            table, threshold, refs_rank, n=options.n_top
        ),
        "messages": summary.messages(table, threshold, refs_rank),
        "regions": regions,
        "tss_rows": rows,
        "variables": [
            {"id": v, "label": variable_label(v)} for v in variables
        ],
        "kinds": ordered_kinds(table),
        **_count_tables(table, threshold, refs_rank),
        "top5": _top5(table, refs_rank, threshold),
        "sure": how_sure(
            table,
            run.metrics_dir,
            run.metrics_settings,
            threshold,
            refs_rank,
            fig11,
        ),
    }


def _files_context(run: RunInputs, linker: Linker) -> dict[str, Any]:
    """Return the exclusions, members, figures and the linked files of the run."""
    member_columns, member_rows = member_table(run.members)
    return {
        "sections": _figure_sections(run, linker),
        "excluded": run.excluded.fillna("").astype(str).to_dict("records"),
        "member_columns": [
            {"id": v, "label": variable_label(v)} for v in member_columns
        ],
        "member_rows": member_rows,
        "metrics_files": [
            _link(linker, run.metrics_dir / n)
            for n in METRICS_FILES
            if (run.metrics_dir / n).is_file()
        ],
        "outputs": _outputs(run, linker),
        "citation_files": _citation_files(run, linker),
        "bibtex": _bibtex(run.references),
    }


def context(
    run: RunInputs,
    cfg: dict[str, Any],
    page_dir: Path,
    templates: Path = TEMPLATES,
) -> dict[str, Any]:
    """Everything the template shows."""
    linker = Linker(run.session, page_dir)
    options = report_options(cfg, run.metrics_settings)
    refs_rank = summary.ranking_references(
        run.table, options.ranking_references
    )
    return {
        **_run_context(run, cfg, linker, options),
        **_skill_context(run, options, refs_rank),
        **_files_context(run, linker),
        "versions": versions(),
        "label_of": variable_label,
        "short_of": lambda v: SHORT_LABELS.get(v, v),
        # Inlined so that the page works offline and from the file system.
        "css": Markup((templates / "report.css").read_text(encoding="utf-8")),  # noqa: S704 - our own file
        "js": Markup((templates / "report.js").read_text(encoding="utf-8")),  # noqa: S704 - our own file
    }


def member_table(
    members: pd.DataFrame,
) -> tuple[list[str], list[dict[str, Any]]]:
    """Variables (columns) and one row per model of the member counts (``members.csv``).

    A cell holds the number of members in the model's mean, with their ids
    as a tooltip; empty where the model has no such variable in the run.
    """
    if members.empty:
        return [], []
    columns = [
        v
        for v in (*summary.SOIL_MOISTURE, *sorted(set(members["variable"])))
        if v in set(members["variable"])
    ]
    columns = list(dict.fromkeys(columns))
    rows = []
    for dataset, group in members.groupby("dataset", sort=True):
        by_variable = {r.variable: r for r in group.itertuples(index=False)}
        rows.append(
            {
                "dataset": str(dataset),
                "family": str(group["family"].iloc[0]),
                "cells": [
                    {
                        "n": int(by_variable[v].n_members),
                        "members": str(by_variable[v].members),
                    }
                    if v in by_variable
                    else {"n": "", "members": ""}
                    for v in columns
                ],
            }
        )
    return columns, rows


def report_record(run: RunInputs, period: str) -> dict[str, Any]:
    """Provenance record of the report page."""
    # The files the page is directly made from: the figures it shows and the
    # tables it reads. The map fields (.nc) reach its lineage through the
    # figures drawn from them; naming them too would only make ESMValCore
    # read their (equal) lineage again, 18 more documents.
    ancestors = [
        str(p)
        for p in run.ancestor_products
        if p.name in REPORT_TABLES or p.suffix.lower() == ".png"
    ]
    return {
        "caption": (
            f"HTML report of the evaluation of CMIP6 soil moisture against "
            f"{', '.join(summary.ordered_references(run.table))}"
            f"{', ' + period if period else ''}: summary, figures with captions, "
            "Taylor skill score tables, counts, exclusions, software and references."
        ),
        "ancestors": ancestors or [str(run.metrics_dir / "metrics.csv")],
        "authors": ["smeval_team"],
        "references": [
            k for k in run.references if (BIBTEX_DIR / f"{k}.bibtex").is_file()
        ]
        or ["qiao22jcli"],
        "domains": ["reg"],
        "realms": ["land"],
        "themes": ["phys"],
        "plot_types": ["other"],
        "statistics": ["corr", "stddev", "rmsd"],
    }


def build_report(
    ancestor_dirs: list[Path],
    plot_dir: Path,
    cfg: dict[str, Any] | None = None,
    templates: Path = TEMPLATES,
) -> tuple[Path, RunInputs]:
    """Read the run behind ``ancestor_dirs`` and write ``plot_dir/smeval_report.html``."""
    cfg = cfg or {}
    run = read_run(ancestor_dirs)
    out = Path(plot_dir) / REPORT_NAME
    render(
        templates,
        "report.html.j2",
        out,
        **context(run, cfg, Path(plot_dir), templates),
    )
    return out, run


def run_output_bundle(
    run: RunInputs, report: Path, caption: str
) -> dict[str, Any]:
    """Return the CMEC output bundle of the run: the report, every figure and data file (:mod:`smeval.report.bundle`)."""
    metric_json = run.metrics_dir / METRIC_BUNDLE
    table = run.table
    return output_bundle(
        run.session,
        report,
        caption,
        metric_json if metric_json.is_file() else None,
        environment=versions(),
        modeldata=sorted(set(table.loc[table["kind"] == "model", "dataset"])),
        obsdata=summary.ordered_references(table),
    )


def write_report(cfg: dict[str, Any]) -> Path:
    """Return the report diagnostic: write the page, its provenance record and the run's CMEC output bundle.

    The output bundle goes to ``work_dir/cmec_output.json``; the report runs
    last, so every other script's outputs are recorded by then. Returns the page.
    """
    from smeval.diag.shared import ProvenanceLogger, atomic_write_text

    parse_options(ReportOptions, cfg, ReportOptions.SCRIPT)
    out, run = build_report(cfg["ancestor_dirs"], Path(cfg["plot_dir"]), cfg)
    record = report_record(
        run, report_options(cfg, run.metrics_settings).period
    )
    with ProvenanceLogger(cfg) as provlog:
        provlog.log(out, record)
    bundle = run_output_bundle(run, out, record["caption"])
    atomic_write_text(
        Path(cfg["work_dir"]) / OUTPUT_BUNDLE, json.dumps(bundle, indent=1)
    )
    return out
