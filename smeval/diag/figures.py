"""The work of ``diagnostics/figures.py``: the paper's Figs. 1-14 from the results.

Reads only what the earlier scripts wrote (docs/results.md): the metrics
table, annual cycles and rankings of ``skill/metrics``, the fields of
``maps/climatology_fields`` and ``correlation/correlation_fields``. Counts and
rankings are queries on the metrics table (:mod:`smeval.metrics.table`).
Each figure gets a provenance record whose first ancestor is the data behind
it (a CSV written here, or the NetCDF fields it shows). The figures are the
entries of one registry, :data:`FIGURES` (number, file stem, section, data
query, drawing, caption template): adding a figure is adding an entry.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import iris
import matplotlib as mpl

mpl.use("Agg")

import pandas as pd

from smeval import defaults, outputs, plot
from smeval.core.ensemble import MMEM_ALL
from smeval.core.regions import HEMISPHERE_IDS, NH_REGIONS, REGIONS
from smeval.metrics.table import (
    COLUMNS,
    REGION_IDS,
    count_models_above,
    count_regions_above,
    ranking,
    select,
)
from smeval.variables import (
    MAP_UNITS,
    SOIL_MOISTURE,
    VARIABLE_LABELS,
)

from .io import fields_by_dataset
from .metrics import EvaluationOptions
from .options import (
    OptionsError,
    check_range,
    option,
    parse_options,
)
from .provenance import grid_spacing, record
from .shared import ProvenanceLogger, atomic_write_text
from .standalone import output_file_types

logger = logging.getLogger(__name__)

#: Figure numbers of the paper.
ALL_FIGURES = tuple(range(1, 15))
#: Labels of the water-budget rows of Fig. 4.
FLUX_LABELS = {
    "pr": "P",
    "evspsbl": "E",
    "mrros": "R (surface runoff)",
    "pme": "P - E",
    "pmer": "P - E - R",
}


@dataclass(frozen=True)
class FiguresOptions(EvaluationOptions):
    """Options of ``diagnostics/figures.py`` (see its docstring)."""

    SCRIPT: ClassVar[str] = "figures"
    figures: tuple[int, ...] = option(
        ALL_FIGURES, "the paper's figure numbers to draw"
    )
    figure_references: tuple[str, ...] = option(
        defaults.FIGURE_REFERENCES, "references of Figs. 7-10, 12-14"
    )
    significance_level: float = option(
        0.95, "confidence level named in the correlation maps' captions", "1"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        bad = sorted(set(self.figures) - set(ALL_FIGURES))
        if bad:
            msg = f"figures: option `figures` has {bad}; the paper's figures are 1-14"
            raise OptionsError(msg)
        # The default names the paper's references; it is filtered to those of the run where used.
        explicit = (
            self.figure_references
            != type(self).__dataclass_fields__["figure_references"].default
        )
        extra = (
            [r for r in self.figure_references if r not in self.references]
            if explicit
            else []
        )
        if extra:
            msg = (
                f"figures: option `figure_references` has {', '.join(extra)}, which option "
                f"`references` ({', '.join(self.references)}) does not evaluate"
            )
            raise OptionsError(msg)
        check_range(
            self.SCRIPT,
            "significance_level",
            self.significance_level,
            0.0,
            1.0,
        )


@dataclass(frozen=True)
class Results:
    """What the figures are drawn from: the results of the ancestor scripts, read once."""

    folders: tuple[Path, ...]
    options: FiguresOptions
    metrics: pd.DataFrame
    metrics_path: Path | None
    cycles: pd.DataFrame
    cycles_path: Path | None

    def find(self, name: str) -> Path | None:
        """Return the first file called ``name`` under the ancestors' folders, or None."""
        return _find(list(self.folders), name)

    @property
    def main_refs(self) -> list[str]:
        """The figures' references (option ``figure_references``) present in the metrics table."""
        present = set(self.metrics.reference.unique())
        return [r for r in self.options.figure_references if r in present]

    @property
    def panel_order(self) -> tuple[str, ...]:
        """Data sets of the maps in the order of their panels: the figures' references, the others, CMIP6-MMEM."""
        figure_refs = self.options.figure_references
        return (
            *figure_refs,
            *(r for r in self.options.references if r not in figure_refs),
            MMEM_ALL,
        )

    def fields(self, name: str) -> dict[str, iris.cube.Cube]:
        """Return data set -> field of the file ``name`` (empty if none), in :attr:`panel_order`.

        The panels and captions follow the figures' order, whatever the
        order of the data sets in the file (data sets not in it come last).
        """
        path = self.find(name)
        if path is None or not path.is_file():
            return {}
        cubes = fields_by_dataset(path)
        order = {dataset: i for i, dataset in enumerate(self.panel_order)}
        return {
            k: cubes[k]
            for k in sorted(cubes, key=lambda k: (order.get(k, len(order)), k))
        }

    @property
    def models(self) -> list[str]:
        """The models of the metrics table, sorted."""
        return sorted(select(self.metrics, kind="model").dataset.unique())

    @property
    def anchor(self) -> Path | None:
        """A file that stands as the ancestor of the region table: the metrics table, else any field."""
        return self.metrics_path or next(
            iter(sorted(p for f in self.folders for p in f.rglob("*.nc"))),
            None,
        )

    def caption_fields(self) -> dict[str, Any]:
        """Return what every caption template may name (besides the fields of its own data)."""
        return {
            "period": self.options.period,
            "threshold": self.options.tss_threshold,
            "r0": self.options.r0,
            "refs": ", ".join(self.main_refs),
            "n_regions": len(REGION_IDS),
        }


def read_results(options: FiguresOptions, folders: list[Path]) -> Results:
    """Return the metrics table and annual cycles among ``folders``.

    Raises
    ------
    FileNotFoundError
        If a figure drawn from the metrics table is wanted and no ancestor has it.
    """
    metrics_path = _find(folders, outputs.METRICS)
    needed = sorted(
        f.number
        for f in FIGURES
        if f.from_metrics and f.number in options.figures
    )
    if metrics_path is None and needed:
        msg = f"no metrics.csv among the ancestors {folders}, needed by Figs. {needed}"
        raise FileNotFoundError(msg)
    cycles_path = _find(folders, outputs.ANNUAL_CYCLE)
    return Results(
        folders=tuple(folders),
        options=options,
        metrics=pd.read_csv(metrics_path)
        if metrics_path
        else pd.DataFrame(columns=COLUMNS),
        metrics_path=metrics_path,
        cycles=pd.read_csv(cycles_path) if cycles_path else pd.DataFrame(),
        cycles_path=cycles_path,
    )


@dataclass
class FigureData:
    """What a figure's query found: the data behind the figure and what its drawing and caption need.

    ``table`` (with the files it comes from, ``upstream``) is written as the
    figure's CSV; else the figure's data are the NetCDF ``files`` it shows.
    ``fields`` fill the caption template and are passed to the drawing.
    """

    datasets: list[str]
    table: pd.DataFrame | None = None
    upstream: list[Path | None] = dataclasses.field(default_factory=list)
    files: list[Path] = dataclasses.field(default_factory=list)
    fields: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    """One figure of the paper: an entry of :data:`FIGURES`.

    ``query(results)`` returns the figure's :class:`FigureData`, or None when
    the results cannot support it; ``draw(results, data, stem)`` draws it
    and returns the files. ``caption`` and ``data_caption`` are templates
    filled from :meth:`Results.caption_fields` and the data's ``fields``.
    """

    number: int
    stem: str
    section: str
    query: Callable[[Results], FigureData | None]
    draw: Callable[[Results, FigureData, Path], list[Path]]
    caption: str
    plot_type: str
    statistics: tuple[str, ...] = ("other",)
    data_caption: str | None = None
    #: True if the figure is drawn from the metrics table (which must then be among the results).
    from_metrics: bool = True

    @property
    def label(self) -> str:
        """The figure's label in captions, e.g. ``Fig. 5``."""
        return f"Fig. {self.number}"


class _Figures:
    """Writes figures, the data behind them and their provenance."""

    def __init__(self, cfg: dict[str, Any], provlog: ProvenanceLogger) -> None:
        self.provlog = provlog
        self.plot_dir = Path(cfg["plot_dir"])
        self.work_dir = Path(cfg["work_dir"])
        self.written: list[Path] = []
        #: Data file written here -> the files it was derived from.
        self.upstream: dict[Path, list[Path]] = {}

    def data(
        self, name: str, frame: pd.DataFrame, upstream: list[Path]
    ) -> Path:
        """Write the data behind figure ``name`` as CSV, remembering its sources."""
        path = self.work_dir / f"{name}.csv"
        atomic_write_text(path, frame.to_csv(index=False))
        self.upstream[path] = [Path(p) for p in upstream]
        return path

    def write(self, figure: Figure, results: Results) -> None:
        """Query, draw and record one figure (nothing if its data are not among the results)."""
        found = figure.query(results)
        if found is None:
            return
        data = list(found.files)
        if found.table is not None:
            data = [self.data(figure.stem, found.table, found.upstream)]
        fields = {**results.caption_fields(), **found.fields}
        caption = figure.caption.format(**fields)
        data_caption = (
            figure.data_caption.format(**fields)
            if figure.data_caption
            else None
        )
        self.make(
            figure.stem,
            figure.label,
            figure.section,
            caption,
            lambda stem: figure.draw(results, found, stem),
            data,
            found.datasets,
            figure.plot_type,
            data_caption=data_caption,
            statistics=figure.statistics,
        )

    def make(
        self,
        name: str,
        figure: str,
        group: str,
        caption: str,
        draw: Callable[[Path], list[Path]],
        data: list[Path],
        datasets,
        plot_type: str,
        data_caption: str | None = None,
        statistics=("other",),
    ) -> None:
        """Draw one figure and record its provenance (and that of its own data file)."""
        try:
            paths = draw(self.plot_dir / name)
        except (KeyError, ValueError) as exc:
            logger.warning("Skipping %s (%s): %s", name, figure, exc)
            return
        # PNG and PDF of one figure share a stem, and ESMValCore names the
        # provenance file after the stem: keep the PDFs (and any other type
        # of output_file_type) in their own folder.
        paths = [p if p.suffix == ".png" else _apart(p) for p in paths]
        for path in (d for d in data if d in self.upstream):
            self.provlog.log(
                path,
                record(
                    data_caption or f"Data behind {figure}: {caption}",
                    self.upstream[path],
                    datasets,
                    statistics=statistics,
                ),
            )
        # ESMValCore accepts only files of ancestor tasks as ancestors, so a
        # figure descends from the sources of its own data file (which sits
        # beside it under the same stem, docs/results.md).
        ancestors = sorted(
            {str(a) for d in data for a in self.upstream.get(d, [d])}
        )
        for path in paths:
            self.provlog.log(
                path,
                record(
                    caption,
                    ancestors,
                    datasets,
                    statistics=statistics,
                    plot_type=plot_type,
                    figure=figure,
                    figure_group=group,
                ),
            )
        self.written += paths


def _apart(path: Path) -> Path:
    """Move a figure into the folder of its type beside it (``pdf/``); returns the new path."""
    target = path.parent / path.suffix.lstrip(".") / path.name
    target.parent.mkdir(exist_ok=True)
    path.replace(target)
    return target


def _find(folders: list[Path], name: str) -> Path | None:
    for folder in folders:
        hits = sorted(Path(folder).rglob(name))
        if hits:
            return hits[0]
    return None


# --- the data queries and drawings of the figures ---------------------------------------------


def _regions(results: Results) -> FigureData:
    """Fig. 1: the region table (any upstream file stands as its ancestor)."""
    table = pd.DataFrame(
        [
            (
                r.id,
                r.name,
                r.box.lat_min,
                r.box.lat_max,
                r.box.lon_min,
                r.box.lon_max,
            )
            for r in REGIONS
        ],
        columns=["region", "name", "lat_min", "lat_max", "lon_min", "lon_max"],
    )
    return FigureData([], table=table, upstream=[results.anchor])


def _draw_regions(
    results: Results,  # noqa: ARG001 - the registry's drawing signature
    data: FigureData,  # noqa: ARG001
    stem: Path,
) -> list[Path]:
    return plot.plot_regions(stem)


def _climatology(variable: str, results: Results) -> FigureData | None:
    """Figs. 2-3: the soil-moisture climatologies and bias ratios of ``variable``."""
    clim_path = results.find(f"climatology_{variable}.nc")
    bias_path = results.find(f"bias_ratio_{variable}.nc")
    clim, bias = (
        results.fields(f"climatology_{variable}.nc"),
        results.fields(f"bias_ratio_{variable}.nc"),
    )
    if not clim:
        return None
    return FigureData(
        list(clim),
        files=[p for p in (clim_path, bias_path) if p],
        fields={
            "clim": clim,
            "bias": bias,
            "variable": variable,
            "label": VARIABLE_LABELS[variable],
            "units": MAP_UNITS[variable],
            "shown": ", ".join(clim),
            "against": ", ".join(bias),
            "grid": grid_spacing(next(iter(clim.values()))),
        },
    )


def _draw_climatology(
    results: Results, data: FigureData, stem: Path
) -> list[Path]:
    f = data.fields
    return plot.plot_climatology_bias(
        f["clim"],
        f["bias"],
        f["label"],
        f["units"],
        stem,
        period=results.options.period,
    )


def _water_budget(results: Results) -> FigureData | None:
    """Fig. 4: the water budget of CMIP6-MMEM and its bias ratios against each reference with a field."""
    clim, bias, used = {}, {}, []
    for variable, label in FLUX_LABELS.items():
        c = results.fields(f"climatology_{variable}.nc")
        if MMEM_ALL in c:
            clim[label] = c[MMEM_ALL]
            bias[label] = {
                r: f
                for r, f in results.fields(f"bias_ratio_{variable}.nc").items()
                if r != MMEM_ALL
            }
            used += [
                p
                for p in (
                    results.find(f"climatology_{variable}.nc"),
                    results.find(f"bias_ratio_{variable}.nc"),
                )
                if p
            ]
    if not clim:
        return None
    shown = [
        r for r in results.panel_order if any(r in b for b in bias.values())
    ]
    return FigureData(
        [MMEM_ALL, *shown],
        files=used,
        fields={"clim": clim, "bias": bias, "units": MAP_UNITS["pr"]},
    )


def _draw_water_budget(
    results: Results, data: FigureData, stem: Path
) -> list[Path]:
    return plot.plot_flux_maps(
        data.fields["clim"],
        data.fields["bias"],
        data.fields["units"],
        stem,
        period=results.options.period,
    )


def _annual_cycle(variable: str, results: Results) -> FigureData | None:
    """Figs. 5-6: the regional annual cycles of ``variable``."""
    cycles = results.cycles
    part = cycles[cycles.variable == variable] if len(cycles) else cycles
    if not len(part):
        return None
    return FigureData(
        sorted(part.dataset.unique()),
        table=part,
        upstream=[results.cycles_path],
        fields={
            "variable": variable,
            "label": VARIABLE_LABELS[variable],
            "shown": ", ".join(
                sorted(set(part[part.kind == "reference"].dataset))
            ),
        },
    )


def _draw_annual_cycle(
    results: Results, data: FigureData, stem: Path
) -> list[Path]:
    return plot.plot_annual_cycles(
        data.table,
        data.fields["variable"],
        stem,
        period=results.options.period,
    )


def _sure_taylor(metrics: pd.DataFrame) -> str:
    """Return the Taylor diagrams' caption on the marks of uncertainty, where the table has them."""
    if not (metrics.kind == "reference").any():
        return ""
    return (
        " White stars: the other references against the diagram's reference; lines through the "
        "ensemble means and stars: bootstrap intervals of sigma (radial) and R (arc)."
    )


def _taylor(variable: str, regions, results: Results) -> FigureData | None:
    """Figs. 7-9: the Taylor statistics of ``variable`` in ``regions`` (None if the table lacks the variable)."""
    metrics = results.metrics
    if variable not in set(metrics.variable.unique()):
        return None
    rows = metrics[
        metrics.statistic.isin(
            ["R", "sigma", "E'", "TSS", *plot.taylor.INTERVAL_COLUMNS]
        )
    ]
    rows = rows[(rows.variable == variable) & rows.region.isin(regions)]
    return FigureData(
        results.models + results.main_refs,
        table=rows,
        upstream=[results.metrics_path],
        fields={
            "variable": variable,
            "label": VARIABLE_LABELS[variable],
            "sure": _sure_taylor(metrics),
        },
    )


def _draw_taylor_hemispheres(
    results: Results, data: FigureData, stem: Path
) -> list[Path]:
    return plot.plot_taylor_hemispheres(
        results.metrics,
        data.fields["variable"],
        stem,
        references=results.main_refs,
        period=results.options.period,
    )


def _draw_taylor_regions(
    results: Results, data: FigureData, stem: Path
) -> list[Path]:
    return plot.plot_taylor_regions(
        results.metrics,
        data.fields["variable"],
        stem,
        regions=NH_REGIONS,
        references=results.main_refs,
        period=results.options.period,
    )


def _fluxes(results: Results) -> FigureData | None:
    """Fig. 10: the fluxes of CMIP6-MMEM over TIB and SIB."""
    metrics = results.metrics
    present = set(metrics.variable.unique())
    fluxes = [v for v in plot.taylor.FLUX_VARIABLES if v in present]
    if not fluxes:
        return None
    rows = metrics[metrics.variable.isin(fluxes)]
    rows = rows[
        rows.region.isin(plot.taylor.FLUX_REGIONS) & (rows.dataset == MMEM_ALL)
    ]
    return FigureData(
        [MMEM_ALL, *results.main_refs],
        table=rows,
        upstream=[results.metrics_path],
        fields={"fluxes": tuple(fluxes)},
    )


def _draw_fluxes(results: Results, data: FigureData, stem: Path) -> list[Path]:
    return plot.plot_taylor_fluxes(
        results.metrics,
        stem,
        variables=data.fields["fluxes"],
        references=results.main_refs,
        period=results.options.period,
    )


def _correlation(results: Results) -> FigureData | None:
    """Fig. 11: the correlation maps, stippled where significant (after FDR control where it was applied)."""
    corr, sig, files, methods = {}, {}, [], {}
    for dataset in results.panel_order:
        path = results.find(f"correlation_{dataset}.nc")
        if path is None:
            continue
        cubes = {c.var_name: c for c in iris.load(str(path))}
        # Cells that survive the false discovery rate control, where the
        # correlation script applied it; else each cell's own test.
        mask = cubes.get("significant_fdr", cubes["significant"])
        corr[dataset], sig[dataset] = cubes["r"], mask
        methods[dataset] = str(
            mask.attributes.get(
                "smeval_significance",
                f"two-sided t test at the {100 * results.options.significance_level:g} % level",
            )
        )
        files.append(path)
    if not corr:
        return None
    return FigureData(
        list(corr),
        files=files,
        fields={
            "corr": corr,
            "sig": sig,
            "shown": ", ".join(corr),
            "grid": grid_spacing(next(iter(corr.values()))),
            "methods": "; ".join(f"{d}: {m}" for d, m in methods.items()),
            "fdr": any(c.var_name == "significant_fdr" for c in sig.values()),
        },
    )


def _draw_correlation(
    results: Results, data: FigureData, stem: Path
) -> list[Path]:
    period = results.options.period
    title = (
        f"Correlation of monthly shallow soil moisture with P $-$ E, {period}; dots: "
        "significant after false discovery rate control (Benjamini-Hochberg)"
    )
    return plot.plot_correlation_maps(
        data.fields["corr"],
        data.fields["sig"],
        stem,
        period=period,
        title=title if data.fields["fdr"] else None,
    )


def _sure_heatmap(metrics: pd.DataFrame, threshold: float) -> str:
    """Return the heat maps' caption on the marks of uncertainty, where the table has them."""
    if not (
        (metrics.kind == "reference").any()
        or metrics.statistic.astype(str).str.endswith("_ci_low").any()
    ):
        return ""
    return (
        f" Triangles: the bootstrap interval of TSS contains {threshold:g} (uncertain whether the "
        "model reproduces the region); dots: the model agrees with the reference better than "
        "another reference does; rows 'ref:': the other references against the reference."
    )


def _tss(variable: str, results: Results) -> FigureData | None:
    """Figs. 12-13: the TSS of the models, its interval and the other references' TSS (the figure's marks)."""
    metrics = results.metrics
    if variable not in set(metrics.variable.unique()):
        return None
    rows = metrics[
        metrics.statistic.isin(["TSS", "TSS_ci_low", "TSS_ci_high"])
        & (metrics.variable == variable)
        & metrics.kind.isin(["model", "reference"])
        & metrics.region.isin(REGION_IDS)
    ]
    return FigureData(
        results.models + results.main_refs,
        table=rows,
        upstream=[results.metrics_path],
        fields={
            "variable": variable,
            "label": VARIABLE_LABELS[variable],
            "sure": _sure_heatmap(metrics, results.options.tss_threshold),
        },
    )


def _draw_tss(results: Results, data: FigureData, stem: Path) -> list[Path]:
    return plot.plot_tss_heatmap(
        results.metrics,
        data.fields["variable"],
        stem,
        references=results.main_refs,
        threshold=results.options.tss_threshold,
        period=results.options.period,
    )


def _counts(results: Results) -> FigureData | None:
    """Fig. 14: models above the threshold per region, regions per model, and the ranking."""
    metrics, refs, threshold = (
        results.metrics,
        results.main_refs,
        results.options.tss_threshold,
    )
    present = set(metrics.variable.unique())
    variables = [v for v in SOIL_MOISTURE if v in present]
    if not variables:
        return None
    per_region = {
        v: pd.DataFrame(
            {r: count_models_above(metrics, v, r, threshold) for r in refs}
        )
        for v in variables
    }
    per_model = {
        v: pd.DataFrame(
            {r: count_regions_above(metrics, v, r, threshold) for r in refs}
        )
        for v in variables
    }
    ranks = {v: ranking(metrics, v, refs, threshold) for v in variables}
    frames = []
    for variable in variables:
        frames += _counts_rows(
            variable,
            per_region[variable],
            per_model[variable],
            ranks[variable],
        )
    return FigureData(
        results.models + refs,
        table=pd.concat(frames, ignore_index=True),
        upstream=[results.metrics_path],
        fields={
            "per_region": per_region,
            "per_model": per_model,
            "ranks": ranks,
        },
    )


def _counts_rows(
    variable: str,
    per_region: pd.DataFrame,
    per_model: pd.DataFrame,
    ranks: pd.DataFrame,
) -> list[pd.DataFrame]:
    """Return the tidy rows of Fig. 14's table for one variable: its three tables, named in ``table``."""
    a = per_region.reset_index(names="region").melt(
        id_vars="region",
        var_name="reference",
        value_name="models_above",
    )
    b = per_model.reset_index(names="dataset").melt(
        id_vars="dataset",
        var_name="reference",
        value_name="regions_above",
    )
    r = ranks.reset_index(names="dataset")[
        ["dataset", "rank", "regions_above", "mean_tss"]
    ]
    return [
        a.assign(variable=variable, table="models_per_region"),
        b.assign(variable=variable, table="regions_per_model"),
        r.assign(variable=variable, table="ranking"),
    ]


def _draw_counts(results: Results, data: FigureData, stem: Path) -> list[Path]:
    f = data.fields
    return plot.plot_tss_counts(
        f["per_region"],
        f["per_model"],
        stem,
        ranking=f["ranks"],
        references=tuple(results.main_refs),
        threshold=results.options.tss_threshold,
        period=results.options.period,
    )


_TAYLOR_STATISTICS = ("corr", "stddev", "rmsd")
_MAP_STATISTICS = ("clim", "diff")
_CLIMATOLOGY_CAPTION = (
    "(a) {period} annual-mean {label} ({units}) of {shown} on the common {grid} degree grid, "
    "land only; (b) bias ratio (CMIP6-MMEM - reference) / CMIP6-MMEM against {against}."
)
_CYCLE_CAPTION = (
    "Mean annual cycle ({period}) of regional-mean {label} (kg m-2) in each of the {n_regions} "
    "regions: every model (thin), CMIP6-MMEM (thick) and {shown}."
)
_HEMISPHERES_CAPTION = (
    "Standardised Taylor diagrams of regional-mean monthly {label} ({period}) over Northern- "
    "and Southern-Hemisphere land, high- and low-resolution models, against {refs}, with "
    "CMIP6-MMEM, CMIP6-MMEM-high and CMIP6-MMEM-low.{sure}"
)
_TSS_CAPTION = (
    "Taylor skill score (R0 = {r0}) of regional-mean monthly {label} ({period}) of each model in each "
    "of the {n_regions} regions against {refs}; framed cells: TSS > {threshold:g}.{sure}"
)

#: The paper's figures, in order: adding a figure is one entry (and its query and drawing).
FIGURES: tuple[Figure, ...] = (
    Figure(
        1,
        "fig01_regions",
        "regions",
        _regions,
        _draw_regions,
        "The {n_regions} evaluation regions of Qiao et al. (2022), Fig. 1 (longitudes east positive).",
        "geo",
        data_caption="Boxes of the {n_regions} evaluation regions (degrees north, degrees east).",
        from_metrics=False,
    ),
    Figure(
        2,
        "fig02_climatology_sm_shallow",
        "maps",
        partial(_climatology, "sm_shallow"),
        _draw_climatology,
        _CLIMATOLOGY_CAPTION,
        "geo",
        _MAP_STATISTICS,
        from_metrics=False,
    ),
    Figure(
        3,
        "fig03_climatology_sm_deep",
        "maps",
        partial(_climatology, "sm_deep"),
        _draw_climatology,
        _CLIMATOLOGY_CAPTION,
        "geo",
        _MAP_STATISTICS,
        from_metrics=False,
    ),
    Figure(
        4,
        "fig04_water_budget",
        "maps",
        _water_budget,
        _draw_water_budget,
        "(a) {period} annual-mean P, E, surface runoff R, P - E and P - E - R ({units}) of CMIP6-MMEM, land "
        "only; (b)-(d) their bias ratios (CMIP6-MMEM - reference) / CMIP6-MMEM against each reanalysis.",
        "geo",
        _MAP_STATISTICS,
        from_metrics=False,
    ),
    Figure(
        5,
        "fig05_annual_cycle_sm_shallow",
        "annual_cycles",
        partial(_annual_cycle, "sm_shallow"),
        _draw_annual_cycle,
        _CYCLE_CAPTION,
        "seas",
        ("mean", "clim"),
    ),
    Figure(
        6,
        "fig06_annual_cycle_sm_deep",
        "annual_cycles",
        partial(_annual_cycle, "sm_deep"),
        _draw_annual_cycle,
        _CYCLE_CAPTION,
        "seas",
        ("mean", "clim"),
    ),
    Figure(
        7,
        "fig07_taylor_hemispheres_sm_shallow",
        "taylor",
        partial(_taylor, "sm_shallow", HEMISPHERE_IDS),
        _draw_taylor_hemispheres,
        _HEMISPHERES_CAPTION,
        "taylor",
        _TAYLOR_STATISTICS,
    ),
    Figure(
        8,
        "fig08_taylor_hemispheres_sm_deep",
        "taylor",
        partial(_taylor, "sm_deep", HEMISPHERE_IDS),
        _draw_taylor_hemispheres,
        _HEMISPHERES_CAPTION,
        "taylor",
        _TAYLOR_STATISTICS,
    ),
    Figure(
        9,
        "fig09_taylor_regions_sm_shallow",
        "taylor",
        partial(_taylor, "sm_shallow", NH_REGIONS),
        _draw_taylor_regions,
        "Standardised Taylor diagrams of regional-mean monthly shallow soil moisture ({period}) in the "
        f"{len(NH_REGIONS)} Northern-Hemisphere regions against {{refs}}: every model and the ensemble "
        "means.{sure}",
        "taylor",
        _TAYLOR_STATISTICS,
    ),
    Figure(
        10,
        "fig10_taylor_fluxes",
        "taylor",
        _fluxes,
        _draw_fluxes,
        "Standardised Taylor diagrams of regional-mean monthly P, E, surface runoff and snow melt ({period}) "
        "of CMIP6-MMEM over the Tibetan Plateau (TIB) and Siberia (SIB) against {refs}.",
        "taylor",
        _TAYLOR_STATISTICS,
    ),
    Figure(
        11,
        "fig11_correlation_sm_pme",
        "maps",
        _correlation,
        _draw_correlation,
        "Correlation of monthly shallow soil moisture with P - E ({period}) of {shown}, per grid cell on the "
        "common {grid} degree grid; stippling marks the significant cells ({methods}).",
        "geo",
        ("corr",),
        from_metrics=False,
    ),
    Figure(
        12,
        "fig12_tss_sm_shallow",
        "skill",
        partial(_tss, "sm_shallow"),
        _draw_tss,
        _TSS_CAPTION,
        "portrait",
    ),
    Figure(
        13,
        "fig13_tss_sm_deep",
        "skill",
        partial(_tss, "sm_deep"),
        _draw_tss,
        _TSS_CAPTION,
        "portrait",
    ),
    Figure(
        14,
        "fig14_tss_counts",
        "skill",
        _counts,
        _draw_counts,
        "(a) Number of models with TSS > {threshold:g} in each region and (b) number of regions with TSS > "
        "{threshold:g} for each model, shallow and deep soil moisture ({period}), against {refs}; the top "
        "five of the ranking are marked.",
        "bar",
    ),
)


def write_figures(cfg: dict[str, Any]) -> list[Path]:
    """Draw every wanted figure (option ``figures``) that the available results support; returns the files."""
    options = parse_options(FiguresOptions, cfg, FiguresOptions.SCRIPT)
    results = read_results(options, [Path(p) for p in cfg["ancestor_dirs"]])
    # Every figure in each type of ESMValCore's output_file_type, besides the
    # PNG of the report and the PDFs of the Taylor diagrams and heat maps.
    with (
        ProvenanceLogger(cfg) as provlog,
        plot.style.also_save_as(output_file_types(cfg)),
    ):
        writer = _Figures(cfg, provlog)
        for figure in FIGURES:
            if figure.number in options.figures:
                writer.write(figure, results)
    return writer.written
