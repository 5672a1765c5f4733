"""Reading preprocessed cubes and writing diagnostic results.

Everything here sits at the edge between ESMValCore's files and the pure
science of :mod:`smeval.core`: it extracts arrays and grid bounds from iris
cubes, and writes small results (series, tables) atomically.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import iris
import iris.coords
import iris.cube
import numpy as np

from smeval.cmorio import SYNTHETIC_ATTRIBUTE, atomic_output
from smeval.netcdf_codec import check_codec, saver

from .shared import atomic_write_text, family_of

#: Columns of an ``excluded.csv``: what was left out, and why.
EXCLUDED_COLUMNS = ["dataset", "member", "project", "variable", "reason"]


def load_cube(filename: str | os.PathLike) -> iris.cube.Cube:
    """Load the single cube of a preprocessed file (data stay lazy)."""
    cubes = iris.load(str(filename))
    if len(cubes) != 1:
        names = ", ".join(c.var_name or c.name() for c in cubes)
        msg = f"{filename}: expected one variable in a preprocessed file, found {len(cubes)} ({names})"
        raise ValueError(msg)
    return cubes[0]


#: Name of the string coordinate that names the data set of each field in a results file.
DATASET_COORD = "dataset"


def fields_by_dataset(
    filename: str | os.PathLike,
) -> dict[str, iris.cube.Cube]:
    """Return the (lat, lon) field of each data set in a results file of one quantity, in the file's order.

    The file holds one cube with a leading ``dataset`` dimension (its string
    coordinate :data:`DATASET_COORD`), as the maps diagnostic writes them.
    """
    cube = load_cube(filename)
    return {
        str(field.coord(DATASET_COORD).points[0]): field
        for field in cube.slices_over(DATASET_COORD)
    }


def attach_labels(
    cube: iris.cube.Cube, attributes: dict[str, str], meta: dict
) -> iris.cube.Cube:
    """Write the metadata ``meta`` (its family derived) into ``cube``'s ``attributes``, as :func:`labelled_files` reads them."""
    values = {**meta, "family": family_of(meta)}
    for attribute, key in attributes.items():
        cube.attributes[attribute] = str(values.get(key) or "")
    return cube


def labelled_files(
    folders, pattern: str, attributes: dict[str, str], what: str
) -> list[tuple[str, dict[str, str], iris.cube.Cube]]:
    """Files matching ``pattern`` in ``folders``: (file, metadata, lazy cube).

    ``attributes`` maps each NetCDF attribute the writer sets to its key in
    the metadata (ESMValCore's names).

    Raises
    ------
    ValueError
        If a file lacks one of the ``attributes``: it is not ``what``.
    """
    found = []
    for folder in folders:
        for path in sorted(Path(folder).glob(pattern)):
            cube = load_cube(path)
            missing = [a for a in attributes if a not in cube.attributes]
            if missing:
                msg = f"{path}: not {what} (no attribute {', '.join(missing)})"
                raise ValueError(msg)
            meta = {
                key: str(cube.attributes[a]) for a, key in attributes.items()
            }
            found.append((str(path), meta, cube))
    return found


def is_synthetic(cube: iris.cube.Cube) -> bool:
    """Return True if the data came from the synthetic sample archive."""
    return (
        SYNTHETIC_ATTRIBUTE in cube.attributes.globals
        or SYNTHETIC_ATTRIBUTE in cube.attributes
    )


def save_cube(
    cube: iris.cube.Cube, path: str | os.PathLike, **netcdf: object
) -> Path:
    """Save a cube as NetCDF atomically; returns the path.

    ``netcdf`` are options of iris' NetCDF saver (e.g. ``zlib``,
    ``complevel``, ``shuffle``, ``chunksizes``), or ``compression``: the name
    of a codec of netCDF4's ``createVariable`` (e.g. ``"zstd"``), which
    iris' saver does not take; it then compresses the variables iris' saver
    compresses with ``zlib`` (:mod:`smeval.netcdf_codec`), at ``complevel``.
    """
    with delayed_save(cube, path, **netcdf) as saving:
        saving.write.compute()
    return Path(path)


@dataclass
class DelayedSave:
    """A NetCDF file being written: ``write`` (a dask ``Delayed``) writes its data; :meth:`discard` drops it."""

    write: Any
    _tmp: Path
    discarded: bool = False

    def discard(self) -> None:
        """Leave the target as it was (the data need not have been written)."""
        self._tmp.unlink(missing_ok=True)
        self.discarded = True


@contextlib.contextmanager
def delayed_save(
    cube: iris.cube.Cube, path: str | os.PathLike, **netcdf: object
) -> Iterator[DelayedSave]:
    """Save a cube as NetCDF atomically, its lazy data written by the caller's ``dask.compute``.

    Yields a :class:`DelayedSave`; computing its ``write`` together with
    other lazy results reads their common inputs once. The file appears at
    ``path`` when the block ends without error and without
    :meth:`~DelayedSave.discard`; the caller must have computed ``write``.
    ``netcdf``: as :func:`save_cube`.
    """
    options = dict(netcdf)
    codec = options.pop("compression", None)
    nc_saver = "nc" if codec is None else saver(check_codec(codec, path))
    with atomic_output(path) as tmp:
        yield DelayedSave(
            iris.save(
                cube, str(tmp), saver=nc_saver, compute=False, **options
            ),
            tmp,
        )


#: Where a regional series lies in a series script's work folder: one
#: folder per variable (``<variable>/<dataset>_<member>.nc``); the maps'
#: and correlation maps' fields lie a level deeper.
SERIES_GLOB = "*/*.nc"


def series_path(work_dir: str | os.PathLike, variable: str, stem: str) -> Path:
    """File of one member's series of ``variable`` in a series script's work folder (see :data:`SERIES_GLOB`)."""
    return Path(work_dir) / variable / f"{stem}.nc"


def series_cube(
    values: np.ndarray,
    time: iris.coords.DimCoord,
    region_ids: tuple[str, ...],
    template: iris.cube.Cube,
    long_name: str,
    attributes: dict | None = None,
) -> iris.cube.Cube:
    """Return a (time, region) cube of regional means, keeping the template's metadata.

    ``values`` has shape (n_time, n_region) in the units of ``template``.
    """
    region = iris.coords.AuxCoord(
        np.array(region_ids, dtype=str), long_name="region", var_name="region"
    )
    return iris.cube.Cube(
        np.ma.masked_invalid(np.asarray(values, dtype=np.float32)),
        var_name=template.var_name,
        standard_name=template.standard_name,
        long_name=long_name,
        units=template.units,
        dim_coords_and_dims=[(time.copy(), 0)],
        aux_coords_and_dims=[(region, 1)],
        attributes={
            **(
                {
                    SYNTHETIC_ATTRIBUTE: template.attributes.get(
                        SYNTHETIC_ATTRIBUTE
                    )
                }
                if is_synthetic(template)
                else {}
            ),
            **(attributes or {}),
        },
    )


def write_csv(
    path: Path, rows: list[dict[str, str]], columns: list[str]
) -> None:
    """Write ``rows`` as CSV with the header ``columns``, atomically."""
    buffer = io.StringIO()
    out = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    out.writeheader()
    out.writerows(rows)
    atomic_write_text(path, buffer.getvalue())
