"""`smeval.diag.running_mean`: the ensemble mean one member at a time is ESMValCore's ``ensemble_statistics`` mean.

Checked against ESMValCore's own function on members with different masks
and non-finite values (hypothesis), and against values worked out by hand.
"""

from __future__ import annotations

from types import SimpleNamespace

import dask.array as da
import iris.coords
import iris.cube
import numpy as np
import pytest
from esmvalcore.preprocessor import ensemble_statistics
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from smeval.diag import running_mean
from smeval.diag.regional_series import _ensemble_steps
from smeval.diag.running_mean import (
    MEAN_SETTINGS,
    RunningMean,
    after_mean,
    applies,
    contribution,
)

SHAPE = (3, 2, 4)  # (time, lat, lon)


def _member(data: np.ma.MaskedArray) -> iris.cube.Cube:
    """A lazy monthly cube of ``data`` on a 2 x 4 grid, as a preprocessed member."""
    time = iris.coords.DimCoord(
        [15.5, 45.0, 74.5],
        bounds=[[0, 31], [31, 59], [59, 90]],
        standard_name="time",
        units="days since 1980-01-01",
    )
    lat = iris.coords.DimCoord(
        [-45.0, 45.0],
        bounds=[[-90, 0], [0, 90]],
        standard_name="latitude",
        units="degrees",
    )
    lon = iris.coords.DimCoord(
        [45.0, 135.0, 225.0, 315.0],
        bounds=[[0, 90], [90, 180], [180, 270], [270, 360]],
        standard_name="longitude",
        units="degrees",
        circular=True,
    )
    return iris.cube.Cube(
        da.ma.masked_array(data.data, mask=np.ma.getmaskarray(data)),
        var_name="mrsos",
        units="kg m-2",
        dim_coords_and_dims=[(time, 0), (lat, 1), (lon, 2)],
    )


def _running(members: list[np.ma.MaskedArray]) -> np.ma.MaskedArray:
    total = RunningMean()
    for data in members:
        values, valid = da.compute(*contribution(_member(data).core_data()))
        total.add(values, valid)
    return total.mean(np.float32)


def _esmvalcore(members: list[np.ma.MaskedArray]) -> np.ma.MaskedArray:
    [mean] = ensemble_statistics(
        [_member(m) for m in members],
        statistics=["mean"],
        output_products=None,
    ).values()
    return np.ma.asarray(mean.data)


member_data = arrays(
    np.float32,
    SHAPE,
    elements=st.floats(0.0, 500.0, width=32),
).flatmap(
    lambda values: arrays(bool, SHAPE).map(
        lambda mask: np.ma.masked_array(values, mask=mask)
    )
)


@settings(max_examples=40, deadline=None)
@given(st.lists(member_data, min_size=2, max_size=6))
def test_the_running_mean_is_esmvalcores_ensemble_mean(members):
    ours, theirs = _running(members), _esmvalcore(members)
    assert ours.dtype == theirs.dtype == np.float32
    np.testing.assert_array_equal(
        np.ma.getmaskarray(ours), np.ma.getmaskarray(theirs)
    )
    np.testing.assert_allclose(
        ours.compressed(), theirs.compressed(), rtol=1e-6, atol=1e-6
    )


def test_the_running_mean_of_values_worked_out_by_hand():
    # One cell, three members: 1 and 2 valid, the third masked -> 1.5; a
    # NaN counts as missing; where every member is missing, masked.
    one = np.ma.masked_array(np.ones(SHAPE, np.float32))
    two = np.ma.masked_array(np.full(SHAPE, 2.0, np.float32))
    gone = np.ma.masked_array(np.full(SHAPE, 9.0, np.float32), mask=True)
    two[0, 0, 0] = np.nan
    one[1, 1, 1] = np.ma.masked
    two[1, 1, 1] = np.ma.masked
    mean = _running([one, two, gone])
    assert mean[0, 0, 0] == 1.0  # the NaN of `two` left out
    assert mean[1, 1, 1] is np.ma.masked  # no member valid
    assert mean[2, 1, 3] == 1.5
    assert np.ma.count(mean) == mean.size - 1


def test_a_member_of_another_shape_is_refused():
    total = RunningMean()
    total.add(np.zeros((2, 3)), np.ones((2, 3), bool))
    with pytest.raises(ValueError, match=r"shape \(3, 2\) cannot join"):
        total.add(np.zeros((3, 2)), np.ones((3, 2), bool))
    with pytest.raises(ValueError, match="no member"):
        RunningMean().mean(np.float32)


@settings(max_examples=40, deadline=None)
@given(st.lists(member_data, min_size=1, max_size=6))
def test_the_mean_divided_into_float32_is_the_float64_quotient_cast(members):
    # The mean divides straight into float32; a second formula: the whole
    # float64 quotient, then cast (what the script wrote before).
    total = RunningMean()
    for data in members:
        total.add(
            np.ma.filled(data, 0),
            ~np.ma.getmaskarray(data),
        )
    count = np.zeros(SHAPE, np.int64)
    sums = np.zeros(SHAPE, np.float64)
    for data in members:
        count += ~np.ma.getmaskarray(data)
        sums += np.ma.filled(data, 0)
    expected = (sums / np.maximum(count, 1)).astype(np.float32)
    mean = total.mean(np.float32)
    np.testing.assert_array_equal(np.ma.getmaskarray(mean), count == 0)
    np.testing.assert_array_equal(mean.data, expected)


def test_more_members_than_the_counts_hold_are_refused():
    total = RunningMean()
    one, valid = np.ones(1, np.float32), np.ones(1, bool)
    for _ in range(np.iinfo(running_mean.COUNT_DTYPE).max):
        total.add(one, valid)
    assert total.mean(np.float32)[0] == 1.0
    with pytest.raises(ValueError, match="would overflow"):
        total.add(one, valid)


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (
            {"ensemble_statistics": {"statistics": ["mean"]}, "regrid": {}},
            True,
        ),
        ({"ensemble_statistics": {"statistics": ["median"]}}, False),
        (
            {
                "ensemble_statistics": {
                    "statistics": ["mean"],
                    "span": "full",
                }
            },
            False,
        ),
        (
            {"regrid": {}, "ensemble_statistics": {"statistics": ["mean"]}},
            False,
        ),
        ({}, False),
    ],
)
def test_the_running_mean_replaces_only_a_leading_plain_ensemble_mean(
    steps, expected
):
    assert applies(steps) is expected


def test_the_steps_after_the_mean_keep_their_order_and_options():
    steps = {
        "ensemble_statistics": {"statistics": ["mean"]},
        "regrid": {"target_grid": "1x1"},
        "mask_landsea": {"mask_out": "sea"},
    }
    assert list(after_mean(steps).items()) == [
        ("regrid", {"target_grid": "1x1"}),
        ("mask_landsea", {"mask_out": "sea"}),
    ]


@settings(max_examples=30, deadline=None)
@given(member_data)
def test_a_single_members_mean_is_esmvalcores_without_its_stack(data):
    # The series script takes one member's ensemble mean as its valid
    # values (no stack, no masked mean): ESMValCore's result, bit for bit.
    member = SimpleNamespace(cube=_member(data), meta={"project": "CMIP6"})
    options = SimpleNamespace(
        correlation_steps={"ensemble_statistics": dict(MEAN_SETTINGS)}
    )
    ours = _ensemble_steps([member], options).data
    theirs = _esmvalcore([data])
    assert ours.dtype == theirs.dtype == np.float32
    np.testing.assert_array_equal(
        np.ma.getmaskarray(ours), np.ma.getmaskarray(theirs)
    )
    np.testing.assert_array_equal(ours.compressed(), theirs.compressed())


def test_a_single_members_nan_is_missing_as_in_esmvalcores_mean():
    data = np.ma.masked_array(np.ones(SHAPE, np.float32))
    data[0, 1, 2] = np.nan
    member = SimpleNamespace(cube=_member(data), meta={"project": "CMIP6"})
    options = SimpleNamespace(
        correlation_steps={"ensemble_statistics": dict(MEAN_SETTINGS)}
    )
    ours = _ensemble_steps([member], options).data
    assert ours[0, 1, 2] is np.ma.masked
    assert np.ma.count(ours) == ours.size - 1
    assert _esmvalcore([data])[0, 1, 2] is np.ma.masked
