r"""Peak memory of a finished run's series script, by data set: which data set sets the peak.

Runs the series script of one task of a finished run again, in this
process, on that run's ``preproc/`` (run the recipe with
``remove_preproc_dir: false``), writing into a new scratch folder, and
samples this process' resident set every 20 ms. Each sample is charged to
the step being computed: a member of its own (``DATASET/VARIABLE/MEMBER``)
or, for the ``correlation_variables``, all members of a data set together
(``DATASET/VARIABLE/all N``). Prints the steps by peak, largest first,
with the resident set at the step's start (what the steps before it left)::

    python benchmarks/series_peaks.py \
        RUN/run/soil_moisture/regional_series/settings.yml SCRATCH \
        --only ERA5/mrsos MPI-ESM1-2-HR/mrsos --top 10

``--only`` keeps those data sets' files of those variables (and their
fixed fields). Set ``DASK_NUM_WORKERS=1`` for the threads of a run with
two tasks at once (``smeval.script_threads``). Linux only
(``/proc/self/statm``). The step is found by wrapping two private
functions of :mod:`smeval.diag.regional_series`, ``_prepare`` and
``_dataset_products``: a benchmark's view, not an interface.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time
from pathlib import Path

import yaml

#: The series script's functions that start a step: one member read and
#: its products built; one data set's members computed together.
WATCHED = ("_prepare", "_dataset_products")
#: Seconds between samples of the resident set.
INTERVAL = 0.02
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_gb() -> float:
    """Return this process' resident set now (GB)."""
    statm = Path("/proc/self/statm").read_text(encoding="ascii")
    return int(statm.split()[1]) * _PAGE / 1e9


class Peaks:
    """The peak resident set of each step, from a sampling thread."""

    def __init__(self) -> None:
        self.step, self.start, self.peak = "start-up", resident_gb(), 0.0
        self.rows: list[tuple[str, float, float]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            now = resident_gb()
            with self._lock:
                self.peak = max(self.peak, now)
            time.sleep(INTERVAL)

    def begin(self, step: str) -> None:
        """Close the step before (its peak) and start ``step``."""
        now = resident_gb()
        with self._lock:
            self.rows.append((self.step, max(self.peak, now), self.start))
            self.step, self.start, self.peak = step, now, now


def selected(input_data: dict, only: list[str] | None) -> dict:
    """Return the inputs of the ``DATASET/VARIABLE`` pairs in ``only`` (with their fixed fields); all if None."""
    if not only:
        return input_data
    from smeval.diag.regional_series import FX_NAMES

    pairs = {tuple(pair.split("/", 1)) for pair in only}
    kept = {
        f: m
        for f, m in input_data.items()
        if (m["dataset"], m["short_name"]) in pairs
        or (
            m["short_name"] in FX_NAMES
            and m["dataset"] in {d for d, _ in pairs}
        )
    }
    if not any(m["short_name"] not in FX_NAMES for m in kept.values()):
        msg = f"none of {', '.join(only)} is an input of this task"
        raise ValueError(msg)
    return kept


def _watched(peaks: Peaks) -> None:
    """Charge the samples to the series script's steps (wraps its private functions)."""
    from smeval.diag import regional_series

    prepare, products = (getattr(regional_series, n) for n in WATCHED)

    def member(filename, meta, *args, **kwargs):
        peaks.begin(
            f"{meta['dataset']}/{meta['short_name']}/{meta.get('ensemble') or '-'}"
        )
        return prepare(filename, meta, *args, **kwargs)

    def data_set(members, *args, **kwargs):
        if members:
            meta = members[0].meta
            peaks.begin(
                f"{meta['dataset']}/{meta['short_name']}/all {len(members)}"
            )
        return products(members, *args, **kwargs)

    for name, wrapper in zip(WATCHED, (member, data_set), strict=True):
        setattr(regional_series, name, wrapper)


def replay(settings: Path, scratch: Path, only: list[str] | None) -> list:
    """Run the task of ``settings`` again into ``scratch``; return (step, peak GB, GB at its start) in order."""
    from smeval.diag.regional_series import write_regional_series
    from smeval.diag.standalone import _input_data

    cfg = yaml.safe_load(settings.read_text(encoding="utf-8"))
    for name in ("run", "work", "plot"):
        (scratch / name).mkdir(parents=True)
        cfg[f"{name}_dir"] = str(scratch / name)
    cfg["input_data"] = selected(_input_data(cfg), only)
    peaks = Peaks()
    _watched(peaks)
    write_regional_series(cfg)
    peaks.begin("end")
    return peaks.rows[1:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "settings",
        type=Path,
        help="settings.yml of a series task of a finished run",
    )
    parser.add_argument(
        "scratch", type=Path, help="new folder for the outputs"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="DATASET/VARIABLE", help="inputs to keep"
    )
    parser.add_argument(
        "--top", type=int, default=15, help="steps to print (default: 15)"
    )
    args = parser.parse_args(argv)
    if args.scratch.exists():
        parser.error(f"{args.scratch} exists; the outputs go to a new folder")
    rows = replay(args.settings, args.scratch, args.only)
    whole = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    print(f"peak RSS of the process {whole:.2f} GB, {len(rows)} steps")
    print("step | peak RSS GB | RSS at its start GB")
    for step, peak, start in sorted(rows, key=lambda r: -r[1])[: args.top]:
        print(f"{step} | {peak:.2f} | {start:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
