"""The codec benchmark of the ensemble fields runs and checks its round trip (not timed)."""

from __future__ import annotations

import iris.coords
import iris.cube
import numpy as np
import pytest
from bench_helpers import load_benchmark

from smeval.diag.io import save_cube


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_ensemble_fields")


def _field(path, seed):
    # Smooth in time, as the fields are: netCDF-C's blosc filter refuses a
    # buffer it cannot compress (e.g. 560 random floats).
    rng = np.random.default_rng(seed)
    values = np.cumsum(
        np.round(rng.normal(size=(14, 5, 8)), 1), axis=0, dtype=np.float32
    )
    cube = iris.cube.Cube(
        np.ma.masked_less(values, -0.5),
        var_name="pr",
        units="kg m-2 s-1",
        dim_coords_and_dims=[
            (
                iris.coords.DimCoord(
                    np.arange(14.0), "time", units="days since 1979-01-01"
                ),
                0,
            ),
            (
                iris.coords.DimCoord(
                    np.arange(5.0), "latitude", units="degrees"
                ),
                1,
            ),
            (
                iris.coords.DimCoord(
                    np.arange(8.0), "longitude", units="degrees"
                ),
                2,
            ),
        ],
    )
    return save_cube(cube, path, zlib=True, complevel=1)


def test_every_setting_round_trips_and_the_table_says_so(
    bench, tmp_path, capsys
):
    files = [_field(tmp_path / f"in{i}.nc", i) for i in range(2)]
    before = [f.read_bytes() for f in files]
    code = bench.main(
        [
            *map(str, files),
            "--files",
            "2",
            "--repeat",
            "1",
            "--tmpdir",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    rows = [
        line
        for line in out.splitlines()
        if line.startswith("| ") and "---" not in line
    ][1:]
    assert [r.split(" | ")[0][2:] for r in rows] == list(bench.SETTINGS)
    assert all(r.split(" | ")[5] == "yes" for r in rows)
    assert out.startswith("2 files, 0.000 GB decoded")
    assert [f.read_bytes() for f in files] == before


def test_the_round_trip_check_sees_one_flipped_bit_and_a_changed_mask(bench):
    data = np.ma.masked_array(
        np.arange(6, dtype=np.float32), [0, 0, 1, 0, 0, 0]
    )
    other = data.copy()
    other.data[4] = np.nextafter(other.data[4], np.float32(10))
    assert bench.same(data, data.copy())
    assert not bench.same(data, other)
    masked = data.copy()
    masked[0] = np.ma.masked
    assert not bench.same(data, masked)
    assert not bench.same(data, data.astype(np.float64))
