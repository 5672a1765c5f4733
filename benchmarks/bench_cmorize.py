"""Benchmark of the reanalysis converter (``smeval cmorize``): memory vs years, time.

Generates a synthetic ERA5 monthly-means archive (one file per year, all
raw variables, CDS ``valid_time`` layout) on a regular grid, then converts
the first N years for each requested N, every conversion in a fresh child
process, and reports per run: wall time, peak RSS of the child
(``ru_maxrss``, includes ~0.4 GB of imports) and the peak of Python/numpy
allocations (``tracemalloc``, after the imports). With streaming, neither
peak grows with the number of years.

To measure another checkout of ``smeval`` (e.g. an older commit exported
with ``git archive``), pass ``--pythonpath DIR``.

Examples::

    .venv/bin/python benchmarks/bench_cmorize.py --resolution 1 --years 2 8
    .venv/bin/python benchmarks/bench_cmorize.py --raw sample_data/raw/ERA5 --years 36
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = r"""
import json, resource, sys, time, tracemalloc
raw, out, start, end, variables = sys.argv[1:6]
import smeval
from smeval.cmorize.convert import Options, cmorize
from smeval import cmorio
import smeval.cmorize.readers, esmvalcore.cmor.table  # imports outside the measurement
cmorio.variable_info("OBS6", "Lmon", "mrsos")
tracemalloc.start()
t0 = time.perf_counter()
files = cmorize("ERA5", raw, out, Options(start=int(start), end=int(end),
                variables=variables.split(",") if variables else None, progress=False))
wall = time.perf_counter() - t0
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"wall_s": wall, "tracemalloc_peak_mb": peak / 2**20,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "files": len(files), "smeval": smeval.__file__}))
"""


def generate_era5(
    raw: Path, years: list[int], resolution: float, seed: int = 0
) -> None:
    """ERA5-like monthly means, one file per year, on a ``resolution``-degree grid."""
    import numpy as np

    from smeval.cmorize import rawformats as rf

    lat = np.arange(-90 + resolution / 2, 90, resolution)
    lon = np.arange(resolution / 2, 360, resolution)
    rng = np.random.default_rng(seed)
    shape = (12, lat.size, lon.size)
    lsm = np.broadcast_to(rng.uniform(0, 1, shape[1:]), shape)
    for year in years:
        fields = {
            f"swvl{k}": rng.uniform(0.05, 0.45, shape).astype(np.float32)
            for k in range(1, 5)
        }
        for name in ("tp", "sro", "smlt"):
            fields[name] = rng.uniform(0, 0.02, shape).astype(np.float32)
        fields["e"] = -rng.uniform(0, 0.005, shape).astype(np.float32)
        fields["lsm"] = lsm
        rf.write_era5_monthly(
            raw / f"ERA5_{year}.nc",
            fields,
            lat,
            lon,
            [dt.datetime(year, m, 1) for m in range(1, 13)],
        )


def run_child(
    raw: Path,
    out: Path,
    start: int,
    end: int,
    variables: str,
    pythonpath: str | None,
) -> dict:
    env = dict(os.environ)
    root = pythonpath or str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [root, env.get("PYTHONPATH")])
    )
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(raw),
            str(out),
            str(start),
            str(end),
            variables,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=out.parent,
    )  # not '.': it would shadow PYTHONPATH
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = time.perf_counter() - t0
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--years",
        type=int,
        nargs="+",
        default=[2, 8],
        help="numbers of years to convert (default: 2 8)",
    )
    parser.add_argument(
        "--resolution", type=float, default=1.0, help="degrees (default 1)"
    )
    parser.add_argument("--first-year", type=int, default=1979)
    parser.add_argument(
        "--variables", default="", help="comma-separated (default: all)"
    )
    parser.add_argument(
        "--raw", help="use this ERA5 raw folder instead of generating one"
    )
    parser.add_argument("--pythonpath", help="import smeval from this folder")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-cmorize-") as tmp:
        tmp = Path(tmp)
        if args.raw:
            raw = Path(args.raw)
        else:
            raw = tmp / "raw"
            raw.mkdir()
            t0 = time.perf_counter()
            # In a fresh interpreter: Linux carries this process's high-water mark
            # of resident memory over to the children it starts, so generating
            # here would count in the children's ``maxrss``.
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                pool.apply(
                    generate_era5,
                    (
                        raw,
                        list(
                            range(
                                args.first_year,
                                args.first_year + max(args.years),
                            )
                        ),
                        args.resolution,
                    ),
                )
            print(
                f"generated {max(args.years)} years at {args.resolution:g} degree in "
                f"{time.perf_counter() - t0:.1f} s"
            )
        print(
            f"{'years':>5} {'wall s':>7} {'tracemalloc MB':>15} {'maxrss MB':>10} files"
        )
        for n in args.years:
            out = tmp / f"out{n}"
            r = run_child(
                raw,
                out,
                args.first_year,
                args.first_year + n - 1,
                args.variables,
                args.pythonpath,
            )
            print(
                f"{n:5d} {r['wall_s']:7.1f} {r['tracemalloc_peak_mb']:15.1f} "
                f"{r['maxrss_mb']:10.0f} {r['files']:5d}  ({r['smeval']})",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
