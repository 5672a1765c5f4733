"""The work of ``diagnostics/climatology_fields.py``: climatology and bias-ratio maps (Figs. 2-4).

Inputs are per-member 1979-2014 climatologies on the common grid, written
by the regional-series scripts (:mod:`smeval.diag.map_climatologies`).
Models are combined into CMIP6-MMEM with the hierarchical weighting of SPEC
section 4; the results are written as NetCDF (docs/results.md) with the
helpers both map scripts share (:mod:`smeval.diag.map_fields`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import cf_units
import iris.coords
import iris.cube
import numpy as np

from smeval.core.ensemble import MMEM_ALL, hierarchical_means
from smeval.core.fields import bias_ratio
from smeval.variables import MAP_UNITS, VARIABLE_LABELS, standard_name

from .io import is_synthetic, save_cube
from .map_climatologies import find_climatologies
from .map_fields import (
    datasets_cube,
    ensemble_inputs,
    field_record,
    input_problem,
)
from .metrics import EvaluationOptions
from .options import check_choices, check_range, option, parse_options
from .provenance import grid_spacing
from .shared import ProvenanceLogger

logger = logging.getLogger(__name__)

#: Variables of the maps and the CMOR variable each comes from.
FLUXES = ("pr", "evspsbl", "mrros")
#: Default |MMEM| below which a bias ratio is masked, per variable (its units:
#: :data:`smeval.variables.MAP_UNITS`, kg m-2 for soil moisture, mm per
#: Julian year for fluxes).
BIAS_RATIO_MIN = MappingProxyType(
    {
        "sm_shallow": 1.0,
        "sm_deep": 10.0,
        "pr": 10.0,
        "evspsbl": 10.0,
        "mrros": 5.0,
        "pme": 10.0,
        "pmer": 10.0,
    }
)


@dataclass(frozen=True)
class ClimatologyOptions(EvaluationOptions):
    """Options of ``diagnostics/climatology_fields.py`` (see its docstring)."""

    SCRIPT: ClassVar[str] = "climatology_fields"
    bias_ratio_min: dict[str, float] = option(
        BIAS_RATIO_MIN,
        "|MMEM| below which a bias ratio is masked",
        "kg m-2 (soil moisture), mm Julian_year-1 (fluxes)",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choices(
            self.SCRIPT, "bias_ratio_min", self.bias_ratio_min, BIAS_RATIO_MIN
        )
        for variable, value in self.bias_ratio_min.items():
            check_range(
                self.SCRIPT,
                f"bias_ratio_min: {variable}",
                value,
                0.0,
                low_open=False,
            )


#: Density of liquid water, as one unit of itself (1000 kg m-3): dividing a
#: water flux by it turns kg m-2 s-1 into mm s-1 without changing the numbers
#: (1 kg m-2 of water is a layer 1 mm deep).
WATER_DENSITY = cf_units.Unit("1000 kg m-3")


def _map_values(cube: iris.cube.Cube, variable: str) -> np.ndarray:
    """float64 values of a member's climatology in :data:`MAP_UNITS` of ``variable`` (NaN where missing).

    ``cube`` is in the units :mod:`smeval.diag.checks` expects (kg m-2 or
    kg m-2 s-1); fluxes become a depth of water per Julian year.
    """
    values = cube.copy(
        np.ma.filled(np.ma.asarray(cube.data, dtype=float), np.nan)
    )
    if variable in FLUXES:
        values.units = values.units / WATER_DENSITY
    values.convert_units(MAP_UNITS[variable])
    return values.data


def climatology_fields(cfg: dict[str, Any]) -> list[Path]:
    """Write climatologies of references and CMIP6-MMEM, and bias ratios.

    The inputs are each member's climatology on the common grid, written by
    the regional-series scripts (the ancestors) from the same read as the
    series (:mod:`smeval.diag.map_climatologies`).
    """
    options = parse_options(ClimatologyOptions, cfg, ClimatologyOptions.SCRIPT)
    inputs = find_climatologies(cfg["ancestor_dirs"])
    families, n_lat, references = ensemble_inputs(
        options, [meta for _, meta, _ in inputs]
    )
    thresholds = {**BIAS_RATIO_MIN, **options.bias_ratio_min}
    period = options.period

    # (variable, dataset) -> member -> 2-D field; and their files.
    fields: dict[tuple[str, str], dict[str, np.ndarray]] = defaultdict(dict)
    sources: dict[tuple[str, str], list[str]] = defaultdict(list)
    template = None
    synthetic = False
    for filename, meta, cube in inputs:
        problem = input_problem(meta, cube, references)
        if problem:
            logger.warning("Left out of the maps: %s: %s", filename, problem)
            continue
        template = template or cube
        synthetic |= is_synthetic(cube)
        dataset, member, short = (
            meta["dataset"],
            str(meta.get("ensemble", "")),
            meta["short_name"],
        )
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
        mean = {
            v: np.nanmean(
                np.stack(list(fields[(v, dataset)].values())), axis=0
            )
            for v in FLUXES
            if (v, dataset) in fields
        }
        if "pr" in mean and "evspsbl" in mean:
            fields[("pme", dataset)]["mean"] = mean["pr"] - mean["evspsbl"]
            sources[("pme", dataset)] = (
                sources[("pr", dataset)] + sources[("evspsbl", dataset)]
            )
            if "mrros" in mean:
                fields[("pmer", dataset)]["mean"] = (
                    mean["pr"] - mean["evspsbl"] - mean["mrros"]
                )
                sources[("pmer", dataset)] = (
                    sources[("pme", dataset)] + sources[("mrros", dataset)]
                )

    work = Path(cfg["work_dir"])
    written = []
    with ProvenanceLogger(cfg) as provlog:
        for variable in sorted({v for v, _ in fields}):
            models = {
                d: list(m.values())
                for (v, d), m in fields.items()
                if v == variable and d not in references
            }
            refs = {
                d: next(iter(m.values()))
                for (v, d), m in fields.items()
                if v == variable and d in references
            }
            climatologies = {}
            mmem = None
            if models:
                means = hierarchical_means(
                    models, families, {m: n_lat.get(m, 0) for m in models}
                )
                mmem = np.asarray(means.mmem[MMEM_ALL])
                climatologies[MMEM_ALL] = mmem
            # References in the order of the references option, so that the
            # file's dataset axis does not depend on the order the inputs were found.
            climatologies.update(
                (ref, refs[ref]) for ref in references if ref in refs
            )
            names = list(climatologies)
            ancestors = [
                f
                for (v, _), fs in sources.items()
                if v == variable
                for f in fs
            ]
            out = save_cube(
                datasets_cube(
                    climatologies,
                    template,
                    variable,
                    MAP_UNITS[variable],
                    f"{period} climatology of {VARIABLE_LABELS[variable]}",
                    synthetic,
                    [iris.coords.CellMethod("mean", "time")],
                    standard_name(variable),
                ),
                work / f"climatology_{variable}.nc",
            )
            written.append(out)
            provlog.log(
                out,
                field_record(
                    f"{period} annual-mean climatology of {VARIABLE_LABELS[variable]} ({MAP_UNITS[variable]}) of "
                    f"{', '.join(names)} on the common {grid_spacing(template)} degree grid, land only; CMIP6-MMEM is the mean "
                    f"over model families of {len(models)} models.",
                    ancestors,
                    names,
                    ["clim", "mean"],
                    "geo",
                ),
            )
            if mmem is None or not refs:
                continue
            ratios = datasets_cube(
                {
                    ref: bias_ratio(mmem, refs[ref], thresholds[variable])
                    for ref in references
                    if ref in refs
                },
                template,
                "bias_ratio",
                "1",
                f"bias ratio (CMIP6-MMEM - reference) / CMIP6-MMEM of the {period} "
                f"climatology of {VARIABLE_LABELS[variable]}; the coordinate dataset names the reference",
                synthetic,
            )
            out = save_cube(ratios, work / f"bias_ratio_{variable}.nc")
            written.append(out)
            provlog.log(
                out,
                field_record(
                    f"Bias ratio (CMIP6-MMEM - reference) / CMIP6-MMEM of the {period} annual-mean "
                    f"{VARIABLE_LABELS[variable]} against {', '.join(sorted(refs))}; cells with |CMIP6-MMEM| < "
                    f"{thresholds[variable]:g} {MAP_UNITS[variable]} are masked.",
                    ancestors,
                    names,
                    ["diff"],
                    "geo",
                ),
            )
    return written
