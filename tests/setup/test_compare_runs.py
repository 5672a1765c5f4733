"""benchmarks/compare_runs.py finds a changed value or mask and accepts a recompressed file."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest
from bench_helpers import load_benchmark


@pytest.fixture(scope="module")
def compare():
    return load_benchmark("compare_runs")


def _run(folder: Path, values, mask, zlib: bool) -> Path:
    work = folder / "work" / "x"
    work.mkdir(parents=True)
    (work / "table.csv").write_text("a,b\n1,2\n")
    with netCDF4.Dataset(work / "field.nc", "w") as ds:
        ds.createDimension("n", len(values))
        var = ds.createVariable("v", "f4", ("n",), zlib=zlib, fill_value=1e20)
        var[:] = np.ma.masked_array(values, mask)
    return folder


def test_a_recompressed_identical_run_is_the_same(compare, tmp_path, capsys):
    a = _run(tmp_path / "a", [1.0, 2.0, 3.0], [0, 0, 1], zlib=False)
    b = _run(tmp_path / "b", [1.0, 2.0, 9.0], [0, 0, 1], zlib=True)
    assert compare.main([str(a), str(b)]) == 0
    assert "2 files compared, 0 differences" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("values", "mask"),
    [([1.0, 2.5, 3.0], [0, 0, 1]), ([1.0, 2.0, 3.0], [0, 1, 1])],
)
def test_a_changed_value_or_mask_is_found(
    compare, tmp_path, capsys, values, mask
):
    a = _run(tmp_path / "a", [1.0, 2.0, 3.0], [0, 0, 1], zlib=False)
    b = _run(tmp_path / "b", values, mask, zlib=False)
    assert compare.main([str(a), str(b)]) == 1
    assert "differs x/field.nc v" in capsys.readouterr().out


def test_a_changed_table_is_found(compare, tmp_path):
    a = _run(tmp_path / "a", [1.0], [0], zlib=False)
    b = _run(tmp_path / "b", [1.0], [0], zlib=False)
    (b / "work" / "x" / "table.csv").write_text("a,b\n1,3\n")
    assert compare.main([str(a), str(b)]) == 1
