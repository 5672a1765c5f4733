"""NetCDF-4 codecs other than zlib, written through iris' saver.

iris' saver (3.16) passes ``zlib``, ``complevel`` and ``shuffle`` to netCDF4's
``createVariable`` but not its ``compression`` keyword, the only way to ask
for another codec (zstd: a third of zlib's CPU to write, half to read, in
less space; benchmarks/README.md, "The codec of the ensemble fields"). It
saves into "an open, writeable netCDF4.Dataset, or compatible object",
which is how the codec gets in (:class:`CodecDataset`); :func:`saver` is
that route as a saver of :func:`iris.save`. Used for smeval's own fields
(:func:`smeval.diag.io.save_cube`) and for ESMValCore's preprocessed files
(:mod:`smeval.preproc_codec`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import iris.cube
import iris.fileformats.netcdf
import netCDF4
from dask.delayed import Delayed

#: Codecs of netCDF4's ``createVariable(compression=...)``, and the method of
#: an open dataset that says whether the netCDF library can write each.
CODECS = {
    "zlib": None,
    "zstd": "has_zstd_filter",
    "bzip2": "has_bzip2_filter",
    "szip": "has_szip_filter",
    **{
        f"blosc_{name}": "has_blosc_filter"
        for name in ("lz", "lz4", "lz4hc", "zlib", "zstd")
    },
}


def check_codec(codec: object, path: str | os.PathLike) -> str:
    """Return ``codec`` if netCDF4 knows it; else ValueError naming ``path``."""
    if codec not in CODECS:
        msg = f"{path}: unknown NetCDF compression {codec!r} (netCDF4's are {', '.join(CODECS)})"
        raise ValueError(msg)
    return str(codec)


@functools.cache
def codec_available(codec: str) -> bool:
    """Return True if the netCDF library here can write NetCDF-4 variables compressed with ``codec``.

    Codecs other than zlib need netCDF-C >= 4.9 and its HDF5 filter plugins
    (recent netCDF4 wheels from PyPI bring both and set ``HDF5_PLUGIN_PATH``).
    """
    method = CODECS.get(codec, "")
    if method is None:
        return True
    if not method:
        return False
    try:
        with netCDF4.Dataset("probe.nc", "w", diskless=True) as probe:
            return bool(getattr(probe, method)())
    except AttributeError:  # a netCDF4 without these methods cannot tell
        return False


class CodecDataset:
    """An open :class:`netCDF4.Dataset` for iris' saver: variables it would zlib-compress get ``codec``.

    Everything else is the dataset's own.
    """

    def __init__(self, dataset: netCDF4.Dataset, codec: str) -> None:
        self._dataset = dataset
        self._codec = codec

    def createVariable(self, *args, zlib: bool = False, **kwargs):  # noqa: N802 (netCDF4's name)
        """netCDF4's ``createVariable``, with ``compression=codec`` where iris asks for ``zlib``."""
        if zlib:
            kwargs["compression"] = self._codec
        return self._dataset.createVariable(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._dataset, name)


def save_with_codec(
    cubes: iris.cube.Cube | Sequence[iris.cube.Cube],
    path: str | os.PathLike,
    codec: str,
    **options: object,
) -> Delayed:
    """Create ``path`` with iris' NetCDF saver, compressed with ``codec``; returns the write of the data.

    ``options`` are those of iris' saver (``zlib`` is implied). The file
    holds the variables and coordinates at once; the returned delayed
    writes the (lazy) data, as iris' ``compute=False``: iris writes into a
    dataset it was given only once that dataset is closed.
    """
    dataset = netCDF4.Dataset(path, "w", format="NETCDF4")
    try:
        return iris.fileformats.netcdf.save(
            cubes,
            CodecDataset(dataset, codec),
            **{**options, "zlib": True, "compute": False},
        )
    finally:
        dataset.close()


def saver(codec: str):
    """Return a saver of :func:`iris.save` (its ``saver=``) that writes NetCDF-4 compressed with ``codec``.

    With ``compute=False`` it returns the delayed write of the data, as
    iris' NetCDF saver does.
    """

    def save_netcdf(cubes, target, compute: bool = True, **options):
        delayed = save_with_codec(cubes, target, codec, **options)
        return delayed.compute() if compute else delayed

    # iris hands a list of cubes whole only to the savers of its NetCDF
    # module (others get one cube at a time, without the delayed write).
    save_netcdf.__module__ = "iris.fileformats.netcdf.saver"
    return save_netcdf
