"""The work of ``diagnostics/correlation_fields.py``: correlation maps of soil moisture with P - E (Fig. 11).

Inputs are the monthly fields ESMValCore preprocessed for the regional
series, of which each model's ensemble mean is taken and regridded here
with ESMValCore's functions (the ``correlation_steps`` option). Models are
combined into CMIP6-MMEM with the hierarchical weighting of SPEC section 4;
the results are written as NetCDF (docs/results.md) with the helpers both
map scripts share (:mod:`smeval.diag.map_fields`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import dask
import dask.array as da
import iris
import iris.cube
import iris.exceptions
import numpy as np

from smeval import defaults, outputs
from smeval.core.correlation import (
    DEFAULT_FDR_ALPHA,
    benjamini_hochberg,
    gridpoint_correlation,
)
from smeval.core.ensemble import MMEM_ALL, streamed_mmem
from smeval.metrics.series import months_of

from .checks import in_expected_units, lazy_value_summary, value_problem
from .io import EXCLUDED_COLUMNS, is_synthetic, load_cube, save_cube, write_csv
from .map_fields import ensemble_inputs, field_cube, field_record
from .metrics import EvaluationOptions
from .options import (
    check_choices,
    check_range,
    is_model,
    option,
    parse_options,
    recipe_key,
)
from .preprocess import EnsembleSteps
from .provenance import grid_spacing
from .shared import ProvenanceLogger

logger = logging.getLogger(__name__)

#: Significance tests of the correlation maps.
SIGNIFICANCE_METHODS = ("t-test", "effective-sample-size")


#: The correlation maps' steps when the recipe gives none: ESMValCore's
#: ensemble mean, then the common grid.
CORRELATION_STEPS = MappingProxyType(
    {
        "ensemble_statistics": {"statistics": ["mean"]},
        "regrid": {
            "target_grid": defaults.COMMON_GRID,
            "scheme": {"reference": "smeval.regrid:AreaWeighted"},
        },
    }
)


@dataclass(frozen=True)
class CorrelationOptions(EvaluationOptions):
    """Options of ``diagnostics/correlation_fields.py`` (see its docstring)."""

    SCRIPT: ClassVar[str] = "correlation_fields"
    correlation_steps: dict[str, Any] = option(
        CORRELATION_STEPS,
        "steps of the correlation branch, in order: ensemble mean, regrid",
        check=EnsembleSteps.check,
    )
    significance_level: float = option(
        0.95, "confidence level of the two-sided t test", "1"
    )
    significance_method: str = option(
        "t-test", "significance test of each cell"
    )
    fdr_alpha: float | None = option(
        DEFAULT_FDR_ALPHA,
        "field significance: Benjamini-Hochberg control of "
        "the false discovery rate at this alpha_FDR",
        "1",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(
            self.SCRIPT,
            "significance_level",
            self.significance_level,
            0.0,
            1.0,
        )
        if self.fdr_alpha is not None:
            check_range(self.SCRIPT, "fdr_alpha", self.fdr_alpha, 0.0, 1.0)
        check_choices(
            self.SCRIPT,
            "significance_method",
            [self.significance_method],
            SIGNIFICANCE_METHODS,
        )


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
        msg = (
            f"{filename}: multi-model mean of {meta['short_name']} without a `family` facet; "
            "ESMValCore grouped every model without one together: give each model in the "
            "recipe a `family`"
        )
        raise ValueError(msg)


def sampled_problem(
    filename: str, short_name: str, n_steps: int = 3
) -> str | None:
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
        return value_problem(
            dask.compute(lazy_value_summary(sample))[0], short_name
        )
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
    options = parse_options(
        CorrelationOptions, cfg, recipe_key(cfg, CorrelationOptions.SCRIPT)
    )
    inputs = {
        f: m
        for f, m in cfg["input_data"].items()
        if m.get("short_name") in CORRELATION_VARIABLES
    }
    families, _, references = ensemble_inputs(options, inputs.values())
    # Observations that are no reference never become models; members with
    # wrong units or implausible values are left out, as the series do.
    inputs = {
        f: m
        for f, m in inputs.items()
        if m["dataset"] in references
        or is_model(m["dataset"], m.get("project", ""), references)
    }
    excluded: list[dict[str, str]] = []
    excluded_files: list[str] = []
    for filename, meta in sorted(inputs.items()):
        _refuse_familyless_mean(filename, meta)
        problem = sampled_problem(filename, meta["short_name"])
        if problem:
            logger.warning(
                "Excluded %s %s from the correlation maps: %s",
                meta["dataset"],
                filename,
                problem,
            )
            excluded.append(
                {
                    "dataset": meta["dataset"],
                    "member": str(meta.get("ensemble", "")),
                    "project": str(meta.get("project", "")),
                    "variable": meta["short_name"],
                    "reason": f"correlation maps: {problem}",
                }
            )
            excluded_files.append(filename)
            del inputs[filename]
    steps = EnsembleSteps(options.correlation_steps)

    # (variable, data set) -> its members' files, in member order.
    sources: dict[tuple[str, str], list[str]] = defaultdict(list)
    for filename, meta in sorted(
        inputs.items(), key=lambda item: str(item[1].get("ensemble", ""))
    ):
        sources[(meta["short_name"], meta["dataset"])].append(filename)
    cubes: dict[tuple[str, str], iris.cube.Cube] = {}
    complete = sorted(
        d
        for (v, d) in sources
        if v == "mrsos"
        and all((w, d) in sources for w in CORRELATION_VARIABLES)
    )
    for dataset in complete:
        for variable in CORRELATION_VARIABLES:
            files = sources[(variable, dataset)]
            try:
                # Lazy: the data are read when the maps need them, one data set at a time.
                cubes[(variable, dataset)] = steps.apply(
                    [_in_units(load_cube(f), variable) for f in files],
                    ensemble=dataset not in references,
                )
            except (ValueError, iris.exceptions.IrisError) as exc:
                reason = f"correlation maps: {variable} of {len(files)} member(s) ({', '.join(files)}): {exc}"
                logger.warning(
                    "Excluded %s from the correlation maps: %s",
                    dataset,
                    reason,
                )
                excluded.append(
                    {
                        "dataset": dataset,
                        "member": "",
                        "project": str(inputs[files[0]].get("project", "")),
                        "variable": variable,
                        "reason": reason,
                    }
                )
    complete = [
        d
        for d in complete
        if all((v, d) in cubes for v in CORRELATION_VARIABLES)
    ]
    work = Path(cfg["work_dir"])
    written = []
    with ProvenanceLogger(cfg) as provlog:
        if excluded:
            out = work / outputs.EXCLUDED
            write_csv(out, excluded, EXCLUDED_COLUMNS)
            written.append(out)
            provlog.log(
                out,
                field_record(
                    "Data sets left out of the correlation maps, and why.",
                    excluded_files
                    + [
                        f
                        for row in excluded
                        for f in sources.get(
                            (row["variable"], row["dataset"]), []
                        )
                    ],
                    sorted({row["dataset"] for row in excluded}),
                    ["corr"],
                ),
            )
        if not complete:
            logger.warning(
                "No data set with mrsos, pr and evspsbl: no correlation maps written"
            )
            return written
        complete_cubes = {
            v_d: c for v_d, c in cubes.items() if v_d[1] in complete
        }
        written += _write_correlations(
            cfg,
            options,
            provlog,
            complete_cubes,
            sources,
            families,
            references,
        )
    return written


def _write_correlations(
    cfg,
    options: CorrelationOptions,
    provlog,
    cubes,
    sources,
    families,
    references,
) -> list[Path]:
    """Correlation maps of the references and of CMIP6-MMEM from ``cubes``: (variable, data set) -> field."""
    alpha = 1.0 - options.significance_level
    effective_n = options.significance_method == "effective-sample-size"
    period = options.period
    fdr_alpha = options.fdr_alpha
    complete = sorted({d for _, d in cubes})
    all_months = np.concatenate(
        [
            months_of(cubes[(v, d)].coord("time"))
            for v in CORRELATION_VARIABLES
            for d in complete
        ]
    )
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
    pairs: dict[str, Any] = {
        d: (lambda d=d: (soil(d), pme(d))) for d in complete if d in references
    }
    if models:
        # Each model's ensemble mean; the MMEM is the mean over families.
        # Monthly fields on the common grid are large (432 x 160 x 320 each):
        # one input at a time.
        sm = streamed_mmem(
            {m: (lambda m=m: soil(m)) for m in models}, families
        )
        flux = streamed_mmem(
            {m: (lambda m=m: pme(m)) for m in models}, families
        )
        pairs[MMEM_ALL] = lambda: (sm, flux)
    written = []
    work = Path(cfg["work_dir"])
    for name, load in pairs.items():
        x, y = load()
        result = gridpoint_correlation(
            x, y, alpha=alpha, effective_n=effective_n
        )
        out_cubes = iris.cube.CubeList(
            [
                field_cube(
                    result.R,
                    template,
                    name,
                    "1",
                    "correlation of shallow soil moisture with P - E",
                    synthetic,
                ),
                field_cube(
                    result.p_value,
                    template,
                    name,
                    "1",
                    "two-sided p-value of the correlation",
                    synthetic,
                ),
                field_cube(
                    result.significant.astype(float),
                    template,
                    name,
                    "1",
                    f"significant at the {100 * (1 - alpha):g} % level",
                    synthetic,
                ),
            ]
        )
        for cube, short in zip(
            out_cubes, ("r", "p_value", "significant"), strict=True
        ):
            cube.var_name = short
        method = (
            "effective sample size from lag-1 autocorrelation (Bretherton et al. 1999)"
            if effective_n
            else "n - 2 degrees of freedom"
        )
        test = f"two-sided t test at the {100 * (1 - alpha):g} % level with {method}"
        out_cubes[2].attributes["smeval_significance"] = (
            f"each cell alone: {test}"
        )
        if fdr_alpha is not None:
            out_cubes.append(
                _fdr_cube(
                    result.p_value,
                    float(fdr_alpha),
                    template,
                    name,
                    synthetic,
                    f"{method}; {int(result.significant.sum())} cells significant one by one "
                    f"at the {100 * (1 - alpha):g} % level",
                )
            )
            test = out_cubes[-1].attributes["smeval_significance"]
        out = save_cube(out_cubes, work / f"correlation_{name}.nc")
        written.append(out)
        used = models if name == MMEM_ALL else [name]
        what = name
        if name == MMEM_ALL:
            family_names = sorted({families[m] for m in models})
            what = f"{name} (mean over the {len(family_names)} family means of {', '.join(family_names)})"
        provlog.log(
            out,
            field_record(
                f"Correlation of monthly shallow soil moisture with P - E of {what}, {period}, per grid cell "
                f"on the common {grid_spacing(out_cubes[-1])} degree grid; significance: {test}.",
                [
                    f
                    for d in used
                    for v in CORRELATION_VARIABLES
                    for f in sources[(v, d)]
                ],
                used,
                ["corr"],
                "geo",
                extra_references=(["bretherton99jc"] if effective_n else [])
                + ([] if fdr_alpha is None else list(FDR_REFERENCES)),
            ),
        )
    return written


#: Citations of the false discovery rate control.
FDR_REFERENCES = ("benjamini95jrssb", "wilks16bams")


def _fdr_cube(
    p_value,
    fdr_alpha: float,
    template,
    name: str,
    synthetic: bool,
    method: str,
) -> iris.cube.Cube:
    """0/1 field of the cells that survive Benjamini-Hochberg at ``fdr_alpha`` over all land cells (var ``significant_fdr``).

    ``method`` describes the t test of the p-values (for the attribute ``smeval_significance``).
    """
    survives = benjamini_hochberg(p_value, fdr_alpha)
    tested = int(np.isfinite(p_value).sum())
    cube = field_cube(
        survives.astype(float),
        template,
        name,
        "1",
        f"survives Benjamini-Hochberg control of the false discovery rate at {fdr_alpha:g}",
        synthetic,
    )
    cube.var_name = "significant_fdr"
    cube.attributes["smeval_significance"] = (
        f"Benjamini-Hochberg control of the false discovery rate at alpha_FDR = {fdr_alpha:g} (Wilks 2016) over "
        f"the p-values of all {tested} land cells, from the two-sided t test with {method}; "
        f"{int(survives.sum())} cells survive"
    )
    return cube
