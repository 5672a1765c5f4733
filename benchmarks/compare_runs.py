"""Compare every NetCDF and CSV file of two recipe runs' ``work/`` folders: values and masks, bit for bit.

A change meant to make the recipe faster must leave its results alone. This
compares the ``work/`` folders of two runs of the recipe (e.g. before and
after a change, on the same archive): every CSV byte for byte, and every
variable of every NetCDF file by its values and mask (so files that differ
only in their compression, chunking or attributes count as the same). It
prints each difference and the count, and exits 1 if there is any.

Example::

    .venv/bin/python benchmarks/compare_runs.py RUN_BEFORE RUN_AFTER
"""

from __future__ import annotations

import argparse
import filecmp
import sys
from pathlib import Path

import netCDF4
import numpy as np


def same_variable(x, y) -> bool:
    """Return True if two variables read by netCDF4 have the same values and mask."""
    x, y = np.ma.asarray(x), np.ma.asarray(y)
    if x.shape != y.shape:
        return False
    if x.dtype.kind not in "fiu":
        return np.array_equal(np.asarray(x), np.asarray(y))
    return np.array_equal(
        np.ma.getmaskarray(x), np.ma.getmaskarray(y)
    ) and np.array_equal(np.ma.filled(x, 0), np.ma.filled(y, 0))


def differences(before: Path, after: Path, rel: Path) -> list[str]:
    """Return the differences of one file (``rel`` under both ``work/`` folders)."""
    a, b = before / rel, after / rel
    if not b.exists():
        return [f"missing {rel}"]
    if rel.suffix == ".csv":
        return [] if filecmp.cmp(a, b, shallow=False) else [f"differs {rel}"]
    with netCDF4.Dataset(a) as da_, netCDF4.Dataset(b) as db_:
        return [
            f"differs {rel} {name}"
            for name, variable in da_.variables.items()
            if name not in db_.variables
            or not same_variable(variable[:], db_.variables[name][:])
        ]


def main(argv: list[str] | None = None) -> int:
    """Compare the runs; return 1 if any file differs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="a run folder (has work/)")
    parser.add_argument("after", type=Path, help="a run folder (has work/)")
    args = parser.parse_args(argv)
    before, after = args.before / "work", args.after / "work"
    files = sorted(
        p.relative_to(before)
        for p in before.rglob("*")
        if p.suffix in (".nc", ".csv")
    )
    found = [d for rel in files for d in differences(before, after, rel)]
    print(
        "\n".join(
            [*found, f"{len(files)} files compared, {len(found)} differences"]
        )
    )
    return 1 if found or not files else 0


if __name__ == "__main__":
    sys.exit(main())
