"""The metrics table: its values equal an independent computation.

Every summary (TSS matrix, counts, ranking, JSON) is a query of the same
numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from smeval.metrics.cmec import metric_bundle
from smeval.metrics.series import RegionalSeries, month_index
from smeval.metrics.table import (
    REGION_IDS,
    annual_cycle_table,
    count_models_above,
    count_regions_above,
    ensemble_series,
    ranking,
    taylor_table,
    tss_matrix,
)

MONTHS = month_index((1979, 1), (1981, 12))
REGIONS = REGION_IDS


def _series(name, member, values, months=MONTHS):
    return RegionalSeries(
        name, member, "sm_shallow", "kg m-2", months, REGIONS, values
    )


@pytest.fixture
def inputs():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(len(MONTHS), len(REGIONS)))
    models = {
        # A: two members whose mean is exactly 2 * ref (sigma 2, R 1).
        "A": [
            _series("A", "r1", 2 * ref + 1.0),
            _series("A", "r2", 2 * ref - 1.0),
        ],
        # B: ref plus noise, one member.
        "B": [_series("B", "r1", ref + rng.normal(size=ref.shape))],
        # C: anti-correlated, same family as B.
        "C": [_series("C", "r1", -ref)],
    }
    families = {"A": "FA", "B": "FB", "C": "FB"}
    n_lat = {"A": 192, "B": 96, "C": 64}
    return ref, models, families, n_lat


def _table(inputs):
    ref, models, families, n_lat = inputs
    series, info, _ = ensemble_series(models, MONTHS, REGIONS, families, n_lat)
    refs = {"ERA5": _series("ERA5", "", ref).on(MONTHS, REGIONS)}
    return taylor_table(series, info, refs, "sm_shallow", REGIONS), series, ref


def test_values_match_scipy_on_model_means(inputs):
    # Model B's R equals scipy's Pearson R of its series with the reference.
    table, series, ref = _table(inputs)
    row = table[
        (table.dataset == "B")
        & (table.region == "TIB")
        & (table.statistic == "R")
    ]
    j = REGIONS.index("TIB")
    expected = stats.pearsonr(series["B"][j], ref[:, j]).statistic
    assert row.value.item() == pytest.approx(expected, abs=1e-12)


def test_member_mean_of_planted_model(inputs):
    # Members 2 ref + 1 and 2 ref - 1 average to 2 ref: R = 1, sigma = 2, E' = 1.
    table, _, _ = _table(inputs)
    a = table[(table.dataset == "A")].pivot_table(
        index="region", columns="statistic", values="value"
    )
    assert np.allclose(a["R"], 1.0)
    assert np.allclose(a["sigma"], 2.0)
    assert np.allclose(a["E'"], 1.0)
    assert np.allclose(a["TSS"], 4 * 2 / ((2 + 0.5) ** 2 * 2))
    assert np.all(a["n_months"] == len(MONTHS))


def test_family_and_mmem_hierarchy(inputs):
    # Family FB = (B + C) / 2; MMEM = (FA + FB) / 2: each family counts once.
    _, series, _ = _table(inputs)
    fb = (series["B"] + series["C"]) / 2
    assert np.allclose(series["family:FB"], fb)
    assert np.allclose(series["CMIP6-MMEM"], (series["A"] + fb) / 2)
    # MMEM-high holds only model A (192 rows).
    high = next(k for k in series if k.endswith("high"))
    assert np.allclose(series[high], series["A"])


def test_queries_are_consistent(inputs):
    # Counts and rankings come from the same TSS numbers as the matrix.
    table, _, _ = _table(inputs)
    matrix = tss_matrix(table, "sm_shallow", "ERA5")
    assert list(matrix.columns) == list(REGIONS)
    assert list(matrix.index) == ["A", "B", "C"]
    per_region = count_models_above(table, "sm_shallow", "ERA5", 0.6)
    per_model = count_regions_above(table, "sm_shallow", "ERA5", 0.6)
    assert (
        per_region.sum()
        == per_model.sum()
        == int((matrix > 0.6).to_numpy().sum())
    )
    rank = ranking(table, "sm_shallow", ["ERA5"], 0.6)
    # C is anti-correlated (TSS = 0): last.
    assert rank.index[-1] == "C"
    assert rank.loc["C", "regions_above"] == 0
    assert list(rank["rank"]) == [1, 2, 3]


def test_nested_json_holds_the_same_numbers(inputs):
    table, _, _ = _table(inputs)
    nested = metric_bundle(table)
    row = table.iloc[7]
    value = nested["RESULTS"][row.dataset][row.reference][row.variable][
        row.region
    ][row.statistic]
    assert value == pytest.approx(row.value, nan_ok=True)
    assert nested["DIMENSIONS"]["json_structure"][0] == "source_id"


def test_series_alignment_by_calendar_month():
    # A 360-day model series is matched by (year, month), not by time value;
    # months it lacks are NaN.
    months = month_index((1980, 1), (1980, 6))
    values = np.arange(6 * len(REGIONS), dtype=float).reshape(6, len(REGIONS))
    aligned = _series("M", "r1", values, months).on(MONTHS, REGIONS)
    k = list(MONTHS).index(1980 * 12)
    assert np.array_equal(aligned[:, k : k + 6], values.T)
    assert np.isnan(aligned[:, :k]).all()


def test_annual_cycle_table_by_hand():
    # A series equal to its month number has the annual cycle 1..12.
    months = MONTHS
    arr = np.tile((months % 12 + 1).astype(float), (len(REGIONS), 1))
    cyc = annual_cycle_table(
        {"X": arr}, {"X": "model"}, months, "sm_shallow", "kg m-2", REGIONS
    )
    tib = cyc[cyc.region == "TIB"].sort_values("month")
    assert np.allclose(tib.value, np.arange(1, 13))
    assert isinstance(cyc, pd.DataFrame)
