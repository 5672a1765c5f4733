"""The correlation script's reader of the field files gives what iris gives.

:class:`smeval.diag.ensemble_fields.FieldFile` reads a field as stored and
marks the fill value missing itself, a few months at a time. Its values must
be iris' masked data with NaN for the mask, on any month axis: the second
route to the same numbers checks the first.
"""

from __future__ import annotations

import netCDF4
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_ensemble_field_codec import SHAPE, field, finite32

from smeval.core._arrays import as_float_nan
from smeval.core.ensemble import streamed_mmem
from smeval.diag.correlation_fields import _mmem_by_blocks
from smeval.diag.ensemble_fields import FieldFile, save_options
from smeval.diag.io import load_cube, save_cube
from smeval.metrics.series import months_of


def written(path, data) -> tuple:
    """Write ``data`` as the series scripts write a field; (iris' values with NaN, the file's months)."""
    cube = field(data)
    save_cube(cube, path, **save_options(cube.shape))
    back = load_cube(path)
    return as_float_nan(back.lazy_data().compute(), np.float64), months_of(
        back.coord("time")
    )


@settings(max_examples=25, deadline=None)
@given(
    values=hnp.arrays(np.float32, SHAPE, elements=finite32 | st.just(np.nan)),
    mask=hnp.arrays(np.bool_, SHAPE),
    start=st.integers(0, SHAPE[0] - 1),
    length=st.integers(1, 12),
)
def test_any_block_of_months_is_irises_data_with_nan_for_the_mask(
    tmp_path_factory, values, mask, start, length
):
    path = tmp_path_factory.mktemp("field") / "MODEL-A.nc"
    expected, months = written(path, np.ma.masked_array(values, mask=mask))
    block = months[start : start + length]
    with FieldFile(path, load_cube(path)) as fields:
        got = fields.read(block)
        whole = fields.read(months)
    assert got.dtype == whole.dtype == np.float64
    np.testing.assert_array_equal(got, expected[start : start + length])
    np.testing.assert_array_equal(whole, expected)


def test_months_outside_the_file_and_gaps_in_it_are_nan(tmp_path):
    data = np.ma.masked_less(
        np.random.default_rng(3).normal(size=SHAPE).astype(np.float32), -1.0
    )
    expected, months = written(tmp_path / "f.nc", data)
    # Two months before the file, its third and fifth month, one after it.
    asked = np.array(
        [months[0] - 2, months[0] - 1, months[2], months[4], months[-1] + 1]
    )
    with FieldFile(tmp_path / "f.nc", load_cube(tmp_path / "f.nc")) as f:
        got = f.read(asked)
    assert np.isnan(got[[0, 1, 4]]).all()
    np.testing.assert_array_equal(got[2], expected[2])
    np.testing.assert_array_equal(got[3], expected[4])


def packed(path, seed: int, cell: tuple[int, int, int]):
    """Write a field file with packed values and a ``missing_value`` at ``cell``; return (its values, NaN for missing, and months)."""
    data = np.ma.masked_less(
        np.random.default_rng(seed).normal(size=SHAPE).astype(np.float32),
        -1.0,
    )
    expected, months = written(path, data)
    with netCDF4.Dataset(path, "a") as dataset:
        variable = dataset["mrsos"]
        variable.set_auto_maskandscale(False)
        stored = variable[:]
        stored[cell] = -5.0
        variable[:] = stored
        variable.missing_value = np.float32(-5.0)
        variable.scale_factor = np.float32(1.0)
    expected[cell] = np.nan
    return expected, months


def test_a_file_whose_values_netcdf4_changes_on_reading(tmp_path):
    # Not what the series scripts write: packed values and a missing_value.
    # The reader then leaves masking and scaling to netCDF4, as iris does.
    expected, months = packed(tmp_path / "f.nc", 4, (0, 0, 0))
    cube = load_cube(tmp_path / "f.nc")
    with FieldFile(tmp_path / "f.nc", cube) as fields:
        got = fields.read(months)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(
        got, as_float_nan(cube.lazy_data().compute(), np.float64)
    )


@settings(max_examples=25, deadline=None)
@given(
    n_months=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
    families=st.lists(st.sampled_from("FGH"), min_size=1, max_size=5),
)
def test_the_mmem_by_blocks_of_months_is_the_mmem_of_whole_fields(
    n_months, seed, families
):
    # The correlation script averages the models a few months at a time;
    # the mean is element by element, so the blocks give the same bits.
    rng = np.random.default_rng(seed)
    models = [f"M{i}" for i in range(len(families))]
    fields = {}
    for model in models:
        values = rng.normal(size=(n_months, 3, 4))
        values[rng.random(values.shape) < 0.3] = np.nan
        fields[model] = values
    family = dict(zip(models, families, strict=True))
    months = np.arange(n_months) + 1979 * 12

    def load(model, block):
        return fields[model][block - months[0]]

    whole = streamed_mmem({m: (lambda m=m: fields[m]) for m in models}, family)
    got = _mmem_by_blocks(load, models, family, months)
    np.testing.assert_array_equal(got, whole)


@settings(max_examples=25, deadline=None)
@given(
    values=hnp.arrays(np.float32, SHAPE, elements=finite32 | st.just(np.nan)),
    mask=hnp.arrays(np.bool_, SHAPE),
    offsets=st.sets(st.integers(-3, SHAPE[0] + 2), min_size=1, max_size=12),
    start=st.none() | st.integers(-SHAPE[1] - 1, SHAPE[1] + 1),
    stop=st.none() | st.integers(-SHAPE[1] - 1, SHAPE[1] + 1),
    step=st.sampled_from([None, 1, 2, -1]),
)
def test_a_band_of_rows_is_the_whole_read_sliced(
    tmp_path_factory, values, mask, offsets, start, stop, step
):
    # The correlation script reads a band of grid rows over all months: the
    # band must be the whole map's read cut to those rows, with months
    # outside the file, gaps between the months asked (``offsets`` from
    # the file's first month) and masked cells NaN, as in a whole read.
    path = tmp_path_factory.mktemp("field") / "MODEL-A.nc"
    expected, months = written(path, np.ma.masked_array(values, mask=mask))
    asked = months[0] + np.array(sorted(offsets))
    rows = slice(start, stop, step)
    with FieldFile(path, load_cube(path)) as fields:
        got = fields.read(asked, rows)
        whole = fields.read(asked)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, whole[:, rows])
    irises = np.full((len(asked), *SHAPE[1:]), np.nan)
    inside = np.isin(asked, months)
    irises[inside] = expected[np.searchsorted(months, asked[inside])]
    np.testing.assert_array_equal(got, irises[:, rows])


def test_a_band_of_rows_of_a_file_whose_values_netcdf4_changes(tmp_path):
    # Packed values and a missing_value: netCDF4 masks and scales the band.
    expected, months = packed(tmp_path / "f.nc", 5, (3, 2, 1))
    asked = np.concatenate([[months[0] - 1], months[2:6], months[8:9]])
    with FieldFile(tmp_path / "f.nc", load_cube(tmp_path / "f.nc")) as f:
        got = f.read(asked, slice(1, 3))
    assert np.isnan(got[0]).all()
    np.testing.assert_array_equal(got[1:5], expected[2:6, 1:3])
    np.testing.assert_array_equal(got[5], expected[8, 1:3])
