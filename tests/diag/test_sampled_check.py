"""The sampled value check reads its three time steps, not the member (`smeval.diag.checks.sampled_value_problem`).

Known answers: the slices a recording array is asked for, and a problem
planted in a sampled step and in a step between them.
"""

from __future__ import annotations

import dask.array as da
import iris.coords
import iris.cube
import numpy as np
import pytest

from smeval.diag.checks import sampled_steps, sampled_value_problem

N_MONTHS = 36


class _Recorded:
    """An array read like a netCDF variable: every key asked for is recorded."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self.shape, self.dtype, self.ndim = (
            values.shape,
            values.dtype,
            values.ndim,
        )
        self.keys: list = []

    def __getitem__(self, key):
        self.keys.append(key)
        return self.values[key]


def _member(values: np.ndarray) -> tuple[iris.cube.Cube, _Recorded]:
    """A lazy mrsos cube of ``values`` (months, lat, lon) in one dask chunk, as iris loads a small member."""
    source = _Recorded(values.astype(np.float32))
    data = da.from_array(source, chunks=values.shape, asarray=False)
    cube = iris.cube.Cube(data, var_name="mrsos", units="kg m-2")
    time = iris.coords.DimCoord(
        np.arange(N_MONTHS) * 30.0 + 15, "time", units="days since 1979-01-01"
    )
    cube.add_dim_coord(time, 0)
    return cube, source


def test_only_the_three_sampled_steps_are_read_from_a_one_chunk_member():
    cube, source = _member(np.full((N_MONTHS, 3, 4), 25.0))
    source.keys.clear()  # dask's probe of the dtype, when the array was made

    assert sampled_value_problem(cube, "mrsos") is None
    # Each step alone, and nothing else (before: the whole member, once).
    assert [key[0] for key in source.keys] == [
        slice(t, t + 1) for t in sampled_steps(N_MONTHS)
    ]


@pytest.mark.parametrize(
    ("position", "found"), [("middle", True), ("between", False)]
)
def test_a_problem_shows_in_a_sampled_step_only(position, found):
    values = np.full((N_MONTHS, 3, 4), 25.0)
    steps = sampled_steps(N_MONTHS)
    month = steps[1] if position == "middle" else steps[1] + 1
    values[month, 1, 2] = 5000.0  # far more water than 10 cm of soil holds
    cube, _ = _member(values)

    problem = sampled_value_problem(cube, "mrsos")

    assert (problem is not None) == found
    if found:
        assert "plausible range" in problem
