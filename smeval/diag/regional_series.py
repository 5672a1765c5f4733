"""The work of ``diagnostics/regional_series.py`` (see its docstring)."""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

import dask
import dask.array as da
import iris.coords
import iris.cube
import iris.exceptions
import numpy as np

from smeval import defaults, outputs
from smeval.core.depth import DEEP_DEPTH, SHALLOW_DEPTH, DepthNotReachedError
from smeval.core.regions import ALL_REGIONS
from smeval.metrics.series import months_of
from smeval.preprocessor import (
    box_means,
    climate_mean_of_sums,
    climate_sums,
    climate_sums_apply,
)
from smeval.variables import standard_name

from . import running_mean, time_blocks
from .checks import (
    MRSOS_DEPTH,
    in_expected_units,
    lazy_value_summary,
    missing_months,
    sampled_value_problem,
    value_problem,
)
from .ensemble_fields import ensemble_field_path, save_options
from .ensemble_fields import label as ensemble_label
from .io import (
    EXCLUDED_COLUMNS,
    DelayedSave,
    delayed_save,
    load_cube,
    save_cube,
    series_cube,
    series_path,
    write_csv,
)
from .map_climatologies import climatology_path, label, member_stem
from .options import (
    OBS_PROJECTS,
    OptionsError,
    announce,
    check_choices,
    check_range,
    option,
    parse_options,
    recipe_key,
)
from .preprocess import ENSEMBLE_STEP, EnsembleSteps, apply_steps, check_steps
from .provenance import period, record, series_record
from .shared import ProvenanceLogger, family_of

logger = logging.getLogger(__name__)

#: Fixed fields used as weights rather than evaluated.
FX_NAMES = ("sftlf", "areacella")
#: Global attributes that make a series file self-describing for the metrics.
SERIES_ATTRIBUTES = (
    "smeval_dataset",
    "smeval_project",
    "smeval_member",
    "smeval_variable",
    "smeval_native_nlat",
    "smeval_family",
)
#: Long names of the derived variables.
LONG_NAMES = {
    "sm_shallow": "shallow soil moisture (0-{:g} m)",
    "sm_deep": "deep soil moisture (0-{:g} m)",
}


#: The series branch when the recipe gives none: the depth column (layered
#: variables only), then the regional means.
SERIES_STEPS = MappingProxyType({"soil_column": None, "box_means": None})
#: Options of the series steps that the script sets: the depth of each
#: product (``shallow_depth``, ``deep_depth``) and the regions (``regions``).
SERIES_SUPPLIED = MappingProxyType(
    {"soil_column": ("depth",), "box_means": ("regions",)}
)


#: The correlation branch when the recipe gives none: ESMValCore's ensemble
#: mean of a data set's members, then the common grid.
CORRELATION_STEPS = MappingProxyType(
    {
        "ensemble_statistics": {"statistics": ["mean"]},
        "regrid": {
            "target_grid": defaults.COMMON_GRID,
            "scheme": {"reference": "smeval.regrid:AreaWeighted"},
        },
    }
)


def _check_series_steps(where: str, steps) -> None:
    check_steps(
        where,
        steps,
        SERIES_SUPPLIED,
        required=tuple(SERIES_STEPS),
        last="box_means",
    )


@dataclass(frozen=True)
class SeriesOptions:
    """Options of ``diagnostics/regional_series.py`` (see its docstring); depths in m."""

    regions: tuple[str, ...] = option(
        tuple(r.id for r in ALL_REGIONS), "region ids"
    )
    shallow_depth: float = option(
        SHALLOW_DEPTH, "depth of the shallow product from mrsol", "m"
    )
    deep_depth: float = option(DEEP_DEPTH, "depth of the deep product", "m")
    shallow_from_mrsol: bool = option(
        True, "shallow soil moisture from mrsol without mrsos"
    )
    series_steps: dict[str, Any] = option(
        SERIES_STEPS,
        "steps of the series branch, in order (soil_column, ..., box_means)",
        check=_check_series_steps,
    )
    map_variables: tuple[str, ...] = option(
        (), "CMOR variables whose members' climatologies the maps need"
    )
    map_steps: dict[str, Any] = option(
        MappingProxyType({}),
        "steps of the map branch, in order, from the field before box_means",
        check=check_steps,
    )
    correlation_variables: tuple[str, ...] = option(
        (),
        "CMOR variables whose data sets' monthly fields on the common grid "
        "the correlation maps need",
    )
    correlation_steps: dict[str, Any] = option(
        CORRELATION_STEPS,
        "steps of the correlation branch, in order: ensemble mean, regrid",
        check=EnsembleSteps.check,
    )

    def __post_init__(self) -> None:
        script = "regional_series"
        check_choices(
            script, "regions", self.regions, [r.id for r in ALL_REGIONS]
        )
        check_range(
            script, "shallow_depth", self.shallow_depth, 0.0, units="m"
        )
        check_range(script, "deep_depth", self.deep_depth, 0.0, units="m")
        if self.shallow_depth >= self.deep_depth:
            msg = (
                f"{script}: option `shallow_depth` ({self.shallow_depth:g} m) must be less than "
                f"`deep_depth` ({self.deep_depth:g} m)"
            )
            raise OptionsError(msg)
        for variables, steps in (
            ("map", self.map_steps),
            ("correlation", self.correlation_steps),
        ):
            if getattr(self, f"{variables}_variables") and not steps:
                msg = f"{script}: option `{variables}_variables` is set but `{variables}_steps` names no step"
                raise OptionsError(msg)


def series_options(cfg: dict[str, Any]) -> SeriesOptions:
    """Return the checked options of a regional_series script, consistent with its inputs.

    Raises
    ------
    OptionsError
        If an option is wrong, or ``shallow_depth`` differs from the 0-0.1 m
        of ``mrsos`` while ``mrsos`` is among the inputs (the shallow series
        of the two would mean different columns).
    """
    options = parse_options(
        SeriesOptions, cfg, recipe_key(cfg, "regional_series")
    )
    short_names = {
        m.get("short_name") for m in cfg.get("input_data", {}).values()
    }
    if (
        "mrsos" in short_names
        and abs(options.shallow_depth - MRSOS_DEPTH) > 1e-9
    ):
        msg = (
            f"regional_series: option `shallow_depth` is {options.shallow_depth:g} m, but mrsos (an input) "
            f"is the soil water of 0-{MRSOS_DEPTH:g} m: shallow series would mix both columns"
        )
        announce(msg)
        raise OptionsError(msg)
    return options


def _member(meta: dict[str, Any]) -> str:
    return str(meta.get("ensemble") or "")


def _key(meta: dict[str, Any]) -> tuple[str, str]:
    return str(meta["project"]), str(meta["dataset"])


class _Writer:
    """Writes series files, their provenance, and collects exclusions."""

    def __init__(self, cfg: dict[str, Any], provlog: ProvenanceLogger) -> None:
        self.cfg = cfg
        self.provlog = provlog
        self.excluded: list[dict[str, str]] = []
        self.written: list[Path] = []

    def spill(self) -> time_blocks.SpilledBlocks:
        """Return a place for a whole period's field, block by block, in the script's run folder (scratch)."""
        return time_blocks.SpilledBlocks(self.cfg["run_dir"])

    def write(
        self,
        meta: dict[str, Any],
        ancestor: str,
        variable: str,
        values: np.ndarray,
        cube: iris.cube.Cube,
        region_ids: tuple[str, ...],
        long_name: str,
    ) -> None:
        out = series_path(self.cfg["work_dir"], variable, member_stem(meta))
        values_of = (
            meta["dataset"],
            meta["project"],
            _member(meta),
            variable,
            np.int32(cube.coord("latitude").shape[0]),
            family_of(meta),
        )
        attributes = dict(zip(SERIES_ATTRIBUTES, values_of, strict=True))
        series = series_cube(
            values,
            cube.coord("time"),
            region_ids,
            cube,
            f"regional mean of {long_name}",
            attributes,
        )
        if variable.startswith("sm_"):
            series.var_name = variable
        series.standard_name = standard_name(variable) or cube.standard_name
        series.cell_methods = _series_cell_methods(cube, variable)
        save_cube(series, out)
        record = series_record(
            {**meta, "long_name": long_name}, ancestor, region_ids
        )
        self.provlog.log(out, record)
        self.written.append(out)

    def write_climatology(
        self,
        meta: dict[str, Any],
        ancestor: str,
        cube: iris.cube.Cube,
        steps: Iterable[str],
        name: str,
        column: str | None = None,
    ) -> None:
        """Write one member's climatology of ``name``.

        ``column`` is the long name of a depth column made from the layers of
        ``meta``'s variable (``name`` is then e.g. ``sm_deep``); None when the
        climatology is of the variable itself.
        """
        short_name = meta["short_name"]
        if column is None:
            what, source = (
                f"{meta.get('long_name', short_name)} ({short_name})",
                "the preprocessed data",
            )
        else:
            what = f"{column} ({name})"
            source = f"the soil water of that column computed from the layers of the preprocessed {short_name}"
        meta = {**meta, "short_name": name}
        out = climatology_path(self.cfg["work_dir"], meta)
        save_cube(label(cube, meta), out)
        member = f" member {meta['ensemble']}" if meta.get("ensemble") else ""
        self.provlog.log(
            out,
            record(
                f"Climatology of {what} of {meta['dataset']}{member}, {period(meta)}, for the maps: "
                f"the steps {', '.join(steps)} applied to {source}, from the read that gives "
                "the regional series.",
                [ancestor],
                [meta["dataset"]],
                domains=["global"],
                statistics=["clim", "mean"],
            ),
        )
        self.written.append(out)

    def write_ensemble_field(
        self, members, cube: iris.cube.Cube, steps: Iterable[str]
    ) -> None:
        """Write one data set's monthly field on the common grid, the correlation branch of ``members``."""
        with self.ensemble_field(members, cube, steps) as saving:
            saving.write.compute()

    @contextlib.contextmanager
    def ensemble_field(
        self, members, cube: iris.cube.Cube, steps: Iterable[str]
    ) -> Iterator[DelayedSave]:
        """Save the correlation branch ``cube`` of ``members`` as the caller computes ``write`` (:func:`~smeval.diag.io.delayed_save`); recorded unless discarded."""
        meta = members[0].meta
        names = [_member(m.meta) for m in members if _member(m.meta)]
        out = ensemble_field_path(self.cfg["work_dir"], meta)
        cube = ensemble_label(cube, meta, names, [m.cube for m in members])
        with delayed_save(cube, out, **save_options(cube.shape)) as saving:
            yield saving
        if saving.discarded:
            return
        what = (
            f"the mean of its {len(names)} member(s) {', '.join(names)}"
            if names
            else "its field"
        )
        self.provlog.log(
            out,
            record(
                f"Monthly {meta.get('long_name', meta['short_name'])} ({meta['short_name']}) of "
                f"{meta['dataset']}, {period(meta)}, for the correlation maps: {what}, the steps "
                f"{', '.join(steps)} applied to the preprocessed data, from the read that gives "
                "the regional series.",
                [m.filename for m in members],
                [meta["dataset"]],
                domains=["global"],
                statistics=["mean"],
            ),
        )
        self.written.append(out)

    def exclude(
        self, meta: dict[str, Any], variable: str, reason: str
    ) -> None:
        logger.warning(
            "Excluding %s %s from %s: %s",
            meta["dataset"],
            _member(meta),
            variable,
            reason,
        )
        self.excluded.append(
            {
                "dataset": str(meta["dataset"]),
                "member": _member(meta),
                "project": str(meta.get("project", "")),
                "variable": variable,
                "reason": reason,
            }
        )


def _series_cell_methods(
    cube: iris.cube.Cube, variable: str
) -> tuple[iris.coords.CellMethod, ...]:
    """Return the cell methods of a series.

    The input's cell methods, then the column's sum over its layers (a
    depth column of layered input) and the regional mean over the land in
    each box (``box_means``).
    """
    methods = list(cube.cell_methods)
    if variable.startswith("sm_") and cube.coords("depth", dim_coords=True):
        methods.append(iris.coords.CellMethod("sum", "depth"))
    methods.append(
        iris.coords.CellMethod(
            "mean where land", "area", comments="regional mean over each box"
        )
    )
    return tuple(methods)


def _fixed_fields(
    input_data: dict[str, dict],
) -> dict[tuple[str, str], dict[str, iris.cube.Cube]]:
    fields: dict[tuple[str, str], dict[str, iris.cube.Cube]] = defaultdict(
        dict
    )
    for filename, meta in input_data.items():
        if meta["short_name"] in FX_NAMES:
            # Any member's fixed field describes the model's grid.
            fields[_key(meta)].setdefault(
                meta["short_name"], load_cube(filename)
            )
    return fields


def write_regional_series(cfg: dict[str, Any]) -> list[Path]:
    """Write the regional series of every input; returns the files written.

    Each member is read once: its series branch (``series_steps``) and, for
    the ``map_variables``, its map branch (``map_steps``, from the field the
    series average) are computed together (see :mod:`smeval.diag.map_climatologies`).
    For the ``correlation_variables``, all members of a data set are
    computed together, with the correlation branch (``correlation_steps``:
    their ensemble mean on the common grid; :mod:`smeval.diag.ensemble_fields`).
    A member with wrong units, implausible values, no valid value, missing
    months or unusable soil layers is excluded with the reason
    (:mod:`smeval.diag.checks`).
    """
    options = series_options(cfg)
    input_data = cfg["input_data"]
    fixed = _fixed_fields(input_data)
    has_mrsos = {
        _key(m) for m in input_data.values() if m["short_name"] == "mrsos"
    }

    with ProvenanceLogger(cfg) as provlog:
        writer = _Writer(cfg, provlog)
        _all_products(input_data, options, fixed, has_mrsos, writer)
        evaluated = sorted(
            f for f, m in input_data.items() if m["short_name"] not in FX_NAMES
        )
        if not evaluated:
            logger.warning("No input data: no regional series written")
            return writer.written
        excluded = Path(cfg["work_dir"]) / outputs.EXCLUDED
        write_csv(excluded, writer.excluded, EXCLUDED_COLUMNS)
        provlog.log(
            excluded,
            record(
                "Data sets and members excluded from the regional series and the "
                "maps' climatologies, and why.",
                evaluated,
            ),
        )
    return writer.written


def _all_products(
    input_data: dict[str, dict],
    options: SeriesOptions,
    fixed,
    has_mrsos: set,
    writer: _Writer,
) -> None:
    """Products of every input: one compute per member, or per data set of the ``correlation_variables``."""
    groups = _correlation_groups(input_data, options)
    done = set()
    for filename, meta in sorted(input_data.items()):
        if meta["short_name"] in FX_NAMES:
            continue
        with_mrsos = _key(meta) in has_mrsos
        group = (meta["short_name"], meta["dataset"])
        if group not in groups:
            member = _prepare(
                filename, meta, options, fixed, with_mrsos, writer
            )
            if member is not None:
                computed, _ = _compute(member, options)
                _write_member(member, computed, options, writer)
        elif group not in done:
            done.add(group)
            members = [
                _prepare(f, m, options, fixed, with_mrsos, writer)
                for f, m in groups[group]
            ]
            _dataset_products(
                [m for m in members if m is not None], options, writer
            )


def _products(
    meta, options: SeriesOptions, with_mrsos: bool
) -> tuple[dict, dict]:
    """(depths, (variable, long name)) of one member's products; depth None: not a layered variable."""
    short_name = meta["short_name"]
    if short_name != "mrsol":
        variable = "sm_shallow" if short_name == "mrsos" else short_name
        long_name = (
            LONG_NAMES["sm_shallow"].format(MRSOS_DEPTH)
            if short_name == "mrsos"
            else str(meta.get("long_name", short_name))
        )
        return {short_name: None}, {short_name: (variable, long_name)}
    depths = {"sm_deep": options.deep_depth}
    if options.shallow_from_mrsol and not with_mrsos:
        depths["sm_shallow"] = options.shallow_depth
    return depths, {v: (v, LONG_NAMES[v].format(d)) for v, d in depths.items()}


def with_fixed_fields(
    cube: iris.cube.Cube, fx: dict[str, iris.cube.Cube]
) -> iris.cube.Cube:
    """``cube`` with the data set's cell areas and land fraction attached, as ``box_means`` reads them.

    Raises
    ------
    ValueError
        If a fixed field is not on the grid of ``cube``.
    """
    grid = cube.shape[-2:]
    for cube_fx in fx.values():
        if cube_fx.shape != grid:
            msg = f"{cube_fx.var_name}: fixed field has shape {cube_fx.shape}, the data grid is {grid}"
            raise ValueError(msg)
    dims = (cube.coord_dims("latitude")[0], cube.coord_dims("longitude")[0])
    if "areacella" in fx:
        cube.add_cell_measure(
            iris.coords.CellMeasure(
                fx["areacella"].data,
                standard_name="cell_area",
                var_name="areacella",
                units=fx["areacella"].units,
                measure="area",
            ),
            dims,
        )
    if "sftlf" in fx:
        cube.add_ancillary_variable(
            iris.coords.AncillaryVariable(
                fx["sftlf"].data,
                standard_name="land_area_fraction",
                var_name="sftlf",
                units=fx["sftlf"].units,
            ),
            dims,
        )
    return cube


def _branches(
    cube, depths, options: SeriesOptions, maps: bool
) -> tuple[dict, dict, dict]:
    """Lazy (fields, series, climatologies) of one member's products, or the error of a product."""
    before_means = {
        k: v for k, v in options.series_steps.items() if k != "box_means"
    }
    if all(depth is None for depth in depths.values()):
        before_means.pop("soil_column", None)  # a variable without layers
    fields, series, climatologies = {}, {}, {}
    for name, depth in depths.items():
        try:
            fields[name] = apply_steps(
                cube, before_means, {"soil_column": {"depth": depth}}
            )
        except DepthNotReachedError as exc:
            fields[name] = exc
            continue
        if depth is not None:
            fields[name].var_name = name
        series[name] = box_means(
            fields[name],
            regions=options.regions,
            **(options.series_steps["box_means"] or {}),
        )
        if maps:
            try:
                climatologies[name] = apply_steps(
                    _without_supplementaries(fields[name]), options.map_steps
                )
            except (ValueError, iris.exceptions.IrisError) as exc:
                climatologies[name] = exc
    return fields, series, climatologies


def _without_supplementaries(cube: iris.cube.Cube) -> iris.cube.Cube:
    """Return a copy of ``cube`` (sharing its data) without the native grid's cell measures and ancillaries."""
    cube = cube.copy(cube.core_data())
    for measure in cube.cell_measures():
        cube.remove_cell_measure(measure)
    for ancillary in cube.ancillary_variables():
        cube.remove_ancillary_variable(ancillary)
    return cube


@dataclass(eq=False)
class _Member:
    """One member read for its products: the loaded cube and its lazy products."""

    filename: str
    meta: dict[str, Any]
    cube: iris.cube.Cube
    depths: dict[str, float | None]
    names: dict[str, tuple[str, str]]
    series: dict[str, iris.cube.Cube]
    climatologies: dict[str, iris.cube.Cube]
    summaries: dict[str, tuple]
    fields: dict[str, iris.cube.Cube]

    def lazy(self) -> tuple[dict, dict, dict]:
        """(series, climatologies, value summaries), lazy: the arguments of one ``dask.compute``."""
        return (
            {n: c.core_data() for n, c in self.series.items()},
            {n: c.core_data() for n, c in self.climatologies.items()},
            self.summaries,
        )


def _prepare(
    filename: str,
    meta: dict[str, Any],
    options: SeriesOptions,
    fixed,
    with_mrsos: bool,
    writer: _Writer,
) -> _Member | None:
    """One member's lazy products, or None (and its exclusion with the reason) if its metadata fail the checks."""
    short_name = meta["short_name"]
    depths, names = _products(meta, options, with_mrsos)
    try:
        cube = load_cube(filename)
        problem = in_expected_units(cube, short_name)
        gap = missing_months(
            months_of(cube.coord("time")), meta.get("timerange")
        )
        problem = problem or (f"time axis: {gap}" if gap else None)
        if problem:
            writer.exclude(meta, short_name, problem)
            return None
        cube = with_fixed_fields(cube, fixed.get(_key(meta), {}))
        fields, series, climatologies = _branches(
            cube, depths, options, short_name in options.map_variables
        )
    except (OSError, ValueError, iris.exceptions.IrisError) as exc:
        writer.exclude(meta, short_name, f"failed to load {filename}: {exc}")
        return None
    _exclude_failed(filename, meta, names, fields, climatologies, writer)
    summaries = {
        name: lazy_value_summary(field.core_data())
        for name, field in fields.items()
    }
    return _Member(
        filename,
        meta,
        cube,
        depths,
        names,
        series,
        climatologies,
        summaries,
        fields,
    )


def _write_member(
    member: _Member, computed, options: SeriesOptions, writer: _Writer
) -> bool:
    """Write one member's computed products; False if the value checks excluded any of its series.

    ``computed`` is ``dask.compute(*member.lazy())``.
    """
    meta, filename = member.meta, member.filename
    values, climatologies, summaries = computed
    kept = True
    for name in list(values):
        problem = value_problem(summaries[name], name, member.depths.get(name))
        if problem:
            writer.exclude(meta, member.names[name][0], problem)
            values.pop(name)
            climatologies.pop(name, None)
            kept = False
    for name, series_values in values.items():
        variable, long_name = member.names[name]
        region_ids = tuple(member.series[name].coord("region").points)
        writer.write(
            meta,
            filename,
            variable,
            np.asarray(series_values),
            member.cube,
            region_ids,
            long_name,
        )
    for name, data in climatologies.items():
        climatology = member.climatologies[name]
        climatology.data = data
        writer.write_climatology(
            meta,
            filename,
            climatology,
            options.map_steps,
            name,
            None if name == meta["short_name"] else member.names[name][1],
        )
    return kept


def _correlation_groups(
    input_data: dict[str, dict], options: SeriesOptions
) -> dict[tuple[str, str], list[tuple[str, dict[str, Any]]]]:
    """(variable, data set) -> its members' (file, metadata), in member order, for the ``correlation_variables``.

    Raises
    ------
    ValueError
        If an input is a multi-model mean without a ``family`` facet
        (ESMValCore grouped every model without one together).
    """
    groups = defaultdict(list)
    for filename, meta in sorted(
        input_data.items(), key=lambda item: (_member(item[1]), item[0])
    ):
        if meta["short_name"] not in options.correlation_variables:
            continue
        if "multi_model_statistics" in meta and not meta.get("family"):
            msg = (
                f"{filename}: multi-model mean of {meta['short_name']} without a `family` facet; "
                "ESMValCore grouped every model without one together: give each model in the "
                "recipe a `family`"
            )
            raise ValueError(msg)
        groups[(meta["short_name"], meta["dataset"])].append((filename, meta))
    return dict(groups)


def _dataset_products(
    members: list[_Member], options: SeriesOptions, writer: _Writer
) -> None:
    """All products of one data set's members, and the correlation branch of their fields (their ensemble mean on the common grid).

    Members whose three sampled time steps fail the value checks are left
    out of the mean before it is built. Where the branch starts with
    ESMValCore's ensemble mean, the members are computed a few at a time
    and their mean is a running sum (:mod:`smeval.diag.running_mean`);
    otherwise all of them in one ``dask.compute``.
    """
    if not members:
        return
    sampled = {
        m.filename: sampled_value_problem(m.cube, m.meta["short_name"])
        for m in members
    }
    in_mean = [m for m in members if not sampled[m.filename]]
    # The spilled blocks of the field are read back as it is written.
    with writer.spill() as spill:
        if len(in_mean) > 1 and running_mean.applies(
            options.correlation_steps
        ):
            kept, mean = _one_by_one(members, in_mean, options, writer, spill)
        else:
            kept, mean = _all_at_once(members, in_mean, options, writer, spill)
        for member in members:
            if sampled[member.filename] and member.filename in kept:
                writer.exclude(
                    member.meta,
                    member.meta["short_name"],
                    f"correlation maps: {sampled[member.filename]}",
                )
        if mean is not None:
            used = [m for m in in_mean if m.filename in kept]
            writer.write_ensemble_field(used, mean, options.correlation_steps)


def _one_by_one(
    members: list[_Member],
    in_mean: list[_Member],
    options: SeriesOptions,
    writer: _Writer,
    spill: time_blocks.SpilledBlocks,
) -> tuple[set[str], iris.cube.Cube | None]:
    """(files of the members kept, their correlation branch), computing :data:`~smeval.diag.running_mean.MEMBERS_AT_ONCE` members at a time.

    Members larger than a block of the mean (:func:`_mean_blocks`) are
    computed block by block of months, each block over all members
    (:func:`_summed_in_blocks`; the blocks' means kept in ``spill``); the
    others member by member.
    """
    steps = options.correlation_steps
    ensemble = {ENSEMBLE_STEP: steps[ENSEMBLE_STEP]}
    template = _lazy_mean(in_mean, ensemble, writer)
    summed = {m.filename for m in in_mean} if template is not None else set()
    blocks = _mean_blocks(members, options)
    if len(blocks) > 1:
        kept, mean = _summed_in_blocks(
            members, (summed, template), blocks, options, (writer, spill)
        )
    else:
        kept, total = _summed_member_by_member(
            members, summed, options, writer
        )
        mean = total.mean(template.dtype) if total.members else None
    if mean is None:
        return kept, None
    used = [m for m in in_mean if m.filename in kept]
    return kept, _branch_or_exclude(
        [template.copy(mean)],
        running_mean.after_mean(steps),
        used,
        writer,
        ensemble=False,
    )


def _summed_member_by_member(
    members: list[_Member],
    summed: set[str],
    options: SeriesOptions,
    writer: _Writer,
) -> tuple[set[str], running_mean.RunningMean]:
    """(files of the members kept, the running mean of those kept in ``summed``): each member whole, checked and written before the next."""
    total, kept = running_mean.RunningMean(), set()
    for batch in _batches(members):
        computed = _compute_batch(batch, options, summed)
        for member, (products, added) in zip(batch, computed, strict=True):
            if _write_member(member, products, options, writer):
                kept.add(member.filename)
                if added is not None:
                    total.add(*added)
    return kept, total


def _summed_in_blocks(
    members: list[_Member],
    mean_of: tuple[set[str], iris.cube.Cube | None],
    blocks: list[slice],
    options: SeriesOptions,
    write_to: tuple[_Writer, time_blocks.SpilledBlocks],
) -> tuple[set[str], da.Array | None]:
    """(files of the members kept, the mean of those kept in ``summed``, in the dtype of ``template``, or None): block by block of months, each over all members.

    ``mean_of`` is (``summed``, ``template``: the lazy mean, None if none);
    ``write_to`` is (the writer, where each block's mean is kept: the mean
    returned reads it back lazily).

    The full value check needs a member's whole period, so it comes after
    the last block: a member it excludes from the mean has been added, and
    the blocks are summed again without it (logged: a second read of the
    other members).
    """
    summed, template = mean_of
    writer, spill = write_to

    def block_means(block_members, files, done=None):
        spill.clear()
        for block in blocks:
            # Divided into the block's mean at once, so that the float64
            # sums span one block.
            total = _block_sums(block_members, files, block, options, done)
            if total.members:
                spill.add(total.mean(template.dtype))

    done = dict.fromkeys(m.filename for m in members)
    block_means(members, summed, done)
    computed = [_finished(m, done[m.filename], options) for m in members]
    kept = _write_members(members, computed, options, writer)
    used = [m for m in members if m.filename in summed & kept]
    if not used:
        return kept, None
    if len(used) < len(summed):
        _log_again([m for m in members if m.filename in summed], used)
        block_means(used, {m.filename for m in used})
    return kept, spill.lazy()


def _block_sums(
    members: list[_Member],
    summed: set[str],
    block: slice,
    options: SeriesOptions,
    done: dict | None = None,
) -> running_mean.RunningMean:
    """Return the running mean over the months ``block`` of the members in ``summed``, two members at a time.

    With ``done`` (file -> :func:`_fold` of its blocks before), each
    member's products of the block are computed too and folded in.
    """
    total = running_mean.RunningMean()
    for batch in _batches(members):
        cubes = _read_block(batch, block)
        lazy = [
            (
                None if done is None else _block_products(m, options, cube),
                running_mean.contribution(cube.core_data())
                if m.filename in summed
                else None,
            )
            for m, cube in zip(batch, cubes, strict=True)
        ]
        for member, (products, added) in zip(
            batch, dask.compute(lazy)[0], strict=True
        ):
            if done is not None:
                done[member.filename] = _fold(done[member.filename], products)
            if added is not None:
                total.add(*added)
    return total


def _read_block(members: list[_Member], block: slice) -> list[iris.cube.Cube]:
    """Return each member's cube of the months ``block``, its data read (one hyperslab each) and made lazy again.

    Dask passes a slice of months down to the netCDF read only where the
    slice feeds one result; a block's products and its contribution to the
    mean are several, and dask then read the member's whole chunk for each
    block (all 36 years of a member for every block of 9).
    """
    data = dask.compute(*(m.cube.core_data()[block] for m in members))
    return [
        m.cube[block].copy(da.from_array(d, chunks=d.shape, asarray=False))
        for m, d in zip(members, data, strict=True)
    ]


def _batches(members: list[_Member]) -> Iterator[list[_Member]]:
    """Yield the members in batches of :data:`~smeval.diag.running_mean.MEMBERS_AT_ONCE`."""
    at_once = running_mean.MEMBERS_AT_ONCE
    for start in range(0, len(members), at_once):
        yield members[start : start + at_once]


def _mean_blocks(
    members: list[_Member], options: SeriesOptions
) -> list[slice]:
    """Return the blocks of months of a running mean of ``members`` (:func:`smeval.diag.time_blocks.month_blocks`); [whole period] unless all can be blocked and have the same shape."""
    shapes = {m.cube.shape for m in members}
    if len(shapes) != 1 or not all(_blockable(m, options) for m in members):
        return [_WHOLE]
    data = members[0].cube.core_data()
    month_bytes = data.dtype.itemsize * int(np.prod(data.shape[1:]))
    return time_blocks.month_blocks(
        data.shape[0], month_bytes, time_blocks.MEAN_BLOCK_BYTES
    )


def _all_at_once(
    members: list[_Member],
    in_mean: list[_Member],
    options: SeriesOptions,
    writer: _Writer,
    spill: time_blocks.SpilledBlocks,
) -> tuple[set[str], iris.cube.Cube | None]:
    """(files of the members kept, their correlation branch to write, or None if written or absent), computing all members and the branch together.

    All in one ``dask.compute`` that also writes the branch
    (:func:`_written_in_one_compute`), unless a data set's only member is
    computed in time blocks: the branch's blocks are then kept in ``spill``
    and returned, read back lazily. If the
    full check (after the compute) excludes a member of the mean, the mean
    is computed again without it: a second read of this data set's other
    members, logged.
    """
    mean = _lazy_mean(in_mean, options.correlation_steps, writer)
    if mean is not None and (
        len(members) > 1 or len(_blocks(members[0], options)) == 1
    ):
        return _written_in_one_compute(members, in_mean, mean, options, writer)
    if len(members) == 1:  # a reference, or a model's only member
        branch = None if mean is None else partial(_branch, in_mean, options)
        products, field = _compute(members[0], options, branch, spill)
        computed = [products]
    else:  # no branch
        computed = dask.compute(*(m.lazy() for m in members))
    kept = _write_members(members, computed, options, writer)
    if mean is None:
        return kept, None
    used = [m for m in in_mean if m.filename in kept]
    if len(used) < len(in_mean):
        return kept, _mean_again(in_mean, used, options, writer)
    mean.data = field
    return kept, mean


def _write_members(
    members: list[_Member], computed, options: SeriesOptions, writer: _Writer
) -> set[str]:
    """Write each member's ``computed`` products (:func:`_write_member`); return the files of the members kept."""
    return {
        m.filename
        for m, products in zip(members, computed, strict=True)
        if _write_member(m, products, options, writer)
    }


def _written_in_one_compute(
    members: list[_Member],
    in_mean: list[_Member],
    mean: iris.cube.Cube,
    options: SeriesOptions,
    writer: _Writer,
) -> tuple[set[str], iris.cube.Cube | None]:
    """(files of the members kept, None): the members and the field ``mean`` of ``in_mean`` computed in one ``dask.compute`` that also writes the field.

    The field goes to its file chunk by chunk as it is computed, instead of
    being gathered into one array and then written (a third less time).
    If the full check excludes a member of the mean, the file is dropped
    and the mean computed again without it (:func:`_mean_again`), returned
    for the caller to write.
    """
    steps = options.correlation_steps
    with writer.ensemble_field(in_mean, mean, steps) as saving:
        *computed, _ = dask.compute(*(m.lazy() for m in members), saving.write)
        kept = _write_members(members, computed, options, writer)
        used = [m for m in in_mean if m.filename in kept]
        if len(used) < len(in_mean):
            saving.discard()
    if saving.discarded:
        return kept, _mean_again(in_mean, used, options, writer)
    return kept, None


def _mean_again(
    in_mean: list[_Member],
    used: list[_Member],
    options: SeriesOptions,
    writer: _Writer,
) -> iris.cube.Cube | None:
    """Return the mean of ``used`` (computed) after the full check excluded the other members of ``in_mean``; logged."""
    _log_again(in_mean, used)
    mean = _lazy_mean(used, options.correlation_steps, writer)
    if mean is not None:
        mean.data = dask.compute(mean.core_data())[0]
    return mean


def _log_again(in_mean: list[_Member], used: list[_Member]) -> None:
    """Log that the mean of ``in_mean`` is computed again from ``used`` alone, naming each member left out."""
    used_files = {m.filename for m in used}
    for member in in_mean:
        if member.filename not in used_files:
            logger.warning(
                "Computing the ensemble mean of %s %s again without member %s (%s), "
                "which the full value check excluded: a second read of its other members",
                member.meta["dataset"],
                member.meta["short_name"],
                _member(member.meta) or "-",
                member.filename,
            )


def _compute_batch(
    batch: list[_Member], options: SeriesOptions, summed: set[str]
) -> list[tuple]:
    """Each member's (computed products, contribution to the running mean or None); in one ``dask.compute`` unless a member comes in time blocks."""
    added = [
        partial(_contribution, m) if m.filename in summed else None
        for m in batch
    ]
    if any(len(_blocks(m, options)) > 1 for m in batch):
        return [
            _compute(m, options, a) for m, a in zip(batch, added, strict=True)
        ]
    return dask.compute(
        [
            (m.lazy(), None if a is None else a(_WHOLE))
            for m, a in zip(batch, added, strict=True)
        ]
    )[0]


def _contribution(member: _Member, block: slice):
    """Return ``member``'s lazy contribution to the running mean (:func:`smeval.diag.running_mean.contribution`) for the months ``block``."""
    return running_mean.contribution(member.cube.core_data()[block])


def _branch(members: list[_Member], options: SeriesOptions, block: slice):
    """Return the lazy data of the correlation branch of ``members`` for the months ``block``."""
    return _ensemble_steps(members, options, block).core_data()


def _compute(
    member: _Member,
    options: SeriesOptions,
    extra=None,
    spill: time_blocks.SpilledBlocks | None = None,
) -> tuple[tuple, Any]:
    """Return (``member.lazy()``, ``extra(months)``) computed, one block of the member's time chunks at a time (:mod:`smeval.diag.time_blocks`).

    ``extra`` maps a slice of months to a lazy array (or tuple of arrays)
    of those months, e.g. the correlation branch; None: nothing more.
    With ``spill``, an ``extra`` computed in blocks is kept there and
    returned lazy (one array only), not joined in memory.
    """
    blocks = _blocks(member, options)
    if len(blocks) == 1:
        return dask.compute(
            member.lazy(), None if extra is None else extra(_WHOLE)
        )
    done, extras = None, []
    for block in blocks:
        products, part = dask.compute(
            _block_products(member, options, member.cube[block]),
            None if extra is None else extra(block),
        )
        done = _fold(done, products)
        if spill is None:
            extras.append(part)
        elif part is not None:
            spill.add(part)
    joined = time_blocks.join(extras) if spill is None else spill.lazy()
    return _finished(member, done, options), joined


def _blocks(member: _Member, options: SeriesOptions) -> list[slice]:
    """Return the blocks of months in which ``member`` is computed: [whole period] unless its steps and data allow several."""
    if not _blockable(member, options):
        return [_WHOLE]
    data = member.cube.core_data()
    month_bytes = data.dtype.itemsize * int(np.prod(data.shape[1:]))
    return time_blocks.chunk_blocks(data.chunks[0], month_bytes)


def _blockable(member: _Member, options: SeriesOptions) -> bool:
    """Return True if blocks of ``member``'s months give its whole period's products (:func:`smeval.diag.time_blocks.blockable`)."""
    maps = options.map_steps if member.climatologies else None
    return (
        isinstance(member.cube.core_data(), da.Array)
        and member.cube.coord_dims("time") == (0,)
        and time_blocks.blockable(
            options.series_steps, maps, options.correlation_steps
        )
        and all(
            climate_sums_apply(member.fields[n]) for n in member.climatologies
        )
    )


def _block_products(
    member: _Member, options: SeriesOptions, cube: iris.cube.Cube
) -> tuple[dict, dict, dict]:
    """Return the lazy (series, climatologies' sums, value summaries) of ``member`` for ``cube``, a block of its months."""
    fields, series, _ = _branches(cube, member.depths, options, maps=False)
    return (
        {n: series[n].core_data() for n in member.series},
        {
            n: climate_sums(_without_supplementaries(fields[n]))
            for n in member.climatologies
        },
        {
            n: lazy_value_summary(fields[n].core_data())
            for n in member.summaries
        },
    )


def _fold(done, block: tuple[dict, dict, dict]) -> tuple[dict, dict, dict]:
    """Return the computed (series, climatologies' sums, value summaries) of the blocks before (None: none) with one more block's.

    The sums and summaries are reduced at once, so that what is kept does
    not grow with the number of blocks (the series are small).
    """
    series, sums, summaries = block
    if done is None:
        return {n: [v] for n, v in series.items()}, dict(sums), dict(summaries)
    for name, values in series.items():
        done[0][name].append(values)
    for name, pair in sums.items():
        done[1][name] = time_blocks.combine_sums([done[1][name], pair])
    for name, summary in summaries.items():
        done[2][name] = time_blocks.combine_summaries([done[2][name], summary])
    return done


def _finished(
    member: _Member, done: tuple[dict, dict, dict], options: SeriesOptions
) -> tuple[dict, dict, dict]:
    """Return one member's (series, climatologies, value summaries) from its blocks' :func:`_fold`, as ``dask.compute(member.lazy())`` gives them."""
    series, sums, summaries = done
    after_mean = dict(list(options.map_steps.items())[1:])
    climatologies = {}
    for name in member.climatologies:
        mean = climate_mean_of_sums(
            _without_supplementaries(member.fields[name]), *sums[name]
        )
        climatologies[name] = apply_steps(mean, after_mean).data
    return (
        {n: time_blocks.join(blocks) for n, blocks in series.items()},
        climatologies,
        summaries,
    )


#: The whole period, as a block of months.
_WHOLE = slice(None)


def _ensemble_steps(
    members: list[_Member], options: SeriesOptions, block: slice = _WHOLE
) -> iris.cube.Cube:
    """Return the correlation branch of ``members`` (lazy) for the months ``block``; a reference skips the ensemble step."""
    return EnsembleSteps(options.correlation_steps).apply(
        [_without_supplementaries(m.cube[block]) for m in members],
        ensemble=_has_ensemble(members[0].meta),
    )


def _has_ensemble(meta: dict[str, Any]) -> bool:
    """Return True for a model's members, False for an observation project's data set (it skips ``ensemble_statistics``)."""
    return str(meta.get("project", "")) not in OBS_PROJECTS


def _lazy_mean(
    members: list[_Member], steps, writer: _Writer
) -> iris.cube.Cube | None:
    """Return the correlation ``steps`` applied to one data set's ``members`` (lazy), or None (listed as excluded) if they cannot be combined.

    Observations (no ensemble) skip ``ensemble_statistics``.
    """
    if not members:
        return None
    return _branch_or_exclude(
        [_without_supplementaries(m.cube) for m in members],
        steps,
        members,
        writer,
        ensemble=_has_ensemble(members[0].meta),
    )


def _branch_or_exclude(
    cubes: list[iris.cube.Cube],
    steps,
    members: list[_Member],
    writer: _Writer,
    ensemble: bool,
) -> iris.cube.Cube | None:
    """Return the correlation ``steps`` applied to ``cubes`` (from ``members``), or None, listed as excluded, if they fail."""
    meta = members[0].meta
    try:
        return EnsembleSteps(steps).apply(cubes, ensemble=ensemble)
    except (ValueError, iris.exceptions.IrisError) as exc:
        files = [m.filename for m in members]
        writer.exclude(
            {k: v for k, v in meta.items() if k != "ensemble"},
            meta["short_name"],
            f"correlation maps: {meta['short_name']} of {len(files)} member(s) "
            f"({', '.join(files)}): {exc}",
        )
        return None


def _exclude_failed(
    filename: str,
    meta: dict[str, Any],
    names,
    fields: dict,
    climatologies: dict,
    writer: _Writer,
) -> None:
    """Remove (and list as excluded) the products whose depth is not reached and the failed climatologies."""
    for name in [
        n for n, f in fields.items() if isinstance(f, DepthNotReachedError)
    ]:
        writer.exclude(
            meta, names[name][0], f"{meta['dataset']}: {fields.pop(name)}"
        )
    for name in [
        n
        for n, c in climatologies.items()
        if isinstance(c, Exception) or _keeps_time(c)
    ]:
        failed = climatologies.pop(name)
        reason = (
            failed
            if isinstance(failed, Exception)
            else (
                f"{filename}: map_steps leave {failed.coord('time').shape[0]} time steps; they must reduce "
                "time to one climatology"
            )
        )
        writer.exclude(meta, f"{name} climatology (maps)", str(reason))


def _keeps_time(cube: iris.cube.Cube) -> bool:
    """Return True if a climatology still has more than one time step."""
    time = cube.coords("time", dim_coords=True)
    return bool(time) and time[0].shape[0] > 1
