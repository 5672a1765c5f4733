"""Climatologies, annual cycles, bias ratios and water-budget fields (SPEC sections 5-6).

Time is the first axis of every array here. Missing values (NaN or masked)
are ignored in means; a result element with no value is NaN.

Flux units. Fluxes arrive in kg m-2 s-1; 1 kg m-2 of water is 1 mm. The
climatology of a flux is the month-length-weighted mean rate over the
period (the total water divided by the total time), converted to mm per year
with a year of ``DAYS_PER_YEAR`` = 365.25 days x 86400 s. Over 1979-2014
(nine leap years in 36) the mean Gregorian year is exactly 365.25 days, so
the result equals the total water of the period divided by its 36 years.
Data sets on 365-day or 360-day calendars are treated the same way: the
conversion expresses a rate in one unit for all data sets, it does not sum
a model calendar's days.
"""

from __future__ import annotations

import calendar as _calendar

import numpy as np

from ._arrays import as_float_nan

#: Length of the year used to express fluxes per year (days): the Julian year,
#: the mean Gregorian year over 1979-2014.
DAYS_PER_YEAR = 365.25

#: Seconds in a day.
SECONDS_PER_DAY = 86400.0

#: Months in a year.
N_MONTHS = 12


def _weighted_nanmean(x, weights=None, axis=0):
    """Mean over *axis* of the finite values, each with its weight (default 1)."""
    valid = np.isfinite(x)
    if weights is None:
        w = valid.astype(x.dtype)
    else:
        shape = [1] * x.ndim
        shape[axis] = -1
        w = np.where(
            valid, np.asarray(weights, dtype=np.float64).reshape(shape), 0.0
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        num = np.where(valid, x, 0.0) * w
        den = w.sum(axis=axis)
        return np.where(den > 0, num.sum(axis=axis) / den, np.nan)


def month_lengths(years, months, calendar: str = "standard") -> np.ndarray:
    """Return the number of days of each month.

    Parameters
    ----------
    years, months : array_like of int
        Year and month number (1..12) of each time step.
    calendar : str, default "standard"
        CF calendar: ``standard``/``gregorian``/``proleptic_gregorian``,
        ``noleap``/``365_day``, ``all_leap``/``366_day`` or ``360_day``.

    Returns
    -------
    numpy.ndarray of float
        Days in each month (days).
    """
    years = np.asarray(years, dtype=int)
    months = np.asarray(months, dtype=int)
    if np.any((months < 1) | (months > N_MONTHS)):
        msg = "month numbers must be 1..12"
        raise ValueError(msg)
    if calendar == "360_day":
        return np.full(months.shape, 30.0)
    # Day counts of a common year and of a leap year, from the standard library.
    common = np.array(
        [_calendar.monthrange(2001, m)[1] for m in range(1, N_MONTHS + 1)],
        float,
    )
    leap = np.array(
        [_calendar.monthrange(2000, m)[1] for m in range(1, N_MONTHS + 1)],
        float,
    )
    if calendar in ("noleap", "365_day"):
        is_leap = np.zeros(years.shape, bool)
    elif calendar in ("all_leap", "366_day"):
        is_leap = np.ones(years.shape, bool)
    elif calendar in ("standard", "gregorian", "proleptic_gregorian"):
        is_leap = (years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))
    else:
        msg = f"unsupported calendar {calendar!r}"
        raise ValueError(msg)
    return np.where(is_leap, leap[months - 1], common[months - 1])


def annual_cycle(data, months) -> np.ndarray:
    """Mean annual cycle: the mean of each calendar month.

    Parameters
    ----------
    data : array_like, shape (n_time, ...)
        Monthly values (series or fields), any units.
    months : array_like of int, shape (n_time,)
        Calendar month (1..12) of each time step.

    Returns
    -------
    numpy.ndarray or dask.array.Array, shape (12, ...)
        Mean of January, ..., December (units of *data*); NaN for a month
        without any value. Lazy input gives a lazy result.
    """
    x = as_float_nan(data, np.float64)
    months = np.asarray(months)
    if months.shape != (x.shape[0],):
        msg = f"need one month number per time step: {months.shape} vs {x.shape[0]}"
        raise ValueError(msg)
    if np.any((months < 1) | (months > N_MONTHS)):
        msg = "month numbers must be 1..12"
        raise ValueError(msg)
    return np.stack(
        [_weighted_nanmean(x[months == m]) for m in range(1, N_MONTHS + 1)]
    )


def annual_mean_climatology(data, days=None):
    """Time-mean climatology of monthly values.

    Parameters
    ----------
    data : array_like, shape (n_time, ...)
        Monthly means (series or fields), any units.
    days : array_like, shape (n_time,), optional
        Length of each month (days), e.g. from :func:`month_lengths`. Given,
        each month weighs by its length, so a flux's mean is total water
        over total time; omitted, all months weigh equally (right for state
        variables such as soil moisture, where the SPEC asks for the mean of
        monthly means).

    Returns
    -------
    numpy.ndarray or dask.array.Array, shape (...)
        Mean over time (units of *data*), NaN where no value exists. Lazy
        input gives a lazy result.
    """
    return _weighted_nanmean(as_float_nan(data, np.float64), days)


def flux_to_mm_per_year(flux):
    """Convert a water flux from kg m-2 s-1 to mm per year.

    Parameters
    ----------
    flux : array_like
        Flux (kg m-2 s-1).

    Returns
    -------
    array_like
        Flux (mm yr-1) = flux x 86400 s/day x 365.25 days/yr; 1 kg m-2 of
        water is 1 mm (density 1000 kg m-3).
    """
    return flux * (SECONDS_PER_DAY * DAYS_PER_YEAR)


def bias_ratio(mmem, reference, threshold: float):
    """Ratio of bias (MMEM - reference) / MMEM, per grid cell.

    Parameters
    ----------
    mmem : array_like
        Ensemble-mean climatology (any units).
    reference : array_like
        Reference climatology (same units and shape).
    threshold : float
        Cells where |MMEM| < *threshold* (units of *mmem*) are masked, never
        divided: the ratio blows up where the MMEM is near zero (e.g. runoff
        in deserts). Choose it per variable (a recipe option).

    Returns
    -------
    numpy.ma.MaskedArray
        Dimensionless ratio; masked where either input is missing or
        |MMEM| < *threshold*.
    """
    m = as_float_nan(mmem, np.float64)
    r = as_float_nan(reference, np.float64)
    bad = ~np.isfinite(m) | ~np.isfinite(r) | (np.abs(m) < threshold)
    safe = np.where(bad, 1.0, m)
    return np.ma.masked_array(np.where(bad, 0.0, (m - r) / safe), mask=bad)


def p_minus_e(pr, evspsbl):
    """Precipitation minus evaporation, P - E (units of the inputs, e.g. kg m-2 s-1).

    *evspsbl* follows CMIP6: positive for water leaving the surface (ERA5's
    ``e`` has the opposite sign and must be flipped on conversion).
    """
    return pr - evspsbl


def p_minus_e_minus_r(pr, evspsbl, mrros):
    """Surface available water P - E - R (units of the inputs, e.g. kg m-2 s-1).

    R is surface runoff (``mrros``), positive for water leaving the cell.
    """
    return pr - evspsbl - mrros
