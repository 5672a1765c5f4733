"""The error raised by every ESMF object of the stand-in."""

from __future__ import annotations

MESSAGE = (
    "ESMF regridding was requested, but ESMPy is not installed: this "
    "environment has smeval's ESMPy stand-in, which lets ESMValCore import "
    "but cannot regrid with ESMF. For regular latitude-longitude grids use "
    "'scheme: area_weighted' (or 'linear' / 'nearest') in the recipe's "
    "regrid step, which uses iris and needs no ESMF. For irregular or "
    "unstructured grids install the real ESMPy with conda "
    "('conda install -c conda-forge esmpy') and uninstall the stand-in "
    "('pip uninstall smeval-esmpy-standin')."
)


class ESMPyNotAvailableError(RuntimeError):
    """ESMF functionality was requested from the ESMPy stand-in."""

    def __init__(self, what: str = "ESMF") -> None:
        super().__init__(f"{what}: {MESSAGE}")


class _Unavailable:
    """Base of every ESMF class: constructing one raises the clear error."""

    def __init__(self, *args, **kwargs) -> None:
        msg = f"esmpy.{type(self).__name__}"
        raise ESMPyNotAvailableError(msg)


class LocStream(_Unavailable):
    """Stand-in for ``esmpy.LocStream``."""


class Manager(_Unavailable):
    """Stand-in for ``esmpy.Manager``."""


class Regrid(_Unavailable):
    """Stand-in for ``esmpy.Regrid``."""
