"""Captions name the grid the map is on, read from the field (smeval.diag.provenance.grid_spacing)."""

import iris.coords
import iris.cube
import numpy as np

from smeval.diag.provenance import grid_spacing


def _map(lat_points, lat_bounds=None):
    lat = iris.coords.DimCoord(
        lat_points,
        standard_name="latitude",
        units="degrees",
        bounds=lat_bounds,
    )
    lon = iris.coords.DimCoord(
        np.arange(0.0, 360.0, 90.0), standard_name="longitude", units="degrees"
    )
    return iris.cube.Cube(
        np.zeros((len(lat_points), 4)),
        dim_coords_and_dims=[(lat, 0), (lon, 1)],
    )


def test_common_grid_from_bounds():
    # The paper's 160 x 320 grid: 180 / 160 = 1.125 degrees.
    edges = np.linspace(-90.0, 90.0, 161)
    cube = _map(
        (edges[:-1] + edges[1:]) / 2, np.stack([edges[:-1], edges[1:]], axis=1)
    )
    assert grid_spacing(cube) == "1.125"


def test_points_without_bounds_descending():
    assert grid_spacing(_map(np.array([88.75, 86.25, 83.75]))) == "2.5"
