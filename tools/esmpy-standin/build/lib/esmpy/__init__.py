"""smeval's stand-in for ESMPy (the Python interface of ESMF).

Installed by smeval's set-up only when ``import esmpy`` fails, because ESMPy is
not distributed on PyPI but ESMValCore imports it through ``esmf-regrid``.
It provides the constants that ``esmf-regrid`` reads at import time; every
attempt to build an ESMF object raises :class:`ESMPyNotAvailableError` with
instructions. See the README beside this package.
"""

from __future__ import annotations

from esmpy.api.constants import (
    CoordSys,
    ExtrapMethod,
    GridItem,
    LineType,
    MeshLoc,
    NormType,
    PoleMethod,
    RegridMethod,
    StaggerLoc,
    UnmappedAction,
)
from esmpy.api.field import Field
from esmpy.api.grid import Grid
from esmpy.api.mesh import Mesh
from esmpy.api.unavailable import (
    MESSAGE,
    ESMPyNotAvailableError,
    LocStream,
    Manager,
    Regrid,
)

__version__ = "0.0.0+smeval.standin"

#: Marks this module as smeval's stand-in, not the real ESMPy.
SMEVAL_STANDIN = True

__all__ = [
    "MESSAGE",
    "CoordSys",
    "ESMPyNotAvailableError",
    "ExtrapMethod",
    "Field",
    "Grid",
    "GridItem",
    "LineType",
    "LocStream",
    "Manager",
    "Mesh",
    "MeshLoc",
    "NormType",
    "PoleMethod",
    "Regrid",
    "RegridMethod",
    "StaggerLoc",
    "UnmappedAction",
]
