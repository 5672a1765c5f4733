"""Regional-mean monthly series aligned on a common month axis.

Models use their own calendars (noleap, 360_day, ...), so series are matched
by (year, month), never by time value: month ``k`` of the analysis period is
the same calendar month in every data set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def month_index(first: tuple[int, int], last: tuple[int, int]) -> np.ndarray:
    """Months from ``first`` to ``last`` inclusive as integers ``year * 12 + month - 1``."""
    return np.arange(first[0] * 12 + first[1] - 1, last[0] * 12 + last[1])


def months_of(time_coord) -> np.ndarray:
    """``year * 12 + month - 1`` of each point of an iris time coordinate."""
    dates = time_coord.units.num2date(time_coord.points)
    return np.array([d.year * 12 + d.month - 1 for d in dates], dtype=np.int64)


@dataclass(frozen=True)
class RegionalSeries:
    """Regional means of one data set (member) and variable.

    Attributes
    ----------
    dataset, member, variable, units : str
    months : numpy.ndarray of int, shape (n_time,)
        ``year * 12 + month - 1`` of each value.
    region_ids : tuple of str
    values : numpy.ndarray, shape (n_time, n_region)
        Regional means (``units``); NaN where missing.
    project : str
        ``CMIP6`` for models, ``OBS6`` for CMORized reanalyses.
    native_nlat : int
        Latitude rows of the data set's native grid (0 if unknown).
    family : str
        Parent family of a model (SPEC section 4); empty for references.
    """

    dataset: str
    member: str
    variable: str
    units: str
    months: np.ndarray
    region_ids: tuple[str, ...]
    values: np.ndarray
    project: str = ""
    native_nlat: int = 0
    family: str = ""

    def on(
        self, months: np.ndarray, region_ids: tuple[str, ...]
    ) -> np.ndarray:
        """Values on the month axis ``months`` and regions ``region_ids``.

        Returns an array (n_region, n_months), NaN where this series has no
        value (a month outside its period, a region it lacks).
        """
        out = np.full((len(region_ids), len(months)), np.nan)
        pos = np.searchsorted(months, self.months)
        inside = (pos < len(months)) & (
            months[np.minimum(pos, len(months) - 1)] == self.months
        )
        col = {r: i for i, r in enumerate(self.region_ids)}
        for i, rid in enumerate(region_ids):
            if rid in col:
                out[i, pos[inside]] = self.values[inside, col[rid]]
        return out
