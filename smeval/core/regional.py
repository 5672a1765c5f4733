"""Area-weighted regional means for all regions in one pass (SPEC section 3).

A region's weight of a cell is cell area x land fraction x the fraction of
the cell inside the region (Antarctica and Greenland removed). The weights
of all regions on one grid form a matrix of shape (n_regions, n_cells),
built once per grid; the regional means of an array (..., lat, lon) are then
one matrix product, renormalised at each time step by the weights of the
cells that hold a value there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._arrays import da, is_lazy
from .regions import ALL_REGIONS, Region, get_region, lon_arcs, region_weights

#: Mean radius of the Earth (m) used for cell areas when no areacella is given.
EARTH_RADIUS = 6371000.0


def cell_areas(
    lat_bounds, lon_bounds, radius: float = EARTH_RADIUS
) -> np.ndarray:
    """Area of each cell of a regular or Gaussian grid on the sphere.

    Parameters
    ----------
    lat_bounds : array_like, shape (n_lat, 2)
        Latitude bounds (degrees north), either order.
    lon_bounds : array_like, shape (n_lon, 2)
        Longitude bounds (degrees east), any convention.
    radius : float, default ``EARTH_RADIUS``
        Sphere radius (m).

    Returns
    -------
    numpy.ndarray, shape (n_lat, n_lon)
        Cell areas (m2): R^2 x d(lon) [rad] x d(sin lat).
    """
    lb = np.sort(
        np.clip(np.asarray(lat_bounds, dtype=np.float64), -90, 90), axis=-1
    )
    dsin = np.diff(np.sin(np.deg2rad(lb)), axis=-1)[:, 0]
    _, width = lon_arcs(lon_bounds)
    return radius**2 * np.outer(dsin, np.deg2rad(width))


@dataclass(frozen=True)
class RegionWeights:
    """Weights of every region on one grid, ready for :func:`regional_means`.

    Attributes
    ----------
    region_ids : tuple of str
        SPEC ids, in the order of the rows of ``matrix``.
    grid_shape : tuple of int
        (n_lat, n_lon) of the grid.
    cells : numpy.ndarray of int
        Flat indices (into lat x lon) of the cells with a non-zero weight in
        some region; only these are read.
    matrix : numpy.ndarray, shape (n_regions, len(cells))
        Weights (m2: area x land fraction x region fraction).
    """

    region_ids: tuple[str, ...]
    grid_shape: tuple[int, int]
    cells: np.ndarray
    matrix: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """Sum of the weights of each region (m2 of land)."""
        return self.matrix.sum(axis=1)


def region_weight_matrix(
    lat_bounds,
    lon_bounds,
    regions=ALL_REGIONS,
    areacella=None,
    land_fraction=None,
    exclude: bool = True,
) -> RegionWeights:
    """Build the (n_regions, n_cells) weight matrix of a grid.

    Parameters
    ----------
    lat_bounds : array_like, shape (n_lat, 2)
        Latitude bounds (degrees north).
    lon_bounds : array_like, shape (n_lon, 2)
        Longitude bounds (degrees east).
    regions : sequence of Region or str, default all 13 regions, NH and SH
    areacella : array_like, shape (n_lat, n_lon), optional
        Cell areas (m2). Computed from the bounds on a sphere of radius
        ``EARTH_RADIUS`` when not given.
    land_fraction : array_like, shape (n_lat, n_lon), optional
        Land fraction of each cell, 0..1 (CMIP6 ``sftlf`` is in %: divide by
        100). Without it every cell counts fully, which is right for data
        already masked to land.
    exclude : bool, default True
        Remove Antarctica and Greenland (SPEC section 3).

    Returns
    -------
    RegionWeights
    """
    regions = [get_region(r) if isinstance(r, str) else r for r in regions]
    grid_shape = (len(lat_bounds), len(lon_bounds))
    base = (
        cell_areas(lat_bounds, lon_bounds)
        if areacella is None
        else np.asarray(areacella, float)
    )
    if base.shape != grid_shape:
        msg = f"areacella has shape {base.shape}, grid is {grid_shape}"
        raise ValueError(msg)
    if land_fraction is not None:
        lf = np.ma.filled(np.ma.asarray(land_fraction, dtype=float), 0.0)
        if lf.shape != grid_shape:
            msg = f"land_fraction has shape {lf.shape}, grid is {grid_shape}"
            raise ValueError(msg)
        # Allow float rounding above 1; a value like 100 means sftlf in %.
        if np.nanmax(lf) > 1.0 + 1e-6:
            msg = "land_fraction must be in 0..1 (sftlf is in %: divide it by 100)"
            raise ValueError(msg)
        base = base * np.nan_to_num(lf)
    full = np.stack(
        [
            (
                base
                * region_weights(lat_bounds, lon_bounds, r, exclude=exclude)
            ).ravel()
            for r in regions
        ]
    )
    # Most of a grid is ocean or outside every box: reading only the cells
    # that matter makes the product several times cheaper.
    cells = np.flatnonzero(full.any(axis=0))
    return RegionWeights(
        region_ids=tuple(r.id for r in regions),
        grid_shape=grid_shape,
        cells=cells,
        matrix=np.ascontiguousarray(full[:, cells]),
    )


def _means_block(block, cells, matrix):
    """Regional means of one numpy block (..., lat, lon) -> (..., n_regions)."""
    lead = block.shape[:-2]
    flat = block.reshape((*lead, -1))
    if isinstance(flat, np.ma.MaskedArray):
        sub = flat[..., cells]
        values = np.ma.getdata(sub).astype(np.float64)
        valid = ~np.ma.getmaskarray(sub) & np.isfinite(values)
    else:
        values = np.take(flat, cells, axis=-1).astype(np.float64)
        valid = np.isfinite(values)
    values = np.where(valid, values, 0.0)
    values2d = values.reshape(-1, cells.size)
    valid2d = valid.reshape(-1, cells.size)
    num = values2d @ matrix.T
    # Land masks rarely change in time: then the normalising weights are the
    # same at every step and one row product replaces a second full product.
    if valid2d.shape[0] > 0 and (valid2d == valid2d[0]).all():
        den = np.broadcast_to(
            valid2d[0].astype(np.float64) @ matrix.T, num.shape
        )
    else:
        den = valid2d.astype(np.float64) @ matrix.T
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / den, np.nan)
    return out.reshape((*lead, matrix.shape[0]))


def regional_means(data, weights: RegionWeights):
    """Area-weighted mean of *data* over every region.

    Parameters
    ----------
    data : numpy.ndarray, numpy.ma.MaskedArray or dask.array.Array
        Values on the grid of *weights*, shape (..., n_lat, n_lon), any
        units. Masked, NaN or infinite values are missing.
    weights : RegionWeights
        From :func:`region_weight_matrix` for this grid.

    Returns
    -------
    numpy.ndarray or dask.array.Array, shape (..., n_regions), float64
        Regional means in the units of *data*, regions in the order of
        ``weights.region_ids``. At each index of the leading axes the weights
        are renormalised over the cells holding a value; a region with no
        such cell is NaN. Lazy input gives a lazy result computed block by
        block over the leading axes (the grid is never split).
    """
    if tuple(data.shape[-2:]) != weights.grid_shape:
        msg = f"data grid {tuple(data.shape[-2:])} differs from the weights' grid {weights.grid_shape}"
        raise ValueError(msg)
    if is_lazy(data):
        nd = data.ndim
        data = data.rechunk({nd - 2: -1, nd - 1: -1})
        return da.map_blocks(
            _means_block,
            data,
            weights.cells,
            weights.matrix,
            dtype=np.float64,
            drop_axis=(nd - 2, nd - 1),
            new_axis=nd - 2,
            chunks=(*data.chunks[:-2], (weights.matrix.shape[0],)),
        )
    return _means_block(data, weights.cells, weights.matrix)


def regional_means_table(
    data, weights: RegionWeights
) -> dict[str, np.ndarray]:
    """:func:`regional_means` as a mapping region id -> series (..., ) (units of *data*)."""
    means = np.asarray(regional_means(data, weights))
    return {rid: means[..., i] for i, rid in enumerate(weights.region_ids)}


__all__ = [
    "EARTH_RADIUS",
    "Region",
    "RegionWeights",
    "cell_areas",
    "region_weight_matrix",
    "regional_means",
    "regional_means_table",
]
