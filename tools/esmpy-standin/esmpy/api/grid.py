"""Stand-in for ``esmpy.api.grid``."""

from esmpy.api.unavailable import _Unavailable


class Grid(_Unavailable):
    """Stand-in for ``esmpy.Grid``: raises on construction."""
