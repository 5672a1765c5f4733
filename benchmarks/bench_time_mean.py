"""Benchmark of the map branch's time mean: smeval's ``climate_mean`` against ESMValCore's.

Averages monthly land-only fields (sea masked at every step; optionally a
few land cells masked at some months only) over the full period, once with
ESMValCore's ``climate_statistics(operator='mean', period='full')`` on the
masked data and once with ``smeval.preprocessor.climate_mean``, and prints
both wall times, the speed-up and the largest difference. Data are lazy
(dask, 120-month chunks as the preprocessed files are read) and computed as
in a recipe run. It decides whether the recipe needs ``climate_mean`` or
could use ESMValCore's ``climate_statistics`` directly.

Example::

    .venv/bin/python benchmarks/bench_time_mean.py --months 432 --grids 96x192 192x288 --repeat 3
"""

from __future__ import annotations

import argparse
import sys
import time

import dask.array as da
import iris.coords
import iris.cube
import numpy as np
from esmvalcore.preprocessor import climate_statistics

from smeval import cmorio
from smeval.preprocessor import climate_mean


def land_field(
    nlat: int, nlon: int, months: int, varying: int, seed: int = 0
) -> iris.cube.Cube:
    """Return a lazy masked (month, lat, lon) cube: 30 % land; ``varying`` land cells masked in some months."""
    rng = np.random.default_rng(seed)
    sea = np.broadcast_to(
        rng.random((nlat, nlon)) > 0.3, (months, nlat, nlon)
    ).copy()
    land = np.flatnonzero(~sea[0])
    for cell in rng.choice(land, size=min(varying, land.size), replace=False):
        sea[rng.random(months) < 0.1, cell // nlon, cell % nlon] = True
    values = rng.normal(300.0, 20.0, (months, nlat, nlon)).astype(np.float32)
    data = da.ma.masked_array(
        da.from_array(values, chunks=(120, -1, -1)),
        mask=da.from_array(sea, chunks=(120, -1, -1)),
    )
    years = -(-months // 12)
    points, bounds = cmorio.monthly_time_axis(
        1979, 1979 + years - 1, "standard"
    )
    time_coord = iris.coords.DimCoord(
        points[:months],
        bounds=bounds[:months],
        standard_name="time",
        units=cmorio.CMIP6_TIME_UNITS,
    )
    lat = iris.coords.DimCoord(
        np.linspace(-89.0, 89.0, nlat),
        standard_name="latitude",
        units="degrees",
    )
    lon = iris.coords.DimCoord(
        np.linspace(0.0, 359.0, nlon),
        standard_name="longitude",
        units="degrees",
    )
    return iris.cube.Cube(
        data,
        var_name="mrsos",
        units="kg m-2",
        dim_coords_and_dims=[(time_coord, 0), (lat, 1), (lon, 2)],
    )


def timed(
    function, cube: iris.cube.Cube, repeat: int
) -> tuple[float, np.ma.MaskedArray]:
    """Best wall time (s) of computing ``function(cube)``, and its result."""
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(cube.copy()).data
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--months",
        type=int,
        default=432,
        help="monthly time steps (default 432)",
    )
    parser.add_argument(
        "--grids",
        nargs="+",
        default=["96x192", "192x288"],
        help="NLATxNLON (default 96x192 192x288)",
    )
    parser.add_argument(
        "--varying",
        type=int,
        default=50,
        help="land cells masked at some months only (default 50; 0: a time-constant mask)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="repetitions; the best is kept (default 3)",
    )
    args = parser.parse_args(argv)
    print(
        "| grid | time-varying cells | ESMValCore climate_statistics | smeval climate_mean | speed-up | max |diff| |"
    )
    print("|---|---|---|---|---|---|")
    for grid in args.grids:
        nlat, nlon = (int(n) for n in grid.split("x"))
        cube = land_field(nlat, nlon, args.months, args.varying)
        theirs, expected = timed(
            lambda c: climate_statistics(c, operator="mean", period="full"),
            cube,
            args.repeat,
        )
        ours, got = timed(climate_mean, cube, args.repeat)
        if not np.array_equal(
            np.ma.getmaskarray(expected), np.ma.getmaskarray(got)
        ):
            print(f"{grid}: the masks differ", file=sys.stderr)
            return 1
        diff = float(np.ma.max(np.abs(got - expected)))
        print(
            f"| {grid} | {args.varying} | {theirs:.2f} s | {ours:.2f} s | {theirs / ours:.1f} | {diff:.2g} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
