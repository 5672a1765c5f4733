r"""Benchmark of the codec of the ensemble fields: CPU to write and read them back, bytes on disk.

The regional-series scripts write each data set's monthly field on the
common grid (``ensemble_fields/<short_name>/<dataset>.nc``) and the
correlation script reads each back whole. This script takes real such files
(e.g. of a recipe run), loads each into memory as the series scripts hold it
(a float32 masked array) and writes it with each candidate setting through
the series scripts' writer (:func:`smeval.diag.io.save_cube`, same dtype,
fill value and, unless the setting says otherwise, chunking), then reads it
back as the correlation script does (:func:`smeval.diag.io.load_cube`, then
``lazy_data().compute()``). It prints, per setting, the CPU seconds (all
threads of this process, best of ``--repeat``) to write and to read per GB
of decoded data, the bytes on disk against the decoded size, and whether
every file's values (bit for bit), mask and dtype came back. The files read
are never changed; the written ones go to a temporary folder and are
removed.

Example::

    nice -n 10 .venv/bin/python benchmarks/bench_ensemble_fields.py \\
        RUN/work/*/regional_series/ensemble_fields/*/*.nc --files 6 --repeat 3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import netCDF4
import numpy as np

from smeval.diag.ensemble_fields import save_options
from smeval.diag.io import load_cube, save_cube

#: Candidate settings: name -> (options of ``save_cube``, months per chunk,
#: or None for netCDF-C's default layout; None, None: what the series
#: scripts write, :func:`smeval.diag.ensemble_fields.save_options`). netCDF4's ``createVariable``
#: applies HDF5's shuffle filter only with zlib, so zstd runs without it;
#: blosc shuffles bytes itself.
SETTINGS = {
    # iris' default level, which ESMValCore's compress_netcdf uses unless a
    # recipe's `save` step sets complevel (measured on preprocessed mrsol).
    "zlib 4 + shuffle": ({"zlib": True, "complevel": 4}, None),
    "zlib 1 + shuffle (before)": ({"zlib": True, "complevel": 1}, None),
    "zlib 1": ({"zlib": True, "complevel": 1, "shuffle": False}, None),
    "zstd 1": ({"compression": "zstd", "complevel": 1}, None),
    "zstd 3": ({"compression": "zstd", "complevel": 3}, None),
    "blosc_lz4 5 + shuffle": (
        {"compression": "blosc_lz4", "complevel": 5},
        None,
    ),
    "blosc_zstd 1 + shuffle": (
        {"compression": "blosc_zstd", "complevel": 1},
        None,
    ),
    "none": ({}, None),
    "zlib 1 + shuffle, year chunks": ({"zlib": True, "complevel": 1}, 12),
    "zstd 1, year chunks": ({"compression": "zstd", "complevel": 1}, 12),
    "zstd 1, month chunks": ({"compression": "zstd", "complevel": 1}, 1),
    "chosen (save_options)": (None, None),
}


def cpu_seconds(function) -> tuple[float, object]:
    """CPU seconds of all threads of this process spent in ``function()``, and its result."""
    start = time.process_time()
    result = function()
    return time.process_time() - start, result


def read_back(path: Path) -> np.ma.MaskedArray:
    """Return the field of ``path``, read as the correlation script reads it."""
    return np.ma.asarray(load_cube(path).lazy_data().compute())


def same(a: np.ma.MaskedArray, b: np.ma.MaskedArray) -> bool:
    """Return True if ``a`` and ``b`` have the same dtype, mask and (unmasked) bits."""
    mask = np.ma.getmaskarray(a)
    if a.dtype != b.dtype or not np.array_equal(mask, np.ma.getmaskarray(b)):
        return False
    bits = f"u{a.dtype.itemsize}"
    return np.array_equal(
        np.ma.getdata(a)[~mask].view(bits), np.ma.getdata(b)[~mask].view(bits)
    )


def measure(cube, options: dict, folder: Path, repeat: int) -> dict:
    """Best CPU seconds to write and read ``cube`` with ``options``, its bytes on disk, its round trip."""
    path = folder / "field.nc"
    original = cube.data
    write = read = float("inf")
    for _ in range(repeat):
        path.unlink(missing_ok=True)
        seconds, _ = cpu_seconds(lambda: save_cube(cube, path, **options))
        write = min(write, seconds)
        seconds, back = cpu_seconds(lambda: read_back(path))
        read = min(read, seconds)
    with netCDF4.Dataset(path) as dataset:
        variable = dataset[cube.var_name]
        layout = variable.chunking()
    result = {
        "write": write,
        "read": read,
        "bytes": path.stat().st_size,
        "exact": same(original, back),
        "chunks": "contiguous" if layout == "contiguous" else tuple(layout),
    }
    path.unlink()
    return result


def options_for(cube, setting: tuple[dict | None, int | None]) -> dict:
    """``save_cube`` options of ``setting`` for ``cube`` (the series scripts' if None)."""
    options, months = setting
    if options is None:
        return save_options(cube.shape)
    if months is None:
        return options
    return {
        **options,
        "chunksizes": (min(months, cube.shape[0]), *cube.shape[1:]),
    }


def table(totals: dict, decoded: int, files: int) -> str:
    """Markdown table of the summed measurements of each setting."""
    gb = decoded / 1e9
    lines = [
        f"{files} files, {gb:.3f} GB decoded",
        "",
        "| setting | write CPU s/GB | read CPU s/GB | on disk MB | % of decoded | exact | chunks |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, t in totals.items():
        lines.append(
            f"| {name} | {t['write'] / gb:.2f} | {t['read'] / gb:.2f} | "
            f"{t['bytes'] / 1e6:.1f} | {100 * t['bytes'] / decoded:.2f} | "
            f"{'yes' if t['exact'] else 'NO'} | {t['chunks']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "files", nargs="+", type=Path, help="ensemble field files (read only)"
    )
    parser.add_argument(
        "--files",
        dest="n_files",
        type=int,
        default=4,
        help="use this many of them, spread over the list (default 4)",
    )
    parser.add_argument(
        "--repeat", type=int, default=2, help="best of (default 2)"
    )
    parser.add_argument(
        "--settings",
        nargs="+",
        choices=SETTINGS,
        default=list(SETTINGS),
        metavar="SETTING",
        help=f"settings to measure (default all: {', '.join(SETTINGS)})",
    )
    parser.add_argument(
        "--tmpdir",
        type=Path,
        default=None,
        help="where to write (default: the system's)",
    )
    args = parser.parse_args(argv)
    step = max(1, len(args.files) // max(1, args.n_files))
    files = sorted(args.files)[::step][: args.n_files]
    # iris' note on its legacy attribute handling, once per save.
    warnings.filterwarnings("ignore", message="Saving to netcdf with legacy")
    totals = {
        name: {
            "write": 0.0,
            "read": 0.0,
            "bytes": 0,
            "exact": True,
            "chunks": set(),
        }
        for name in args.settings
    }
    decoded = 0
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as tmp:
        for filename in files:
            cube = load_cube(filename)
            cube.data = np.ma.asarray(cube.data)
            decoded += cube.data.nbytes
            print(
                f"{filename} ({filename.stat().st_size / 1e6:.1f} MB)",
                file=sys.stderr,
            )
            for name in args.settings:
                got = measure(
                    cube,
                    options_for(cube, SETTINGS[name]),
                    Path(tmp),
                    args.repeat,
                )
                total = totals[name]
                for key in ("write", "read", "bytes"):
                    total[key] += got[key]
                total["exact"] &= got["exact"]
                total["chunks"].add(str(got["chunks"]))
    for total in totals.values():
        total["chunks"] = ", ".join(sorted(total["chunks"]))
    print(table(totals, decoded, len(files)))
    return 0 if all(t["exact"] for t in totals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
