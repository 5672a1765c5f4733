"""Checks of the data every diagnostic script applies the same way: units, plausible values, time gaps.

A member that fails a check is excluded with the reason (``excluded.csv``),
never silently used; every script calls these functions, so a data set is
judged the same way wherever it enters.

Plausible ranges (:data:`PLAUSIBLE`) are physical bounds, wide enough for any
real monthly mean and narrow enough to catch a unit error (a factor of 1000
or 86400):

- soil water of a column 0..D m: 0 to ``1000 * D`` kg m-2, the column filled
  with liquid water (1000 kg m-3); e.g. 0-100 kg m-2 for ``mrsos`` (0-10 cm,
  SPEC section 1) and 0-2000 kg m-2 for 0-2 m. Real soils hold at most their
  porosity (~0.3-0.6) of it.
- precipitation ``pr``: 0 to 5e-3 kg m-2 s-1 (432 mm per day as a monthly
  mean; the wettest month on record, Cherrapunji, July 1861, 9300 mm, is
  3.5e-3 kg m-2 s-1);
- evaporation ``evspsbl``: -1e-3 to 1e-3 kg m-2 s-1 (86 mm per day either
  way; negative is condensation, SPEC section 1 sign convention);
- surface runoff ``mrros`` and snow melt ``snm``: -1e-3 (resp. -1e-4) to
  5e-3 kg m-2 s-1, bounded by precipitation; some land models write small
  negative runoff.

The lower bounds allow the small negative values of numerical schemes (-1 %
of the upper bound for soil water; -1e-4 kg m-2 s-1, -8.6 mm per day, for
precipitation and snow melt) but not a flipped sign in a wet region.
"""

from __future__ import annotations

from dataclasses import dataclass

import cf_units
import dask.array as da
import numpy as np

from smeval.core._arrays import array_module, valid_values

#: Units every script expects of each CMOR variable and each results variable.
EXPECTED_UNITS = {
    "mrsos": "kg m-2",
    "mrsol": "kg m-2",
    "sm_shallow": "kg m-2",
    "sm_deep": "kg m-2",
    "pr": "kg m-2 s-1",
    "evspsbl": "kg m-2 s-1",
    "mrros": "kg m-2 s-1",
    "snm": "kg m-2 s-1",
    "sftlf": "%",
    "areacella": "m2",
}


@dataclass(frozen=True)
class PlausibleRange:
    """Bounds of plausible values of a variable (units of :data:`EXPECTED_UNITS`) and their source."""

    low: float
    high: float
    units: str
    source: str

    def problem(self, minimum: float, maximum: float) -> str | None:
        """Why ``minimum``..``maximum`` is implausible, or None."""
        if minimum >= self.low and maximum <= self.high:
            return None
        return (
            f"values {minimum:.4g} to {maximum:.4g} {self.units} outside the plausible range "
            f"{self.low:g} to {self.high:g} {self.units} ({self.source})"
        )


#: Plausible ranges of the fluxes (kg m-2 s-1, monthly means); soil water: :func:`plausible_range`.
PLAUSIBLE = {
    "pr": PlausibleRange(
        -1e-4, 5e-3, "kg m-2 s-1", "432 mm/day; wettest month on record 3.5e-3"
    ),
    "evspsbl": PlausibleRange(
        -1e-3, 1e-3, "kg m-2 s-1", "86 mm/day either way"
    ),
    "mrros": PlausibleRange(
        -1e-3, 5e-3, "kg m-2 s-1", "bounded by precipitation"
    ),
    "snm": PlausibleRange(
        -1e-4, 5e-3, "kg m-2 s-1", "bounded by precipitation"
    ),
}
#: Depth (m) of the soil column of ``mrsos`` (CMOR: 0-10 cm).
MRSOS_DEPTH = 0.1


def plausible_range(
    variable: str, depth: float | None = None
) -> PlausibleRange | None:
    """Return the plausible range of ``variable``; for soil water, of the column 0..``depth`` m.

    ``mrsos`` is the column 0-0.1 m; ``sm_shallow`` and ``sm_deep`` need
    ``depth``. None for a variable without a range.
    """
    if variable == "mrsos":
        depth = MRSOS_DEPTH
    if variable in {"mrsos", "sm_shallow", "sm_deep"} and depth is not None:
        high = 1000.0 * depth
        return PlausibleRange(
            -0.01 * high,
            high,
            "kg m-2",
            f"0-{depth:g} m filled with water: {depth:g} m x 1000 kg m-3",
        )
    return PLAUSIBLE.get(variable)


def units_problem(units: str | cf_units.Unit, variable: str) -> str | None:
    """Why ``units`` are not those expected of ``variable``, or None (also for an unknown variable).

    Equal units in another spelling (``kg/m2``) are accepted.
    """
    expected = EXPECTED_UNITS.get(variable)
    if expected is None:
        return None
    try:
        ok = cf_units.Unit(str(units)) == cf_units.Unit(expected)
    except ValueError:
        ok = False
    return (
        None
        if ok
        else f"units '{units}' where {variable} must be in {expected}"
    )


def in_expected_units(cube, variable: str) -> str | None:
    """Convert ``cube`` in place (lazily) to the units expected of ``variable``; why it cannot, or None.

    Units convertible with cf_units (``g m-2 s-1`` for ``pr``, ``kg/m2``)
    are converted with ``cube.convert_units``; units of another dimension
    (``mm day-1`` for a mass flux: cf_units knows no water density) give the
    reason of :func:`units_problem`. An unknown variable is left as it is.
    """
    expected = EXPECTED_UNITS.get(variable)
    if expected is None:
        return None
    if not convertible_units(cube.units, variable):
        return units_problem(cube.units, variable)
    if cube.units != cf_units.Unit(expected):
        cube.convert_units(expected)
    return None


def convertible_units(units: str | cf_units.Unit, variable: str) -> bool:
    """Return True if cf_units converts ``units`` to those expected of ``variable`` (a known variable)."""
    try:
        return cf_units.Unit(str(units)).is_convertible(
            EXPECTED_UNITS[variable]
        )
    except ValueError:  # units cf_units cannot parse
        return False


def lazy_value_summary(data) -> tuple:
    """Return (number of valid values, minimum, maximum) of ``data``, lazy for lazy data.

    Compute it with the other products of the same data (one read). The
    minimum and maximum of no valid value are +inf and -inf. They are taken
    in the data's own float type, exactly: no float64 copy of a chunk (at
    the paper's scale a chunk of ERA5 on its 0.25-degree grid is 100 MB of
    float32).
    """
    xp = array_module(data)
    values, valid = valid_values(data)
    count = valid.sum()
    minimum = xp.where(valid, values, np.inf).min()
    maximum = xp.where(valid, values, -np.inf).max()
    return count, minimum, maximum


def value_problem(
    summary: tuple, variable: str, depth: float | None = None
) -> str | None:
    """Why the values summarised by :func:`lazy_value_summary` are unusable, or None."""
    count, minimum, maximum = (float(v) for v in summary)
    if count == 0:
        return "all values are missing (the member is entirely masked or fill values)"
    limits = plausible_range(variable, depth)
    return None if limits is None else limits.problem(minimum, maximum)


def sampled_steps(n_time: int) -> list[int]:
    """Return the time steps a cheap check reads of ``n_time``: the first, middle and last."""
    return sorted({0, n_time // 2, n_time - 1})


def sampled_value_problem(cube, variable: str) -> str | None:
    """Why ``cube``'s values are unusable, judged from its :func:`sampled_steps` only, or None.

    The check of :func:`value_problem` on the first, middle and last time
    steps: a unit error or an empty member shows in any of them, at the cost
    of reading three steps. ``cube`` must already be in the units expected
    of ``variable`` (:func:`in_expected_units`).
    """
    if not cube.coords("time", dim_coords=True):
        return None
    axis = cube.coord_dims("time")[0]
    data = da.asarray(cube.core_data())
    # One compute per step: a slice computed alone is read as that
    # hyperslab, where several slices of one dask chunk in one compute make
    # dask read the whole chunk (every month of a member in one chunk).
    sample = np.ma.concatenate(
        [
            data[(slice(None),) * axis + (slice(t, t + 1),)].compute()
            for t in sampled_steps(cube.shape[axis])
        ],
        axis=axis,
    )
    return value_problem(lazy_value_summary(sample), variable)


def missing_months(months: np.ndarray, timerange: str | None) -> str | None:
    """Why the month axis ``months`` (year * 12 + month - 1) has a gap, or None.

    Gaps are judged within the variable group's ``timerange`` (``YYYY/YYYY``
    or with months) when given, else between the first and the last month.
    """
    months = np.unique(np.asarray(months, dtype=int))
    if months.size == 0:
        return "no time steps"
    first, last = int(months[0]), int(months[-1])
    if timerange and "/" in str(timerange) and "*" not in str(timerange):
        start, end = str(timerange).split("/")
        first = int(start[:4]) * 12 + (
            int(start[4:6]) - 1 if len(start) >= 6 else 0
        )
        last = int(end[:4]) * 12 + (int(end[4:6]) - 1 if len(end) >= 6 else 11)
    gap = np.setdiff1d(np.arange(first, last + 1), months)
    if gap.size == 0:
        return None
    years = sorted({int(m) // 12 for m in gap})
    shown = ", ".join(str(y) for y in years[:5]) + (
        ", ..." if len(years) > 5 else ""
    )
    return f"{gap.size} of {last - first + 1} months missing (years {shown})"
