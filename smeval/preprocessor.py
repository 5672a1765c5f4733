"""Preprocessor steps that ESMValCore lacks, with ESMValCore's signature.

Each step is ``step(cube, **options) -> cube``, keeps lazy data lazy, and
could be proposed to :mod:`esmvalcore.preprocessor` as it stands. The recipe
lists them, in order, beside ESMValCore's own functions in the script
options ``series_steps``, ``map_steps`` and ``correlation_steps`` (see
:mod:`smeval.diag.preprocess`, which checks and applies them): ESMValCore cannot
yet run functions from outside its package as recipe preprocessors
(ESMValCore issue #3085), so the diagnostic scripts apply them to the data
they read.

- :func:`soil_column`: the soil water of 0..D m from the layers of ``mrsol``;
- :func:`box_means`: (time, region) means over the SPEC's boxes with exact
  fractional weights;
- :func:`climate_mean`: ESMValCore's ``climate_statistics(operator='mean',
  period='full')``, computed in one pass without masked arithmetic.

The science is :mod:`smeval.core.depth` and :mod:`smeval.core.regional`;
these functions wrap it into cubes.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from types import MappingProxyType

import dask.array as da
import esmvalcore.preprocessor as esmvalcore_preprocessor
import iris.coords
import iris.cube
import numpy as np

from smeval.core._arrays import array_module, valid_values
from smeval.core.depth import normalise_depth
from smeval.core.regional import (
    RegionWeights,
    region_weight_matrix,
    regional_means,
)
from smeval.core.regions import ALL_REGIONS

__all__ = ["box_means", "climate_mean", "soil_column"]

#: Units of the soil water content that :func:`soil_column` sums.
SOIL_WATER_UNITS = "kg m-2"


def soil_column(cube: iris.cube.Cube, depth: float) -> iris.cube.Cube:
    """Soil water between the surface and ``depth`` from the layers of ``cube``.

    With layer bounds ``[a_k, b_k]`` (m, from the depth coordinate's bounds,
    never guessed) and layer contents ``W_k`` (kg m-2), water uniform within a
    layer::

        W(0..D) = sum_k W_k * max(0, min(b_k, D) - a_k) / (b_k - a_k)

    so a layer that crosses ``D`` counts with the fraction of it above ``D``.

    Parameters
    ----------
    cube : iris.cube.Cube
        Water content of each soil layer (e.g. CMIP6 ``mrsol``, kg m-2 or
        units convertible to it), with a vertical (Z) coordinate with bounds.
    depth : float
        Target depth D (m), > 0.

    Returns
    -------
    iris.cube.Cube
        W(0..D) in kg m-2, ``cube`` without its layer axis and with a scalar
        ``depth`` coordinate bounded by 0 and D (m). Lazy for lazy data. A
        cell is masked where a layer that contributes to 0..D is masked
        (e.g. bedrock above D in that cell); layers below D do not matter.

    Raises
    ------
    smeval.core.depth.DepthNotReachedError
        If the layers end above ``depth`` (no extrapolation).
    ValueError
        If the depth coordinate has no bounds or the layers are not
        contiguous from the surface.
    """
    coord = cube.coord(axis="Z", dim_coords=True)
    if not coord.has_bounds():
        msg = f"{cube.var_name}: the soil depth coordinate has no bounds; layer thicknesses are unknown"
        raise ValueError(msg)
    bounds = coord.units.convert(
        np.asarray(coord.bounds, dtype=np.float64), "m"
    )
    axis = cube.coord_dims(coord)[0]
    source = cube.copy() if cube.units != SOIL_WATER_UNITS else cube
    if source is not cube:
        source.convert_units(SOIL_WATER_UNITS)
    column = normalise_depth(
        source.core_data(), bounds, float(depth), axis=axis
    )
    result = source[(slice(None),) * axis + (0,)].copy(column)
    result.remove_coord(result.coord(axis="Z"))
    result.add_aux_coord(
        iris.coords.AuxCoord(
            depth / 2,
            bounds=[0.0, depth],
            standard_name="depth",
            long_name="depth",
            var_name="depth",
            units="m",
            attributes={"positive": "down"},
        )
    )
    return result


def box_means(
    cube: iris.cube.Cube,
    regions: Sequence[str] | None = None,
    exclude_ice_sheets: bool = True,
) -> iris.cube.Cube:
    """Area-weighted means over rectangular regions, with exact fractional weights.

    The weight of cell ``j`` in region ``r`` is::

        w_rj = A_j * f_j * p_rj

    with ``A_j`` the cell area (m2: the cube's ``cell_area`` cell measure,
    e.g. ``areacella``, else computed on the sphere), ``f_j`` the land
    fraction (the ``land_area_fraction`` ancillary variable, e.g. ``sftlf``,
    converted to 1; 1 without it) and ``p_rj`` the exact fraction of the
    cell's area inside the region's box (Antarctica and Greenland removed
    when ``exclude_ice_sheets``). At time ``t`` the mean is
    ``sum_j w_rj x_tj / sum_j w_rj`` over the cells holding a value at ``t``.

    Parameters
    ----------
    cube : iris.cube.Cube
        (time, latitude, longitude) data on a rectilinear grid, any units.
    regions : sequence of str, optional
        SPEC region ids (:mod:`smeval.core.regions`); default the 13
        regions, NH and SH.
    exclude_ice_sheets : bool, default True
        Remove Antarctica and Greenland from every region (SPEC section 3).

    Returns
    -------
    iris.cube.Cube
        (time, region) float64 means in the units of ``cube``, with a string
        ``region`` coordinate; NaN where a region holds no value. Lazy for
        lazy data; the grid is read once for all regions.

    Raises
    ------
    ValueError
        If the grid is not rectilinear, or a supplementary field does not
        have the grid's shape.
    """
    regions = (
        tuple(r.id for r in ALL_REGIONS)
        if regions is None
        else tuple(str(r) for r in regions)
    )
    weights = _box_weights(cube, regions, exclude_ice_sheets)
    means = regional_means(cube.core_data(), weights)
    time = cube.coord("time")
    region = iris.coords.AuxCoord(
        np.array(weights.region_ids, dtype=str),
        long_name="region",
        var_name="region",
    )
    return iris.cube.Cube(
        means,
        var_name=cube.var_name,
        standard_name=cube.standard_name,
        long_name=cube.long_name,
        units=cube.units,
        attributes=cube.attributes.copy(),
        dim_coords_and_dims=[(time.copy(), 0)],
        aux_coords_and_dims=[(region, 1)],
    )


def _grid_bounds(cube: iris.cube.Cube) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude cell bounds (degrees) of a rectilinear cube."""
    bounds = []
    for name in ("latitude", "longitude"):
        coord = cube.coord(name)
        if coord.ndim != 1:
            msg = f"{cube.var_name}: {name} is {coord.ndim}-D; box_means needs a rectilinear grid (regrid first)"
            raise ValueError(msg)
        if not coord.has_bounds():
            coord = coord.copy()
            coord.guess_bounds()
        bounds.append(np.asarray(coord.bounds, dtype=np.float64))
    return bounds[0], bounds[1]


def _supplementary(
    cube: iris.cube.Cube,
    kind: str,
    name: str,
    units: str,
    shape: tuple[int, int],
) -> bytes | None:
    """Return a cell measure or ancillary variable of the grid in ``units``, as bytes for the weights' cache."""
    found = (
        cube.cell_measures(name)
        if kind == "measure"
        else cube.ancillary_variables(name)
    )
    if not found:
        return None
    field = found[0]
    data = field.units.convert(
        np.ma.filled(np.ma.asarray(field.data, dtype=np.float64), 0.0), units
    )
    if data.shape != shape:
        msg = f"{cube.var_name}: {name} has shape {data.shape}, the data grid is {shape}"
        raise ValueError(msg)
    return np.ascontiguousarray(data).tobytes()


def _box_weights(
    cube: iris.cube.Cube, regions: tuple[str, ...], exclude: bool
) -> RegionWeights:
    lat, lon = _grid_bounds(cube)
    shape = (len(lat), len(lon))
    area = _supplementary(cube, "measure", "cell_area", "m2", shape)
    fraction = _supplementary(
        cube, "ancillary", "land_area_fraction", "1", shape
    )
    return _cached_weights(
        lat.tobytes(), lon.tobytes(), shape, regions, area, fraction, exclude
    )


@lru_cache(maxsize=64)
def _cached_weights(
    lat_key: bytes,
    lon_key: bytes,
    shape: tuple[int, int],
    regions: tuple[str, ...],
    area_key: bytes | None,
    frac_key: bytes | None,
    exclude: bool,
) -> RegionWeights:
    # Keyed by the grid's bytes: all members of a model share one matrix.
    lat = np.frombuffer(lat_key).reshape(shape[0], 2)
    lon = np.frombuffer(lon_key).reshape(shape[1], 2)
    area = None if area_key is None else np.frombuffer(area_key).reshape(shape)
    frac = None if frac_key is None else np.frombuffer(frac_key).reshape(shape)
    return region_weight_matrix(
        lat,
        lon,
        regions=regions,
        areacella=area,
        land_fraction=frac,
        exclude=exclude,
    )


def climate_mean(cube: iris.cube.Cube) -> iris.cube.Cube:
    """Return the time mean of ``cube`` over its full period, weighted by the length of each time step.

    The result of ESMValCore's ``climate_statistics(cube, operator='mean',
    period='full')``, masked values left out::

        mean_j = sum_t d_t x_tj / sum_t d_t     (t: the time steps where x_tj is valid)

    with ``d_t`` the length of time step ``t`` (from the time bounds), in one
    pass over the data without masked arithmetic (dask's masked average, which
    ESMValCore's mean uses, cost about three times the reading of the data on
    real files): the two sums are taken over plain arrays, the data with
    masked and non-finite values set to 0 and their validity as weights. A
    cell masked at some time steps only is averaged over its valid steps in
    the same pass. Equal to ESMValCore's result to float32 rounding (the sums
    are accumulated in float64, as ESMValCore's are). Data that are not lazy
    floats go to ESMValCore's function unchanged.

    Parameters
    ----------
    cube : iris.cube.Cube
        Data with a bounded time coordinate, any units.

    Returns
    -------
    iris.cube.Cube
        The mean, in the units and float type of ``cube``, without a time axis
        (ESMValCore's scalar time coordinate spanning the period, and its
        cell method); lazy for lazy data; masked where a cell has no valid
        time step.
    """
    if not climate_sums_apply(cube):
        return esmvalcore_preprocessor.climate_statistics(cube, **_FULL_MEAN)
    return climate_mean_of_sums(cube, *climate_sums(cube))


#: ESMValCore's ``climate_statistics`` settings that :func:`climate_mean` computes.
_FULL_MEAN = MappingProxyType({"operator": "mean", "period": "full"})


def climate_sums_apply(cube: iris.cube.Cube) -> bool:
    """Return True if :func:`climate_mean` takes ``cube``'s mean from :func:`climate_sums` (lazy floats, one time axis)."""
    return (
        cube.has_lazy_data()
        and np.issubdtype(cube.dtype, np.floating)
        and len(cube.coord_dims("time")) == 1
    )


def climate_sums(cube: iris.cube.Cube) -> tuple[da.Array, da.Array]:
    """Return the two sums of :func:`climate_mean`, lazy: (sum_t d_t x_tj, sum_t d_t) over the valid x_tj, float64.

    The sums over consecutive pieces of the time axis add up to those of
    the whole, so a caller may take them piece by piece (a cube's months in
    blocks) and finish with :func:`climate_mean_of_sums`.
    """
    data = da.asarray(cube.core_data())
    axis = cube.coord_dims("time")[0]
    # Each chunk's two sums first, a map at a time (float64 temporaries of
    # one map, where whole-chunk float64 products and masks took about 4
    # times the chunk), then dask's sum over the chunks as before.
    chunks = [
        (1,) * len(c) if i == axis else c for i, c in enumerate(data.chunks)
    ]
    partial = da.map_blocks(
        _chunk_sums,
        data,
        lengths=_time_lengths(cube),
        axis=axis,
        new_axis=0,
        chunks=((2,), *chunks),
        dtype=np.float64,
        meta=np.array((), np.float64),
    )
    both = partial.sum(axis=axis + 1)
    return both[0], both[1]


def _chunk_sums(block, lengths, axis: int, block_info=None) -> np.ndarray:
    """Return (sum_t d_t x_tj, sum_t d_t) over the valid x_tj of one chunk, stacked, time kept as a length-1 axis; the time steps added in order."""
    start, stop = block_info[0]["array-location"][axis]
    shape = block.shape[:axis] + block.shape[axis + 1 :]
    total, length = np.zeros(shape), np.zeros(shape)
    for t, step in enumerate(lengths[start:stop]):
        values, valid = valid_values(block[(slice(None),) * axis + (t,)])
        np.add(total, values * np.float64(step), out=total, where=valid)
        np.add(length, step, out=length, where=valid)
    return np.expand_dims(np.stack([total, length]), axis + 1)


def climate_mean_of_sums(
    cube: iris.cube.Cube, total, length
) -> iris.cube.Cube:
    """Return :func:`climate_mean` of ``cube`` from its :func:`climate_sums`, lazy (dask sums) or not (numpy sums)."""
    xp = array_module(total)
    mean = xp.ma.masked_where(
        length == 0, total / xp.where(length > 0, length, 1.0)
    ).astype(cube.dtype)
    # ESMValCore's metadata (scalar time, cell method); its lazy data are never computed.
    return esmvalcore_preprocessor.climate_statistics(cube, **_FULL_MEAN).copy(
        mean
    )


def _time_lengths(cube: iris.cube.Cube) -> np.ndarray:
    """Length of each time step (the time coordinate's units), from its bounds as ESMValCore weighs them."""
    time = cube.coord("time")
    if not time.has_bounds():
        msg = f"{cube.var_name}: the time coordinate has no bounds; time steps cannot be weighted by their length"
        raise ValueError(msg)
    return np.abs(np.diff(np.asarray(time.bounds, dtype=np.float64), axis=-1))[
        :, 0
    ]
