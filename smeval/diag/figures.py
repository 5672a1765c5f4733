"""The work of ``diagnostics/figures.py``: the paper's Figs. 1-14 from the results.

Reads only what the earlier scripts wrote (docs/results.md): the metrics
table, annual cycles and rankings of ``skill/metrics``, the fields of
``maps/climatology_fields`` and ``correlation/correlation_fields``. Counts and
rankings are queries on the metrics table (:mod:`smeval.metrics.table`).
Each figure gets a provenance record whose first ancestor is the data behind
it (a CSV written here, or the NetCDF fields it shows).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import iris
import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from smeval import defaults, outputs, plot  # noqa: E402
from smeval.core.regions import HEMISPHERE_IDS, REGIONS  # noqa: E402
from smeval.metrics.table import (  # noqa: E402
    COLUMNS,
    REGION_IDS,
    count_models_above,
    count_regions_above,
    ranking,
    select,
)

from smeval.variables import MAP_UNITS, VARIABLE_LABELS  # noqa: E402
from .evaluate import EvaluationOptions  # noqa: E402
from .io import fields_by_dataset  # noqa: E402
from .options import OptionsError, as_settings, check_range, option, parse_options  # noqa: E402
from .provenance import grid_spacing, record  # noqa: E402
from .shared import ProvenanceLogger, atomic_write_text  # noqa: E402
from .standalone import output_file_types  # noqa: E402

logger = logging.getLogger(__name__)

#: Figure numbers of the paper, and those drawn from the metrics table.
ALL_FIGURES = tuple(range(1, 15))
METRICS_FIGURES = {5, 6, 7, 8, 9, 10, 12, 13, 14}
#: Labels of the water-budget rows of Fig. 4.
FLUX_LABELS = {"pr": "P", "evspsbl": "E", "mrros": "R (surface runoff)", "pme": "P - E", "pmer": "P - E - R"}
#: The 8 Northern Hemisphere regions of Fig. 9.
NH_REGIONS = tuple(r.id for r in REGIONS if r.box.lat_min >= 0)


@dataclass(frozen=True)
class FiguresOptions(EvaluationOptions):
    """Options of ``diagnostics/figures.py`` (see its docstring)."""

    SCRIPT: ClassVar[str] = "figures"
    figures: tuple[int, ...] = option(ALL_FIGURES, "the paper's figure numbers to draw")
    figure_references: tuple[str, ...] = option(defaults.FIGURE_REFERENCES, "references of Figs. 7-10, 12-14")
    significance_level: float = option(0.95, "confidence level of the correlation maps' stippling", "1")

    def __post_init__(self) -> None:
        super().__post_init__()
        bad = sorted(set(self.figures) - set(ALL_FIGURES))
        if bad:
            raise OptionsError(f"figures: option `figures` has {bad}; the paper's figures are 1-14")
        # The default names the paper's references; it is filtered to those of the run where used.
        explicit = self.figure_references != type(self).__dataclass_fields__["figure_references"].default
        extra = [r for r in self.figure_references if r not in self.references] if explicit else []
        if extra:
            raise OptionsError(f"figures: option `figure_references` has {', '.join(extra)}, which option "
                               f"`references` ({', '.join(self.references)}) does not evaluate")
        check_range(self.SCRIPT, "significance_level", self.significance_level, 0.0, 1.0)


class _Figures:
    """Writes figures, the data behind them and their provenance."""

    def __init__(self, cfg: dict[str, Any], provlog: ProvenanceLogger) -> None:
        self.cfg = cfg
        self.provlog = provlog
        self.plot_dir = Path(cfg["plot_dir"])
        self.work_dir = Path(cfg["work_dir"])
        self.period = str(cfg["period"])
        self.references_all = list(cfg["references"])
        self.written: list[Path] = []
        #: Data file written here -> the files it was derived from.
        self.upstream: dict[Path, list[Path]] = {}
        #: Figure numbers this script draws (option ``figures``).
        self.wanted = {int(n) for n in cfg["figures"]}

    def wants(self, name: str) -> bool:
        """True if figure ``figNN_...`` is one this script draws."""
        return int(name[3:5]) in self.wanted

    def stem(self, name: str) -> Path:
        return self.plot_dir / name

    def data(self, name: str, frame: pd.DataFrame, upstream: list[Path]) -> Path:
        """Write the data behind figure ``name`` as CSV, remembering its sources."""
        path = self.work_dir / f"{name}.csv"
        if not self.wants(name):
            return path
        atomic_write_text(path, frame.to_csv(index=False))
        self.upstream[path] = [Path(p) for p in upstream]
        return path

    def make(self, name: str, figure: str, group: str, caption: str, draw: Callable[[Path], list[Path]],
             data: list[Path], datasets, plot_type: str, data_caption: str | None = None,
             statistics=("other",)) -> None:
        """Draw one figure and record its provenance (and that of its own data file)."""
        if not self.wants(name):
            return
        try:
            paths = draw(self.stem(name))
        except (KeyError, ValueError) as exc:
            logger.warning("Skipping %s (%s): %s", name, figure, exc)
            return
        # PNG and PDF of one figure share a stem, and ESMValCore names the
        # provenance file after the stem: keep the PDFs (and any other type
        # of output_file_type) in their own folder.
        paths = [p if p.suffix == ".png" else _apart(p) for p in paths]
        for path in (d for d in data if d in self.upstream):
            self.provlog.log(path, record(data_caption or f"Data behind {figure}: {caption}",
                                          self.upstream[path], datasets, statistics=statistics))
        # ESMValCore accepts only files of ancestor tasks as ancestors, so a
        # figure descends from the sources of its own data file (which sits
        # beside it under the same stem, docs/results.md).
        ancestors = sorted({str(a) for d in data for a in self.upstream.get(d, [d])})
        for path in paths:
            self.provlog.log(path, record(caption, ancestors, datasets, statistics=statistics,
                                          plot_type=plot_type, figure=figure, figure_group=group))
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


def _fields(path: Path | None) -> dict[str, iris.cube.Cube]:
    if path is None or not path.is_file():
        return {}
    return fields_by_dataset(path)


def write_figures(cfg: dict[str, Any]) -> list[Path]:
    """Draw every figure that the available results support; returns the files."""
    cfg = {**cfg, **as_settings(parse_options(FiguresOptions, cfg, FiguresOptions.SCRIPT))}
    folders = [Path(p) for p in cfg["ancestor_dirs"]]
    metrics_path = _find(folders, outputs.METRICS)
    wanted = {int(n) for n in cfg["figures"]}
    if metrics_path is None and wanted & METRICS_FIGURES:
        msg = f"no metrics.csv among the ancestors {folders}, needed by Figs. {sorted(wanted & METRICS_FIGURES)}"
        raise FileNotFoundError(msg)
    metrics = pd.read_csv(metrics_path) if metrics_path else pd.DataFrame(columns=COLUMNS)
    # Any upstream file can stand as the ancestor of the region table.
    anchor = metrics_path or next(iter(sorted(p for f in folders for p in f.rglob("*.nc"))), None)
    cycles_path = _find(folders, outputs.ANNUAL_CYCLE)
    cycles = pd.read_csv(cycles_path) if cycles_path else pd.DataFrame()
    threshold = float(cfg["tss_threshold"])
    main_refs = [r for r in cfg["figure_references"] if r in set(metrics.reference)]
    models = sorted(set(select(metrics, kind="model").dataset))

    # Every figure in each type of ESMValCore's output_file_type, besides the
    # PNG of the report and the PDFs of the Taylor diagrams and heat maps.
    with ProvenanceLogger(cfg) as provlog, plot.style.also_save_as(output_file_types(cfg)):
        fig = _Figures(cfg, provlog)
        period = fig.period

        # Fig. 1: the regions (data: the region table).
        regions_csv = fig.data("fig01_regions", pd.DataFrame(
            [(r.id, r.name, r.box.lat_min, r.box.lat_max, r.box.lon_min, r.box.lon_max) for r in REGIONS],
            columns=["region", "name", "lat_min", "lat_max", "lon_min", "lon_max"]), [anchor])
        fig.make("fig01_regions", "Fig. 1", "regions",
                 f"The {len(REGIONS)} evaluation regions of Qiao et al. (2022), Fig. 1 (longitudes east positive).",
                 lambda stem: plot.plot_regions(stem), [regions_csv], [], "geo",
                 data_caption=f"Boxes of the {len(REGIONS)} evaluation regions (degrees north, degrees east).")

        # Figs. 2-3: soil-moisture climatologies and bias ratios.
        for number, variable in (("02", "sm_shallow"), ("03", "sm_deep")):
            clim_path = _find(folders, f"climatology_{variable}.nc")
            bias_path = _find(folders, f"bias_ratio_{variable}.nc")
            clim, bias = _fields(clim_path), _fields(bias_path)
            if not clim:
                continue
            fig.make(f"fig{number}_climatology_{variable}", f"Fig. {int(number)}", "maps",
                     f"(a) {period} annual-mean {VARIABLE_LABELS[variable]} ({MAP_UNITS[variable]}) of "
                     f"{', '.join(clim)} on the common {grid_spacing(next(iter(clim.values())))} degree grid, land only; (b) bias ratio "
                     f"(CMIP6-MMEM - reference) / CMIP6-MMEM against {', '.join(bias)}.",
                     lambda stem, c=clim, b=bias, v=variable: plot.plot_climatology_bias(
                         c, b, VARIABLE_LABELS[v], MAP_UNITS[v], stem, period=period),
                     [p for p in (clim_path, bias_path) if p], list(clim), "geo", statistics=("clim", "diff"))

        # Fig. 4: the water budget of CMIP6-MMEM and its bias ratios.
        clim4, bias4, used = {}, {}, []
        for variable, label in FLUX_LABELS.items():
            c = _fields(_find(folders, f"climatology_{variable}.nc"))
            b = _fields(_find(folders, f"bias_ratio_{variable}.nc"))
            if "CMIP6-MMEM" in c:
                clim4[label] = c["CMIP6-MMEM"]
                bias4[label] = {r: b[r] for r in main_refs + ["ERA-Interim"] if r in b}
                used += [p for p in (_find(folders, f"climatology_{variable}.nc"),
                                     _find(folders, f"bias_ratio_{variable}.nc")) if p]
        if clim4:
            fig.make("fig04_water_budget", "Fig. 4", "maps",
                     f"(a) {period} annual-mean P, E, surface runoff R, P - E and P - E - R ({MAP_UNITS['pr']}) of "
                     "CMIP6-MMEM, land only; (b)-(d) their bias ratios (CMIP6-MMEM - reference) / CMIP6-MMEM "
                     "against each reanalysis.",
                     lambda stem: plot.plot_flux_maps(clim4, bias4, MAP_UNITS["pr"], stem, period=period),
                     used, ["CMIP6-MMEM", *main_refs], "geo", statistics=("clim", "diff"))

        # Figs. 5-6: regional annual cycles.
        for number, variable in (("05", "sm_shallow"), ("06", "sm_deep")):
            part = cycles[cycles.variable == variable] if len(cycles) else cycles
            if not len(part):
                continue
            data = fig.data(f"fig{number}_annual_cycle_{variable}", part, [cycles_path])
            refs_here = sorted(set(part[part.kind == "reference"].dataset))
            fig.make(f"fig{number}_annual_cycle_{variable}", f"Fig. {int(number)}", "annual_cycles",
                     f"Mean annual cycle ({period}) of regional-mean {VARIABLE_LABELS[variable]} (kg m-2) in each of "
                     f"the {len(REGION_IDS)} regions: every model (thin), CMIP6-MMEM (thick) and {', '.join(refs_here)}.",
                     lambda stem, p=part, v=variable: plot.plot_annual_cycles(p, v, stem, period=period),
                     [data], sorted(set(part.dataset)), "seas", statistics=("mean", "clim"))

        def taylor_data(name, variable=None, regions=None):
            rows = metrics[metrics.statistic.isin(["R", "sigma", "E'", "TSS", *plot.taylor.INTERVAL_COLUMNS])]
            if variable:
                rows = rows[rows.variable == variable]
            if regions:
                rows = rows[rows.region.isin(regions)]
            return fig.data(name, rows, [metrics_path])

        sure_taylor = ""
        if (metrics.kind == "reference").any():
            sure_taylor = (" White stars: the other references against the diagram's reference; lines through the "
                           "ensemble means and stars: bootstrap intervals of sigma (radial) and R (arc).")

        # Figs. 7-8: hemispheres, resolution groups.
        for number, variable in (("07", "sm_shallow"), ("08", "sm_deep")):
            if variable not in set(metrics.variable):
                continue
            name = f"fig{number}_taylor_hemispheres_{variable}"
            data = taylor_data(name, variable, list(HEMISPHERE_IDS))
            fig.make(name, f"Fig. {int(number)}", "taylor",
                     f"Standardised Taylor diagrams of regional-mean monthly {VARIABLE_LABELS[variable]} ({period}) "
                     f"over Northern- and Southern-Hemisphere land, high- and low-resolution models, against "
                     f"{', '.join(main_refs)}, with CMIP6-MMEM, CMIP6-MMEM-high and CMIP6-MMEM-low.{sure_taylor}",
                     lambda stem, v=variable: plot.plot_taylor_hemispheres(metrics, v, stem, references=main_refs,
                                                                           period=period),
                     [data], models + main_refs, "taylor", statistics=("corr", "stddev", "rmsd"))

        # Fig. 9: the 8 NH regions.
        if "sm_shallow" in set(metrics.variable):
            name = "fig09_taylor_regions_sm_shallow"
            data = taylor_data(name, "sm_shallow", list(NH_REGIONS))
            fig.make(name, "Fig. 9", "taylor",
                     f"Standardised Taylor diagrams of regional-mean monthly shallow soil moisture ({period}) in "
                     f"the 8 Northern-Hemisphere regions against {', '.join(main_refs)}: every model and the "
                     f"ensemble means.{sure_taylor}",
                     lambda stem: plot.plot_taylor_regions(metrics, "sm_shallow", stem, regions=NH_REGIONS,
                                                           references=main_refs, period=period),
                     [data], models + main_refs, "taylor", statistics=("corr", "stddev", "rmsd"))

        # Fig. 10: fluxes over TIB and SIB.
        fluxes = [v for v in ("pr", "evspsbl", "mrros", "snm") if v in set(metrics.variable)]
        if fluxes:
            name = "fig10_taylor_fluxes"
            rows = metrics[metrics.variable.isin(fluxes)]
            data = fig.data(name, rows[rows.region.isin(["TIB", "SIB"]) & (rows.dataset == "CMIP6-MMEM")],
                            [metrics_path])
            fig.make(name, "Fig. 10", "taylor",
                     f"Standardised Taylor diagrams of regional-mean monthly P, E, surface runoff and snow melt "
                     f"({period}) of CMIP6-MMEM over the Tibetan Plateau (TIB) and Siberia (SIB) against "
                     f"{', '.join(main_refs)}.",
                     lambda stem: plot.plot_taylor_fluxes(metrics, stem, variables=tuple(fluxes),
                                                          references=main_refs, period=period),
                     [data], ["CMIP6-MMEM", *main_refs], "taylor", statistics=("corr", "stddev", "rmsd"))

        # Fig. 11: correlation maps.
        corr, sig, corr_files, methods = {}, {}, [], {}
        for dataset in ("ERA5", "GLDAS-NOAH", "ERA-Interim", "CMIP6-MMEM"):
            path = _find(folders, f"correlation_{dataset}.nc")
            if path is None:
                continue
            cubes = {c.var_name: c for c in iris.load(str(path))}
            # Cells that survive the false discovery rate control, where the
            # correlation script applied it; else each cell's own test.
            mask = cubes.get("significant_fdr", cubes["significant"])
            corr[dataset], sig[dataset] = cubes["r"], mask
            methods[dataset] = str(mask.attributes.get(
                "smeval_significance",
                f"two-sided t test at the {100 * cfg['significance_level']:g} % level"))
            corr_files.append(path)
        if corr:
            fdr = any(c.var_name == "significant_fdr" for c in sig.values())
            fig.make("fig11_correlation_sm_pme", "Fig. 11", "maps",
                     f"Correlation of monthly shallow soil moisture with P - E ({period}) of {', '.join(corr)}, "
                     f"per grid cell on the common {grid_spacing(next(iter(corr.values())))} degree grid; stippling marks the "
                     "significant cells ("
                     + "; ".join(f"{d}: {m}" for d, m in methods.items()) + ").",
                     lambda stem: plot.plot_correlation_maps(
                         corr, sig, stem, period=period,
                         title=(f"Correlation of monthly shallow soil moisture with P $-$ E, {period}; dots: "
                                "significant after false discovery rate control (Benjamini-Hochberg)")
                         if fdr else None),
                     corr_files, list(corr), "geo", statistics=("corr",))

        # Figs. 12-13: TSS heat maps; Fig. 14: counts and ranking.
        sure_heatmap = ""
        if (metrics.kind == "reference").any() or metrics.statistic.astype(str).str.endswith("_ci_low").any():
            sure_heatmap = (f" Triangles: the bootstrap interval of TSS contains {threshold:g} (uncertain whether the "
                            "model reproduces the region); dots: the model agrees with the reference better than "
                            "another reference does; rows 'ref:': the other references against the reference.")
        per_region, per_model, ranks = {}, {}, {}
        for number, variable in (("12", "sm_shallow"), ("13", "sm_deep")):
            if variable not in set(metrics.variable):
                continue
            name = f"fig{number}_tss_{variable}"
            # The TSS of the models, its interval and the other references' TSS (the figure's marks).
            tss = metrics[metrics.statistic.isin(["TSS", "TSS_ci_low", "TSS_ci_high"]) & (metrics.variable == variable)
                          & metrics.kind.isin(["model", "reference"]) & metrics.region.isin(REGION_IDS)]
            data = fig.data(name, tss, [metrics_path])
            fig.make(name, f"Fig. {int(number)}", "skill",
                     f"Taylor skill score (R0 = {cfg['r0']}) of regional-mean monthly "
                     f"{VARIABLE_LABELS[variable]} ({period}) of each model in each of the {len(REGION_IDS)} regions against "
                     f"{', '.join(main_refs)}; framed cells: TSS > {threshold:g}.{sure_heatmap}",
                     lambda stem, v=variable: plot.plot_tss_heatmap(metrics, v, stem, references=main_refs,
                                                                    threshold=threshold, period=period),
                     [data], models + main_refs, "portrait", statistics=("other",))
            per_region[variable] = pd.DataFrame({r: count_models_above(metrics, variable, r, threshold)
                                                 for r in main_refs})
            per_model[variable] = pd.DataFrame({r: count_regions_above(metrics, variable, r, threshold)
                                                for r in main_refs})
            ranks[variable] = ranking(metrics, variable, main_refs, threshold)
        if per_region:
            name = "fig14_tss_counts"
            frames = []
            for variable in per_region:
                a = per_region[variable].reset_index(names="region").melt(id_vars="region", var_name="reference",
                                                                          value_name="models_above")
                b = per_model[variable].reset_index(names="dataset").melt(id_vars="dataset", var_name="reference",
                                                                          value_name="regions_above")
                r = ranks[variable].reset_index(names="dataset")[["dataset", "rank", "regions_above", "mean_tss"]]
                frames += [a.assign(variable=variable, table="models_per_region"),
                           b.assign(variable=variable, table="regions_per_model"),
                           r.assign(variable=variable, table="ranking")]
            data = fig.data(name, pd.concat(frames, ignore_index=True), [metrics_path])
            fig.make(name, "Fig. 14", "skill",
                     f"(a) Number of models with TSS > {threshold:g} in each region and (b) number of regions "
                     f"with TSS > {threshold:g} for each model, shallow and deep soil moisture ({period}), "
                     f"against {', '.join(main_refs)}; the top five of the ranking are marked.",
                     lambda stem: plot.plot_tss_counts(per_region, per_model, stem, ranking=ranks,
                                                       references=tuple(main_refs), threshold=threshold,
                                                       period=period),
                     [data], models + main_refs, "bar", statistics=("other",))
    return fig.written
