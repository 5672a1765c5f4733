"""Tests of the separable conservative regridding (smeval.core.regrid, smeval.regrid).

Known answers: overlaps worked out by hand, conservation of the area
integral, and iris' own AreaWeighted regridder as an independent route.
"""

import dask.array as da
import iris.analysis
import iris.coord_systems
import iris.coords
import iris.cube
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from smeval.core.regional import cell_areas
from smeval.core.regrid import (
    Weights,
    lat_overlaps,
    lon_overlaps,
    regrid_block,
)
from smeval.regrid import AreaWeighted


def edges_to_bounds(edges):
    edges = np.asarray(edges, float)
    return np.stack([edges[:-1], edges[1:]], 1)


def test_lat_overlaps_by_hand():
    # Source bands 0-30N and 30-90N cover the target band 0-90N; sin 30 = 1/2.
    shares = lat_overlaps([[0, 30], [30, 90]], [[0, 90], [0, 30]])
    np.testing.assert_allclose(shares, [[0.5, 0.5], [1.0, 0.0]], atol=1e-15)
    # Bounds in either order give the same shares.
    np.testing.assert_allclose(
        lat_overlaps([[30, 0], [90, 30]], [[90, 0], [30, 0]]),
        shares,
        atol=1e-15,
    )


def test_lon_overlaps_across_conventions_and_the_dateline():
    src = edges_to_bounds([0, 90, 180, 270, 360])  # 0..360 convention
    # Target -45..45 takes half of 270-360 (= -90..0) and half of 0-90.
    np.testing.assert_allclose(
        lon_overlaps(src, [[-45, 45]]), [[0.5, 0, 0, 0.5]], atol=1e-15
    )
    # Target 170..190 (across 180) halves of 90-180 and 180-270.
    np.testing.assert_allclose(
        lon_overlaps(src, [[170, -170]]), [[0, 0.5, 0.5, 0]], atol=1e-15
    )
    # A full-circle source band covers every target band once.
    np.testing.assert_allclose(
        lon_overlaps([[0, 360]], src), np.ones((4, 1)), atol=1e-15
    )


def test_two_source_cells_into_one_target_cell_by_hand():
    # Source: 2 x 1 cells 0-30N and 30-90N (one lon band 0-360), values 10 and 40.
    # Target 0-90N: weights are sin-latitude extents 1/2 and 1/2 -> 25.
    w = Weights.between([[0, 30], [30, 90]], [[0, 360]], [[0, 90]], [[0, 360]])
    out = regrid_block(np.array([[10.0], [40.0]]), w)
    assert out.shape == (1, 1)
    assert float(out[0, 0]) == pytest.approx(25.0)
    # With the 30-90N cell masked only 10 remains (mdtol 1); masked share 1/2: masked for mdtol 0.4, kept for 0.6.
    masked = np.ma.masked_array([[10.0], [40.0]], mask=[[False], [True]])
    assert float(regrid_block(masked, w)[0, 0]) == pytest.approx(10.0)
    assert regrid_block(masked, w, mdtol=0.4).mask[0, 0]
    assert not regrid_block(masked, w, mdtol=0.6).mask[0, 0]


def test_uncovered_target_cells_are_masked():
    # Source covers 0-90N only: the target band 30S-30N is half outside -> masked, as in iris.
    w = Weights.between(
        [[0, 90]], [[0, 360]], [[-30, 30], [30, 90]], [[0, 360]]
    )
    out = regrid_block(np.array([[5.0]]), w)
    assert out.mask.tolist() == [[True], [False]]
    assert float(out[1, 0]) == 5.0


def gaussian_like_bounds(nlat):
    # Uneven latitude bands like a Gaussian grid's.
    x = np.sin(np.linspace(-np.pi / 2, np.pi / 2, nlat + 1))
    return edges_to_bounds(np.rad2deg(np.arcsin(x)))


@settings(max_examples=40, deadline=None)
@given(
    nlat=st.integers(2, 40),
    nlon=st.integers(2, 60),
    mlat=st.integers(2, 50),
    mlon=st.integers(2, 70),
    lon0=st.floats(-180, 180),
    seed=st.integers(0, 2**32 - 1),
)
# Found by hypothesis: two columns 180 degrees wide whose bounds round to a
# hair over half a turn apart were taken as the other half of the circle.
@example(nlat=2, nlon=2, mlat=2, mlon=2, lon0=-1e-05, seed=0)
def test_conserves_the_area_integral_and_constants(
    nlat, nlon, mlat, mlon, lon0, seed
):
    # Global grids tile the sphere: the area integral is conserved and a constant stays constant.
    src_lat = gaussian_like_bounds(nlat)
    src_lon = edges_to_bounds(np.linspace(lon0, lon0 + 360, nlon + 1))
    tgt_lat = edges_to_bounds(np.linspace(-90, 90, mlat + 1))
    tgt_lon = edges_to_bounds(np.linspace(0, 360, mlon + 1))
    w = Weights.between(src_lat, src_lon, tgt_lat, tgt_lon)
    field = np.random.default_rng(seed).gamma(2.0, 3.0, (nlat, nlon))
    out = regrid_block(field, w)
    assert not np.ma.is_masked(out)
    src_integral = (cell_areas(src_lat, src_lon) * field).sum()
    tgt_integral = (cell_areas(tgt_lat, tgt_lon) * out).sum()
    assert tgt_integral == pytest.approx(src_integral, rel=1e-10)
    np.testing.assert_allclose(
        regrid_block(np.full((nlat, nlon), 7.5), w), 7.5, rtol=1e-12
    )


def cube_on(lat_bounds, lon_bounds, data, cs=True):
    crs = iris.coord_systems.GeogCS(6371229.0) if cs else None
    lat = iris.coords.DimCoord(
        np.mean(lat_bounds, 1),
        standard_name="latitude",
        units="degrees",
        bounds=lat_bounds,
        coord_system=crs,
    )
    lon = iris.coords.DimCoord(
        np.mean(lon_bounds, 1),
        standard_name="longitude",
        units="degrees",
        bounds=lon_bounds,
        coord_system=crs,
        circular=True,
    )
    cube = iris.cube.Cube(data, var_name="mrsos", units="kg m-2")
    time = iris.coords.DimCoord(
        np.arange(data.shape[0], dtype=float),
        standard_name="time",
        units="days since 1979-01-01",
    )
    cube.add_dim_coord(time, 0)
    cube.add_dim_coord(lat, 1)
    cube.add_dim_coord(lon, 2)
    return cube


@pytest.mark.parametrize("lon0", [0.0, -180.0, -0.9375])
@pytest.mark.parametrize("mdtol", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("mask_kind", ["none", "constant", "varying"])
def test_same_as_iris_area_weighted(lon0, mdtol, mask_kind):
    # Independent route: iris' AreaWeighted (one sparse Kronecker weight matrix).
    rng = np.random.default_rng(3)
    src_lat, src_lon = (
        gaussian_like_bounds(23),
        edges_to_bounds(np.linspace(lon0, lon0 + 360, 37)),
    )
    # Target: a regional grid across 0E, part of it outside the source's 60S-90N.
    tgt_lat = edges_to_bounds(np.arange(-70, 81, 1.5))
    tgt_lon = edges_to_bounds(np.arange(-30.0, 95.0, 1.25))
    src_lat = src_lat[src_lat[:, 0] >= -61]
    values = rng.normal(20, 5, (4, len(src_lat), len(src_lon))).astype(
        np.float32
    )
    if mask_kind == "none":
        data = values
    elif mask_kind == "constant":
        data = np.ma.masked_array(
            values,
            mask=np.broadcast_to(
                rng.random(values.shape[1:]) < 0.3, values.shape
            ),
        )
    else:
        data = np.ma.masked_array(values, mask=rng.random(values.shape) < 0.3)
    src = cube_on(src_lat, src_lon, data)
    tgt = cube_on(tgt_lat, tgt_lon, np.zeros((1, len(tgt_lat), len(tgt_lon))))
    # iris works in radians, which leaves overlaps of ~1e-14 of a cell where edges coincide;
    # with mdtol=1 such a sliver alone would keep a target cell. Our overlaps are exact in
    # degrees, so iris is asked to ignore shares below 1e-9.
    expected = src.regrid(
        tgt, iris.analysis.AreaWeighted(mdtol=min(mdtol, 1 - 1e-9))
    )
    got = src.regrid(tgt, AreaWeighted(mdtol=mdtol))
    assert got.dtype == expected.dtype == np.float32
    np.testing.assert_array_equal(
        np.ma.getmaskarray(got.data), np.ma.getmaskarray(expected.data)
    )
    np.testing.assert_allclose(
        np.ma.filled(got.data, 0), np.ma.filled(expected.data, 0), rtol=1e-6
    )
    assert got.coord("latitude") == expected.coord("latitude")
    assert got.coord("longitude") == expected.coord("longitude")
    assert got.coord("time") == expected.coord("time")


def test_lazy_data_stay_lazy_and_match_numpy():
    rng = np.random.default_rng(5)
    src_lat, src_lon = (
        gaussian_like_bounds(30),
        edges_to_bounds(np.linspace(0, 360, 65)),
    )
    tgt_lat, tgt_lon = (
        edges_to_bounds(np.linspace(-90, 90, 41)),
        edges_to_bounds(np.linspace(-180, 180, 81)),
    )
    values = np.ma.masked_array(
        rng.normal(size=(12, 30, 64)), mask=rng.random((12, 30, 64)) < 0.2
    )
    lazy = cube_on(
        src_lat,
        src_lon,
        da.ma.masked_array(
            da.from_array(values.data, chunks=(5, 10, 64)),
            mask=da.from_array(values.mask, chunks=(5, 10, 64)),
        ),
    )
    eager = cube_on(src_lat, src_lon, values)
    tgt = cube_on(tgt_lat, tgt_lon, np.zeros((1, 40, 80)))
    out = lazy.regrid(tgt, AreaWeighted())
    assert out.has_lazy_data()
    np.testing.assert_array_equal(
        out.data, eager.regrid(tgt, AreaWeighted()).data
    )


def test_ancillary_variables_on_the_grid_are_dropped_like_iris():
    src_lat, src_lon = (
        gaussian_like_bounds(10),
        edges_to_bounds(np.linspace(0, 360, 21)),
    )
    src = cube_on(src_lat, src_lon, np.ones((2, 10, 20)))
    src.add_ancillary_variable(
        iris.coords.AncillaryVariable(
            np.full((10, 20), 100.0), var_name="sftlf", units="%"
        ),
        (1, 2),
    )
    tgt = cube_on(
        edges_to_bounds(np.linspace(-90, 90, 7)),
        edges_to_bounds(np.linspace(0, 360, 13)),
        np.zeros((1, 6, 12)),
    )
    ours, theirs = (
        src.regrid(tgt, AreaWeighted()),
        src.regrid(tgt, iris.analysis.AreaWeighted()),
    )
    assert ours.ancillary_variables() == theirs.ancillary_variables() == []


def test_rotated_grids_go_to_iris():
    # Only true latitude-longitude grids are separable; anything else is iris' AreaWeighted.
    crs = iris.coord_systems.RotatedGeogCS(39.25, 198.0)

    def rotated(nlat, nlon):
        cube = iris.cube.Cube(
            np.arange(nlat * nlon, dtype=float).reshape(nlat, nlon),
            var_name="pr",
        )
        lat_b, lon_b = (
            edges_to_bounds(np.linspace(-20, 20, nlat + 1)),
            edges_to_bounds(np.linspace(-30, 30, nlon + 1)),
        )
        cube.add_dim_coord(
            iris.coords.DimCoord(
                lat_b.mean(1),
                "grid_latitude",
                units="degrees",
                bounds=lat_b,
                coord_system=crs,
            ),
            0,
        )
        cube.add_dim_coord(
            iris.coords.DimCoord(
                lon_b.mean(1),
                "grid_longitude",
                units="degrees",
                bounds=lon_b,
                coord_system=crs,
            ),
            1,
        )
        return cube

    src, tgt = rotated(8, 12), rotated(4, 6)
    assert isinstance(
        AreaWeighted().regridder(src, tgt), iris.analysis.AreaWeightedRegridder
    )
    np.testing.assert_array_equal(
        src.regrid(tgt, AreaWeighted()).data,
        src.regrid(tgt, iris.analysis.AreaWeighted()).data,
    )


def test_rejects_a_cube_on_another_grid_and_bad_mdtol():
    src = cube_on(
        gaussian_like_bounds(10),
        edges_to_bounds(np.linspace(0, 360, 21)),
        np.ones((1, 10, 20)),
    )
    other = cube_on(
        gaussian_like_bounds(12),
        edges_to_bounds(np.linspace(0, 360, 21)),
        np.ones((1, 12, 20)),
    )
    tgt = cube_on(
        edges_to_bounds(np.linspace(-90, 90, 7)),
        edges_to_bounds(np.linspace(0, 360, 13)),
        np.zeros((1, 6, 12)),
    )
    regridder = AreaWeighted().regridder(src, tgt)
    with pytest.raises(ValueError, match="not on the grid"):
        regridder(other)
    with pytest.raises(ValueError, match="mdtol"):
        AreaWeighted(mdtol=1.5)


def test_slivers_from_rounded_edges_do_not_keep_a_cell():
    # Source edge at 180 + 1e-10 (rounding of a 53-column grid): the target band 180-181.125
    # lies in the masked (sea) cell, and the 1e-10 overlap with the land cell is noise.
    src_lon = np.array([[170.0, 180.0 + 1e-10], [180.0 + 1e-10, 190.0]])
    w = Weights.between([[-10, 10]], src_lon, [[-10, 10]], [[180.0, 181.125]])
    land_sea = np.ma.masked_array([[5.0, 0.0]], mask=[[False, True]])
    assert regrid_block(land_sea, w).mask.all()
