"""Plant one fault in a copy of the tiny archive (tests/faults).

The archive is generated once per session (conftest.py); each case gets a
copy made of hard links, and a file is copied for real before a fault is
planted in it, so the shared archive is never changed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import netCDF4
import numpy as np


def copy_archive(source: Path, target: Path) -> Path:
    """A copy of ``source`` at ``target`` whose files are hard links (cheap)."""
    shutil.copytree(source, target, copy_function=os.link)
    return target


def own(path: Path) -> Path:
    """Give ``path`` its own inode (break the hard link) so that it can be changed."""
    tmp = path.with_name(path.name + ".own")
    shutil.copy2(path, tmp)
    tmp.replace(path)
    return path


def cmip6_file(
    archive: Path, dataset: str, member: str, short_name: str
) -> Path:
    """The one file of a CMIP6 member's variable in the archive."""
    [path] = sorted(
        archive.glob(
            f"CMIP6/*/*/{dataset}/historical/{member}/*/{short_name}/*/*/*.nc"
        )
    )
    return path


def obs6_file(archive: Path, dataset: str, short_name: str) -> Path:
    [path] = sorted(
        archive.glob(
            f"OBS6/Tier*/{dataset}/OBS6_{dataset}_*_{short_name}[_.]*nc"
        )
    )
    return path


def scale(path: Path, factor: float) -> None:
    """Multiply the data variable by ``factor``, keeping its units label."""
    own(path)
    with netCDF4.Dataset(path, "a") as nc:
        var = nc[_data_name(nc)]
        var[:] = var[:] * factor


def fill(path: Path) -> None:
    """Make every value of the data variable missing (its _FillValue)."""
    own(path)
    with netCDF4.Dataset(path, "a") as nc:
        var = nc[_data_name(nc)]
        var.set_auto_mask(False)
        var[:] = np.full(var.shape, var._FillValue, dtype=var.dtype)


def set_units(path: Path, units: str) -> None:
    own(path)
    with netCDF4.Dataset(path, "a") as nc:
        nc[_data_name(nc)].units = units


def truncate(path: Path) -> None:
    """Cut the file to half its size, as an interrupted download leaves it."""
    own(path)
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)


def set_layer_bounds(path: Path, bounds: list[list[float]]) -> None:
    """Replace the soil-layer bounds (m) of an ``mrsol`` file (one pair per layer)."""
    own(path)
    with netCDF4.Dataset(path, "a") as nc:
        nc["depth_bnds"][:] = np.asarray(bounds)
        nc["depth"][:] = np.asarray(bounds).mean(axis=1)


def remove(path: Path) -> None:
    shutil.rmtree(path) if path.is_dir() else path.unlink()


def _data_name(nc: netCDF4.Dataset) -> str:
    names = [
        n
        for n, v in nc.variables.items()
        if len(v.dimensions) >= 2 and not n.endswith("_bnds")
    ]
    return names[0]
