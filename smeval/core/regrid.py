"""Conservative (area-weighted) regridding between rectilinear lat-lon grids.

On the sphere the area of a cell bounded by two meridians and two parallels
is R^2 x d(lon) x d(sin lat), so the area shared by a source and a target
cell is the product of their overlap in longitude and their overlap in
sin(latitude). The weight matrix of a rectilinear grid pair therefore
factorises into a latitude matrix and a longitude matrix; regridding a field
is two small sparse products (along longitude, then along latitude) instead
of one product with their much larger Kronecker product. Missing values are
handled as in iris' ``AreaWeighted``: each target value is the mean of the
valid source values weighted by shared area, masked when the masked share of
the target cell exceeds ``mdtol`` or when the source grid does not cover the
whole target cell.

Pure numpy/scipy on arrays; the iris/ESMValCore scheme that uses it is
:mod:`smeval.regrid`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .regions import FULL_CIRCLE, lon_arcs

#: Target cells whose covered share is below 1 - COVERAGE_TOL are masked
#: (the source grid does not reach over the whole cell), as in iris.
COVERAGE_TOL = 1e-8
#: Overlaps below this share of a target band are rounding noise of cell
#: edges that coincide (e.g. 179.99999999 and 180.0): dropped, so that such a
#: sliver of a valid source cell cannot alone keep a target cell with mdtol=1.
SLIVER = 1e-9
#: Values (source + target) per slab of fields regridded at once: 2 Mi
#: float64 values, 16 MiB per temporary.
SLAB_VALUES = 2 * 1024 * 1024


def lat_overlaps(src_bounds, tgt_bounds) -> np.ndarray:
    """Share of each target latitude band covered by each source band.

    Parameters
    ----------
    src_bounds, tgt_bounds : array_like, shape (n, 2)
        Latitude bounds (degrees north), either order; clipped to [-90, 90].

    Returns
    -------
    numpy.ndarray, shape (n_tgt, n_src)
        Overlap in sin(latitude) divided by the target band's extent in
        sin(latitude) (dimensionless, rows sum to the covered share).
    """
    s = np.sin(
        np.deg2rad(
            np.clip(np.sort(np.asarray(src_bounds, float), axis=1), -90, 90)
        )
    )
    t = np.sin(
        np.deg2rad(
            np.clip(np.sort(np.asarray(tgt_bounds, float), axis=1), -90, 90)
        )
    )
    low = np.maximum(t[:, None, 0], s[None, :, 0])
    high = np.minimum(t[:, None, 1], s[None, :, 1])
    extent = t[:, 1] - t[:, 0]
    if np.any(extent <= 0):
        msg = "target latitude bands must have a positive extent"
        raise ValueError(msg)
    return _drop_slivers(np.clip(high - low, 0.0, None) / extent[:, None])


def _drop_slivers(shares: np.ndarray) -> np.ndarray:
    shares[shares < SLIVER] = 0.0
    return shares


def lon_overlaps(src_bounds, tgt_bounds) -> np.ndarray:
    """Share of each target longitude band covered by each source band.

    Any longitude convention (0..360, -180..180) and cells across 0 or 180
    work: each source arc is compared with its copies shifted by one turn
    either way.

    Returns
    -------
    numpy.ndarray, shape (n_tgt, n_src)
        Overlap (degrees) divided by the target band's width.
    """
    s_start, s_width = lon_arcs(src_bounds)
    t_start, t_width = lon_arcs(tgt_bounds)
    total = np.zeros((t_start.size, s_start.size))
    for turn in (-FULL_CIRCLE, 0.0, FULL_CIRCLE):
        low = np.maximum(t_start[:, None], s_start[None, :] + turn)
        high = np.minimum(
            (t_start + t_width)[:, None], (s_start + s_width + turn)[None, :]
        )
        total += np.clip(high - low, 0.0, None)
    return _drop_slivers(total / t_width[:, None])


@dataclass(frozen=True)
class Weights:
    """Separable area weights from one rectilinear grid to another.

    Attributes
    ----------
    lat : scipy.sparse.csr_array, shape (n_tgt_lat, n_src_lat)
    lon : scipy.sparse.csr_array, shape (n_tgt_lon, n_src_lon)
        Shares of each target band covered by each source band.
    coverage : numpy.ndarray, shape (n_tgt_lat, n_tgt_lon)
        Share of each target cell covered by the source grid (1 inside it).
    """

    lat: sparse.csr_array
    lon: sparse.csr_array
    coverage: np.ndarray

    @classmethod
    def between(
        cls, src_lat_bounds, src_lon_bounds, tgt_lat_bounds, tgt_lon_bounds
    ) -> Weights:
        """Weights from the source grid to the target grid (bounds in degrees)."""
        lat = lat_overlaps(src_lat_bounds, tgt_lat_bounds)
        lon = lon_overlaps(src_lon_bounds, tgt_lon_bounds)
        coverage = np.outer(lat.sum(axis=1), lon.sum(axis=1))
        return cls(sparse.csr_array(lat), sparse.csr_array(lon), coverage)

    @property
    def src_shape(self) -> tuple[int, int]:
        """Shape (lat, lon) of the source grid."""
        return self.lat.shape[1], self.lon.shape[1]

    @property
    def tgt_shape(self) -> tuple[int, int]:
        """Shape (lat, lon) of the target grid."""
        return self.lat.shape[0], self.lon.shape[0]

    def apply(self, values: np.ndarray) -> np.ndarray:
        """Area-weighted sums of *values* (..., lat, lon) onto the target grid.

        No normalisation and no masks: the result is sum_j w_ij x_j for
        each target cell i, with w the product of the two shares.
        """
        lead = values.shape[:-2]
        n = int(np.prod(lead, dtype=int))
        ny, nx = self.src_shape
        my, mx = self.tgt_shape
        # Along longitude: (mx, nx) @ (nx, n * ny).
        step = self.lon @ values.reshape(n * ny, nx).T
        step = step.reshape(mx, n, ny).transpose(2, 1, 0).reshape(ny, n * mx)
        # Along latitude: (my, ny) @ (ny, n * mx).
        out = self.lat @ step
        return out.reshape(my, n, mx).transpose(1, 0, 2).reshape(*lead, my, mx)


def regrid_block(block, weights: Weights, mdtol: float = 1.0):
    """Regrid one block of data whose last two axes are (lat, lon).

    Parameters
    ----------
    block : numpy.ndarray or numpy.ma.MaskedArray, shape (..., n_lat, n_lon)
        Values on the source grid, any units; masked values are missing.
    weights : Weights
        From :meth:`Weights.between` for this source and target grid.
    mdtol : float, default 1
        Largest tolerated masked share of a target cell: 0 masks a target
        cell that touches any masked source cell, 1 masks it only when all
        of its source cells are masked.

    Returns
    -------
    numpy.ma.MaskedArray, shape (..., n_tgt_lat, n_tgt_lon)
        Area-weighted means, same units, in the input's floating dtype
        (float64 for integer input); masked where a target cell is not
        covered or holds too little valid data.
    """
    if not 0.0 <= mdtol <= 1.0:
        msg = f"mdtol must be between 0 and 1, got {mdtol}"
        raise ValueError(msg)
    dtype = np.promote_types(block.dtype, np.float16)
    lead = block.shape[:-2]
    ny, nx = block.shape[-2:]
    my, mx = weights.tgt_shape
    flat = block.reshape(-1, ny, nx)
    mask = np.ma.getmask(flat)
    if mask is not np.ma.nomask and not mask.any():
        mask = np.ma.nomask
    threshold = 1.0 - max(mdtol, COVERAGE_TOL)
    covered = weights.coverage > 1.0 - COVERAGE_TOL

    def divisor_of(invalid):
        """Return the valid share of each target cell (1 where the cell is not kept) and whether it is kept."""
        shares = (
            weights.coverage
            if invalid is None
            else weights.apply(~invalid * 1.0)
        )
        ok = (shares > threshold) & covered
        return np.where(ok, shares, 1.0), ok

    fixed = None  # the usual case, no mask or a land/sea mask: one 2-D field
    if mask is np.ma.nomask:
        fixed = divisor_of(None)
    elif not (mask != mask[:1]).any():
        fixed = divisor_of(mask[0])
    means = np.empty((flat.shape[0], my, mx), dtype=dtype)
    keep = np.empty(means.shape, dtype=bool)
    # Slabs of a few fields keep the float64 temporaries small (reused by the
    # allocator instead of fresh pages for every chunk).
    step = max(1, SLAB_VALUES // (ny * nx + my * mx))
    for i in range(0, flat.shape[0], step):
        part = slice(i, i + step)
        values = np.array(np.ma.getdata(flat[part]), dtype=np.float64)
        if mask is not np.ma.nomask:
            values[mask[part]] = 0.0
        divisor, ok = fixed or divisor_of(mask[part])
        sums = weights.apply(values)
        # A plain division, then 0 where a cell is not kept: the same values
        # as numpy's division with `where`, which is 2-3 times slower.
        sums /= divisor
        means[part] = sums
        np.copyto(means[part], 0, where=~ok)
        keep[part] = ok
    return np.ma.masked_array(
        means.reshape(*lead, my, mx), mask=~keep.reshape(*lead, my, mx)
    )
