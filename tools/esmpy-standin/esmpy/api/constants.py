"""Constants of ESMPy that ``esmf-regrid`` reads when it is imported.

Values follow ESMPy's own enumerations (``esmpy/api/constants.py`` of ESMF
8.x); they only need to be distinct members so that ``esmf-regrid`` can build
its lookup tables.
"""

from enum import IntEnum


class CoordSys(IntEnum):
    CART = 0
    SPH_DEG = 1
    SPH_RAD = 2


class ExtrapMethod(IntEnum):
    NONE = 0
    NEAREST_STOD = 1
    NEAREST_IDAVG = 2
    NEAREST_D = 3
    CREEP_FILL = 4


class GridItem(IntEnum):
    INVALID = -2
    NONE = -1
    MASK = 0
    AREA = 1


class LineType(IntEnum):
    CART = 0
    GREAT_CIRCLE = 1


class MeshLoc(IntEnum):
    NODE = 1
    ELEMENT = 2


class NormType(IntEnum):
    DSTAREA = 0
    FRACAREA = 1


class PoleMethod(IntEnum):
    NONE = 0
    ALLAVG = 1
    NPNTAVG = 2
    TEETH = 3


class RegridMethod(IntEnum):
    BILINEAR = 0
    PATCH = 1
    CONSERVE = 2
    NEAREST_STOD = 3
    NEAREST_DTOS = 4
    CONSERVE_2ND = 5


class StaggerLoc(IntEnum):
    INVALID = -2
    UNINIT = -1
    CENTER = 0
    EDGE1 = 1
    EDGE2 = 2
    CORNER = 3


class UnmappedAction(IntEnum):
    ERROR = 0
    IGNORE = 1
