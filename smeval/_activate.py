"""Imported first by a ``forkserver`` process of ESMValCore: see :mod:`smeval.plugin`."""

from smeval.plugin import activate

activate()
