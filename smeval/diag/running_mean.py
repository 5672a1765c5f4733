"""The correlation branch's ensemble mean, one member at a time, so that memory does not grow with members.

The correlation maps need each model's ensemble mean of ``mrsos``, ``pr`` and
``evspsbl``. ESMValCore's ``ensemble_statistics`` stacks the members and
takes the mean over the stack, so dask held every member of a data set at
once (up to 50 at the paper's scale, each more the longer the period; the
series script's peak memory followed them). Where the recipe's
``correlation_steps`` start with ESMValCore's ensemble mean and nothing
else (:func:`applies`), the series script instead computes its members a
few at a time and adds each one's valid values to a running sum
(:class:`RunningMean`):

    mean_tj = sum_k x_ktj / n_tj      (k: the members valid at t, j; n_tj their number)

masked where no member is valid: ESMValCore's result (iris' masked mean over
the stacked members, mdtol 1), summed in float64 instead of float32, so
equal to it to float32 rounding (``tests/diag/test_running_mean.py``). The
other correlation steps (``regrid``) are then applied to the mean.

A member the full value check excludes is simply not added, where the mean
of all members had to be computed again without it. Members larger than a
block (:data:`smeval.diag.time_blocks.MEAN_BLOCK_BYTES`) are summed block by
block of months, each block over all members, so that the float64 sums span
one block and not the period; their full check can only follow the last
block, and a member it excludes makes the series script sum the mean again
without it (logged).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dask.array as da
import numpy as np

from smeval.core._arrays import valid_values

from .preprocess import ENSEMBLE_STEP, MEAN_SETTINGS

#: The running count of valid members: up to 32,767 members, a quarter of
#: int64's memory (the sums and counts span the whole period on the native
#: grid).
COUNT_DTYPE = np.int16
#: Members computed together: one per thread of the 2-core machines the
#: recipe is measured on keeps both busy while holding two members.
MEMBERS_AT_ONCE = 2


def applies(steps: Mapping[str, Any]) -> bool:
    """Return True if ``steps`` (the correlation branch) start with ESMValCore's ensemble mean of default settings."""
    first = next(iter(steps), None)
    return first == ENSEMBLE_STEP and dict(steps[first] or {}) == dict(
        MEAN_SETTINGS
    )


def after_mean(steps: Mapping[str, Any]) -> dict[str, Any]:
    """Return the steps of ``steps`` after the ensemble mean."""
    return {k: v for k, v in steps.items() if k != ENSEMBLE_STEP}


def contribution(data) -> tuple[da.Array, da.Array]:
    """One member's (values, validity) for :meth:`RunningMean.add`, lazy: masked or non-finite values are 0 and invalid."""
    values, valid = valid_values(data)
    return da.where(valid, values, 0), valid


class RunningMean:
    """The masked mean of arrays of one shape, added one at a time (see the module docstring)."""

    def __init__(self) -> None:
        self.total: np.ndarray | None = None
        self.count: np.ndarray | None = None
        self.members = 0

    def add(self, values: np.ndarray, valid: np.ndarray) -> None:
        """Add one member's values, zero where not ``valid``.

        Raises
        ------
        ValueError
            If the shape is not that of the members added before, or the
            counts would overflow :data:`COUNT_DTYPE`.
        """
        if self.members == np.iinfo(COUNT_DTYPE).max:
            msg = f"more than {self.members} members: the counts would overflow {np.dtype(COUNT_DTYPE)}"
            raise ValueError(msg)
        if self.total is None:
            self.total = np.zeros(values.shape, np.float64)
            self.count = np.zeros(values.shape, COUNT_DTYPE)
        if values.shape != self.total.shape:
            msg = f"a member of shape {values.shape} cannot join members of shape {self.total.shape}"
            raise ValueError(msg)
        self.total += values
        self.count += valid
        self.members += 1

    def mean(self, dtype) -> np.ma.MaskedArray:
        """Return the mean in ``dtype``, masked where no member was valid."""
        if self.total is None:
            msg = "no member was added"
            raise ValueError(msg)
        # Divided straight into the result: numpy divides in float64 a
        # buffer at a time, so no float64 quotient of the whole period is
        # held beside the sums (the same values as dividing, then casting).
        mean = np.empty(self.total.shape, dtype)
        np.divide(
            self.total,
            np.maximum(self.count, 1),
            out=mean,
            casting="same_kind",
        )
        return np.ma.MaskedArray(mean, mask=self.count == 0)
