"""A fast conservative regridding scheme for ESMValCore's ``regrid`` step.

ESMValCore accepts any iris-style regridding scheme by reference. This one
gives the same values and masks as ``scheme: area_weighted`` (iris'
``AreaWeighted``) on rectilinear latitude-longitude grids, but applies the
weights as two separable sparse products (:mod:`smeval.core.regrid`) and
treats a mask that is the same at every time step (land or sea) once, which
makes regridding months of a model's fields several times faster. Recipe use::

    regrid:
      target_grid: 1.125x1.125
      scheme:
        reference: smeval.regrid:AreaWeighted
        mdtol: 1

Grids it does not handle (curvilinear or projected coordinates, coordinates
without bounds, cubes with derived coordinates) are passed to iris' ``AreaWeighted`` unchanged,
so the scheme never does less than ``area_weighted``. Data stay lazy.
"""

from __future__ import annotations

import logging

import iris.analysis
import iris.coords
import iris.cube
import iris.exceptions
import numpy as np

from smeval.core._arrays import array_module, da, is_lazy
from smeval.core.regrid import Weights, regrid_block

logger = logging.getLogger(__name__)


def _horizontal(cube: iris.cube.Cube):
    """Return the 1-D latitude and longitude dimension coordinates, or None."""
    try:
        lat = cube.coord(axis="y", dim_coords=True)
        lon = cube.coord(axis="x", dim_coords=True)
    except iris.exceptions.CoordinateNotFoundError:
        return None
    if lat.standard_name != "latitude" or lon.standard_name != "longitude":
        return None
    if not (lat.has_bounds() and lon.has_bounds()):
        return None
    if lat.coord_system is not None and not isinstance(
        lat.coord_system, iris.coord_systems.GeogCS
    ):
        return None
    return lat, lon


def _degrees(coord: iris.coords.Coord) -> np.ndarray:
    return coord.units.convert(coord.bounds.astype(np.float64), "degrees")


class AreaWeighted:
    """Conservative area-weighted regridding scheme (iris scheme interface).

    Parameters
    ----------
    mdtol : float, default 1
        Largest tolerated masked share of a target cell (0 to 1), as in
        :class:`iris.analysis.AreaWeighted`.
    """

    def __init__(self, mdtol: float = 1.0):
        if not 0.0 <= mdtol <= 1.0:
            msg = f"mdtol must be between 0 and 1, got {mdtol}"
            raise ValueError(msg)
        self.mdtol = float(mdtol)

    def __repr__(self) -> str:
        return f"smeval.regrid.AreaWeighted(mdtol={self.mdtol:g})"

    def regridder(
        self, src_grid_cube: iris.cube.Cube, target_grid_cube: iris.cube.Cube
    ):
        """Return a callable that regrids cubes on *src_grid_cube*'s grid."""
        src_grid, tgt_grid = (
            _horizontal(src_grid_cube),
            _horizontal(target_grid_cube),
        )
        if (
            src_grid is not None
            and tgt_grid is not None
            and not src_grid_cube.aux_factories
        ):
            return _SeparableRegridder(src_grid, tgt_grid, self.mdtol)
        logger.debug(
            "Grid of %s is not rectilinear with bounds: iris AreaWeighted",
            src_grid_cube.name(),
        )
        return iris.analysis.AreaWeighted(mdtol=self.mdtol).regridder(
            src_grid_cube, target_grid_cube
        )


class _SeparableRegridder:
    """Regrid cubes from one rectilinear grid to another."""

    def __init__(self, src_grid, tgt_grid, mdtol: float):
        """*src_grid*, *tgt_grid*: (latitude, longitude) coordinates with bounds."""
        src_lat, src_lon = src_grid
        self._src_points = (src_lat.points.copy(), src_lon.points.copy())
        self._tgt_lat, self._tgt_lon = (c.copy() for c in tgt_grid)
        self.mdtol = mdtol
        self.weights = Weights.between(
            _degrees(src_lat),
            _degrees(src_lon),
            _degrees(self._tgt_lat),
            _degrees(self._tgt_lon),
        )

    def __call__(self, cube: iris.cube.Cube) -> iris.cube.Cube:
        grid = _horizontal(cube)
        if (
            grid is None
            or cube.aux_factories
            or not np.array_equal(grid[0].points, self._src_points[0])
            or not np.array_equal(grid[1].points, self._src_points[1])
        ):
            msg = f"{cube.name()}: the cube is not on the grid this regridder was made for"
            raise ValueError(msg)
        y_dim = cube.coord_dims(grid[0])[0]
        x_dim = cube.coord_dims(grid[1])[0]
        data = self._regrid_data(cube.core_data(), y_dim, x_dim)
        out = iris.cube.Cube(data)
        out.metadata = cube.metadata
        for coord in cube.dim_coords:
            dim = cube.coord_dims(coord)[0]
            if dim == y_dim:
                out.add_dim_coord(self._tgt_lat.copy(), dim)
            elif dim == x_dim:
                out.add_dim_coord(self._tgt_lon.copy(), dim)
            else:
                out.add_dim_coord(coord.copy(), dim)
        # As iris does: what spans the horizontal grid (auxiliary coordinates,
        # cell measures such as areacella, ancillary variables such as sftlf)
        # no longer describes the new grid and is dropped.
        grid_dims = {y_dim, x_dim}
        for coord in cube.aux_coords:
            if not grid_dims & set(cube.coord_dims(coord)):
                out.add_aux_coord(coord.copy(), cube.coord_dims(coord))
        for measure in cube.cell_measures():
            if not grid_dims & set(cube.cell_measure_dims(measure)):
                out.add_cell_measure(
                    measure.copy(), cube.cell_measure_dims(measure)
                )
        for ancillary in cube.ancillary_variables():
            if not grid_dims & set(cube.ancillary_variable_dims(ancillary)):
                out.add_ancillary_variable(
                    ancillary.copy(), cube.ancillary_variable_dims(ancillary)
                )
        return out

    def _regrid_data(self, data, y_dim: int, x_dim: int):
        ndim = data.ndim
        xp = array_module(data)
        src = xp.moveaxis(data, (y_dim, x_dim), (-2, -1))
        if not is_lazy(data):
            return np.moveaxis(
                regrid_block(src, self.weights, self.mdtol),
                (-2, -1),
                (y_dim, x_dim),
            )
        src = src.rechunk({ndim - 2: -1, ndim - 1: -1})
        dtype = np.promote_types(src.dtype, np.float16)
        my, mx = self.weights.tgt_shape
        out = src.map_blocks(
            regrid_block,
            self.weights,
            self.mdtol,
            dtype=dtype,
            chunks=(*src.chunks[:-2], (my,), (mx,)),
            meta=np.ma.masked_array(np.zeros((0,) * ndim, dtype=dtype)),
        )
        return da.moveaxis(out, (-2, -1), (y_dim, x_dim))
