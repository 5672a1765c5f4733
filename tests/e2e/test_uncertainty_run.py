"""How sure are we, in the real `esmvaltool run` of the e2e archive (SPEC section 8).

Uses the session's run of tests/e2e/conftest.py (PLANTED-1 has known R,
sigma, E' and TSS against ERA5 in each region).
"""

from __future__ import annotations

from pathlib import Path

import iris
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.e2e

#: The pipeline's point values may differ from the planted ones by this much
#: (the regridded reference differs slightly: test_recipe_run.py).
TOLERANCE = 0.02


def _work(run: Path, diagnostic: str, script: str) -> Path:
    return run / "work" / diagnostic / script


def test_planted_model_intervals_contain_its_planted_values(e2e):
    table = pd.read_csv(_work(e2e["run"], "skill", "metrics") / "metrics.csv")
    rows = table[
        (table.dataset == "PLANTED-1")
        & (table.reference == "ERA5")
        & (table.variable == "sm_shallow")
    ]
    got = rows.pivot(index="region", columns="statistic", values="value")
    for region, expected in e2e["planted"]["regions"].items():
        for stat in ("R", "sigma", "E'", "TSS"):
            low, high = (
                got.loc[region, f"{stat}_ci_low"],
                got.loc[region, f"{stat}_ci_high"],
            )
            assert low <= high, (region, stat)
            assert low - TOLERANCE <= expected[stat] <= high + TOLERANCE, (
                region,
                stat,
                low,
                high,
            )


def test_uncertainty_rows_ranking_and_fdr_mask_are_written(e2e):
    work = _work(e2e["run"], "skill", "metrics")
    table = pd.read_csv(work / "metrics.csv")
    refs = table[table.kind == "reference"]
    assert {
        ("ERA-Interim", "ERA5"),
        ("GLDAS-NOAH", "ERA5"),
        ("ERA5", "GLDAS-NOAH"),
    } <= set(zip(refs.dataset, refs.reference, strict=True))
    assert not (refs.dataset == refs.reference).any()
    diff = table[table.dataset == "CMIP6-MMEM-high-minus-low"]
    assert set(diff.statistic) == {
        "TSS_difference",
        "TSS_difference_ci_low",
        "TSS_difference_ci_high",
    }
    robust = pd.read_csv(work / "robust_ranking.csv")
    models = set(
        table[
            (table.kind == "model") & (table.variable == "sm_shallow")
        ].dataset
    )
    assert set(robust[robust.variable == "sm_shallow"].dataset) == models
    assert ((robust.p_top >= 0) & (robust.p_top <= 1)).all()
    correlation = (
        _work(e2e["run"], "correlation", "correlation_fields")
        / "correlation_ERA5.nc"
    )
    cubes = {c.var_name: c for c in iris.load(str(correlation))}
    fdr, single = (
        np.ma.filled(cubes[k].data.astype(float), 0)
        for k in ("significant_fdr", "significant")
    )
    # BH at alpha_FDR = 0.10 never keeps a cell its own 5 % test rejects... unless alpha_FDR > 0.05:
    # every survivor has p <= 0.10.
    p = np.ma.filled(cubes["p_value"].data.astype(float), np.nan)
    assert np.all(p[fdr > 0.5] <= 0.10)
    assert (
        "Benjamini-Hochberg"
        in cubes["significant_fdr"].attributes["smeval_significance"]
    )
    assert single.shape == fdr.shape


def test_report_says_how_sure_and_warns_of_few_years(e2e):
    html = (
        e2e["run"] / "plots" / "evaluation" / "report" / "smeval_report.html"
    ).read_text()
    assert "How sure are we?" in html
    # The e2e archive has 3 years: the report says the intervals are not to be trusted.
    assert "This run has only 3 years" in html
    for element in (
        "robust-sm_shallow",
        "resolution-sm_shallow-ERA5",
        "sure-spread-sm_shallow-ERA5",
        "sure-straddle-sm_deep-GLDAS-NOAH",
        "sure-fdr",
    ):
        assert f'id="{element}"' in html, element
