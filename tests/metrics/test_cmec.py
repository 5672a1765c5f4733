"""The CMEC metric bundle of the tidy table, checked with Climate-REF's own validator.

``climate_ref_core.pycmec.metric.CMECMetric`` is the validator Climate-REF
applies to every metric bundle a provider returns; ``iter_results`` is how it
reads the values back.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from climate_ref_core.pycmec.controlled_vocabulary import CV
from climate_ref_core.pycmec.metric import CMECMetric
from hypothesis import given, settings
from hypothesis import strategies as st

from smeval.metrics.cmec import metric_bundle
from smeval.metrics.table import COLUMNS

KEYS = ["dataset", "reference", "variable", "region", "statistic"]
STATS = ["R", "sigma", "E'", "TSS", "n_months"]


def _table(rows) -> pd.DataFrame:
    """A tidy table from (dataset, kind, reference, variable, region, statistic, value) tuples."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "dataset",
            "kind",
            "reference",
            "variable",
            "region",
            "statistic",
            "value",
        ],
    )
    frame["family"] = frame["dataset"].map(
        lambda d: "FAM" if d.startswith("M") else ""
    )
    frame["resolution_group"] = frame["kind"].map(
        {"model": "low", "mmem": "all", "reference": ""}
    )
    frame["units"] = "1"
    return frame[COLUMNS]


def _values(bundle: dict) -> dict[tuple[str, ...], float]:
    """(source_id, reference_source_id, variable_id, region, statistic) -> value, as Climate-REF reads them."""
    metric = CMECMetric.model_validate(bundle)
    structure = metric.DIMENSIONS.root["json_structure"]
    return {
        tuple(v.dimensions[d] for d in structure): v.value
        for v in metric.iter_results()
    }


@pytest.fixture
def synthetic():
    """Two models, an MMEM and a reference-vs-reference row set, with intervals and holes.

    M2 has no deep soil moisture (as a model without mrsol), one statistic is
    NaN, and ``ci_low``/``ci_high`` columns hold intervals around each value.
    """
    rng = np.random.default_rng(3)
    rows = []
    for dataset, kind in (
        ("M1", "model"),
        ("M2", "model"),
        ("CMIP6-MMEM", "mmem"),
        ("GLDAS-NOAH", "reference"),
    ):
        for variable in ("sm_shallow", "sm_deep"):
            if dataset == "M2" and variable == "sm_deep":
                continue
            for region, stat in itertools.product(("SIB", "EUR", "NH"), STATS):
                rows.append(
                    (
                        dataset,
                        kind,
                        "ERA5",
                        variable,
                        region,
                        stat,
                        float(rng.uniform(0.1, 0.9)),
                    )
                )
    table = _table(rows)
    table.loc[5, "value"] = np.nan
    table["ci_low"] = table["value"] - 0.05
    table["ci_high"] = table["value"] + 0.05
    return table


def test_bundle_of_a_table_with_intervals_and_reference_rows_is_valid(
    synthetic,
):
    bundle = json.loads(json.dumps(metric_bundle(synthetic), allow_nan=False))
    values = _values(bundle)
    # Every statistic and both bounds of every row, nothing else.
    assert len(values) == 3 * len(synthetic)
    for row in synthetic.itertuples(index=False):
        key = (row.dataset, row.reference, row.variable, row.region)
        for name, expected in (
            (row.statistic, row.value),
            (f"{row.statistic}_ci_low", row.ci_low),
            (f"{row.statistic}_ci_high", row.ci_high),
        ):
            got = values[(*key, name)]
            assert (
                math.isnan(got) and math.isnan(expected)
            ) or got == pytest.approx(expected, abs=0, rel=1e-15)
    # The hole is an empty dictionary, as CMEC nests every dimension fully.
    assert bundle["RESULTS"]["M2"]["ERA5"]["sm_deep"]["SIB"] == {}


def test_dimension_entries_have_long_names_units_and_attributes(synthetic):
    dims = metric_bundle(synthetic)["DIMENSIONS"]
    assert dims["json_structure"] == [
        "source_id",
        "reference_source_id",
        "variable_id",
        "region",
        "statistic",
    ]
    for name in dims["json_structure"]:
        assert dims[name], name
        assert all(entry["long_name"] for entry in dims[name].values()), name
    assert dims["variable_id"]["sm_deep"] == {
        "long_name": "deep soil moisture (0-200 cm)",
        "units": "kg m-2",
    }
    assert dims["region"]["SIB"]["long_name"] == "Siberia"
    assert dims["region"]["NH"]["long_name"] == "Northern Hemisphere land"
    # Columns describing a data set are attributes of its entry; units of the statistic's.
    assert dims["source_id"]["GLDAS-NOAH"]["kind"] == "reference"
    assert dims["source_id"]["M1"] == {
        "long_name": "M1",
        "kind": "model",
        "family": "FAM",
        "resolution_group": "low",
    }
    assert dims["source_id"]["CMIP6-MMEM"]["long_name"].startswith(
        "CMIP6 multi-model ensemble mean"
    )
    assert dims["statistic"]["TSS"] == {
        "long_name": "Taylor skill score (Taylor 2001, eq. 4)",
        "units": "1",
    }
    assert dims["statistic"]["R_ci_high"]["long_name"].startswith(
        "upper bound of the confidence interval"
    )


def test_dimension_names_are_in_climate_refs_vocabulary(synthetic):
    # Climate-REF refuses values whose dimensions its controlled vocabulary lacks.
    from importlib.resources import files

    cv = CV.load_from_file(
        files("climate_ref_core").joinpath("pycmec", "cv_cmip7_aft.yaml")
    )
    cv.validate_metrics(CMECMetric.model_validate(metric_bundle(synthetic)))


def test_a_column_of_two_dimensions_is_kept_per_value(synthetic):
    # A column set by (variable, statistic) together belongs to no single dimension.
    synthetic["method"] = synthetic["variable"] + "/" + synthetic["statistic"]
    bundle = metric_bundle(synthetic)
    CMECMetric.model_validate(bundle)
    leaf = bundle["RESULTS"]["M1"]["ERA5"]["sm_deep"]["EUR"]
    assert leaf["attributes"]["method"]["TSS"] == "sm_deep/TSS"
    assert leaf["TSS"] == pytest.approx(
        synthetic.query(
            "dataset == 'M1' and variable == 'sm_deep' and region == 'EUR' and statistic == 'TSS'"
        ).value.item()
    )


_name = st.sampled_from


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            _name(["A", "B", "family:F", "CMIP6-MMEM-low"]),
            _name(["ERA5", "GLDAS-NOAH"]),
            _name(["sm_shallow", "pr", "pmer"]),
            _name(["SIB", "AUS", "SH", "XYZ"]),
            _name([*STATS, "other"]),
            st.one_of(
                st.floats(allow_nan=True, allow_infinity=True),
                st.integers(-5, 5),
            ),
        ),
        min_size=1,
        max_size=60,
        unique_by=lambda r: r[:5],
    )
)
def test_any_table_gives_a_valid_bundle_with_every_value(rows):
    table = _table([(d, "model", r, v, g, s, x) for d, r, v, g, s, x in rows])
    values = _values(metric_bundle(table))
    assert len(values) == len(table)
    for d, r, v, g, s, x in rows:
        got = values[(d, r, v, g, s)]
        if isinstance(x, float) and not math.isfinite(x):
            assert math.isnan(
                got
            )  # CMEC has no NaN or infinity: null, read back as NaN
        else:
            assert got == x
