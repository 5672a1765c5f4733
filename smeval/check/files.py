"""Cheap checks of one input file: its header, and a sample of its values.

Reads the NetCDF header (variable, units, coordinates and their bounds, the
time axis) and three time steps of the data (first, middle, last), never the
whole file. The checks are those the run applies (:mod:`smeval.diag.checks`)
plus those with which ESMValCore's CMOR checks stop a run (units, layer
order), so a file that would stop or spoil the run is found before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cf_units
import cftime
import netCDF4
import numpy as np

from smeval.diag.checks import (
    EXPECTED_UNITS,
    convertible_units,
    lazy_value_summary,
    plausible_range,
    sampled_steps,
    units_problem,
    value_problem,
)

#: What the run does with an input of each problem: the consequence column of the table.
STOPS_RUN = "stops the run"
EXCLUDED = "excluded by smeval"
SKIPPED = "skipped by ESMValCore"
KEPT = "kept"


@dataclass
class FileReport:
    """Problems of one file ((consequence, message) pairs) and its months (year * 12 + month - 1)."""

    path: Path
    problems: list[tuple[str, str]] = field(default_factory=list)
    months: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))


def inspect_file(path: Path, short_name: str) -> FileReport:
    """Check one file of ``short_name`` (header and a sample of values)."""
    report = FileReport(Path(path))
    try:
        nc = netCDF4.Dataset(str(path))
    except OSError as exc:
        report.problems.append(
            (STOPS_RUN, f"unreadable or truncated file: {exc}")
        )
        return report
    with nc:
        var = nc.variables.get(short_name)
        if var is None:
            report.problems.append(
                (STOPS_RUN, f"no variable {short_name} in the file")
            )
            return report
        units = getattr(var, "units", "(none)")
        to_expected = _conversion(units, short_name)
        problem = units_problem(units, short_name)
        if problem and to_expected is None:
            report.problems.append(
                (
                    STOPS_RUN,
                    f"{problem} (ESMValCore's CMOR check stops the run; "
                    "under --check_level=relaxed smeval excludes the member)",
                )
            )
        elif problem:
            report.problems.append(
                (
                    KEPT,
                    f"units '{units}': ESMValCore converts them to "
                    f"{EXPECTED_UNITS[short_name]} (its CMOR fixes)",
                )
            )
        report.problems += _grid_bounds(nc, var)
        layers = _layers(nc, var) if short_name == "mrsol" else []
        report.problems += layers
        time_axis = _time_months(nc, var, report)
        # With unusable layers, their values cannot be judged per layer.
        report.problems += _sample(
            var,
            short_name,
            time_axis,
            nc,
            per_layer=not layers,
            to_expected=to_expected,
        )
    return report


def _conversion(units: str, short_name: str):
    """Return the conversion of values in ``units`` to the units of ``short_name``; None if cf_units has none.

    ESMValCore's CMOR fixes convert units that cf_units can convert (its
    ``safe_convert_units``), so such a file runs, with values in the
    expected units; other units stop its CMOR check.
    """
    expected = EXPECTED_UNITS.get(short_name)
    if expected is None or not convertible_units(units, short_name):
        return None
    source, target = cf_units.Unit(str(units)), cf_units.Unit(expected)
    return lambda values: source.convert(values, target)


def _coordinate(nc: netCDF4.Dataset, var, names: tuple[str, ...]):
    for dim in var.dimensions:
        if dim in nc.variables and (
            dim in names or getattr(nc[dim], "standard_name", "") in names
        ):
            return nc[dim]
    return None


def _grid_bounds(nc: netCDF4.Dataset, var) -> list[tuple[str, str]]:
    problems = []
    for names in (("lat", "latitude"), ("lon", "longitude")):
        coord = _coordinate(nc, var, names)
        if (
            coord is not None
            and getattr(coord, "bounds", None) not in nc.variables
        ):
            problems.append(
                (
                    KEPT,
                    f"{coord.name} has no bounds: cell edges are guessed from the centres "
                    "(regional weights and regridding are then approximate)",
                )
            )
    return problems


def _layers(nc: netCDF4.Dataset, var) -> list[tuple[str, str]]:
    """Soil layers of mrsol: increasing depths, and bounds that neither overlap nor leave gaps out of order."""
    coord = _coordinate(nc, var, ("depth", "sdepth"))
    if coord is None:
        return [(EXCLUDED, "no soil depth coordinate")]
    points = np.asarray(coord[:], dtype=float)
    if points.size > 1 and not np.all(np.diff(points) > 0):
        return [
            (
                STOPS_RUN,
                f"soil layers not in increasing depth order ({', '.join(f'{p:g}' for p in points)} m): "
                "ESMValCore's CMOR check stops the run",
            )
        ]
    bounds_name = getattr(coord, "bounds", None)
    if bounds_name not in nc.variables:
        return [
            (EXCLUDED, "soil layers without bounds: layer thicknesses unknown")
        ]
    bounds = np.asarray(nc[bounds_name][:], dtype=float)
    if np.any(bounds[:, 1] <= bounds[:, 0]) or np.any(
        bounds[1:, 0] < bounds[:-1, 1] - 1e-9
    ):
        pairs = ", ".join(f"{a:g}-{b:g}" for a, b in bounds)
        return [
            (
                EXCLUDED,
                f"soil layer bounds overlap or are reversed ({pairs} m)",
            )
        ]
    return []


def _time_months(nc: netCDF4.Dataset, var, report: FileReport) -> int | None:
    """Fill ``report.months``; the time axis of ``var`` (None without one)."""
    if "time" not in var.dimensions or "time" not in nc.variables:
        return None
    time = nc["time"]
    try:
        dates = cftime.num2date(
            np.asarray(time[:]),
            time.units,
            getattr(time, "calendar", "standard"),
        )
    except (ValueError, AttributeError, OSError) as exc:
        report.problems.append((STOPS_RUN, f"unreadable time axis: {exc}"))
        return var.dimensions.index("time")
    months = np.array(
        [d.year * 12 + d.month - 1 for d in np.ravel(dates)], dtype=int
    )
    if months.size > 1 and not np.all(np.diff(months) > 0):
        report.problems.append(
            (STOPS_RUN, "time steps out of order or repeated")
        )
    report.months = months
    return var.dimensions.index("time")


def _sample(
    var,
    short_name: str,
    time_axis: int | None,
    nc: netCDF4.Dataset,
    per_layer: bool = True,
    to_expected=None,
) -> list[tuple[str, str]]:
    """Plausible values and some valid value, in the first, middle and last time steps.

    ``to_expected`` converts the values to the units the checks expect
    (as ESMValCore does before smeval sees them); None: they are in them.
    """
    n = var.shape[time_axis] if time_axis is not None else 1
    steps = sampled_steps(n) if time_axis is not None and n else [None]
    try:
        blocks = [
            np.ma.masked_invalid(
                var[:] if step is None else var[_at(var, time_axis, step)]
            )
            for step in steps
        ]
    except (OSError, RuntimeError, IndexError) as exc:
        return [(STOPS_RUN, f"data unreadable (truncated file?): {exc}")]
    if to_expected is not None:
        blocks = [to_expected(block) for block in blocks]
    summary = lazy_value_summary(
        np.ma.concatenate([b.ravel() for b in blocks])
    )
    if not summary[0]:
        return [
            (
                EXCLUDED,
                "all sampled values are missing (first, middle and last time steps)",
            )
        ]
    if short_name == "mrsol":
        return _layer_values(var, blocks, time_axis, nc) if per_layer else []
    problem = value_problem(summary, short_name)
    return [(EXCLUDED, f"{problem} (sampled time steps)")] if problem else []


def _at(var, axis: int, index: int) -> tuple:
    """Index of one step along ``axis`` (the variable's own slicing applies its fill values)."""
    where: list = [slice(None)] * len(var.dimensions)
    where[axis] = slice(index, index + 1)
    return tuple(where)


def _layer_values(var, blocks, time_axis, nc) -> list[tuple[str, str]]:
    """Each layer's water within 0..1000 x its thickness kg m-2 (a layer filled with water)."""
    coord = _coordinate(nc, var, ("depth", "sdepth"))
    bounds_name = getattr(coord, "bounds", None) if coord is not None else None
    if bounds_name not in nc.variables:
        return []
    thickness = np.diff(
        np.asarray(nc[bounds_name][:], dtype=float), axis=1
    ).ravel()
    axis = var.dimensions.index(coord.name)
    for k, dz in enumerate(thickness):
        layer = np.ma.concatenate(
            [
                np.ma.masked_invalid(np.ma.take(b, [k], axis=axis)).ravel()
                for b in blocks
            ]
        )
        valid = layer.compressed()
        limits = (
            plausible_range("sm_deep", depth=float(dz)) if dz > 0 else None
        )
        if valid.size and limits is not None:
            problem = limits.problem(float(valid.min()), float(valid.max()))
            if problem:
                return [
                    (
                        EXCLUDED,
                        f"layer {k + 1}: {problem} (sampled time steps)",
                    )
                ]
    return []
