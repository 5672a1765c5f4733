"""Stand-in for ``esmpy.api.mesh``."""

from esmpy.api.unavailable import _Unavailable


class Mesh(_Unavailable):
    """Stand-in for ``esmpy.Mesh``: raises on construction."""
