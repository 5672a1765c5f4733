"""A cube saved as the caller computes its data: written, discarded or failed.

The series scripts write each data set's field in the ``dask.compute`` that
also computes the members' series (:func:`smeval.diag.io.delayed_save`), so
that the field goes to its file chunk by chunk. The file must appear only
once the block ends, complete; a discarded or failed save leaves the target
as it was.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
from test_ensemble_field_codec import SHAPE, assert_exact, field

from smeval.diag.ensemble_fields import save_options
from smeval.diag.io import delayed_save, load_cube, save_cube


def lazy_field(seed: int):
    """A masked field (lazy, in chunks of 7 months) and its values."""
    data = np.ma.masked_less(
        np.random.default_rng(seed).normal(size=SHAPE).astype(np.float32),
        -0.5,
    )
    lazy = da.ma.masked_array(
        da.from_array(data.data, chunks=(7, *SHAPE[1:])), data.mask
    )
    return field(lazy), data


def test_the_file_appears_when_the_block_ends_with_the_computed_data(
    tmp_path,
):
    cube, data = lazy_field(0)
    path = tmp_path / "f.nc"
    with delayed_save(cube, path, **save_options(SHAPE)) as saving:
        total = cube.lazy_data().sum()
        _, summed = dask.compute(saving.write, total)
        assert not path.exists()
    assert summed == pytest.approx(float(data.sum()), rel=1e-5)
    assert_exact(load_cube(path).data, data)
    assert list(tmp_path.iterdir()) == [path]


def test_a_discarded_save_leaves_the_file_before_it(tmp_path):
    before, data = lazy_field(1)
    path = tmp_path / "f.nc"
    save_cube(before, path)
    cube, _ = lazy_field(2)
    with delayed_save(cube, path, **save_options(SHAPE)) as saving:
        dask.compute(saving.write)
        saving.discard()
    assert saving.discarded
    assert_exact(load_cube(path).data, data)
    assert list(tmp_path.iterdir()) == [path]


def _fail_during(cube, path) -> None:
    with delayed_save(cube, path) as saving:
        dask.compute(saving.write)
        message = "in the compute"
        raise RuntimeError(message)


def test_an_error_in_the_block_leaves_no_file(tmp_path):
    cube, _ = lazy_field(3)
    with pytest.raises(RuntimeError, match="in the compute"):
        _fail_during(cube, tmp_path / "f.nc")
    assert list(tmp_path.iterdir()) == []
