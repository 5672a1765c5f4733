"""Stand-in for ``esmpy.api.field``."""

from esmpy.api.unavailable import _Unavailable


class Field(_Unavailable):
    """Stand-in for ``esmpy.Field``: raises on construction."""
