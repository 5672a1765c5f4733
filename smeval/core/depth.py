"""Vertical normalisation of layered soil water to a fixed depth (SPEC section 2).

Water is assumed uniform within a layer, so the water between the surface
and a target depth ``D`` is, for layers ``k`` with bounds ``[a_k, b_k]`` (m)
and contents ``W_k`` (kg m-2)::

    W(0..D) = sum_k W_k * max(0, min(b_k, D) - a_k) / (b_k - a_k)

Layer bounds must come from the data set's own bounds (never from guessed
midpoints). A data set whose layers do not reach ``D`` is never
extrapolated: :func:`layer_weights` raises :class:`DepthNotReachedError` so
the caller can report the data set as excluded.
"""

from __future__ import annotations

import numpy as np

from ._arrays import da, is_lazy

#: Density of liquid water used to convert volumetric content to mass (kg m-3).
WATER_DENSITY = 1000.0

#: Depth of the shallow product (m): the CMIP6 ``mrsos`` layer, 0-10 cm.
SHALLOW_DEPTH = 0.1

#: Depth of the deep product (m): 0-200 cm, as in Qiao et al. (2022).
DEEP_DEPTH = 2.0

#: Tolerance (m) when comparing layer bounds: bounds are often stored in
#: float32, in which e.g. 2.89 m is 2.8900001 m; a micrometre is far below
#: any real layer thickness.
BOUNDS_ATOL = 1e-6


class DepthNotReachedError(ValueError):
    """The soil layers of a data set end above the target depth.

    Attributes
    ----------
    depth : float
        Target depth that was asked for (m).
    deepest : float
        Deepest lower layer bound of the data set (m).
    dataset : str or None
        Name of the data set, if the caller gave one.
    """

    def __init__(
        self, depth: float, deepest: float, dataset: str | None = None
    ):
        self.depth = float(depth)
        self.deepest = float(deepest)
        self.dataset = dataset
        who = f"{dataset}: " if dataset else ""
        super().__init__(
            f"{who}soil layers reach only {self.deepest:g} m, "
            f"not the target depth {self.depth:g} m; the data set is excluded "
            "at this depth (no extrapolation)"
        )


def _check_bounds(bounds, dataset=None) -> np.ndarray:
    """Validate layer bounds and return them as a float64 (n_layers, 2) array.

    Layers must start at the surface, be contiguous and have positive
    thickness: a gap or an overlap would make the formula drop or
    double-count water.
    """
    who = f"{dataset}: " if dataset else ""
    b = np.asarray(bounds, dtype=np.float64)
    if b.ndim != 2 or b.shape[1] != 2 or b.shape[0] < 1:
        msg = f"{who}layer bounds must have shape (n_layers, 2), got {b.shape}"
        raise ValueError(msg)
    b = np.sort(b, axis=1)  # CF allows either order within a bounds pair
    if np.any(b[:, 1] - b[:, 0] <= BOUNDS_ATOL):
        msg = f"{who}every soil layer must have a positive thickness: {b.tolist()}"
        raise ValueError(msg)
    order = np.argsort(b[:, 0])
    if np.any(order != np.arange(len(order))):
        msg = f"{who}soil layers must be ordered from the surface down: {b.tolist()}"
        raise ValueError(msg)
    if abs(b[0, 0]) > BOUNDS_ATOL:
        msg = f"{who}the top soil layer must start at 0 m, not {b[0, 0]:g} m"
        raise ValueError(msg)
    if np.any(np.abs(b[1:, 0] - b[:-1, 1]) > BOUNDS_ATOL):
        msg = f"{who}soil layers must be contiguous (no gap or overlap): {b.tolist()}"
        raise ValueError(msg)
    return b


def layer_weights(
    bounds, depth: float, dataset: str | None = None
) -> np.ndarray:
    """Fraction of each soil layer that lies between the surface and *depth*.

    Parameters
    ----------
    bounds : array_like, shape (n_layers, 2)
        Upper and lower bound of each layer (m, positive down), ordered from
        the surface, contiguous, the first starting at 0 m.
    depth : float
        Target depth D (m), > 0.
    dataset : str, optional
        Name used in error messages.

    Returns
    -------
    numpy.ndarray, shape (n_layers,)
        Dimensionless weights ``max(0, min(b_k, D) - a_k) / (b_k - a_k)``, in
        [0, 1]; ``sum_k w_k (b_k - a_k) = D``.

    Raises
    ------
    DepthNotReachedError
        If the deepest bound is above *depth* (more than ``BOUNDS_ATOL``).
    ValueError
        If the bounds are not a contiguous layering from the surface.
    """
    if not depth > 0:
        msg = f"target depth must be positive, got {depth!r} m"
        raise ValueError(msg)
    b = _check_bounds(bounds, dataset)
    deepest = b[-1, 1]
    if deepest < depth - BOUNDS_ATOL:
        raise DepthNotReachedError(depth, deepest, dataset)
    top, bottom = b[:, 0], b[:, 1]
    inside = np.clip(np.minimum(bottom, depth) - top, 0.0, None)
    weights = inside / (bottom - top)
    # A bound within BOUNDS_ATOL of D counts as exactly D (float32 storage).
    weights[np.isclose(bottom, depth, rtol=0, atol=BOUNDS_ATOL)] = 1.0
    weights[np.isclose(top, depth, rtol=0, atol=BOUNDS_ATOL)] = 0.0
    return weights


def normalise_depth(
    data, bounds, depth: float, axis: int = 1, dataset: str | None = None
):
    """Soil water between the surface and *depth* from layered contents.

    Parameters
    ----------
    data : numpy.ndarray, numpy.ma.MaskedArray or dask.array.Array
        Water content of each layer (kg m-2), e.g. shape (time, layer, lat, lon).
    bounds : array_like, shape (n_layers, 2)
        Layer bounds (m), see :func:`layer_weights`.
    depth : float
        Target depth D (m).
    axis : int, default 1
        Axis of *data* that runs over the layers.
    dataset : str, optional
        Name used in error messages.

    Returns
    -------
    numpy.ma.MaskedArray or dask.array.Array
        W(0..D) (kg m-2), *data*'s shape without *axis*. A cell is masked
        where any layer that contributes to 0..D is masked or NaN; layers
        entirely below D do not matter. A model whose soil column is
        shallower in some cells (e.g. bedrock) marks the missing layers as
        masked there, so those cells get no deep value. Lazy input gives a
        lazy result.

    Raises
    ------
    DepthNotReachedError
        If the layers never reach *depth*.
    """
    weights = layer_weights(bounds, depth, dataset)
    axis = axis % data.ndim
    if data.shape[axis] != weights.size:
        who = f"{dataset}: " if dataset else ""
        msg = f"{who}data have {data.shape[axis]} layers on axis {axis}, bounds describe {weights.size}"
        raise ValueError(msg)
    # Only contributing layers are read, so a masked deep layer (e.g. bedrock)
    # does not mask a shallow product. The bounds layer the column from the
    # surface, so these are the first layers: a slice, which dask passes down
    # to the read as a view (a take copied every chunk's layers).
    used = slice(0, int(np.count_nonzero(weights > 0)))
    layers = (slice(None),) * axis + (used,)
    shape = [1] * data.ndim
    shape[axis] = used.stop
    dtype = (
        data.dtype if np.issubdtype(data.dtype, np.floating) else np.float64
    )
    w = weights[used].astype(dtype).reshape(shape)
    sub = data[layers]
    xp = da if is_lazy(data) else np  # one formula for numpy and dask
    filled = xp.ma.filled(sub, 0).astype(dtype, copy=False)
    mask = xp.ma.getmaskarray(sub) | ~xp.isfinite(filled)
    total = xp.where(mask, 0, filled * w).sum(axis=axis)
    return xp.ma.masked_array(total, mask=mask.any(axis=axis))


def volumetric_to_mass(theta, thickness_m):
    """Convert volumetric soil water content to water mass per area.

    Parameters
    ----------
    theta : array_like
        Volumetric water content (m3 m-3), e.g. ERA5 ``swvl1``.
    thickness_m : float or array_like
        Layer thickness (m); broadcast against *theta*.

    Returns
    -------
    array_like
        Water mass per unit area (kg m-2) = theta x thickness x 1000 kg m-3.
    """
    return theta * (np.asarray(thickness_m) * WATER_DENSITY)


def shallow_from_layers(
    data, bounds, axis: int = 1, dataset: str | None = None
):
    """Shallow (0-0.1 m) soil water from layered contents (kg m-2).

    The SPEC's fallback for a model without ``mrsos``: :func:`normalise_depth`
    with D = ``SHALLOW_DEPTH``. See that function for the parameters.
    """
    return normalise_depth(
        data, bounds, SHALLOW_DEPTH, axis=axis, dataset=dataset
    )


def deep_from_layers(data, bounds, axis: int = 1, dataset: str | None = None):
    """Deep (0-2 m) soil water from layered contents (kg m-2).

    :func:`normalise_depth` with D = ``DEEP_DEPTH``; raises
    :class:`DepthNotReachedError` for data sets whose layers end above 2 m.
    """
    return normalise_depth(
        data, bounds, DEEP_DEPTH, axis=axis, dataset=dataset
    )
