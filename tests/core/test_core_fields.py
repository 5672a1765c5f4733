"""Tests of smeval.core.fields: annual cycle, climatology, flux units, bias ratio, P - E."""

import dask.array as da
import numpy as np
import pytest

from smeval.core.fields import (
    DAYS_PER_YEAR,
    annual_cycle,
    annual_mean_climatology,
    bias_ratio,
    flux_to_mm_per_year,
    month_lengths,
    p_minus_e,
    p_minus_e_minus_r,
)

YEARS = np.repeat(np.arange(1979, 2015), 12)
MONTHS = np.tile(np.arange(1, 13), 36)


def test_annual_cycle_hand_values_and_gaps():
    # Month m in year y holds 10 m + y offset; the cycle is 10 m + mean offset, a NaN year is skipped.
    data = 10.0 * MONTHS + (YEARS - 1979)
    data[0] = np.nan  # January 1979 missing: January mean over 1980-2014
    cycle = annual_cycle(data, MONTHS)
    expected = 10.0 * np.arange(1, 13) + 17.5
    expected[0] = 10.0 + np.mean(np.arange(1, 36))
    np.testing.assert_allclose(cycle, expected)


def test_annual_cycle_of_masked_field():
    # Fields keep their shape; a cell masked in all Januaries gets NaN for January only.
    field = np.ma.masked_array(np.ones((432, 2, 3)), mask=False)
    field[MONTHS == 1, 0, 0] = np.ma.masked
    cycle = annual_cycle(field, MONTHS)
    assert cycle.shape == (12, 2, 3)
    assert np.isnan(cycle[0, 0, 0])
    assert np.all(cycle[1:, 0, 0] == 1)


def test_lazy_fields_stay_lazy():
    # Dask fields: annual cycle and climatology are lazy and equal the numpy results.
    rng = np.random.default_rng(2)
    x = rng.normal(size=(432, 3, 4))
    x[5, 1, 1] = np.nan
    lazy = da.from_array(x, chunks=(120, 3, 4))
    days = month_lengths(YEARS, MONTHS)
    cycle = annual_cycle(lazy, MONTHS)
    clim = annual_mean_climatology(lazy, days)
    assert isinstance(cycle, da.Array)
    assert isinstance(clim, da.Array)
    np.testing.assert_allclose(cycle.compute(), annual_cycle(x, MONTHS))
    np.testing.assert_allclose(
        clim.compute(), annual_mean_climatology(x, days)
    )


def test_month_lengths_1979_2014_average_julian_year():
    # 36 Gregorian years with 9 leap years: 13149 days = 36 x 365.25, the year used for mm/yr.
    days = month_lengths(YEARS, MONTHS)
    assert days.sum() == 13149 == 36 * DAYS_PER_YEAR
    assert days[1] == 28  # February 1979
    assert days[13] == 29  # February 1980
    assert month_lengths(YEARS, MONTHS, "noleap").sum() == 36 * 365
    assert month_lengths([2000], [2], "360_day")[0] == 30


def test_flux_one_mm_per_day_is_365_25_mm_per_year():
    # 1 mm/day = 1/86400 kg m-2 s-1 -> 365.25 mm per year.
    assert flux_to_mm_per_year(1.0 / 86400) == pytest.approx(365.25)


def test_month_weighted_climatology_equals_total_water_per_year():
    # A flux varying by month: month-length-weighted mean rate in mm/yr = total water of 1979-2014 / 36 years.
    rng = np.random.default_rng(0)
    flux = rng.uniform(0, 1e-4, 432)  # kg m-2 s-1
    days = month_lengths(YEARS, MONTHS)
    total_mm = np.sum(flux * days * 86400)
    assert flux_to_mm_per_year(
        annual_mean_climatology(flux, days)
    ) == pytest.approx(total_mm / 36)


def test_unweighted_climatology_is_mean_of_months():
    # Soil moisture (a state): plain mean of monthly means, NaN ignored.
    data = np.array([[1.0, np.nan], [3.0, 4.0]])
    np.testing.assert_allclose(annual_mean_climatology(data), [2.0, 4.0])


def test_bias_ratio_hand_values_and_threshold_mask():
    # (MMEM - ref) / MMEM: (10-5)/10 = 0.5, (4-6)/4 = -0.5; |MMEM| = 0.01 < 0.1 is masked, never divided.
    mmem = np.array([10.0, 4.0, 0.01, -2.0, np.nan])
    ref = np.array([5.0, 6.0, 1.0, -1.0, 1.0])
    out = bias_ratio(mmem, ref, threshold=0.1)
    np.testing.assert_allclose(out.compressed(), [0.5, -0.5, 0.5])
    np.testing.assert_array_equal(out.mask, [False, False, True, False, True])


def test_p_minus_e_and_p_minus_e_minus_r():
    # Budget terms with CMIP6 signs: P 3, E 1 (upward positive), R 0.5 -> P - E 2, P - E - R 1.5.
    assert p_minus_e(3.0, 1.0) == 2.0
    assert p_minus_e_minus_r(3.0, 1.0, 0.5) == 1.5
