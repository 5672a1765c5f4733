"""Small helpers shared by the core modules: missing values and lazy arrays.

The core accepts plain numpy arrays (NaN marks a missing value), numpy
masked arrays and dask arrays. These helpers turn all three into one form so
that each science function is written once.
"""

from __future__ import annotations

import numpy as np

try:  # dask is a dependency of the project, but keep the core importable without it
    import dask.array as da
except ImportError:  # pragma: no cover - exercised only on minimal installs
    da = None


def is_lazy(array) -> bool:
    """Return True if *array* is a dask array."""
    return da is not None and isinstance(array, da.Array)


def array_module(array):
    """Return the module of *array*'s kind: ``dask.array`` for a dask array, else ``numpy`` (each has ``.ma``)."""
    return da if is_lazy(array) else np


def valid_values(array):
    """Return (values, validity) of *array*: its data without a mask, and True where a value is neither masked nor non-finite.

    numpy, masked or dask arrays; lazy input stays lazy. The values keep the
    input's type (no float64 copy) and are undefined where not valid.
    """
    xp = array_module(array)
    values = xp.ma.getdata(array)
    return values, ~xp.ma.getmaskarray(array) & xp.isfinite(values)


def as_float_nan(array, dtype=None):
    """Return *array* as a floating array with NaN where it was masked.

    Parameters
    ----------
    array : array_like, numpy masked array or dask array
        Input values, any units.
    dtype : numpy dtype, optional
        Floating dtype of the result. By default the input's dtype if it is
        floating, else float64.

    Returns
    -------
    numpy.ndarray or dask.array.Array
        Same shape and units as *array*; missing values are NaN. Lazy input
        stays lazy.
    """
    if dtype is None:
        in_dtype = getattr(array, "dtype", None)
        if in_dtype is not None and np.issubdtype(in_dtype, np.floating):
            dtype = in_dtype
        else:
            dtype = np.float64
    if is_lazy(array):
        array = array.astype(dtype)
        # da.ma.filled is a no-op on chunks that are not masked arrays.
        return da.ma.filled(array, np.nan)
    if isinstance(array, np.ma.MaskedArray):
        return array.astype(dtype).filled(np.nan)
    return np.asarray(array, dtype=dtype)
