"""The correlation maps' monthly fields, computed from the read that gives the regional series.

The correlation maps (Fig. 11) need each data set's monthly fields of
``mrsos``, ``pr`` and ``evspsbl`` on the common grid: a model's ensemble
mean over its members, a reference's own field. Reading the preprocessed
member files again for them cost a second read and decode of every member.
Instead, the regional-series script applies the steps the recipe gives in
its ``correlation_steps`` option (ESMValCore's ``ensemble_statistics``, then
``regrid``; :class:`smeval.diag.preprocess.EnsembleSteps`) to the members of
each data set of its ``correlation_variables`` while it reads them for the
series: the members' series, their climatologies and the data set's
ensemble mean come from one read of each member
(:mod:`smeval.diag.running_mean`).

The fields are written one file per variable and data set,
``<work_dir>/ensemble_fields/<short_name>/<dataset>.nc`` (float32, zstd,
:func:`save_options`),
with attributes that name the data set, project, family and the
members in the mean; the correlation script finds them in its ancestors'
folders (:func:`find_ensemble_fields`) and reads them a band of grid rows
of a few months at a time (:class:`FieldFile`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Self

import iris.coords
import iris.cube
import netCDF4
import numpy as np

from smeval.core._arrays import as_float_nan
from smeval.metrics.series import months_of
from smeval.netcdf_codec import codec_available

from .io import attach_labels, labelled_files

#: Sub-folder of a series script's work folder that holds the monthly fields.
ENSEMBLE_DIR = "ensemble_fields"
#: Global attributes of a field file, and the metadata key each holds.
ATTRIBUTES = {
    "smeval_variable": "short_name",
    "smeval_dataset": "dataset",
    "smeval_project": "project",
    "smeval_family": "family",
    "smeval_members": "members",
}
#: NetCDF compression of the fields: zstd level 1, lossless; against zlib
#: level 1 with shuffle a third of the CPU to write, half to read, 0.7 times
#: the space (benchmarks/README.md). netCDF4 applies HDF5's shuffle filter
#: only with zlib; it would not help here.
COMPRESSION = MappingProxyType({"compression": "zstd", "complevel": 1})
#: The compression where the netCDF library cannot write zstd (netCDF-C <
#: 4.9, or its HDF5 filter plugins not found): zlib level 1 with shuffle.
FALLBACK_COMPRESSION = MappingProxyType({"zlib": True, "complevel": 1})
#: Months in one chunk of a field file: a reader of a month or a year
#: decompresses 2.5 MB (on the 1.125-degree grid), not a quarter of the file.
CHUNK_MONTHS = 12


def save_options(shape: Sequence[int]) -> dict[str, Any]:
    """Options of :func:`smeval.diag.io.save_cube` for a (time, lat, lon) field of ``shape``.

    :data:`COMPRESSION` (:data:`FALLBACK_COMPRESSION` where the netCDF
    library cannot write it), chunks of :data:`CHUNK_MONTHS` whole maps.
    """
    codec = COMPRESSION["compression"]
    compression = (
        COMPRESSION if codec_available(codec) else FALLBACK_COMPRESSION
    )
    chunks = (min(CHUNK_MONTHS, shape[0]), *shape[1:])
    return {**compression, "chunksizes": chunks}


def ensemble_field_path(
    work_dir: str | os.PathLike, meta: Mapping[str, Any]
) -> Path:
    """File of one data set's monthly field of one variable in a series script's work folder."""
    return (
        Path(work_dir)
        / ENSEMBLE_DIR
        / str(meta["short_name"])
        / f"{meta['dataset']}.nc"
    )


def label(
    cube: iris.cube.Cube,
    meta: Mapping[str, Any],
    members: Sequence[str],
    inputs: Sequence[iris.cube.Cube],
) -> iris.cube.Cube:
    """Return ``cube`` as written: float32, its data set's attributes, the members' cell methods.

    ``members`` are the members in the mean (empty for a data set without
    members, e.g. a reference); ``inputs`` their cubes, whose cell methods
    (e.g. ``mean: time``) precede those of the steps: ESMValCore's
    ``ensemble_statistics`` drops them and adds its own.
    """
    attach_labels(cube, ATTRIBUTES, {**meta, "members": ",".join(members)})
    cube.data = cube.core_data().astype(np.float32, copy=False)
    own = tuple(inputs[0].cell_methods) if inputs else ()
    steps = tuple(m for m in cube.cell_methods if m not in own)
    cube.cell_methods = (*own, *steps)
    return cube


#: Attributes with which netCDF4 changes a variable's values as it reads
#: them (scaling, valid ranges, a second missing value). The writers of the
#: field files set none of them.
_CHANGE_ON_READ = frozenset(
    {
        "scale_factor",
        "add_offset",
        "missing_value",
        "valid_min",
        "valid_max",
        "valid_range",
    }
)


class FieldFile:
    """A field file (loaded as ``cube``) held open, read a block of months and of grid rows at a time.

    :meth:`read` gives the values of ``cube``'s masked data with NaN for the
    mask, at a third of the cost: the variable is read as stored and its
    fill value marked missing here, where iris has netCDF4 mask every chunk
    and then joins the masked chunks. A file whose variable has an
    attribute that changes values on reading (:data:`_CHANGE_ON_READ`) is
    read with netCDF4's masking and scaling. A read of some grid rows
    (``rows``) holds only those rows in memory, but HDF5 still decompresses
    every chunk it touches whole (:data:`CHUNK_MONTHS` months of the whole
    map): reading a file in bands of rows decompresses it once a band.
    """

    def __init__(self, path: str | os.PathLike, cube: iris.cube.Cube):
        self.path = str(path)
        self.cube = cube
        self.months = months_of(cube.coord("time"))
        self._dataset = netCDF4.Dataset(path)
        self._variable = self._dataset.variables[cube.var_name]
        self._as_stored = not _CHANGE_ON_READ & set(self._variable.ncattrs())
        # The fill value netCDF4 would mask: _FillValue, else the library's
        # default; None if the variable is not pre-filled.
        self._fill = self._variable.get_fill_value()
        self._variable.set_auto_maskandscale(not self._as_stored)
        # Every read is of whole chunks, which HDF5 reads past its chunk
        # cache; a cache per open file (netCDF-C's default is 16 MB or
        # more) would only hold memory, some gigabytes for a hundred files.
        self._variable.set_var_chunk_cache(size=0)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self._dataset.close()

    def read(
        self, months: np.ndarray, rows: slice | None = None
    ) -> np.ndarray:
        """(len(months), lat, lon) float64 values on the month axis ``months`` (``year * 12 + month - 1``), NaN where missing or absent.

        ``rows``: only these rows of the grid (the lat axis), as numpy
        slices them; the result is ``read(months)[:, rows]``.
        """
        rows = slice(None) if rows is None else rows
        pos = np.clip(
            np.searchsorted(self.months, months), 0, len(self.months) - 1
        )
        inside = self.months[pos] == months
        if inside.all() and (np.diff(pos) == 1).all():
            return self._values(self._variable[pos[0] : pos[-1] + 1, rows])
        n_lat, *others = self._variable.shape[1:]
        n_rows = len(range(*rows.indices(n_lat)))
        out = np.full((len(months), n_rows, *others), np.nan)
        if inside.any():
            found = pos[inside]
            stored = self._variable[found.min() : found.max() + 1, rows]
            out[inside] = self._values(stored[found - found.min()])
        return out

    def _values(self, stored: np.ndarray) -> np.ndarray:
        if not self._as_stored:
            return as_float_nan(stored, np.float64)
        values = stored.astype(np.float64)
        if self._fill is not None:
            np.copyto(values, np.nan, where=stored == self._fill)
        return values


def find_ensemble_fields(
    folders,
) -> list[tuple[str, dict[str, str], iris.cube.Cube]]:
    """Monthly fields in the series folders ``folders``: (file, metadata, lazy cube).

    The metadata (``short_name``, ``dataset``, ``project``, ``family``,
    ``members``) have the keys of ESMValCore's metadata of a preprocessed
    file where ESMValCore has one.

    Raises
    ------
    ValueError
        If a file in a field folder lacks the attributes of one.
    """
    return labelled_files(
        folders,
        f"{ENSEMBLE_DIR}/*/*.nc",
        ATTRIBUTES,
        "a monthly field of smeval",
    )
