"""Maps on the common grid: climatologies, bias ratios and correlation maps.

The work of ``diagnostics/climatology_fields.py`` (Figs. 2-4) and
``diagnostics/correlation_fields.py`` (Fig. 11). Inputs are per-member
1979-2014 climatologies on the common grid for the maps (written by the
regional-series scripts), and for the correlations the monthly fields
ESMValCore preprocessed for the regional series, of which each model's
ensemble mean is taken and regridded here with ESMValCore's functions.
Models are combined into CMIP6-MMEM with the hierarchical weighting of
SPEC section 4; the results are written as NetCDF (docs/results.md).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import dask
import cf_units
import dask.array as da
import iris
import iris.coords
import iris.cube
import iris.exceptions
import numpy as np

from smeval.core.correlation import DEFAULT_FDR_ALPHA, benjamini_hochberg, gridpoint_correlation
from smeval.core.ensemble import MMEM_ALL, hierarchical_means, streamed_mmem
from smeval.core.fields import bias_ratio
from smeval.metrics.series import months_of
from smeval.catalogue import load_catalogue
from smeval import defaults, outputs
from smeval.variables import MAP_UNITS, VARIABLE_LABELS, standard_name

from .checks import in_expected_units, lazy_value_summary, value_problem
from .climatology import find_climatologies
from .evaluate import EvaluationOptions
from .io import DATASET_COORD, EXCLUDED_COLUMNS, SYNTHETIC_ATTRIBUTE, is_synthetic, load_cube, save_cube, write_csv
from .options import check_choices, check_range, check_references, is_model, option, parse_options, recipe_key
from .preprocess import EnsembleSteps
from .provenance import grid_spacing, record
from .shared import ProvenanceLogger, family_of

logger = logging.getLogger(__name__)

#: Variables of the maps and the CMOR variable each comes from.
FLUXES = ("pr", "evspsbl", "mrros")
#: Default |MMEM| below which a bias ratio is masked, per variable (its units:
#: :data:`smeval.variables.MAP_UNITS`, kg m-2 for soil moisture, mm per
#: Julian year for fluxes).
BIAS_RATIO_MIN = MappingProxyType({"sm_shallow": 1.0, "sm_deep": 10.0, "pr": 10.0, "evspsbl": 10.0,
                                   "mrros": 5.0, "pme": 10.0, "pmer": 10.0})
#: Significance tests of the correlation maps.
SIGNIFICANCE_METHODS = ("t-test", "effective-sample-size")


@dataclass(frozen=True)
class ClimatologyOptions(EvaluationOptions):
    """Options of ``diagnostics/climatology_fields.py`` (see its docstring)."""

    SCRIPT: ClassVar[str] = "climatology_fields"
    bias_ratio_min: dict[str, float] = option(BIAS_RATIO_MIN, "|MMEM| below which a bias ratio is masked",
                                              "kg m-2 (soil moisture), mm Julian_year-1 (fluxes)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choices(self.SCRIPT, "bias_ratio_min", self.bias_ratio_min, BIAS_RATIO_MIN)
        for variable, value in self.bias_ratio_min.items():
            check_range(self.SCRIPT, f"bias_ratio_min: {variable}", value, 0.0, low_open=False)


#: The correlation maps' steps when the recipe gives none: ESMValCore's
#: ensemble mean, then the common grid.
CORRELATION_STEPS = MappingProxyType({
    "ensemble_statistics": {"statistics": ["mean"]},
    "regrid": {"target_grid": defaults.COMMON_GRID, "scheme": {"reference": "smeval.regrid:AreaWeighted"}},
})


@dataclass(frozen=True)
class CorrelationOptions(EvaluationOptions):
    """Options of ``diagnostics/correlation_fields.py`` (see its docstring)."""

    SCRIPT: ClassVar[str] = "correlation_fields"
    correlation_steps: dict[str, Any] = option(CORRELATION_STEPS, "steps of the correlation branch, in order: "
                                               "ensemble mean, regrid", check=EnsembleSteps.check)
    significance_level: float = option(0.95, "confidence level of the two-sided t test", "1")
    significance_method: str = option("t-test", "t-test or effective-sample-size")
    fdr_alpha: float | None = option(DEFAULT_FDR_ALPHA, "Benjamini-Hochberg alpha_FDR over a map's land cells "
                                     "(null: none)", "1")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.SCRIPT, "significance_level", self.significance_level, 0.0, 1.0)
        if self.fdr_alpha is not None:
            check_range(self.SCRIPT, "fdr_alpha", self.fdr_alpha, 0.0, 1.0)
        check_choices(self.SCRIPT, "significance_method", [self.significance_method], SIGNIFICANCE_METHODS)


def _ensemble_inputs(options: EvaluationOptions, metadata) -> tuple[dict[str, str], dict[str, int], list[str]]:
    """Families (from the recipe's facets), native rows and references of the inputs.

    Raises
    ------
    OptionsError
        If a reference is not among the inputs' data sets, or is a model.
    """
    metadata = list(metadata)
    families = {meta["dataset"]: family_of(meta) for meta in metadata}
    n_lat = {name: m.grid.nlat for name, m in load_catalogue().models.items()}
    references = list(options.references)
    # The metrics script, which sees every variable, refuses a reference absent from the run.
    check_references(options.SCRIPT, references, {m["dataset"]: str(m.get("project", "")) for m in metadata},
                     strict=False)
    return families, n_lat, references


def _usable(meta: dict[str, Any], cube: iris.cube.Cube, references, units_of: str | None = None) -> str | None:
    """Why an input of the maps is left out (not a model nor a reference; wrong units), or None.

    Convertible units are converted in place (:func:`smeval.diag.checks.in_expected_units`).
    """
    if not (meta["dataset"] in references or is_model(meta["dataset"], meta.get("project", ""), references)):
        return "an observation data set that is not among the references: not evaluated as a model"
    return in_expected_units(cube, units_of or meta["short_name"])


#: Density of liquid water, as one unit of itself (1000 kg m-3): dividing a
#: water flux by it turns kg m-2 s-1 into mm s-1 without changing the numbers
#: (1 kg m-2 of water is a layer 1 mm deep).
WATER_DENSITY = cf_units.Unit("1000 kg m-3")


def _map_values(cube: iris.cube.Cube, variable: str) -> np.ndarray:
    """float64 values of a member's climatology in :data:`MAP_UNITS` of ``variable`` (NaN where missing).

    ``cube`` is in the units :mod:`smeval.diag.checks` expects (kg m-2 or
    kg m-2 s-1); fluxes become a depth of water per Julian year.
    """
    values = cube.copy(np.ma.filled(np.ma.asarray(cube.data, dtype=float), np.nan))
    if variable in FLUXES:
        values.units = values.units / WATER_DENSITY
    values.convert_units(MAP_UNITS[variable])
    return values.data


def _dataset_coord(names) -> iris.coords.AuxCoord:
    """The string coordinate ``dataset`` that names the data set of each field."""
    return iris.coords.AuxCoord(np.array(list(names), dtype=str), long_name=DATASET_COORD, var_name=DATASET_COORD)


def _as_field(data) -> np.ndarray:
    # Keep the mask of masked input (e.g. a bias ratio masked where |MMEM|
    # is small) as well as NaNs.
    return np.ma.filled(np.ma.asarray(data, dtype=np.float32), np.nan)


def _attributes(synthetic: bool) -> dict[str, str]:
    return {SYNTHETIC_ATTRIBUTE: "yes: computed from synthetic input"} if synthetic else {}


def _field_cube(data, template: iris.cube.Cube, name: str, units: str, long_name: str,
                synthetic: bool) -> iris.cube.Cube:
    """A (lat, lon) field of the data set ``name`` (a scalar ``dataset`` coordinate); var_name set by the caller."""
    return iris.cube.Cube(
        np.ma.masked_invalid(_as_field(data)), long_name=f"{long_name}: {name}", units=units,
        dim_coords_and_dims=[(template.coord("latitude").copy(), 0),
                             (template.coord("longitude").copy(), 1)],
        aux_coords_and_dims=[(_dataset_coord([name]), None)], attributes=_attributes(synthetic),
    )


def _datasets_cube(fields: dict[str, Any], template: iris.cube.Cube, var_name: str, units: str, long_name: str,
                   synthetic: bool, cell_methods=(), std_name: str | None = None) -> iris.cube.Cube:
    """One quantity of several data sets: a (dataset, lat, lon) cube with the string coordinate ``dataset``.

    ``fields`` maps each data set's name to its (lat, lon) field, in that order.
    """
    return iris.cube.Cube(
        np.ma.masked_invalid(np.stack([_as_field(data) for data in fields.values()])),
        var_name=var_name, standard_name=std_name, long_name=long_name, units=units,
        dim_coords_and_dims=[(template.coord("latitude").copy(), 1),
                             (template.coord("longitude").copy(), 2)],
        aux_coords_and_dims=[(_dataset_coord(fields), 0)], cell_methods=cell_methods,
        attributes=_attributes(synthetic),
    )


def _record(caption: str, ancestors, datasets, statistics, plot_type: str | None = None,
            extra_references=()) -> dict:
    """Record of a field on the common grid (global domain)."""
    return record(caption, ancestors, datasets, domains=["global"],
                  statistics=statistics, plot_type=plot_type, extra_references=extra_references)


def climatology_fields(cfg: dict[str, Any]) -> list[Path]:
    """Write climatologies of references and CMIP6-MMEM, and bias ratios.

    The inputs are each member's climatology on the common grid, written by
    the regional-series scripts (the ancestors) from the same read as the
    series (:mod:`smeval.diag.climatology`).
    """
    options = parse_options(ClimatologyOptions, cfg, ClimatologyOptions.SCRIPT)
    inputs = find_climatologies(cfg["ancestor_dirs"])
    families, n_lat, references = _ensemble_inputs(options, [meta for _, meta, _ in inputs])
    thresholds = {**BIAS_RATIO_MIN, **options.bias_ratio_min}
    period = options.period

    # (variable, dataset) -> member -> 2-D field; and their files.
    fields: dict[tuple[str, str], dict[str, np.ndarray]] = defaultdict(dict)
    sources: dict[tuple[str, str], list[str]] = defaultdict(list)
    template = None
    synthetic = False
    for filename, meta, cube in inputs:
        problem = _usable(meta, cube, references)
        if problem:
            logger.warning("Left out of the maps: %s: %s", filename, problem)
            continue
        template = template or cube
        synthetic |= is_synthetic(cube)
        dataset, member, short = meta["dataset"], str(meta.get("ensemble", "")), meta["short_name"]
        variable = "sm_shallow" if short == "mrsos" else short
        fields[(variable, dataset)][member] = _map_values(cube, variable)
        sources[(variable, dataset)].append(filename)
    if template is None:
        logger.warning("No input fields: no maps written")
        return []

    # P - E and P - E - R from each data set's own mean fields (linear, so the
    # mean of differences equals the difference of means).
    datasets = {d for _, d in fields}
    for dataset in datasets:
        mean = {v: np.nanmean(np.stack(list(fields[(v, dataset)].values())), axis=0)
                for v in FLUXES if (v, dataset) in fields}
        if "pr" in mean and "evspsbl" in mean:
            fields[("pme", dataset)]["mean"] = mean["pr"] - mean["evspsbl"]
            sources[("pme", dataset)] = sources[("pr", dataset)] + sources[("evspsbl", dataset)]
            if "mrros" in mean:
                fields[("pmer", dataset)]["mean"] = mean["pr"] - mean["evspsbl"] - mean["mrros"]
                sources[("pmer", dataset)] = sources[("pme", dataset)] + sources[("mrros", dataset)]

    work = Path(cfg["work_dir"])
    written = []
    with ProvenanceLogger(cfg) as provlog:
        for variable in sorted({v for v, _ in fields}):
            models = {d: list(m.values()) for (v, d), m in fields.items()
                      if v == variable and d not in references}
            refs = {d: next(iter(m.values())) for (v, d), m in fields.items() if v == variable and d in references}
            climatologies = {}
            mmem = None
            if models:
                means = hierarchical_means(models, families, {m: n_lat.get(m, 0) for m in models})
                mmem = np.asarray(means.mmem[MMEM_ALL])
                climatologies[MMEM_ALL] = mmem
            # References in the recipe's order (iris.load's order of several
            # cubes, which the figures used before, varies from run to run).
            climatologies.update((ref, refs[ref]) for ref in references if ref in refs)
            names = list(climatologies)
            ancestors = [f for (v, _), fs in sources.items() if v == variable for f in fs]
            out = save_cube(_datasets_cube(
                climatologies, template, variable, MAP_UNITS[variable], f"{period} climatology of "
                f"{VARIABLE_LABELS[variable]}", synthetic, [iris.coords.CellMethod("mean", "time")],
                standard_name(variable)), work / f"climatology_{variable}.nc")
            written.append(out)
            provlog.log(out, _record(
                f"{period} annual-mean climatology of {VARIABLE_LABELS[variable]} ({MAP_UNITS[variable]}) of "
                f"{', '.join(names)} on the common {grid_spacing(template)} degree grid, land only; CMIP6-MMEM is the mean "
                f"over model families of {len(models)} models.", ancestors, names, ["clim", "mean"], "geo"))
            if mmem is None or not refs:
                continue
            ratios = _datasets_cube(
                {ref: bias_ratio(mmem, refs[ref], thresholds[variable]) for ref in references if ref in refs},
                template, "bias_ratio", "1", f"bias ratio (CMIP6-MMEM - reference) / CMIP6-MMEM of the {period} "
                f"climatology of {VARIABLE_LABELS[variable]}; the coordinate dataset names the reference", synthetic)
            out = save_cube(ratios, work / f"bias_ratio_{variable}.nc")
            written.append(out)
            provlog.log(out, _record(
                f"Bias ratio (CMIP6-MMEM - reference) / CMIP6-MMEM of the {period} annual-mean "
                f"{VARIABLE_LABELS[variable]} against {', '.join(sorted(refs))}; cells with |CMIP6-MMEM| < "
                f"{thresholds[variable]:g} {MAP_UNITS[variable]} are masked.", ancestors, names, ["diff"], "geo"))
    return written


def _monthly(cube: iris.cube.Cube, months: np.ndarray) -> np.ndarray:
    """(n_months, lat, lon) float64 data of ``cube`` on the month axis ``months`` (NaN where absent).

    Reads the cube's data without keeping it in the cube, so that only the
    fields in use are in memory.
    """
    own = months_of(cube.coord("time"))
    raw = cube.lazy_data().compute()
    data = np.array(np.ma.getdata(raw), dtype=np.float64)
    data[np.ma.getmaskarray(raw)] = np.nan
    if own.shape == months.shape and (own == months).all():
        return data
    out = np.full((len(months), *data.shape[1:]), np.nan)
    pos = np.clip(np.searchsorted(months, own), 0, len(months) - 1)
    inside = months[pos] == own
    out[pos[inside]] = data[inside]
    return out


def _refuse_familyless_mean(filename: str, meta: dict[str, Any]) -> None:
    if "multi_model_statistics" in meta and not meta.get("family"):
        msg = (f"{filename}: multi-model mean of {meta['short_name']} without a `family` facet; "
               "ESMValCore grouped every model without one together: give each model in the "
               "recipe a `family`")
        raise ValueError(msg)


def sampled_problem(filename: str, short_name: str, n_steps: int = 3) -> str | None:
    """Why a member's monthly field is unusable, from its units and ``n_steps`` time steps, or None.

    The same checks as the regional series (:mod:`smeval.diag.checks`), on
    the first, middle and last time steps only: a unit error or an empty
    member shows in any of them, and the whole field is read once, later,
    for the maps.
    """
    try:
        cube = load_cube(filename)
        problem = in_expected_units(cube, short_name)
        if problem or not cube.coords("time", dim_coords=True):
            return problem
        axis = cube.coord_dims("time")[0]
        n_time = cube.shape[axis]
        steps = sorted({0, n_time // 2, n_time - 1})[:n_steps]
        sample = da.take(cube.lazy_data(), steps, axis=axis)
        return value_problem(dask.compute(lazy_value_summary(sample))[0], short_name)
    except (OSError, ValueError, iris.exceptions.IrisError) as exc:
        return f"failed to load {filename}: {exc}"


def _in_units(cube: iris.cube.Cube, variable: str) -> iris.cube.Cube:
    """``cube`` converted (lazily) to the units expected of ``variable``; checked by :func:`sampled_problem`."""
    problem = in_expected_units(cube, variable)
    if problem:
        raise ValueError(problem)
    return cube


#: CMOR variables of the correlation maps.
CORRELATION_VARIABLES = ("mrsos", "pr", "evspsbl")
def correlation_fields(cfg: dict[str, Any]) -> list[Path]:
    """Write the correlation of shallow soil moisture with P - E (Fig. 11).

    The inputs are the monthly fields that the regional series read (the
    ancestors ``soil_moisture/mrsos``, ``water_budget/pr`` and
    ``water_budget/evspsbl``), so ESMValCore reads and decodes them once for
    both. The recipe's ``correlation_steps`` option (ESMValCore functions:
    ``ensemble_statistics``, then ``regrid``) makes each model's ensemble
    mean on the common grid, one model at a time; references are regridded.
    A data set whose members the steps cannot combine is listed in
    ``excluded.csv`` and left out of the maps.
    """
    options = parse_options(CorrelationOptions, cfg, recipe_key(cfg, CorrelationOptions.SCRIPT))
    inputs = {f: m for f, m in cfg["input_data"].items() if m.get("short_name") in CORRELATION_VARIABLES}
    families, _, references = _ensemble_inputs(options, inputs.values())
    # Observations that are no reference never become models; members with
    # wrong units or implausible values are left out, as the series do.
    inputs = {f: m for f, m in inputs.items()
              if m["dataset"] in references or is_model(m["dataset"], m.get("project", ""), references)}
    excluded: list[dict[str, str]] = []
    excluded_files: list[str] = []
    for filename, meta in sorted(inputs.items()):
        _refuse_familyless_mean(filename, meta)
        problem = sampled_problem(filename, meta["short_name"])
        if problem:
            logger.warning("Excluded %s %s from the correlation maps: %s", meta["dataset"], filename, problem)
            excluded.append({"dataset": meta["dataset"], "member": str(meta.get("ensemble", "")),
                             "project": str(meta.get("project", "")), "variable": meta["short_name"],
                             "reason": f"correlation maps: {problem}"})
            excluded_files.append(filename)
            del inputs[filename]
    steps = EnsembleSteps(options.correlation_steps)

    # (variable, data set) -> its members' files, in member order.
    sources: dict[tuple[str, str], list[str]] = defaultdict(list)
    for filename, meta in sorted(inputs.items(), key=lambda item: str(item[1].get("ensemble", ""))):
        sources[(meta["short_name"], meta["dataset"])].append(filename)
    cubes: dict[tuple[str, str], iris.cube.Cube] = {}
    complete = sorted(d for (v, d) in sources if v == "mrsos" and all((w, d) in sources for w in CORRELATION_VARIABLES))
    for dataset in complete:
        for variable in CORRELATION_VARIABLES:
            files = sources[(variable, dataset)]
            try:
                # Lazy: the data are read when the maps need them, one data set at a time.
                cubes[(variable, dataset)] = steps.apply([_in_units(load_cube(f), variable) for f in files],
                                                         ensemble=dataset not in references)
            except (ValueError, iris.exceptions.IrisError) as exc:
                reason = f"correlation maps: {variable} of {len(files)} member(s) ({', '.join(files)}): {exc}"
                logger.warning("Excluded %s from the correlation maps: %s", dataset, reason)
                excluded.append({"dataset": dataset, "member": "", "project": str(inputs[files[0]].get("project", "")),
                                 "variable": variable, "reason": reason})
    complete = [d for d in complete if all((v, d) in cubes for v in CORRELATION_VARIABLES)]
    work = Path(cfg["work_dir"])
    written = []
    with ProvenanceLogger(cfg) as provlog:
        if excluded:
            out = work / outputs.EXCLUDED
            write_csv(out, excluded, EXCLUDED_COLUMNS)
            written.append(out)
            provlog.log(out, _record("Data sets left out of the correlation maps, and why.",
                                     excluded_files + [f for row in excluded
                                                       for f in sources.get((row["variable"], row["dataset"]), [])],
                                     sorted({row["dataset"] for row in excluded}), ["corr"]))
        if not complete:
            logger.warning("No data set with mrsos, pr and evspsbl: no correlation maps written")
            return written
        complete_cubes = {v_d: c for v_d, c in cubes.items() if v_d[1] in complete}
        written += _write_correlations(cfg, options, provlog, complete_cubes, sources, families, references)
    return written


def _write_correlations(cfg, options: CorrelationOptions, provlog, cubes, sources, families,
                        references) -> list[Path]:
    """Correlation maps of the references and of CMIP6-MMEM from ``cubes``: (variable, data set) -> field."""
    alpha = 1.0 - options.significance_level
    effective_n = options.significance_method == "effective-sample-size"
    period = options.period
    fdr_alpha = options.fdr_alpha
    complete = sorted({d for _, d in cubes})
    all_months = np.concatenate([months_of(cubes[(v, d)].coord("time")) for v in CORRELATION_VARIABLES for d in complete])
    months = np.arange(all_months.min(), all_months.max() + 1)
    template = cubes[("mrsos", complete[0])]
    synthetic = any(is_synthetic(c) for c in cubes.values())

    def soil(dataset):
        return _monthly(cubes[("mrsos", dataset)], months)

    def pme(dataset):
        flux = _monthly(cubes[("pr", dataset)], months)
        flux -= _monthly(cubes[("evspsbl", dataset)], months)
        return flux

    models = [d for d in complete if d not in references]
    # Loaders, so that one data set's fields at a time are in memory.
    pairs: dict[str, Any] = {d: (lambda d=d: (soil(d), pme(d))) for d in complete if d in references}
    if models:
        # Each model's ensemble mean; the MMEM is the mean over families.
        # Monthly fields on the common grid are large (432 x 160 x 320 each):
        # one input at a time.
        sm = streamed_mmem({m: (lambda m=m: soil(m)) for m in models}, families)
        flux = streamed_mmem({m: (lambda m=m: pme(m)) for m in models}, families)
        pairs[MMEM_ALL] = lambda: (sm, flux)
    written = []
    work = Path(cfg["work_dir"])
    for name, load in pairs.items():
        x, y = load()
        result = gridpoint_correlation(x, y, alpha=alpha, effective_n=effective_n)
        out_cubes = iris.cube.CubeList([
            _field_cube(result.R, template, name, "1", "correlation of shallow soil moisture with P - E", synthetic),
            _field_cube(result.p_value, template, name, "1", "two-sided p-value of the correlation", synthetic),
            _field_cube(result.significant.astype(float), template, name, "1",
                        f"significant at the {100 * (1 - alpha):g} % level", synthetic),
        ])
        for cube, short in zip(out_cubes, ("r", "p_value", "significant"), strict=True):
            cube.var_name = short
        method = ("effective sample size from lag-1 autocorrelation (Bretherton et al. 1999)"
                  if effective_n else "n - 2 degrees of freedom")
        test = f"two-sided t test at the {100 * (1 - alpha):g} % level with {method}"
        out_cubes[2].attributes["smeval_significance"] = f"each cell alone: {test}"
        if fdr_alpha is not None:
            out_cubes.append(_fdr_cube(result.p_value, float(fdr_alpha), template, name, synthetic,
                                       f"{method}; {int(result.significant.sum())} cells significant one by one "
                                       f"at the {100 * (1 - alpha):g} % level"))
            test = out_cubes[-1].attributes["smeval_significance"]
        out = save_cube(out_cubes, work / f"correlation_{name}.nc")
        written.append(out)
        used = models if name == MMEM_ALL else [name]
        what = name
        if name == MMEM_ALL:
            family_names = sorted({families[m] for m in models})
            what = f"{name} (mean over the {len(family_names)} family means of {', '.join(family_names)})"
        provlog.log(out, _record(
            f"Correlation of monthly shallow soil moisture with P - E of {what}, {period}, per grid cell "
            f"on the common {grid_spacing(out_cubes[-1])} degree grid; significance: {test}.",
            [f for d in used for v in CORRELATION_VARIABLES for f in sources[(v, d)]], used,
            ["corr"], "geo", extra_references=(["bretherton99jc"] if effective_n else [])
            + ([] if fdr_alpha is None else list(FDR_REFERENCES))))
    return written


#: Citations of the false discovery rate control.
FDR_REFERENCES = ("benjamini95jrssb", "wilks16bams")


def _fdr_cube(p_value, fdr_alpha: float, template, name: str, synthetic: bool, method: str) -> iris.cube.Cube:
    """0/1 field of the cells that survive Benjamini-Hochberg at ``fdr_alpha`` over all land cells (var ``significant_fdr``).

    ``method`` describes the t test of the p-values (for the attribute ``smeval_significance``).
    """
    survives = benjamini_hochberg(p_value, fdr_alpha)
    tested = int(np.isfinite(p_value).sum())
    cube = _field_cube(survives.astype(float), template, name, "1",
                       f"survives Benjamini-Hochberg control of the false discovery rate at {fdr_alpha:g}", synthetic)
    cube.var_name = "significant_fdr"
    cube.attributes["smeval_significance"] = (
        f"Benjamini-Hochberg control of the false discovery rate at alpha_FDR = {fdr_alpha:g} (Wilks 2016) over "
        f"the p-values of all {tested} land cells, from the two-sided t test with {method}; "
        f"{int(survives.sum())} cells survive")
    return cube
