"""Benchmark of the sample-archive generator (``smeval sample-data``).

Times ``smeval.sample.generate.generate`` at a scale into a fresh folder,
then a second run over the complete archive (which must write nothing),
and reports wall time, peak memory (RSS), file count and size per part
(CMIP6, OBS6, raw).

Example::

    .venv/bin/python benchmarks/bench_sample.py --scale default
    .venv/bin/python benchmarks/bench_sample.py --scale paper --models MIROC6 CESM2 --keep /data/paper-subset
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path


def folder_size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="default", choices=("tiny", "default", "paper"))
    parser.add_argument("--models", nargs="+")
    parser.add_argument("--members", type=int)
    parser.add_argument("--reanalyses", default="both", choices=("both", "obs6", "raw", "none"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", metavar="DIR", help="write here and keep the archive")
    args = parser.parse_args(argv)

    from smeval.sample.generate import generate

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-sample-"))
    try:
        start = time.perf_counter()
        summary = generate(root, scale=args.scale, models=args.models, members=args.members,
                           seed=args.seed, reanalyses=args.reanalyses, progress=False)
        first = time.perf_counter() - start
        start = time.perf_counter()
        again = generate(root, scale=args.scale, models=args.models, members=args.members,
                         seed=args.seed, reanalyses=args.reanalyses, progress=False)
        second = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print(f"scale {args.scale}: {len(summary['models'])} models, "
              f"{summary['files_written']} files in {first:.1f} s; "
              f"re-run over the complete archive: {again['files_written']} files in {second:.1f} s; "
              f"peak RSS {peak_mb:.0f} MB")
        for part in ("CMIP6", "OBS6", "raw"):
            if (root / part).exists():
                n, size = folder_size(root / part)
                print(f"  {part:6s} {n:6d} files {size / 1e6:9.1f} MB")
        n, size = folder_size(root)
        print(f"  total  {n:6d} files {size / 1e6:9.1f} MB")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
