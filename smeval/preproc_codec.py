"""A codec of the recipe's choice for ESMValCore's preprocessed files: ``save: {compression: zstd}``.

With ``compress_netcdf: true`` ESMValCore writes ``preproc/`` with zlib, and
its ``save`` step passes the recipe's other options on to iris' saver, which
knows no other codec. At the paper's scale this writing and the scripts'
reading back cost more CPU than the whole read of the archive (zlib level 1:
about 4.9 s of CPU per GB decoded to write and 5.4 s to read, against 1.5
and 1.4 s with zstd; benchmarks/README.md). :func:`install` (called by the
plugin, :mod:`smeval.plugin`) lets the ``save`` step take a ``compression``
option, a codec of netCDF4's ``createVariable``, and writes the file with it
through :func:`smeval.netcdf_codec.saver`, still lazily: ESMValCore
computes every file of a task together, as before.

The option changes nothing else: without ``compress_netcdf`` the files stay
uncompressed, as ``complevel`` does; where the netCDF library cannot write
the codec (netCDF-C < 4.9 or its HDF5 filter plugins not found), they are
zlib-compressed as ESMValCore writes them. Other recipes, which do not give
the option, are untouched. The upstream change this stands in for: a
``compression`` option of ESMValCore's ``save`` (or of iris' saver).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from smeval.netcdf_codec import check_codec, codec_available, saver

logger = logging.getLogger(__name__)


def install() -> None:
    """Give ESMValCore's ``save`` preprocessor step a ``compression`` option (idempotent)."""
    from esmvalcore import (
        preprocessor,
    )

    original = preprocessor.save
    if getattr(original, "smeval_codec", False):
        return

    @functools.wraps(original)
    def save(
        cubes, filename, *args: Any, compression: str | None = None, **kwargs
    ):
        if compression is not None:
            codec = check_codec(compression, filename)
            if kwargs.get("compress", False) and _writable(codec):
                kwargs["saver"] = saver(codec)
        return original(cubes, filename, *args, **kwargs)

    save.smeval_codec = True
    # ESMValCore finds a step's function by its name in this module.
    preprocessor.save = save


def _writable(codec: str) -> bool:
    """Return True if ``codec`` is not ESMValCore's own zlib and the netCDF library here can write it."""
    if codec == "zlib":
        return False
    if not codec_available(codec):
        _warn_once(codec)
        return False
    return True


@functools.cache
def _warn_once(codec: str) -> None:
    logger.warning(
        "smeval: this netCDF library cannot write %s; preproc/ is written with zlib instead",
        codec,
    )
