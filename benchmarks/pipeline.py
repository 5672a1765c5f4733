"""Benchmark of the whole recipe against the physical floor of the run.

The floor of any run is the time to read and decode its input files once.
This script

1. generates a sample archive of the given size (``smeval sample-data``,
   reanalyses as raw files) and CMORizes the reanalyses (``smeval cmorize``),
   unless ``--archive`` points at an existing one;
2. measures the floor: every variable of every input NetCDF file under
   ``CMIP6/`` and ``OBS6/`` read and decoded once (netCDF4, masked arrays),
   after one unmeasured pass that warms the page cache, so that both the
   floor and the recipe read from memory (in a fresh interpreter, so that
   the memory it takes does not count as the recipe's); inputs larger than
   half the available memory get no warming pass, which could not hold
   them: the floor and the recipe then both read from disk, and the floor
   is measured after the recipe;
3. measures what ESMValCore itself needs to read the same inputs once: a
   recipe with one variable group per variable of the recipe (the union of
   its data sets) and ESMValCore's default preprocessing only (load, CMOR
   checks and fixes, save), no diagnostic script (skip with
   ``--no-read-once``);
4. runs the real ``esmvaltool run recipe_soilmoisture.yml`` on it (the
   recipe's data sets restricted to those in the archive, its period to the
   archive's years) and reports the wall time, the ratios to the floor and
   to ESMValCore's read-once run, and the peak memory (largest resident set
   of any process of the run, from ``wait4``, and ESMValCore's own
   estimate);
5. breaks the recipe's time down from ESMValCore's debug log: task time of
   the preprocessing tasks and of the diagnostic scripts, the part of the
   latter spent recording provenance, and the time between tasks during
   which ESMValCore's main process sends a task to a worker or takes its
   result back (pickled task graphs with their provenance).

With ``--members 1 2`` it repeats steps 1-5 for archives with at most 1 and
2 members per model, to show how time and peak memory grow with members.

With ``--dask local_distributed`` (a profile of ``config-user.yml``'s
``dask:`` section) it also runs the recipe on that Dask cluster, beside the
threaded run on the same archive, and reports both wall times, their ratio
and the peak resident memory of each Dask worker process (sampled every
0.2 s). The diagnostic scripts record their work on the cluster as Dask
performance reports in ``<workdir>/performance-<profile>/`` (kept as
artefacts of the benchmark).

Examples::

    .venv/bin/python benchmarks/pipeline.py --scale tiny
    .venv/bin/python benchmarks/pipeline.py --scale default --workdir /tmp/bench
    .venv/bin/python benchmarks/pipeline.py --scale tiny --members 1 2
    .venv/bin/python benchmarks/pipeline.py --scale tiny --dask local_distributed --no-read-once

The data-proportional part of the cost is the slope between two archives of
the same models and period at different resolutions (the fixed costs per
task, file and product are the same in both)::

    for s in default paper; do .venv/bin/python benchmarks/pipeline.py --scale $s \
        --models CNRM-CM6-1-HR MPI-ESM1-2-HR MIROC6 IPSL-CM6A-LR --members 1 \
        --years 1979-1984 --workdir /tmp/bench-$s; done
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Self

import netCDF4
import pandas as pd
import psutil
import shapely.geometry
import shapely.ops
import yaml

from smeval import runner
from smeval.core import regions
from smeval.diag.shared import PERFORMANCE_REPORT_ENV

REFERENCES = ("ERA5", "ERA-Interim", "GLDAS")
#: The same job with ESMValCore's stock preprocessors only (issue #18).
PEER_RECIPE = Path(__file__).with_name("peer_recipe.yml")


def smeval(*args: str) -> None:
    exe = Path(sys.executable).with_name("smeval")
    subprocess.run([str(exe), *args], check=True)


def make_archive(
    root: Path,
    scale: str,
    members: int | None,
    years: str | None,
    models: list[str] | None = None,
) -> None:
    """Generate the archive (skipped when complete) and CMORize its reanalyses."""
    cmd = [
        "sample-data",
        "--out",
        str(root),
        "--scale",
        scale,
        "--reanalyses",
        "raw",
        "--quiet",
    ]
    if models:
        cmd += ["--models", *models]
    if members:
        cmd += ["--members", str(members)]
    if years:
        cmd += ["--years", years]
    smeval(*cmd)
    for name in REFERENCES:
        smeval(
            "cmorize",
            name,
            "--raw",
            str(root / "raw" / name),
            "--out",
            str(root / "OBS6"),
            "--no-progress",
        )


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


def _timed_read(files: list[Path], warm: bool) -> tuple[float, int]:
    if warm:
        read_all(files)  # warm the page cache
    start = time.perf_counter()
    nbytes = read_all(files)
    return time.perf_counter() - start, nbytes


def cache_holds(files: list[Path], available: int | None = None) -> bool:
    """Return True if the page cache can hold ``files``: their size on disk is at most half the memory available (default: now).

    Half, because the reads' own memory and the recipe's processes share it.
    Larger inputs evict their own first files before a second pass reaches
    them, so a warming pass would only double the time of the floor; both
    the floor and the recipe then read from disk.
    """
    if available is None:
        available = psutil.virtual_memory().available
    return 2 * sum(f.stat().st_size for f in files) <= available


def measure_floor(files: list[Path], warm: bool) -> tuple[float, int]:
    """Seconds to read and decode ``files`` once, after a pass that warms the page cache if ``warm``, and the bytes decoded.

    Measured in a fresh interpreter: the largest variable decoded there can
    hold more memory than any process of the recipe, and Linux carries a
    process's high-water mark of resident memory over to the commands it
    starts, so reading here would inflate the recipe's measured peak.
    """
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_timed_read, (files, warm))


def archive_years(root: Path) -> str:
    """'first/last' year of the archive's mrsos files (from their names)."""
    years = set()
    for path in root.glob("CMIP6/**/mrsos_*.nc"):
        match = re.search(r"_(\d{4})\d{2}-(\d{4})\d{2}\.nc$", path.name)
        if match:
            years.update(int(y) for y in match.groups())
    return f"{min(years)}/{max(years)}"


def datasets_by_variable(recipe: dict) -> dict[tuple[str, str], list[dict]]:
    """Return the union of the data sets of a recipe's variable groups per (short name, MIP table), first seen first."""
    union: dict[tuple[str, str], list[dict]] = {}
    for short_name, group in runner.variable_groups(recipe):
        kept = union.setdefault((short_name, group["mip"]), [])
        kept.extend(
            d for d in group.get("additional_datasets", []) if d not in kept
        )
    return union


def read_once(recipe: dict) -> None:
    """Turn ``recipe`` (in place) into one that makes ESMValCore read each of its inputs once.

    One variable group per (variable, MIP table) of the recipe, holding the
    union of its data sets, with ESMValCore's default preprocessing (load,
    CMOR checks and fixes, save) and no diagnostic script.
    """
    timeranges = {
        (short_name, group["mip"]): group["timerange"]
        for short_name, group in runner.variable_groups(recipe)
        if "timerange" in group
    }
    groups = {
        (short_name, mip): {
            "short_name": short_name,
            "mip": mip,
            "additional_datasets": datasets,
            **(
                {"timerange": timeranges[short_name, mip]}
                if (short_name, mip) in timeranges
                else {}
            ),
        }
        for (short_name, mip), datasets in datasets_by_variable(recipe).items()
    }
    recipe.pop("preprocessors", None)
    recipe["diagnostics"] = {
        "read_once": {
            "description": "Every input of recipe_soilmoisture.yml read once by ESMValCore (benchmark baseline).",
            "variables": {
                f"{short_name}_{mip}": group
                for (short_name, mip), group in groups.items()
            },
            "scripts": None,
        }
    }


def write_peer_regions(path: Path) -> Path:
    """Return the 13 regions, NH and SH of smeval.core.regions as GeoJSON polygons for ``extract_shape``.

    NH leaves out Greenland (its boxes, as holes) and SH Antarctica (south of
    60 S), as smeval's domain does; each feature's ``name`` is the region id.
    """
    box = shapely.geometry.box
    greenland = shapely.ops.unary_union(
        [
            box(b.lon_min, b.lat_min, b.lon_max, b.lat_max)
            for b in regions.GREENLAND_BOXES
        ]
    )
    features = []
    for region in regions.ALL_REGIONS:
        b = region.box
        shape = box(
            b.lon_min,
            max(b.lat_min, regions.ANTARCTICA_BOX.lat_max),
            b.lon_max,
            b.lat_max,
        )
        features.append(
            {
                "type": "Feature",
                "properties": {"name": region.id},
                "geometry": shapely.geometry.mapping(
                    shape.difference(greenland)
                ),
            }
        )
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}),
        encoding="utf-8",
    )
    return path


def peer_edit(
    recipe: dict, present: set[tuple[str, str]], shapefile: Path
) -> None:
    """Fill the peer recipe's data sets from recipe_soilmoisture.yml (same per variable) and its shapefile."""
    ours = yaml.safe_load(runner.RECIPE.read_text(encoding="utf-8"))
    runner.restrict_to(ours, present)
    datasets = datasets_by_variable(ours)
    for diagnostic in recipe["diagnostics"].values():
        variables = diagnostic["variables"]
        for name in list(variables):
            key = (
                variables[name].get("short_name", name),
                variables[name]["mip"],
            )
            if datasets.get(key):
                variables[name]["additional_datasets"] = datasets[key]
            else:
                del variables[name]
    for steps in recipe["preprocessors"].values():
        if "extract_shape" in steps:
            steps["extract_shape"]["shapefile"] = str(shapefile)


def run_recipe(
    root: Path,
    workdir: Path,
    baseline: bool = False,
    peer: bool = False,
    **config: object,
) -> dict:
    """Run the recipe (``baseline``: its read-once form; ``peer``: benchmarks/peer_recipe.yml) on ``root``.

    Returns the measurements, and ``metrics``: the run's metrics.csv (None for the baseline).
    """
    present = runner.available(root)
    timerange = archive_years(root)

    scripts: set[str] = set()
    workdir.mkdir(parents=True, exist_ok=True)

    def edit(recipe: dict) -> None:
        if peer:
            peer_edit(
                recipe,
                present,
                write_peer_regions(workdir / "peer_regions.geojson"),
            )
        else:
            runner.restrict_to(recipe, present)
        if baseline:
            read_once(recipe)
        scripts.update(
            f"{name}/{script}"
            for name, diagnostic in recipe["diagnostics"].items()
            for script in (diagnostic.get("scripts") or {})
        )

    source = PEER_RECIPE if peer else runner.RECIPE
    recipe = runner.write_recipe(
        workdir / source.name, timerange=timerange, edit=edit, source=source
    )
    # preproc/ only grows during a run: kept to the end, its size is its peak.
    config_dir = runner.write_config(
        workdir / "config",
        root,
        workdir / "output",
        **{"remove_preproc_dir": False, **config},
    )
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    with ProcessMemory() as memory:
        process = runner.run_recipe(recipe, config_dir, check=False)
    elapsed = time.perf_counter() - start
    if process.returncode:
        print(process.stdout[-3000:], process.stderr[-3000:])
        msg = f"esmvaltool failed (exit {process.returncode})"
        raise SystemExit(msg)
    estimates = re.findall(
        r"Maximum memory used \(estimate\): ([0-9.]+) GB", process.stdout
    )
    run_dir = runner.latest_run_dir(workdir / "output", recipe.name)
    log = run_dir / "run" / "main_log_debug.txt"
    metrics = next(
        iter(sorted((run_dir / "work").glob("*/metrics/metrics.csv"))), None
    )
    preproc_gb = folder_gb(run_dir / "preproc")
    shutil.rmtree(
        run_dir / "preproc", ignore_errors=True
    )  # as ESMValCore would have
    return {
        "metrics": metrics,
        "elapsed": elapsed,
        "cpu": process.cpu_seconds,
        # Other work on the machine stretches the wall time: say how much there was.
        "load": (load_before, os.getloadavg()[1]),
        "preproc_gb": preproc_gb,
        "peak_gb": process.max_rss_gb,
        "peak_by_role": memory.by_role(),
        "worker_peaks_gb": sorted(memory.dask_workers.values(), reverse=True),
        "estimate": max(estimates, key=float) if estimates else "?",
        "breakdown": breakdown(log.read_text(encoding="utf-8"), scripts),
    }


def folder_gb(folder: Path) -> float:
    """Size of the files under ``folder`` in GB (0 if it does not exist)."""
    return (
        sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e9
    )


def role(proc: psutil.Process) -> str | None:
    """Return what a process of the run is, from its command line and its children.

    ESMValCore's task processes are forked from ``esmvaltool run`` and share
    its command line: a process with that command line whose parent has it
    too is a task worker, busy with a diagnostic script while one is its
    child, else preprocessing, recording a finished script's provenance
    (ESMValCore does that in the worker, after the script has ended), or
    idle. ``None`` for a process without a command line (a zombie not yet
    reaped, or one caught inside ``exec``) and for a task worker's fork
    caught before its ``exec``: none is a role, and its memory is either
    gone or counted on the next sample.
    """
    cmdline = proc.cmdline()
    if not cmdline:
        return None
    script = next(
        (
            Path(part).stem
            for part in cmdline
            if "/diagnostics/" in part and part.endswith(".py")
        ),
        None,
    )
    if script:
        return f"diagnostic script {script}"
    if any("spawn_main" in part for part in cmdline):
        return "Dask worker"
    if "run" in cmdline and any(
        part.endswith("esmvaltool") for part in cmdline
    ):
        return _esmvaltool_role(proc, cmdline)
    return "other"


def _esmvaltool_role(proc: psutil.Process, cmdline: list[str]) -> str | None:
    """Role of a process with the command line of ``esmvaltool run`` (see :func:`role`)."""
    parent = proc.parent()
    if parent is None or parent.cmdline() != cmdline:
        return "esmvaltool main process"
    grandparent = parent.parent()
    if grandparent is not None and grandparent.cmdline() == cmdline:
        # A fork of a task worker that has not yet exec'd its script.
        return None
    return (
        "ESMValCore task worker (running a script)"
        if proc.children()
        else "ESMValCore task worker (preprocessing or provenance)"
    )


class ProcessMemory:
    """Peak resident memory (GB) of every process below this one, by pid and by role, sampled in a thread.

    ``ru_maxrss`` gives the largest process of a run but not which one; this
    names it (:func:`role`). Sampling every ``interval`` s can miss a peak
    shorter than that.
    """

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.dask_workers: dict[int, float] = {}
        self.roles: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(self.interval):
            for proc in me.children(recursive=True):
                try:
                    rss = proc.memory_info().rss / 1e9
                    label = role(proc)
                except psutil.Error:  # ended between listing and reading
                    continue
                if label is None:
                    continue
                self.roles[label] = max(self.roles.get(label, 0.0), rss)
                if label == "Dask worker":
                    self.dask_workers[proc.pid] = max(
                        self.dask_workers.get(proc.pid, 0.0), rss
                    )

    def by_role(self) -> str:
        """``role peak GB`` of each role seen, largest first, on one line."""
        return "; ".join(
            f"{label} {gb:.2f}"
            for label, gb in sorted(self.roles.items(), key=lambda kv: -kv[1])
        )

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def dask_profile(name: str) -> dict:
    """Return the ``dask:`` section of config-user.yml with ``use`` set to the profile ``name``."""
    dask = yaml.safe_load(
        (runner.ROOT / "config-user.yml").read_text(encoding="utf-8")
    )["dask"]
    if name not in dask["profiles"]:
        msg = f"--dask {name}: config-user.yml's dask: profiles has only {', '.join(dask['profiles'])}"
        raise SystemExit(msg)
    return {**dask, "use": name}


def run_on_cluster(
    root: Path, workdir: Path, profile: str, **config: object
) -> dict:
    """Run the recipe with the Dask profile ``profile``, recording performance reports and worker memory."""
    reports = workdir / f"performance-{profile}"
    os.environ[PERFORMANCE_REPORT_ENV] = str(reports)
    try:
        run = run_recipe(
            root,
            workdir / f"run-{profile}-{root.name}",
            dask=dask_profile(profile),
            **config,
        )
    finally:
        del os.environ[PERFORMANCE_REPORT_ENV]
    return {**run, "reports": reports}


_STAMP = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) UTC \[(\d+)\]"
_DONE = re.compile(
    _STAMP
    + r".*Successfully completed task (\S+) \(priority \d+\) in (\d+):(\d\d):([0-9.]+)",
    re.MULTILINE,
)
_PROVENANCE = re.compile(
    r"Collecting provenance of task (\S+) took ([0-9.]+) seconds"
)
_RUNNING = re.compile(
    _STAMP + r".*Running (\d+) tasks (?:using (\d+) processes|sequentially)",
    re.MULTILINE,
)
_ALL_DONE = re.compile(
    _STAMP + r".*Successfully completed all tasks", re.MULTILINE
)


def _seconds(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def breakdown(log: str, scripts: set[str]) -> dict[str, float]:
    """Where the time of a run went, from ESMValCore's ``main_log_debug.txt``.

    ``preprocessing`` and ``diagnostics``: summed task times (seconds of
    worker time); ``provenance``: the part of the diagnostics' time spent
    recording provenance; ``tasks_wall``: from ESMValCore starting to run the
    tasks to its having the results of all; ``between_tasks``: worker time
    (processes x ``tasks_wall``) not spent in any task (the main process
    pickling a task to a worker or unpickling its result, or no task ready);
    ``last_result``: from the last task's end in its worker to the main
    process having its result.
    """
    completed = list(_DONE.finditer(log))
    durations = {
        m.group(3): int(m.group(4)) * 3600
        + int(m.group(5)) * 60
        + float(m.group(6))
        for m in completed
    }
    running, done = _RUNNING.search(log), _ALL_DONE.search(log)
    if not durations or running is None or done is None:
        return {}
    processes = int(running.group(4) or 1)
    wall = _seconds(done.group(1)) - _seconds(running.group(1))
    last_end = max(_seconds(m.group(1)) for m in completed)
    busy = sum(durations.values())
    return {
        "preprocessing": sum(
            t for name, t in durations.items() if name not in scripts
        ),
        "diagnostics": sum(
            t for name, t in durations.items() if name in scripts
        ),
        "provenance": sum(
            float(m.group(2)) for m in _PROVENANCE.finditer(log)
        ),
        "tasks_wall": wall,
        "between_tasks": max(processes * wall - busy, 0.0),
        "last_result": _seconds(done.group(1)) - last_end,
    }


def print_breakdown(label: str, breakdown: dict[str, float]) -> None:
    """One line of where a run's time went (:func:`breakdown`), if the log gave it."""
    if breakdown:
        print(
            f"  {label} time (s): "
            + ", ".join(f"{k} {v:.1f}" for k, v in breakdown.items()),
            flush=True,
        )


def compare_tss(ours: Path, peer: Path) -> pd.DataFrame:
    """Median and maximum |TSS(smeval) - TSS(peer)| per variable and region.

    Over every model and ensemble mean against every reference that both
    metrics tables hold (the peer has no shallow soil moisture from mrsol,
    so those models are compared for deep soil moisture only).
    """
    keys = ["dataset", "reference", "variable", "region"]
    tables = [
        pd.read_csv(path).query(
            "statistic == 'TSS' and kind in ('model', 'mmem')"
        )[[*keys, "value"]]
        for path in (ours, peer)
    ]
    both = (
        tables[0]
        .merge(tables[1], on=keys, suffixes=("_smeval", "_peer"))
        .dropna()
    )
    both["abs_dtss"] = (both["value_smeval"] - both["value_peer"]).abs()
    return (
        both.groupby(["variable", "region"], sort=False)["abs_dtss"]
        .agg(median="median", max="max", n="size")
        .reset_index()
    )


def print_costs(label: str, run: dict, versus: str = "") -> None:
    """One line of a run's CPU time (all its processes), the load around it and its peak ``preproc/``."""
    print(
        f"  {label} CPU {run['cpu']:.1f} s{versus} (all its processes); load average {run['load'][0]:.1f} "
        f"before, {run['load'][1]:.1f} over the last 5 min of the run; preproc/ {run['preproc_gb']:.2f} GB",
        flush=True,
    )
    print(
        f"  {label} peak RSS (GB) by process role: {run['peak_by_role']}",
        flush=True,
    )


def report_peer(run: dict, peer: dict, floor: float) -> None:
    """Print the peer recipe's time and memory beside the recipe's, and the |dTSS| table."""
    print(
        f"  peer recipe {peer['elapsed']:.1f} s = {peer['elapsed'] / floor:.1f} x floor = "
        f"{peer['elapsed'] / run['elapsed']:.2f} x smeval's recipe; peak RSS {peer['peak_gb']:.2f} GB",
        flush=True,
    )
    print_costs(
        "peer",
        peer,
        f" = {peer['cpu'] / run['cpu']:.2f} x smeval's recipe's {run['cpu']:.1f} s",
    )
    print_breakdown("peer", peer["breakdown"])
    if run["metrics"] and peer["metrics"]:
        table = compare_tss(run["metrics"], peer["metrics"])
        print(
            "  |TSS(smeval) - TSS(peer)| per variable and region (models and MMEMs, every reference):"
        )
        print(
            table.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
            flush=True,
        )


def print_cluster_run(cluster: dict, threaded: dict, profile: str) -> None:
    """One line comparing the run on the Dask cluster with the threaded run."""
    peaks = cluster["worker_peaks_gb"]
    workers = (
        (
            f"{len(peaks)} Dask worker processes, peak RSS per worker "
            + ", ".join(f"{p:.2f}" for p in peaks)
            + " GB"
        )
        if peaks
        else "no Dask worker process seen"
    )
    print(
        f"  dask profile {profile}: recipe {cluster['elapsed']:.1f} s against {threaded['elapsed']:.1f} s "
        f"threaded (ratio {cluster['elapsed'] / threaded['elapsed']:.2f}); {workers}; peak RSS of a process "
        f"{cluster['peak_gb']:.2f} GB (threaded {threaded['peak_gb']:.2f} GB); performance reports in "
        f"{cluster['reports']}",
        flush=True,
    )
    print_breakdown("cluster", cluster["breakdown"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--scale",
        default="tiny",
        choices=("tiny", "default", "paper"),
        help="sample-archive scale (default: tiny)",
    )
    parser.add_argument(
        "--members",
        type=int,
        nargs="+",
        default=[0],
        help="at most this many members per model; several values run several archives",
    )
    parser.add_argument(
        "--years", help="archive period, e.g. 1979-1988 (default: the scale's)"
    )
    parser.add_argument(
        "--models",
        nargs="+",
        metavar="MODEL",
        help="only these Table 1 models (default: the scale's)",
    )
    parser.add_argument(
        "--archive",
        type=Path,
        help="use this existing archive (CMIP6/ and OBS6/) instead",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where archives and runs go (default: a temporary folder)",
    )
    parser.add_argument(
        "--max-parallel-tasks",
        type=int,
        help="ESMValCore's max_parallel_tasks (default: config-user.yml's)",
    )
    parser.add_argument(
        "--compress-preproc",
        action="store_true",
        help="ESMValCore's compress_netcdf: write preproc/ compressed (the recipe's codec: zstd, else zlib)",
    )
    parser.add_argument(
        "--no-read-once",
        action="store_true",
        help="skip the baseline run in which ESMValCore only reads every input once",
    )
    parser.add_argument(
        "--peer",
        action="store_true",
        help="also run benchmarks/peer_recipe.yml (stock ESMValCore preprocessors) on the same "
        "archive: its time against the recipe's and the floor, and |dTSS| per region",
    )
    parser.add_argument(
        "--dask",
        metavar="PROFILE",
        help="also run on this Dask profile of config-user.yml (e.g. local_distributed) "
        "and compare with the threaded run",
    )
    args = parser.parse_args(argv)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    rows = []
    for members in [None] if args.archive else args.members:
        root = (
            args.archive
            or workdir / f"archive-{args.scale}-m{members or 'all'}"
        )
        if not args.archive:
            make_archive(
                root, args.scale, members or None, args.years, args.models
            )
        files = input_files(root)
        # A large archive's floor after the recipe: neither is cached for
        # the other, and the recipe's time comes first.
        floor_first = cache_holds(files)
        if floor_first:
            floor, nbytes = measure_floor(files, warm=True)
        else:
            print(
                f"{root.name}: inputs larger than half the available memory: the floor "
                "and the recipe read from disk (no warming pass), the floor after the recipe",
                flush=True,
            )
        config = (
            {}
            if args.max_parallel_tasks is None
            else {"max_parallel_tasks": args.max_parallel_tasks}
        )
        if args.compress_preproc:
            config["compress_netcdf"] = True
        run = run_recipe(root, workdir / f"run-{root.name}", **config)
        print(f"{root.name}: recipe {run['elapsed']:.1f} s", flush=True)
        if not floor_first:
            floor, nbytes = measure_floor(files, warm=False)
        base = (
            None
            if args.no_read_once
            else run_recipe(
                root, workdir / f"read-once-{root.name}", True, **config
            )
        )
        elapsed = run["elapsed"]
        once = base["elapsed"] if base else float("nan")
        rows.append(
            (
                root.name,
                len(files),
                nbytes / 1e9,
                floor,
                once,
                elapsed,
                elapsed / floor,
                elapsed / once,
                run["peak_gb"],
                run["estimate"],
            )
        )
        print(
            f"{root.name}: {len(files)} files, {nbytes / 1e9:.2f} GB decoded; floor {floor:.1f} s; "
            + (
                f"ESMValCore reading every input once {once:.1f} s = {once / floor:.1f} x floor; "
                if base
                else ""
            )
            + f"recipe {elapsed:.1f} s = {elapsed / floor:.1f} x floor; peak RSS of a process "
            f"{run['peak_gb']:.2f} GB (ESMValCore's estimate {run['estimate']} GB)",
            flush=True,
        )
        print_costs("recipe", run)
        print_breakdown("recipe", run["breakdown"])
        if base:
            print_breakdown("read-once", base["breakdown"])
        if args.peer:
            report_peer(
                run,
                run_recipe(
                    root, workdir / f"peer-{root.name}", peer=True, **config
                ),
                floor,
            )
        if args.dask:
            print_cluster_run(
                run_on_cluster(root, workdir, args.dask, **config),
                run,
                args.dask,
            )
    print(
        "\narchive | files | GB decoded | floor s | read-once s | recipe s | x floor | x read-once "
        "| peak RSS GB | ESMValCore GB"
    )
    for row in rows:
        print(
            "{} | {} | {:.2f} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.2f} | {}".format(
                *row
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
