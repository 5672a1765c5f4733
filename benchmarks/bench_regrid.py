"""Benchmark of the recipe's regridding scheme against iris' AreaWeighted.

Regrids months of a land-only field (sea masked, the same mask every month)
from native model grids to the recipe's 1.125 degree common grid through
ESMValCore's ``regrid`` step, once with ``scheme: area_weighted`` (iris) and
once with ``smeval.regrid:AreaWeighted``, and prints both wall times, the
speed-up and the largest difference. Data are lazy (dask) and computed
chunk by chunk as in a recipe run.

Example::

    .venv/bin/python benchmarks/bench_regrid.py --months 432 --grids 60x120 96x192 192x288 360x720
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import dask.array as da
import iris.coords
import iris.cube
import numpy as np
from esmvalcore.preprocessor import regrid

SCHEMES = {
    "iris area_weighted": "area_weighted",
    "smeval.regrid:AreaWeighted": {"reference": "smeval.regrid:AreaWeighted"},
}


def land_field(
    nlat: int,
    nlon: int,
    months: int,
    chunk_months: int | None = None,
    seed: int = 0,
) -> iris.cube.Cube:
    """Return a lazy (months, nlat, nlon) float32 field on a regular grid, sea masked."""
    lat_edges = np.linspace(-90, 90, nlat + 1)
    lon_edges = np.linspace(0, 360, nlon + 1)
    lat = iris.coords.DimCoord(
        (lat_edges[:-1] + lat_edges[1:]) / 2,
        "latitude",
        units="degrees",
        bounds=np.stack([lat_edges[:-1], lat_edges[1:]], 1),
    )
    lon = iris.coords.DimCoord(
        (lon_edges[:-1] + lon_edges[1:]) / 2,
        "longitude",
        units="degrees",
        bounds=np.stack([lon_edges[:-1], lon_edges[1:]], 1),
        circular=True,
    )
    rng = np.random.default_rng(seed)
    sea = rng.random((nlat, nlon)) < 0.7
    # Made in memory first, so that only the regridding is timed.
    values = rng.random((months, nlat, nlon), dtype=np.float32)
    data = da.from_array(
        np.ma.masked_array(values, mask=np.broadcast_to(sea, values.shape)),
        chunks=(chunk_months or months, nlat, nlon),
        asarray=False,
    )
    cube = iris.cube.Cube(data, var_name="mrsos", units="kg m-2")
    time_coord = iris.coords.DimCoord(
        np.arange(months) * 30.0 + 15, "time", units="days since 1979-01-01"
    )
    cube.add_dim_coord(time_coord, 0)
    cube.add_dim_coord(lat, 1)
    cube.add_dim_coord(lon, 2)
    return cube


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--months",
        type=int,
        default=432,
        help="monthly fields per data set (default 432)",
    )
    parser.add_argument(
        "--grids",
        nargs="+",
        default=["60x120", "96x192", "192x288", "360x720"],
        help="native grids NLATxNLON (default: 60x120 96x192 192x288 360x720)",
    )
    parser.add_argument(
        "--target",
        default="1.125x1.125",
        help="target grid (default 1.125x1.125)",
    )
    parser.add_argument(
        "--chunk-months",
        type=int,
        help="months per dask chunk (default: all, as iris loads a small file)",
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    # warm-up: imports and first-call costs are not timed
    for scheme in SCHEMES.values():
        regrid(land_field(8, 16, 2), args.target, scheme).data  # noqa: B018 - realise it

    print("grid | months | iris s | smeval s | speed-up | max |diff|")
    for grid in args.grids:
        nlat, nlon = (int(n) for n in grid.split("x"))
        cube = land_field(nlat, nlon, args.months, args.chunk_months)
        times, results = {}, {}
        for name, scheme in SCHEMES.items():
            start = time.perf_counter()
            out = regrid(cube, args.target, scheme)
            results[name] = out.data
            times[name] = time.perf_counter() - start
        a, b = results.values()
        diff = float(np.ma.max(np.abs(a - b)))
        if not (np.ma.getmaskarray(a) == np.ma.getmaskarray(b)).all():
            msg = f"{grid}: the masks of iris and smeval differ"
            raise RuntimeError(msg)
        t_iris, t_ours = times.values()
        print(
            f"{grid} | {args.months} | {t_iris:.2f} | {t_ours:.2f} | {t_iris / t_ours:.1f} | {diff:.2g}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
