"""Area-conservative regridding between rectilinear grids (sparse, separable).

On a sphere the overlap area of two lat-lon cells factorises into a latitude
part (difference of sines) and a longitude part (overlap in radians), so the
first-order conservative weights of all cell pairs are the Kronecker product
of two small sparse matrices.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def _lat_weights(src_b: np.ndarray, dst_b: np.ndarray) -> sp.csr_matrix:
    s = np.sin(np.radians(np.sort(src_b, axis=1)))
    d = np.sin(np.radians(np.sort(dst_b, axis=1)))
    lo = np.maximum(d[:, None, 0], s[None, :, 0])
    hi = np.minimum(d[:, None, 1], s[None, :, 1])
    return sp.csr_matrix(np.clip(hi - lo, 0.0, None))


def _lon_weights(src_b: np.ndarray, dst_b: np.ndarray) -> sp.csr_matrix:
    s = np.sort(src_b, axis=1)
    d = np.sort(dst_b, axis=1)
    total = np.zeros((d.shape[0], s.shape[0]))
    for shift in (-360.0, 0.0, 360.0):
        lo = np.maximum(d[:, None, 0], s[None, :, 0] + shift)
        hi = np.minimum(d[:, None, 1], s[None, :, 1] + shift)
        total += np.clip(hi - lo, 0.0, None)
    return sp.csr_matrix(np.radians(total))


class Regridder:
    """Conservative regridding from a source grid to a target grid.

    Parameters
    ----------
    src_lat_b, src_lon_b, dst_lat_b, dst_lon_b
        (n, 2) cell bounds in degrees.
    src_frac
        Land fraction (0-1) of the source cells, (ny, nx).
    land
        Flat indices of the source cells that carry land values.
    """

    def __init__(
        self, src_lat_b, src_lon_b, dst_lat_b, dst_lon_b, src_frac, land
    ):
        wlat = _lat_weights(np.asarray(src_lat_b), np.asarray(dst_lat_b))
        wlon = _lon_weights(np.asarray(src_lon_b), np.asarray(dst_lon_b))
        self.dst_shape = (len(dst_lat_b), len(dst_lon_b))
        self.all = sp.kron(wlat, wlon, format="csc")  # (ndst, nsrc)
        frac = np.asarray(src_frac).ravel()[land]
        self.land = (self.all[:, land] @ sp.diags(frac)).tocsr()
        self.all = self.all.tocsr()
        self.area = np.asarray(self.all.sum(axis=1)).ravel()
        self.land_area = np.asarray(self.land.sum(axis=1)).ravel()

    @property
    def land_fraction(self) -> np.ndarray:
        """Land fraction (0-1) of the target cells, (my, mx)."""
        return (self.land_area / self.area).reshape(self.dst_shape)

    @property
    def has_land(self) -> np.ndarray:
        """Target cells with any land, (my, mx) boolean."""
        return (self.land_area > 1e-9 * self.area).reshape(self.dst_shape)

    def land_mean(self, field: np.ndarray) -> np.ndarray:
        """Land-area weighted mean, cell-major (nland, ...) -> (..., my, mx); NaN without land."""
        lead = field.shape[1:]
        out = self.land @ np.ascontiguousarray(field).reshape(
            field.shape[0], -1
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            out = out / self.land_area[:, None]
        out[~self.has_land.ravel()] = np.nan
        return np.ascontiguousarray(out.T).reshape(*lead, *self.dst_shape)

    def mean(self, field: np.ndarray) -> np.ndarray:
        """Area weighted mean over all source cells, cell-major (ncell, ...) -> (..., my, mx)."""
        lead = field.shape[1:]
        out = self.all @ np.ascontiguousarray(field).reshape(
            field.shape[0], -1
        )
        out = out / self.area[:, None]
        return np.ascontiguousarray(out.T).reshape(*lead, *self.dst_shape)
