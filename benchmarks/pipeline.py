"""Benchmark of the whole recipe against the physical floor of the run.

The floor of any run is the time to read and decode its input files once.
This script

1. generates a sample archive of the given size (``smeval sample-data``,
   reanalyses as raw files) and CMORizes the reanalyses (``smeval cmorize``),
   unless ``--archive`` points at an existing one;
2. measures the floor: every variable of every input NetCDF file under
   ``CMIP6/`` and ``OBS6/`` read and decoded once (netCDF4, masked arrays),
   after one unmeasured pass that warms the page cache, so that both the
   floor and the recipe read from memory;
3. runs the real ``esmvaltool run recipe_soilmoisture.yml`` on it (the
   recipe's data sets restricted to those in the archive, its period to the
   archive's years) and reports the wall time, the ratio to the floor, and
   the peak memory (largest resident set of any process of the run, from
   ``getrusage(RUSAGE_CHILDREN)``, and ESMValCore's own estimate).

With ``--members 1 2`` it repeats steps 1-3 for archives with at most 1 and
2 members per model, to show how time and peak memory grow with members.

Examples::

    .venv/bin/python benchmarks/pipeline.py --scale tiny
    .venv/bin/python benchmarks/pipeline.py --scale default --workdir /tmp/bench
    .venv/bin/python benchmarks/pipeline.py --scale tiny --members 1 2

The data-proportional part of the cost is the slope between two archives of
the same models and period at different resolutions (the fixed costs per
task, file and product are the same in both)::

    for s in default paper; do .venv/bin/python benchmarks/pipeline.py --scale $s \
        --models CNRM-CM6-1-HR MPI-ESM1-2-HR MIROC6 IPSL-CM6A-LR --members 1 \
        --years 1979-1984 --workdir /tmp/bench-$s; done
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import netCDF4

from smeval import runner

REFERENCES = ("ERA5", "ERA-Interim", "GLDAS")


def smeval(*args: str) -> None:
    exe = Path(sys.executable).with_name("smeval")
    subprocess.run([str(exe), *args], check=True)


def make_archive(root: Path, scale: str, members: int | None, years: str | None,
                 models: list[str] | None = None) -> None:
    """Generate the archive (skipped when complete) and CMORize its reanalyses."""
    cmd = ["sample-data", "--out", str(root), "--scale", scale, "--reanalyses", "raw", "--quiet"]
    if models:
        cmd += ["--models", *models]
    if members:
        cmd += ["--members", str(members)]
    if years:
        cmd += ["--years", years]
    smeval(*cmd)
    for name in REFERENCES:
        smeval("cmorize", name, "--raw", str(root / "raw" / name), "--out", str(root / "OBS6"), "--no-progress")


def input_files(root: Path) -> list[Path]:
    return sorted([*root.glob("CMIP6/**/*.nc"), *root.glob("OBS6/**/*.nc")])


def read_all(files: list[Path]) -> int:
    """Read and decode every variable of every file once; returns the bytes decoded."""
    total = 0
    for path in files:
        with netCDF4.Dataset(path) as ds:
            for var in ds.variables.values():
                total += var[...].nbytes
    return total


def archive_years(root: Path) -> str:
    """'first/last' year of the archive's mrsos files (from their names)."""
    years = set()
    for path in root.glob("CMIP6/**/mrsos_*.nc"):
        match = re.search(r"_(\d{4})\d{2}-(\d{4})\d{2}\.nc$", path.name)
        if match:
            years.update(int(y) for y in match.groups())
    return f"{min(years)}/{max(years)}"


def run_recipe(root: Path, workdir: Path, **config: object) -> tuple[float, float, str]:
    present = runner.available(root)
    timerange = archive_years(root)
    recipe = runner.write_recipe(workdir / "recipe_soilmoisture.yml", timerange=timerange,
                                 edit=lambda r: runner.restrict_to(r, present))
    config_dir = runner.write_config(workdir / "config", root, workdir / "output", **config)
    start = time.perf_counter()
    process = runner.run_recipe(recipe, config_dir, check=False)
    elapsed = time.perf_counter() - start
    if process.returncode:
        print(process.stdout[-3000:], process.stderr[-3000:])
        raise SystemExit(f"esmvaltool failed (exit {process.returncode})")
    estimates = re.findall(r"Maximum memory used \(estimate\): ([0-9.]+) GB", process.stdout)
    peak_children_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    return elapsed, peak_children_gb, (max(estimates, key=float) if estimates else "?")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="tiny", choices=("tiny", "default", "paper"),
                        help="sample-archive scale (default: tiny)")
    parser.add_argument("--members", type=int, nargs="+", default=[0],
                        help="at most this many members per model; several values run several archives")
    parser.add_argument("--years", help="archive period, e.g. 1979-1988 (default: the scale's)")
    parser.add_argument("--models", nargs="+", metavar="MODEL",
                        help="only these Table 1 models (default: the scale's)")
    parser.add_argument("--archive", type=Path, help="use this existing archive (CMIP6/ and OBS6/) instead")
    parser.add_argument("--workdir", type=Path, help="where archives and runs go (default: a temporary folder)")
    parser.add_argument("--max-parallel-tasks", type=int,
                        help="ESMValCore's max_parallel_tasks (default: config-user.yml's)")
    args = parser.parse_args(argv)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    rows = []
    for members in ([None] if args.archive else args.members):
        root = args.archive or workdir / f"archive-{args.scale}-m{members or 'all'}"
        if not args.archive:
            make_archive(root, args.scale, members or None, args.years, args.models)
        files = input_files(root)
        read_all(files)  # warm the page cache
        start = time.perf_counter()
        nbytes = read_all(files)
        floor = time.perf_counter() - start
        run_dir = workdir / f"run-{root.name}"
        run_dir.mkdir(parents=True, exist_ok=True)
        config = {} if args.max_parallel_tasks is None else {"max_parallel_tasks": args.max_parallel_tasks}
        elapsed, peak_gb, estimate = run_recipe(root, run_dir, **config)
        rows.append((root.name, len(files), nbytes / 1e9, floor, elapsed, elapsed / floor, peak_gb, estimate))
        print(f"{root.name}: {len(files)} files, {nbytes / 1e9:.2f} GB decoded; floor {floor:.1f} s; "
              f"recipe {elapsed:.1f} s = {elapsed / floor:.1f} x floor; peak RSS of a process "
              f"{peak_gb:.2f} GB (ESMValCore's estimate {estimate} GB)", flush=True)
    print("\narchive | files | GB decoded | floor s | recipe s | ratio | peak RSS GB | ESMValCore GB")
    for row in rows:
        print("{} | {} | {:.2f} | {:.1f} | {:.1f} | {:.1f} | {:.2f} | {}".format(*row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
