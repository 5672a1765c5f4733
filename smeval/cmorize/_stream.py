"""Month-by-month writing of CMOR files, so that no time series is held in memory.

:func:`write_monthly` lets :func:`smeval.cmorio.write_variable` create the
CMOR-exact file (global and variable attributes, coordinates, bounds, fill
value, compression, chunks of one time step) with the *first* month only,
then reopens it and appends the remaining months one at a time along its
unlimited ``time`` dimension, with the same value rules as
``write_variable``: values cast to the file's data type; non-finite values
(NaN, or beyond the float32 range) and cells where ``land_mask`` is False
become the file's ``_FillValue``. Peak memory is one month of the variable
(plus the netCDF library's chunk cache), whatever the number of months.

The file is written where it is asked to be (the converter's staging
folder); the caller moves it into place once every variable succeeded.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import netCDF4
import numpy as np

from smeval import cmorio


def write_monthly(
    target: Path,
    fields: Iterable[np.ndarray],
    *,
    time_points: np.ndarray,
    time_bounds: np.ndarray,
    short_name: str,
    land_mask: np.ndarray | None = None,
    **write_kwargs,
) -> Path:
    """Write ``fields`` (one array per month, CMOR units) as one CMOR file.

    Parameters
    ----------
    target
        Output file.
    fields
        Iterable (typically a generator) yielding, month by month, arrays of
        shape ``([depth,] lat, lon)`` with NaN where missing; exactly
        ``len(time_points)`` of them. Consumed lazily: only one is alive at a
        time.
    time_points, time_bounds
        Mid-month points (n,) and bounds (n, 2) in days since 1850-01-01.
    short_name
        CMOR variable name (also the NetCDF variable written).
    land_mask
        Optional boolean (lat, lon) array; False cells are written as missing.
    write_kwargs
        Passed on to :func:`smeval.cmorio.write_variable` (``project``,
        ``mip``, ``lat``, ``lon``, ``attributes``, ``depth_bounds``...).

    Returns
    -------
    pathlib.Path
        ``target``.
    """
    time_points = np.asarray(time_points, dtype=np.float64)
    time_bounds = np.asarray(time_bounds, dtype=np.float64)
    n = time_points.size
    it = iter(fields)
    try:
        first = next(it)
    except StopIteration:
        msg = f"{short_name}: no months to write"
        raise ValueError(msg) from None
    cmorio.write_variable(
        target,
        np.ma.masked_invalid(np.asarray(first)[np.newaxis]),
        short_name=short_name,
        time_points=time_points[:1],
        time_bounds=time_bounds[:1],
        land_mask=land_mask,
        **write_kwargs,
    )
    del first
    bad_land = None if land_mask is None else ~np.asarray(land_mask, bool)
    written = 1
    with netCDF4.Dataset(target, "a") as ds:
        var = _data_variable(ds, target, short_name)
        fill = np.asarray(var.getncattr("_FillValue"), dtype=var.dtype)
        tvar, bvar = ds.variables["time"], ds.variables["time_bnds"]
        for field in it:
            if written >= n:
                msg = f"{short_name}: more months than the {n} time points"
                raise ValueError(msg)
            values = np.array(
                field, dtype=var.dtype
            )  # a copy: the caller's array is kept
            del field
            bad = ~np.isfinite(values)
            if bad_land is not None:
                bad |= bad_land  # broadcast over depth
            values[bad] = fill
            var[written] = values
            tvar[written] = time_points[written]
            bvar[written] = time_bounds[written]
            written += 1
    if written != n:
        msg = f"{short_name}: {written} months written, {n} expected"
        raise ValueError(msg)
    return Path(target)


def _data_variable(ds: netCDF4.Dataset, target: Path, short_name: str):
    """Return the data variable of the file cmorio began, ready to append to."""
    if (
        "time" not in ds.dimensions
        or not ds.dimensions["time"].isunlimited()
        or short_name not in ds.variables
        or "time_bnds" not in ds.variables
    ):
        msg = (
            f"{target}: expected an unlimited 'time' dimension, 'time', "
            f"'time_bnds' and {short_name!r} written by cmorio"
        )
        raise RuntimeError(msg)
    var = ds.variables[short_name]
    var.set_auto_maskandscale(False)
    # Every chunk (one time step) is written whole, once: no need for the
    # library's default 64 MiB chunk cache, which would keep up to 64 MiB
    # of written chunks in memory per file.
    var.set_var_chunk_cache(size=_chunk_bytes(var), nelems=7, preemption=1.0)
    return var


def _chunk_bytes(var) -> int:
    """Bytes of one (uncompressed) HDF5 chunk of ``var`` (whole variable if contiguous)."""
    chunks = var.chunking()
    shape = var.shape if chunks == "contiguous" or chunks is None else chunks
    return int(np.prod([max(int(n), 1) for n in shape])) * var.dtype.itemsize
