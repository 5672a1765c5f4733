"""Regional-mean series of preprocessed cubes (one pass over all regions)."""

from __future__ import annotations

from functools import lru_cache

import iris.cube
import numpy as np

from smeval.core.regional import RegionWeights, region_weight_matrix, regional_means
from smeval.core.regions import ALL_REGIONS

from .io import grid_bounds


@lru_cache(maxsize=32)
def _weights_for_grid(lat_key: bytes, lon_key: bytes, shape: tuple[int, int], regions: tuple[str, ...]) -> RegionWeights:
    lat = np.frombuffer(lat_key).reshape(shape[0], 2)
    lon = np.frombuffer(lon_key).reshape(shape[1], 2)
    return region_weight_matrix(lat, lon, regions=regions)


def weights_for(cube: iris.cube.Cube, regions: tuple[str, ...] | None = None) -> RegionWeights:
    """Region weights (cell area x region fraction) for the grid of ``cube``.

    The cube's data are taken to be masked to land already (the recipe masks
    the sea), so the land fraction enters through the mask. Weights are
    cached per grid: every data set on the common grid shares one matrix.
    """
    regions = tuple(r.id for r in ALL_REGIONS) if regions is None else tuple(regions)
    lat, lon = grid_bounds(cube)
    return _weights_for_grid(lat.tobytes(), lon.tobytes(), (len(lat), len(lon)), regions)


def regional_mean_series(cube: iris.cube.Cube, regions: tuple[str, ...] | None = None) -> tuple[np.ndarray, RegionWeights]:
    """Area-weighted regional means of a (time, lat, lon) cube.

    Returns the (n_time, n_region) array in the cube's units (computed from
    the lazy data block by block) and the weights used.
    """
    weights = weights_for(cube, regions)
    values = regional_means(cube.core_data(), weights)
    return np.asarray(values.compute() if hasattr(values, "compute") else values), weights
