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
from dataclasses import dataclass, field
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


@dataclass
class _Fields:
    """The maps' inputs, read: (variable, data set) -> member -> 2-D field, and the files of each."""

    fields: dict[tuple[str, str], dict[str, np.ndarray]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    sources: dict[tuple[str, str], list[str]] = field(
        default_factory=lambda: defaultdict(list)
    )
    template: iris.cube.Cube | None = None
    synthetic: bool = False

    def ancestors(self, variable: str) -> list[str]:
        """Return the member files behind the maps of ``variable``."""
        return [
            f
            for (v, _), fs in self.sources.items()
            if v == variable
            for f in fs
        ]


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
    read = _read_fields(inputs, references)
    if read.template is None:
        logger.warning("No input fields: no maps written")
        return []
    _add_budgets(read)
    work = Path(cfg["work_dir"])
    written = []
    with ProvenanceLogger(cfg) as provlog:
        for variable in sorted({v for v, _ in read.fields}):
            models = {
                d: list(m.values())
                for (v, d), m in read.fields.items()
                if v == variable and d not in references
            }
            # References in the order of the references option, so that the
            # file's dataset axis does not depend on the order the inputs were found.
            refs = {
                ref: next(iter(read.fields[(variable, ref)].values()))
                for ref in references
                if (variable, ref) in read.fields
            }
            mmem = None
            if models:
                means = hierarchical_means(
                    models, families, {m: n_lat.get(m, 0) for m in models}
                )
                mmem = np.asarray(means.mmem[MMEM_ALL])
            map_write = _MapWriter(options, read, variable, work, provlog)
            written.append(map_write.climatology(mmem, refs, len(models)))
            if mmem is not None and refs:
                written.append(map_write.bias_ratios(mmem, refs))
    return written


def _read_fields(inputs, references) -> _Fields:
    """Each usable member climatology of ``inputs``, in the maps' units; the others are logged and left out."""
    read = _Fields()
    for filename, meta, cube in inputs:
        problem = input_problem(meta, cube, references)
        if problem:
            logger.warning("Left out of the maps: %s: %s", filename, problem)
            continue
        read.template = read.template or cube
        read.synthetic |= is_synthetic(cube)
        dataset, member, short = (
            meta["dataset"],
            str(meta.get("ensemble", "")),
            meta["short_name"],
        )
        variable = "sm_shallow" if short == "mrsos" else short
        read.fields[(variable, dataset)][member] = _map_values(cube, variable)
        read.sources[(variable, dataset)].append(filename)
    return read


def _add_budgets(read: _Fields) -> None:
    """Add P - E and P - E - R of each data set, from its own member-mean fields.

    Linear, so the mean of the differences equals the difference of the means.
    """
    fields, sources = read.fields, read.sources
    for dataset in {d for _, d in fields}:
        mean = {
            v: np.nanmean(
                np.stack(list(fields[(v, dataset)].values())), axis=0
            )
            for v in FLUXES
            if (v, dataset) in fields
        }
        if "pr" not in mean or "evspsbl" not in mean:
            continue
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


@dataclass(frozen=True)
class _MapWriter:
    """Writes the climatology and bias-ratio files of one variable, with their provenance."""

    options: ClimatologyOptions
    read: _Fields
    variable: str
    work: Path
    provlog: ProvenanceLogger

    def climatology(
        self,
        mmem: np.ndarray | None,
        refs: dict[str, np.ndarray],
        n_models: int,
    ) -> Path:
        """Write CMIP6-MMEM (if any) and the references' climatologies; return the file."""
        variable, period = self.variable, self.options.period
        climatologies = ({MMEM_ALL: mmem} if mmem is not None else {}) | refs
        names = list(climatologies)
        out = save_cube(
            datasets_cube(
                climatologies,
                self.read.template,
                variable,
                MAP_UNITS[variable],
                f"{period} climatology of {VARIABLE_LABELS[variable]}",
                self.read.synthetic,
                [iris.coords.CellMethod("mean", "time")],
                standard_name(variable),
            ),
            self.work / f"climatology_{variable}.nc",
        )
        self.provlog.log(
            out,
            field_record(
                f"{period} annual-mean climatology of {VARIABLE_LABELS[variable]} ({MAP_UNITS[variable]}) of "
                f"{', '.join(names)} on the common {grid_spacing(self.read.template)} degree grid, land only; "
                f"CMIP6-MMEM is the mean over model families of {n_models} models.",
                self.read.ancestors(variable),
                names,
                ["clim", "mean"],
                "geo",
            ),
        )
        return out

    def bias_ratios(
        self, mmem: np.ndarray, refs: dict[str, np.ndarray]
    ) -> Path:
        """Write the bias ratio of CMIP6-MMEM against each reference; return the file."""
        variable, period = self.variable, self.options.period
        threshold = {**BIAS_RATIO_MIN, **self.options.bias_ratio_min}[variable]
        ratios = datasets_cube(
            {
                ref: bias_ratio(mmem, values, threshold)
                for ref, values in refs.items()
            },
            self.read.template,
            "bias_ratio",
            "1",
            f"bias ratio (CMIP6-MMEM - reference) / CMIP6-MMEM of the {period} "
            f"climatology of {VARIABLE_LABELS[variable]}; the coordinate dataset names the reference",
            self.read.synthetic,
        )
        out = save_cube(ratios, self.work / f"bias_ratio_{variable}.nc")
        self.provlog.log(
            out,
            field_record(
                f"Bias ratio (CMIP6-MMEM - reference) / CMIP6-MMEM of the {period} annual-mean "
                f"{VARIABLE_LABELS[variable]} against {', '.join(sorted(refs))}; cells with |CMIP6-MMEM| < "
                f"{threshold:g} {MAP_UNITS[variable]} are masked.",
                self.read.ancestors(variable),
                [MMEM_ALL, *refs],
                ["diff"],
                "geo",
            ),
        )
        return out
