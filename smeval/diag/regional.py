"""Regional-mean series of preprocessed cubes on their native grids.

SPEC section 3 allows regional means on each data set's own grid with
fractional box weights (cell area x land fraction x fraction of the cell in
the box): cheaper than regridding every member's 432 monthly fields, and exact
at box edges. The weights of a grid are built once and cached, so all members
of a model share them.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import iris.coords
import iris.cube
import numpy as np

from smeval.core.depth import DepthNotReachedError, normalise_depth
from smeval.core.regional import RegionWeights, region_weight_matrix, regional_means
from smeval.core.regions import ALL_REGIONS

from .io import grid_bounds

@lru_cache(maxsize=64)
def _weights(lat_key: bytes, lon_key: bytes, shape: tuple[int, int], regions: tuple[str, ...],
             area_key: bytes | None, frac_key: bytes | None) -> RegionWeights:
    lat = np.frombuffer(lat_key).reshape(shape[0], 2)
    lon = np.frombuffer(lon_key).reshape(shape[1], 2)
    area = None if area_key is None else np.frombuffer(area_key).reshape(shape)
    frac = None if frac_key is None else np.frombuffer(frac_key).reshape(shape)
    return region_weight_matrix(lat, lon, regions=regions, areacella=area, land_fraction=frac)


def _field(cube: iris.cube.Cube | None, shape: tuple[int, int], scale: float = 1.0) -> bytes | None:
    if cube is None:
        return None
    data = np.ma.filled(np.ma.asarray(cube.data, dtype=np.float64), 0.0) * scale
    if data.shape != shape:
        msg = f"{cube.var_name}: fixed field has shape {data.shape}, the data grid is {shape}"
        raise ValueError(msg)
    return np.ascontiguousarray(data).tobytes()


def weights_for(
    cube: iris.cube.Cube,
    regions: tuple[str, ...] | None = None,
    areacella: iris.cube.Cube | None = None,
    sftlf: iris.cube.Cube | None = None,
) -> RegionWeights:
    """Region weights for the grid of ``cube``.

    Parameters
    ----------
    cube
        Data on a rectilinear grid (latitude, longitude with bounds).
    regions
        Region ids; default the 13 regions, NH and SH.
    areacella
        Cell areas (m2) of the data set; computed on the sphere when absent.
    sftlf
        Land fraction (%) of the data set. Without it, the land fraction
        enters only through the data's mask (land variables are masked over
        the sea), i.e. coastal cells count fully.
    """
    regions = tuple(r.id for r in ALL_REGIONS) if regions is None else tuple(regions)
    lat, lon = grid_bounds(cube)
    shape = (len(lat), len(lon))
    return _weights(lat.tobytes(), lon.tobytes(), shape, regions,
                    _field(areacella, shape), _field(sftlf, shape, 0.01))


def regional_mean_series(cube: iris.cube.Cube, weights: RegionWeights):
    """Area-weighted regional means (n_time, n_region) of a (time, lat, lon) cube.

    Lazy for lazy data: compute it with ``dask.compute`` together with the
    other products of the same data, so that the data are read once, block by
    block; the result is small.
    """
    return regional_means(cube.core_data(), weights)


def layer_bounds(cube: iris.cube.Cube) -> tuple[np.ndarray, int]:
    """Soil-layer bounds (m) and the layer axis of a layered cube (``mrsol``)."""
    coord = cube.coord(axis="Z")
    if not coord.has_bounds():
        msg = f"{cube.var_name}: the soil depth coordinate has no bounds; layer thicknesses are unknown"
        raise ValueError(msg)
    bounds = coord.units.convert(np.asarray(coord.bounds, dtype=np.float64), "m")
    return bounds, cube.coord_dims(coord)[0]


def depth_columns(
    cube: iris.cube.Cube,
    depths: Mapping[str, float],
    dataset: str,
) -> dict[str, Any]:
    """The soil water of 0..D m (kg m-2) from the layers of ``cube``, for several D.

    ``depths`` maps a product name (``sm_deep``) to its depth D (m). Each
    product is a cube of ``cube`` without its layer axis, lazy for lazy data,
    with a scalar depth coordinate bounded by 0 and D. Computed together, the
    products and their regional means (:func:`regional_mean_series`) read the
    layers once. A product whose depth the layers do not reach maps to the
    :class:`smeval.core.depth.DepthNotReachedError` that says so (no
    extrapolation).
    """
    bounds, axis = layer_bounds(cube)
    template = cube[(slice(None),) * axis + (0,)]
    template.remove_coord(template.coord(axis="Z"))
    out: dict[str, Any] = {}
    for name, depth in depths.items():
        try:
            column = normalise_depth(cube.core_data(), bounds, depth, axis=axis, dataset=dataset)
        except DepthNotReachedError as exc:
            out[name] = exc
            continue
        product = template.copy(column)
        product.var_name = name
        product.add_aux_coord(iris.coords.AuxCoord(
            depth / 2, bounds=[0.0, depth], standard_name="depth", long_name="depth", var_name="depth",
            units="m", attributes={"positive": "down"}))
        out[name] = product
    return out
