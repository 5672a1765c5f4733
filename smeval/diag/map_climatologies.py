"""The maps' climatologies, computed from the read that gives the regional series.

ESMValCore reads a variable group's input files anew for every group. A
second group for the maps (``climate_statistics``, ``regrid``,
``mask_landsea``) therefore read and decoded every member's monthly fields a
second time, the largest single cost of a run on native grids. Instead, the
regional-series script applies the steps the recipe gives in its
``map_steps`` option (``climate_mean``, ESMValCore's ``climate_statistics``
mean in one pass; ESMValCore's ``regrid`` and ``mask_landsea``) to each
member it reads anyway (:func:`smeval.diag.preprocess.apply_steps`), and
dask computes the series and the climatology in one pass over the data.

The climatologies are written one file per member under
``<work_dir>/map_climatologies/<short_name>/``, with global attributes that
name the data set, member, project and family; the maps diagnostic finds them
in its ancestors' folders (:func:`find_climatologies`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import iris.cube

from .io import attach_labels, labelled_files

#: Sub-folder of a series script's work folder that holds the climatologies.
CLIMATOLOGY_DIR = "map_climatologies"
#: Global attributes of a climatology file, and the metadata key each holds.
ATTRIBUTES = {
    "smeval_map_variable": "short_name",
    "smeval_dataset": "dataset",
    "smeval_member": "ensemble",
    "smeval_project": "project",
    "smeval_family": "family",
}


def member_stem(meta: Mapping[str, Any]) -> str:
    """``<dataset>_<member>`` (or ``<dataset>``): the file name of one member's product."""
    return "_".join(
        p for p in (str(meta["dataset"]), str(meta.get("ensemble") or "")) if p
    )


def climatology_path(
    work_dir: str | os.PathLike, meta: Mapping[str, Any]
) -> Path:
    """File of one member's climatology in a series script's work folder."""
    return (
        Path(work_dir)
        / CLIMATOLOGY_DIR
        / str(meta["short_name"])
        / f"{member_stem(meta)}.nc"
    )


def label(cube: iris.cube.Cube, meta: Mapping[str, Any]) -> iris.cube.Cube:
    """Attach the data set's metadata (family included) to a climatology as attributes."""
    return attach_labels(cube, ATTRIBUTES, meta)


def find_climatologies(
    folders,
) -> list[tuple[str, dict[str, str], iris.cube.Cube]]:
    """Climatologies in the series folders ``folders``: (file, metadata, lazy cube).

    The metadata (``short_name``, ``dataset``, ``ensemble``, ``project``,
    ``family``) have the keys of ESMValCore's metadata of a preprocessed file.

    Raises
    ------
    ValueError
        If a file in a climatology folder lacks the attributes of one.
    """
    return labelled_files(
        folders,
        f"{CLIMATOLOGY_DIR}/*/*.nc",
        ATTRIBUTES,
        "a map climatology of smeval",
    )
