r"""A long stand-in of one archive file, for memory scaling with the years only.

The file's months repeated ``--times`` times on a continuous monthly axis
from its first January (the archive's calendar), with its grid, attributes
and HDF5 chunks of one month, as the sample archive writes them::

    python benchmarks/tile_years.py \
        ARCHIVE/OBS6/Tier3/ERA5/OBS6_ERA5_reanaly_1_Lmon_mrsos_197901-199612.nc \
        LONG/OBS6/Tier3/ERA5/OBS6_ERA5_reanaly_1_Lmon_mrsos_197901-201412.nc \
        --times 2

The values repeat, so the stand-in serves only to measure memory and time
against the length of the period (``benchmarks/bench_series_memory.py``);
the output must not exist, and is written atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import dask.array as da
import iris
import iris.coords
import iris.cube

from smeval import cmorio
from smeval.diag.io import save_cube


def tiled(cube: iris.cube.Cube, times: int) -> iris.cube.Cube:
    """Return ``cube`` (whole years from January, time first) repeated ``times`` times along a continuous monthly axis."""
    time = cube.coord("time")
    first = time.units.num2date(time.points[0]).year
    years = cube.shape[0] // 12 * times
    points, bounds = cmorio.monthly_time_axis(
        first, first + years - 1, time.units.calendar, units=time.units.origin
    )
    long = iris.cube.Cube(
        da.concatenate([cube.lazy_data()] * times, axis=0),
        var_name=cube.var_name,
        standard_name=cube.standard_name,
        long_name=cube.long_name,
        units=cube.units,
        attributes=cube.attributes,
    )
    long.add_dim_coord(
        iris.coords.DimCoord(
            points,
            bounds=bounds,
            standard_name="time",
            var_name="time",
            units=time.units,
        ),
        0,
    )
    for coord in cube.dim_coords[1:]:
        long.add_dim_coord(coord, cube.coord_dims(coord))
    for coord in cube.aux_coords:
        if 0 not in cube.coord_dims(coord):
            long.add_aux_coord(coord, cube.coord_dims(coord))
    return long


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "source", type=Path, help="a monthly file of whole years"
    )
    parser.add_argument(
        "output", type=Path, help="the stand-in to write (must not exist)"
    )
    parser.add_argument(
        "--times", type=int, default=2, help="repetitions (default: 2)"
    )
    args = parser.parse_args(argv)
    if args.output.exists():
        parser.error(f"{args.output} exists; it is never overwritten")
    cube = tiled(iris.load_cube(str(args.source)), args.times)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save_cube(
        cube,
        args.output,
        zlib=True,
        complevel=1,
        chunksizes=(1, *cube.shape[1:]),
    )
    print(f"{args.output}: {cube.shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
