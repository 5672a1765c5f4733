"""Tests of smeval.metrics.uncertainty: reference rows, intervals, resolution, robust ranking."""

import numpy as np
import pandas as pd
import pytest

from smeval.core.bootstrap import (
    BootstrapOptions,
    block_indices,
    bootstrap_taylor,
    calendar_years,
    percentile_interval,
    year_counts,
)
from smeval.core.regions import ALL_REGIONS
from smeval.core.taylor import taylor_statistics
from smeval.metrics.cmec import metric_bundle
from smeval.metrics.series import RegionalSeries, month_index
from smeval.metrics.table import (
    COLUMNS,
    STATISTICS,
    ensemble_series,
    ranking,
    reference_agreement,
    taylor_table,
    tss_matrix,
)
from smeval.metrics.uncertainty import (
    RESOLUTION_DIFFERENCE,
    variable_uncertainty,
)

YEARS = 12
MONTHS = month_index((1990, 1), (1990 + YEARS - 1, 12))
REGION_IDS = tuple(r.id for r in ALL_REGIONS)
REFS = ("ERA5", "ERA-Interim", "GLDAS-NOAH")
#: model -> (family, native rows, weight of ERA5 in it)
MODELS = {
    "M-HI": ("FH", 192, 0.9),
    "M-HI2": ("FH", 200, 0.5),
    "M-LO": ("FL", 96, 0.3),
    "M-LO2": ("FL2", 64, 0.7),
    "COPY": ("FC", 64, 1.0),
}


def _world(seed=0):
    rng = np.random.default_rng(seed)
    season = 20 + 5 * np.sin(2 * np.pi * (MONTHS % 12) / 12)
    common = season + rng.normal(0, 1.5, (len(REGION_IDS), len(MONTHS)))
    refs = {
        "ERA5": common,
        "ERA-Interim": common + rng.normal(0, 0.5, common.shape),
        "GLDAS-NOAH": 0.8 * common + rng.normal(0, 2.5, common.shape),
    }
    models = {}
    for name, (fam, _nlat, w) in MODELS.items():
        values = w * common + (1 - w) * (
            season + rng.normal(0, 3, common.shape)
        )
        models[name] = [
            RegionalSeries(
                name,
                "r1",
                "sm_shallow",
                "kg m-2",
                MONTHS,
                REGION_IDS,
                values.T,
                family=fam,
            )
        ]
    families = {n: f for n, (f, _, _) in MODELS.items()}
    n_lat = {n: nl for n, (_, nl, _) in MODELS.items()}
    series, info, _ = ensemble_series(
        models, MONTHS, REGION_IDS, families, n_lat
    )
    return series, info, refs


@pytest.fixture(scope="module")
def result():
    series, info, refs = _world()
    opts = BootstrapOptions(resamples=400, seed=9)
    counts = year_counts(
        block_indices(YEARS, opts.block_years, opts.resamples, opts.seed),
        YEARS,
    )
    point = taylor_table(series, info, refs, "sm_shallow", REGION_IDS)
    sure = variable_uncertainty(
        series,
        info,
        refs,
        "sm_shallow",
        REGION_IDS,
        MONTHS,
        counts,
        opts,
        ["ERA5", "GLDAS-NOAH"],
    )
    table = pd.concat([point, sure.rows], ignore_index=True)
    return {
        "series": series,
        "refs": refs,
        "counts": counts,
        "table": table,
        "ranking": sure.ranking,
        "opts": opts,
    }


def test_reference_rows_are_every_ordered_pair_of_references(result):
    t = result["table"]
    rows = t[(t.kind == "reference") & (t.statistic == "R")]
    pairs = set(zip(rows.dataset, rows.reference, strict=True))
    assert pairs == {(a, b) for a in REFS for b in REFS if a != b}
    assert len(rows) == 6 * len(REGION_IDS)
    # Values: the reference plays the model.
    got = (
        rows[(rows.dataset == "GLDAS-NOAH") & (rows.reference == "ERA5")]
        .set_index("region")
        .value
    )
    direct = taylor_statistics(
        result["refs"]["GLDAS-NOAH"], result["refs"]["ERA5"]
    ).R
    np.testing.assert_allclose(got.loc[list(REGION_IDS)], direct, rtol=1e-12)
    assert list(t.columns) == COLUMNS


def test_intervals_are_the_bootstrap_percentiles_of_every_row(result):
    t = result["table"]
    for kind in ("model", "family", "mmem", "reference"):
        assert {
            f"{s}_ci_{e}"
            for s in ("R", "sigma", "E'", "TSS")
            for e in ("low", "high")
        } <= set(t[t.kind == kind].statistic), kind
    # One row checked against an independent call on its own series.
    yearly = calendar_years(result["series"]["M-LO"][2], MONTHS)
    ref = calendar_years(result["refs"]["GLDAS-NOAH"][2], MONTHS)
    low, high = percentile_interval(
        bootstrap_taylor(yearly, ref, result["counts"])["TSS"], 0.9
    )
    sel = t[
        (t.dataset == "M-LO")
        & (t.reference == "GLDAS-NOAH")
        & (t.region == REGION_IDS[2])
    ]
    values = sel.set_index("statistic").value
    assert values["TSS_ci_low"] == pytest.approx(float(low), rel=1e-12)
    assert values["TSS_ci_high"] == pytest.approx(float(high), rel=1e-12)
    assert values["TSS_ci_low"] <= values["TSS"] <= values["TSS_ci_high"]
    # A model identical to ERA5 has R = sigma = TSS = 1 in every resample.
    copy = (
        t[(t.dataset == "COPY") & (t.reference == "ERA5")]
        .groupby("statistic")
        .value
    )
    for stat in ("R_ci_low", "R_ci_high", "sigma_ci_low", "TSS_ci_high"):
        np.testing.assert_allclose(copy.get_group(stat), 1.0, rtol=1e-9)
    np.testing.assert_allclose(copy.get_group("E'_ci_high"), 0.0, atol=1e-6)


def test_resolution_difference_is_high_minus_low_with_interval(result):
    t = result["table"]
    diff = t[t.dataset == RESOLUTION_DIFFERENCE]
    assert set(diff.kind) == {"difference"}
    assert set(diff.statistic) == {
        "TSS_difference",
        "TSS_difference_ci_low",
        "TSS_difference_ci_high",
    }
    # Not a TSS row: every TSS of the table stays in [0, 1].
    assert t[t.statistic == "TSS"].value.between(0, 1).all()
    for ref in REFS:
        high = tss_matrix(
            t, "sm_shallow", ref, kind="mmem", regions=REGION_IDS
        ).loc["CMIP6-MMEM-high"]
        low = tss_matrix(
            t, "sm_shallow", ref, kind="mmem", regions=REGION_IDS
        ).loc["CMIP6-MMEM-low"]
        got = tss_matrix(
            t, "sm_shallow", ref, "difference", REGION_IDS, "TSS_difference"
        ).loc[RESOLUTION_DIFFERENCE]
        np.testing.assert_allclose(got, high - low, atol=1e-12)
        lo = tss_matrix(
            t,
            "sm_shallow",
            ref,
            "difference",
            REGION_IDS,
            "TSS_difference_ci_low",
        ).iloc[0]
        hi = tss_matrix(
            t,
            "sm_shallow",
            ref,
            "difference",
            REGION_IDS,
            "TSS_difference_ci_high",
        ).iloc[0]
        assert np.all(lo <= hi)


def test_robust_ranking_point_ranks_are_the_paper_ranking(result):
    t, rob = result["table"], result["ranking"]
    paper = ranking(t, "sm_shallow", ["ERA5", "GLDAS-NOAH"], 0.6)
    assert (
        rob.set_index("dataset")["rank"].to_dict() == paper["rank"].to_dict()
    )
    assert (
        rob.set_index("dataset")["regions_above"].to_dict()
        == paper["regions_above"].to_dict()
    )
    np.testing.assert_allclose(
        rob.set_index("dataset").mean_tss.loc[paper.index],
        paper.mean_tss,
        rtol=1e-12,
    )
    assert np.all((rob.p_top >= 0) & (rob.p_top <= 1))
    assert np.all(rob.rank_ci_low <= rob.rank_ci_high)
    # 5 models: all are in the top five in every resample.
    np.testing.assert_allclose(rob.p_top, 1.0)
    # The copy of ERA5 is best against ERA5 + GLDAS-NOAH? At least its interval covers rank 1 or 2.
    assert rob.set_index("dataset").loc["COPY", "rank_ci_low"] <= 2


def test_reference_agreement_flags_and_cmec_json(result):
    t = result["table"]
    agree = reference_agreement(t, "sm_shallow", "ERA5", REGION_IDS)
    era_i = tss_matrix(t, "sm_shallow", "ERA5", "reference", REGION_IDS)
    np.testing.assert_allclose(agree, era_i.min(axis=0))
    assert np.all(agree > 0.5)  # ERA-Interim is ERA5 plus small noise
    nested = metric_bundle(t)
    assert (
        set(nested["DIMENSIONS"]["statistic"])
        == set(t["statistic"])
        <= set(STATISTICS)
    )
    assert (
        "TSS_ci_low" in nested["RESULTS"]["M-LO"]["ERA5"]["sm_shallow"]["SIB"]
    )
    assert (
        "TSS_difference"
        in nested["RESULTS"][RESOLUTION_DIFFERENCE]["ERA5"]["sm_shallow"][
            "SIB"
        ]
    )
    assert "R" in nested["RESULTS"]["ERA-Interim"]["ERA5"]["sm_shallow"]["SIB"]
