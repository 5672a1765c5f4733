"""The work of ``diagnostics/climatology_fields.py``: climatology and bias-ratio maps (Figs. 2-4).

Inputs are per-member 1979-2014 climatologies on the common grid, written
by the regional-series scripts (:mod:`smeval.diag.map_climatologies`).
Models are combined into CMIP6-MMEM with the hierarchical weighting of SPEC
section 4; the results are written as NetCDF (docs/results.md) with the
helpers both map scripts share (:mod:`smeval.diag.map_fields`).
"""

from __future__ import annotations

import functools
import logging
import operator
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import cf_units
import iris.coords
import iris.cube
import numpy as np

from smeval.core.ensemble import MMEM_ALL, hierarchical_means, nanmean_of
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
#: P - E and P - E - R: the fluxes each is made of, the first minus the others.
BUDGETS = MappingProxyType(
    {"pme": ("pr", "evspsbl"), "pmer": ("pr", "evspsbl", "mrros")}
)
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
    kg m-2 s-1); fluxes become a depth of water per Julian year. ``cube``
    itself stays lazy.
    """
    # Realise a copy: realising ``cube`` would keep its data in the inputs
    # after the member's mean is taken, every member's at the end.
    values = cube.copy()
    values.data = np.ma.filled(np.ma.asarray(values.data, dtype=float), np.nan)
    if variable in FLUXES:
        values.units = values.units / WATER_DENSITY
    values.convert_units(MAP_UNITS[variable])
    return values.data


@dataclass
class _Inputs:
    """The maps' usable inputs, unread: (variable, data set) -> member -> lazy cube, and the files of each.

    ``sources`` also has the budgets of each data set that has their fluxes
    (:func:`_add_budget_sources`); ``cubes`` only the variables read.
    """

    cubes: dict[tuple[str, str], dict[str, iris.cube.Cube]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    sources: dict[tuple[str, str], list[str]] = field(
        default_factory=lambda: defaultdict(list)
    )
    template: iris.cube.Cube | None = None
    synthetic: bool = False

    def variables(self) -> list[str]:
        """Return the variables of the maps, budgets included, sorted."""
        return sorted({v for v, _ in self.sources})

    def datasets(self, variable: str) -> list[str]:
        """Return the data sets with maps of ``variable``, in the order found."""
        return [d for v, d in self.sources if v == variable]

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
    series (:mod:`smeval.diag.map_climatologies`). One member's map is read
    at a time; what is held are maps of data sets (see below).
    """
    options = parse_options(ClimatologyOptions, cfg, ClimatologyOptions.SCRIPT)
    inputs = find_climatologies(cfg["ancestor_dirs"])
    families, n_lat, references = ensemble_inputs(
        options, [meta for _, meta, _ in inputs]
    )
    found = _group_inputs(inputs, references)
    if found.template is None:
        logger.warning("No input fields: no maps written")
        return []
    work = Path(cfg["work_dir"])
    written = []
    # Variable by variable, so that the maps of one variable's data sets are
    # held at a time (they go out of scope in _write_maps), and the member
    # means of the fluxes, kept in flux_means because P - E and P - E - R are
    # made of them: each member of a flux is read once, and at most three
    # maps per data set are kept.
    flux_means: dict[tuple[str, str], np.ndarray] = {}
    with ProvenanceLogger(cfg) as provlog:
        for variable in found.variables():
            written += _write_maps(
                _MapWriter(options, found, variable, work, provlog),
                _dataset_maps(found, variable, references, flux_means),
                references,
                families,
                n_lat,
            )
    return written


def _write_maps(
    map_write: _MapWriter,
    maps: dict[str, np.ndarray],
    references,
    families,
    n_lat,
) -> list[Path]:
    """Write the climatology of CMIP6-MMEM and the references, and the bias ratios; return the files.

    ``maps`` are the data sets' maps of the writer's variable
    (:func:`_dataset_maps`).
    """
    # References in the order of the references option, so that the
    # file's dataset axis does not depend on the order the inputs were found.
    refs = {ref: maps[ref] for ref in references if ref in maps}
    # A model's map is already its member mean: the mean of one array in
    # hierarchical_means is that array, bit for bit.
    models = {d: [m] for d, m in maps.items() if d not in references}
    mmem = None
    if models:
        means = hierarchical_means(
            models, families, {m: n_lat.get(m, 0) for m in models}
        )
        mmem = np.asarray(means.mmem[MMEM_ALL])
    written = [map_write.climatology(mmem, refs, len(models))]
    if mmem is not None and refs:
        written.append(map_write.bias_ratios(mmem, refs))
    return written


def _group_inputs(inputs, references) -> _Inputs:
    """Group the usable member climatologies of ``inputs``, unread; log and leave out the others."""
    found = _Inputs()
    for filename, meta, cube in inputs:
        problem = input_problem(meta, cube, references)
        if problem:
            logger.warning("Left out of the maps: %s: %s", filename, problem)
            continue
        found.template = found.template or cube
        found.synthetic |= is_synthetic(cube)
        dataset, member, short = (
            meta["dataset"],
            str(meta.get("ensemble", "")),
            meta["short_name"],
        )
        variable = "sm_shallow" if short == "mrsos" else short
        found.cubes[(variable, dataset)][member] = cube
        found.sources[(variable, dataset)].append(filename)
    _add_budget_sources(found)
    return found


def _add_budget_sources(found: _Inputs) -> None:
    """Add P - E and P - E - R of each data set that has their fluxes; their files are the fluxes'."""
    for dataset in dict.fromkeys(d for _, d in found.cubes):
        for budget, fluxes in BUDGETS.items():
            if all((flux, dataset) in found.cubes for flux in fluxes):
                found.sources[(budget, dataset)] = [
                    f
                    for flux in fluxes
                    for f in found.sources[(flux, dataset)]
                ]


def _dataset_maps(
    found: _Inputs,
    variable: str,
    references,
    flux_means: dict[tuple[str, str], np.ndarray],
) -> dict[str, np.ndarray]:
    """Each data set's map of ``variable``: a model's member mean, a reference's first member.

    A budget is the first of its fluxes' member means minus the others, for
    references too: linear, so the mean of the differences equals the
    difference of the means.
    """
    maps = {}
    for dataset in found.datasets(variable):
        if variable in BUDGETS:
            maps[dataset] = functools.reduce(
                operator.sub,
                (
                    _member_mean(found, (flux, dataset), flux_means)
                    for flux in BUDGETS[variable]
                ),
            )
        elif dataset in references:
            # Its first member's field, as the maps always took (a reference
            # has one member in practice; its budgets average all).
            first = next(iter(found.cubes[(variable, dataset)].values()))
            maps[dataset] = _map_values(first, variable)
        else:
            maps[dataset] = _member_mean(
                found, (variable, dataset), flux_means
            )
    return maps


def _member_mean(
    found: _Inputs,
    key: tuple[str, str],
    flux_means: dict[tuple[str, str], np.ndarray],
) -> np.ndarray:
    """Mean of the members of ``key`` (variable, data set), read one at a time; a flux's is kept in ``flux_means``."""
    if key in flux_means:
        return flux_means[key]
    variable, dataset = key
    members = found.cubes[key].values()
    if len(members) == 1:
        # The member's map as it is (nanmean_of would turn -0.0 into 0.0 and
        # inf into NaN): a one-member data set's budget is then exactly the
        # difference of its fluxes' maps, as np.nanmean of one map gives.
        mean = _map_values(next(iter(members)), variable)
    else:
        # nanmean_of adds the members in order, then divides: the numbers of
        # np.nanmean over the stacked members, without the stack, except
        # where a member is infinite (left out, as in the MMEM) or every
        # member is -0.0 (0.0).
        mean = nanmean_of(
            (_map_values(cube, variable) for cube in members),
            what=f"members of {dataset} {variable}",
        )
    if variable in FLUXES:
        flux_means[key] = mean
    return mean


@dataclass(frozen=True)
class _MapWriter:
    """Writes the climatology and bias-ratio files of one variable, with their provenance."""

    options: ClimatologyOptions
    inputs: _Inputs
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
                self.inputs.template,
                variable,
                MAP_UNITS[variable],
                f"{period} climatology of {VARIABLE_LABELS[variable]}",
                self.inputs.synthetic,
                [iris.coords.CellMethod("mean", "time")],
                standard_name(variable),
            ),
            self.work / f"climatology_{variable}.nc",
        )
        self.provlog.log(
            out,
            field_record(
                f"{period} annual-mean climatology of {VARIABLE_LABELS[variable]} ({MAP_UNITS[variable]}) of "
                f"{', '.join(names)} on the common {grid_spacing(self.inputs.template)} degree grid, land only; "
                f"CMIP6-MMEM is the mean over model families of {n_models} models.",
                self.inputs.ancestors(variable),
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
            self.inputs.template,
            "bias_ratio",
            "1",
            f"bias ratio (CMIP6-MMEM - reference) / CMIP6-MMEM of the {period} "
            f"climatology of {VARIABLE_LABELS[variable]}; the coordinate dataset names the reference",
            self.inputs.synthetic,
        )
        out = save_cube(ratios, self.work / f"bias_ratio_{variable}.nc")
        self.provlog.log(
            out,
            field_record(
                f"Bias ratio (CMIP6-MMEM - reference) / CMIP6-MMEM of the {period} annual-mean "
                f"{VARIABLE_LABELS[variable]} against {', '.join(sorted(refs))}; cells with |CMIP6-MMEM| < "
                f"{threshold:g} {MAP_UNITS[variable]} are masked.",
                self.inputs.ancestors(variable),
                [MMEM_ALL, *refs],
                ["diff"],
                "geo",
            ),
        )
        return out
