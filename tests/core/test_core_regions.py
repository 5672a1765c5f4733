"""Tests of smeval.core.regions: region table and exact fractional cell weights (SPEC section 3)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smeval.core.regions import (
    ALL_REGIONS,
    ANTARCTICA_BOX,
    EXCLUDED_BOXES,
    GREENLAND_BOXES,
    REGIONS,
    Box,
    box_fraction,
    domain_fraction,
    get_region,
    region_weights,
)


def regular_grid(dlat, dlon, lon0=0.0):
    lat = np.arange(-90, 90, dlat)
    lon = np.arange(lon0, lon0 + 360, dlon)
    return np.stack([lat, lat + dlat], 1), np.stack([lon, lon + dlon], 1)


def test_region_table_matches_spec():
    # The 13 SPEC ids in order, east-positive longitudes: spot-check WNA (125W-98W) and NA-WA (20W-60E).
    assert [r.id for r in REGIONS] == [
        "SIB",
        "M-AS",
        "TIB",
        "L-AS",
        "NA-WA",
        "EUR",
        "C-AF",
        "S-AF",
        "WNA",
        "ENA",
        "NSA",
        "SSA",
        "AUS",
    ]
    assert get_region("WNA").box == Box(20, 60, -125, -98)
    assert get_region("NA-WA").box == Box(10, 35, -20, 60)
    assert get_region("S-AF").box == Box(-35, -15, 10, 40)
    assert [r.id for r in ALL_REGIONS][-2:] == ["NH", "SH"]
    # The hemisphere of each box's centre gives the paper's 8 NH regions of Fig. 9.
    assert {r.id for r in REGIONS if r.hemisphere == "NH"} == {
        "SIB",
        "M-AS",
        "TIB",
        "L-AS",
        "EUR",
        "WNA",
        "ENA",
        "NA-WA",
    }
    with pytest.raises(KeyError, match="unknown region"):
        get_region("XYZ")


def test_cell_half_inside_in_longitude():
    # Cell 74E-76E, 36N-37N is fully inside TIB in latitude and half inside (75E edge) in longitude.
    w = region_weights([[36, 37]], [[74, 76]], "TIB")
    assert w[0, 0] == pytest.approx(0.5)


def test_cell_straddling_latitude_edge_uses_sine_of_latitude():
    # Cell 37N-39N across TIB's 38N edge: fraction is (sin 38 - sin 37) / (sin 39 - sin 37), just above 1/2.
    w = region_weights([[37, 39]], [[80, 81]], "TIB")
    s = np.sin(np.deg2rad([37, 38, 39]))
    assert w[0, 0] == pytest.approx((s[1] - s[0]) / (s[2] - s[0]))
    assert w[0, 0] > 0.5


def test_longitude_conventions_agree():
    # A 0..360 grid and the same grid in -180..180 give the same weights, column for column.
    lat, lon360 = regular_grid(2.5, 3.75)
    lon180 = np.where(lon360 >= 180, lon360 - 360, lon360)
    for region in ALL_REGIONS:
        np.testing.assert_allclose(
            region_weights(lat, lon360, region),
            region_weights(lat, lon180, region),
            atol=1e-12,
        )


def test_cell_crossing_greenwich_and_reversed_bounds():
    # Cell 359E..1E (stored as [359, 1]) lies inside EUR (10W-60E) in full; reversed bounds too.
    assert region_weights([[40, 41]], [[359, 1]], "EUR")[
        0, 0
    ] == pytest.approx(1.0)
    assert region_weights([[41, 40]], [[1, 359]], "EUR")[
        0, 0
    ] == pytest.approx(1.0)
    # Cell 21W..19W, stored in 0..360 as [339, 341], is half inside NA-WA (which starts at 20W).
    assert region_weights([[20, 21]], [[339, 341]], "NA-WA")[
        0, 0
    ] == pytest.approx(0.5)


def test_latitude_orientation_flips_rows():
    # North-to-south rows give the south-to-north weights upside down.
    lat, lon = regular_grid(1.125, 1.125)
    for rid in ("SIB", "SSA", "NH"):
        np.testing.assert_allclose(
            region_weights(lat[::-1, ::-1], lon, rid),
            region_weights(lat, lon, rid)[::-1],
        )


def test_exclusions_antarctica_and_greenland():
    # Inland Greenland (72N 40W) and Antarctica (70S) are out; Iceland, Baffin Island and Ellesmere stay in.
    def nh(lat, lon):
        return region_weights(
            [[lat - 0.25, lat + 0.25]], [[lon - 0.25, lon + 0.25]], "NH"
        )[0, 0]

    assert nh(72.0, -40.0) == 0.0  # central Greenland ice sheet
    assert nh(64.0, -50.0) == 0.0  # Nuuk, SW Greenland
    assert nh(82.5, -35.0) == 0.0  # Peary Land, N Greenland
    assert nh(76.5, -68.7) == 0.0  # Thule, NW Greenland
    assert nh(64.5, -19.0) == 1.0  # Iceland
    assert nh(66.3, -18.0) == 1.0  # north coast of Iceland
    assert nh(68.0, -68.0) == 1.0  # Baffin Island
    assert nh(80.0, -80.0) == 1.0  # Ellesmere Island
    assert region_weights([[-70.5, -69.5]], [[10, 11]], "SH")[0, 0] == 0.0
    # A cell straddling 60S is half excluded in its sin(latitude) share.
    w = region_weights([[-61, -59]], [[10, 11]], "SH")[0, 0]
    s = np.sin(np.deg2rad([-61, -60, -59]))
    assert w == pytest.approx((s[2] - s[1]) / (s[2] - s[0]))


def test_excluded_boxes_disjoint():
    # Exclusion fractions are summed, which is exact only if the boxes do not overlap.
    for i, a in enumerate(EXCLUDED_BOXES):
        for b in EXCLUDED_BOXES[i + 1 :]:
            assert a.intersection(b) is None


def test_hemispheres_cover_domain_exactly():
    # NH + SH fractions equal the domain fraction; its area is the sphere minus the exact excluded box areas.
    lat, lon = regular_grid(1.125, 1.125)
    total = region_weights(lat, lon, "NH") + region_weights(lat, lon, "SH")
    np.testing.assert_allclose(total, domain_fraction(lat, lon), atol=1e-12)
    area = np.outer(
        np.diff(np.sin(np.deg2rad(lat)), axis=1)[:, 0],
        np.deg2rad(np.diff(lon, axis=1)[:, 0]),
    )

    def box_area(b):
        return (
            np.sin(np.deg2rad(b.lat_max)) - np.sin(np.deg2rad(b.lat_min))
        ) * np.deg2rad(b.lon_max - b.lon_min)

    expected = 4 * np.pi - sum(
        box_area(b) for b in (ANTARCTICA_BOX, *GREENLAND_BOXES)
    )
    assert (total * area).sum() == pytest.approx(expected, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from([0.5, 0.7, 1.125, 1.875, 2.8125, 3.0]),
    st.sampled_from([0.5, 1.125, 1.25, 2.5, 3.75]),
    st.floats(-180, 180),
    st.floats(-80, 80),
    st.floats(-170, 170),
)
def test_fractions_of_a_partition_sum_to_one(
    dlat, dlon, lon0, lat_cut, lon_cut
):
    # Four boxes cut at an arbitrary (lat, lon) partition the globe: their fractions add to 1 in every cell.
    lat, lon = regular_grid(dlat, dlon, lon0)
    lat = np.clip(lat, -90, 90)
    boxes = [
        Box(-90, lat_cut, -180, lon_cut),
        Box(-90, lat_cut, lon_cut, 180),
        Box(lat_cut, 90, -180, lon_cut),
        Box(lat_cut, 90, lon_cut, 180),
    ]
    total = sum(box_fraction(lat, lon, b) for b in boxes)
    np.testing.assert_allclose(total, 1.0, atol=1e-9)


def test_a_half_turn_cell_runs_east_from_its_first_bound_despite_rounding():
    from smeval.core.regions import lon_arcs

    bounds = np.array([[-1e-5, 180.0 - 1e-5], [180.0 - 1e-5, 360.0 - 1e-5]])
    assert (
        np.mod(bounds[1, 1] - bounds[1, 0], 360.0) > 180.0
    )  # the rounding that broke it
    start, width = lon_arcs(bounds)
    np.testing.assert_allclose(width, [180.0, 180.0])
    np.testing.assert_allclose(start, [-1e-5, 180.0 - 1e-5], atol=1e-9)
