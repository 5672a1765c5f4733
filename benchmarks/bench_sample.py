r"""Benchmark of the sample-archive generator (``smeval sample-data``).

Times ``smeval.sample.generate.generate`` at a scale into a fresh folder,
then a second run over the complete archive (which must write nothing),
and reports wall time, peak memory (RSS), file count and size per part
(CMIP6, OBS6, raw).

``--estimate`` prints, from the catalogue, the number of values (members x
variables x cells x layers x months) of every model at the paper scale and
extrapolates the whole paper scale's model part (size and time) from the
measured run: seconds = a x members + b x values, bytes = c x values, with
a (the world-grid bucket per member, independent of the model grid) given
by ``--seconds-per-member`` and b, c fitted to this run. This is an
extrapolation, not a measurement.

Example::

    .venv/bin/python benchmarks/bench_sample.py --scale default
    .venv/bin/python benchmarks/bench_sample.py --scale paper --models CNRM-CM6-1-HR --members 1 \\
        --reanalyses none --estimate
    .venv/bin/python benchmarks/bench_sample.py --estimate-only   # the catalogue's value counts

Measured (2 cores shared with other jobs, `/usr/bin/time -v smeval sample-data --scale paper
--reanalyses none --members 1 ...`, time-blocked writer, BLOCK_BYTES = 256 MiB):

    CNRM-CM6-1-HR (360 x 720, 14 layers; 4 variables + fx)   69 s, peak RSS 1.9 GB, 0.95 GB
    CESM2 + MIROC6 (192 x 288 + 128 x 256)                    35 s, peak RSS 2.0 GB, 0.53 GB
    (before the time blocks: CESM2 + MIROC6 132 s, peak RSS 16 GB)
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

MONTHS = 432  # 1979-2014


def folder_size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def model_values(
    name: str, members: int | None = None, months: int = MONTHS
) -> tuple[int, int]:
    """(member runs, values) of a model at the paper scale: native grid, Table 1 members.

    A member run is one bucket integration on the world grid (the largest
    member count over the model's variables); values sum over variables of
    members x cells x layers x months (fx fields ignored).
    """
    from smeval.sample.generate import SCALES, plan_models

    (plan,) = plan_models(SCALES["paper"], [name], members)
    layers = len(plan.model.land_model.layer_bounds)
    values = sum(
        count
        * plan.nlat
        * plan.nlon
        * (layers if var == "mrsol" else 1)
        * months
        for var, count in plan.members.items()
    )
    return plan.n_members, values


def reanalysis_values(months: int = MONTHS) -> dict[str, int]:
    """Values of each reanalysis on its distributor's grid (6 variables, mrsol's layers)."""
    from smeval.catalogue import load_catalogue
    from smeval.sample.generate import SCALES, reanalysis_grid

    out = {}
    for name, info in load_catalogue().reanalyses.items():
        _, nlat, nlon = reanalysis_grid(name, SCALES["paper"])
        out[name] = nlat * nlon * months * (len(info.layer_bounds) + 5)
    return out


def estimate(
    measured_models,
    seconds: float,
    size: int,
    seconds_per_member: float,
    members: int | None,
) -> None:
    from smeval.catalogue import load_catalogue

    cat = load_catalogue()
    runs_m = values_m = 0
    for name in measured_models:
        r, v = model_values(name, members)
        runs_m += r
        values_m += v
    b = max(seconds - seconds_per_member * runs_m, 0.0) / values_m
    c = size / values_m
    print(
        f"measured: {', '.join(measured_models)}: {runs_m} member runs, {values_m / 1e9:.2f} G values, "
        f"{seconds:.1f} s, {size / 1e9:.2f} GB -> {b * 1e9:.1f} ns and {c:.2f} bytes per value "
        f"(with {seconds_per_member:.1f} s per member run)"
    )
    total_runs = total_values = 0
    print(
        f"{'model':18s} {'runs':>4s} {'G values':>9s} {'est. GB':>8s} {'est. min':>8s}"
    )
    for name in cat.models:
        r, v = model_values(name)
        total_runs += r
        total_values += v
        print(
            f"{name:18s} {r:4d} {v / 1e9:9.2f} {c * v / 1e9:8.1f} "
            f"{(seconds_per_member * r + b * v) / 60:8.1f}"
        )
    t = seconds_per_member * total_runs + b * total_values
    print(
        f"{'paper, models':18s} {total_runs:4d} {total_values / 1e9:9.1f} {c * total_values / 1e9:8.0f} "
        f"{t / 60:8.0f}   (uncompressed float32: {4 * total_values / 1e9:.0f} GB; {t / 3600:.1f} h)"
    )
    for name, v in reanalysis_values().items():
        print(
            f"{name:18s} {'':4s} {v / 1e9:9.2f}  (raw + OBS6 files, not extrapolated: the converters' "
            f"speed is not measured here)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", default="default", choices=("tiny", "default", "paper")
    )
    parser.add_argument("--models", nargs="+")
    parser.add_argument("--members", type=int)
    parser.add_argument(
        "--reanalyses", default="both", choices=("both", "obs6", "raw", "none")
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--keep", metavar="DIR", help="write here and keep the archive"
    )
    parser.add_argument(
        "--no-rerun", action="store_true", help="skip the second (no-op) run"
    )
    parser.add_argument(
        "--estimate",
        action="store_true",
        help="extrapolate the paper scale's model part from this run (--scale paper)",
    )
    parser.add_argument(
        "--estimate-only",
        nargs=2,
        type=float,
        metavar=("SECONDS", "BYTES"),
        help="extrapolate from a run of --models measured elsewhere, without running",
    )
    parser.add_argument(
        "--seconds-per-member",
        type=float,
        default=5.3,
        help="bucket integration per member on the 1-degree world, 1979-2014 "
        "(default 5.3 s, measured with run_dataset)",
    )
    args = parser.parse_args(argv)

    if args.estimate_only:
        estimate(
            args.models or ["CNRM-CM6-1-HR"],
            args.estimate_only[0],
            int(args.estimate_only[1]),
            args.seconds_per_member,
            args.members,
        )
        return 0

    from smeval.sample.generate import generate

    root = (
        Path(args.keep)
        if args.keep
        else Path(tempfile.mkdtemp(prefix="bench-sample-"))
    )
    try:
        start = time.perf_counter()
        summary = generate(
            root,
            scale=args.scale,
            models=args.models,
            members=args.members,
            seed=args.seed,
            reanalyses=args.reanalyses,
            progress=False,
        )
        first = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        line = (
            f"scale {args.scale}: {len(summary['models'])} models, "
            f"{summary['files_written']} files in {first:.1f} s; peak RSS {peak_mb:.0f} MB"
        )
        if not args.no_rerun:
            start = time.perf_counter()
            again = generate(
                root,
                scale=args.scale,
                models=args.models,
                members=args.members,
                seed=args.seed,
                reanalyses=args.reanalyses,
                progress=False,
            )
            line += (
                f"; re-run over the complete archive: {again['files_written']} files "
                f"in {time.perf_counter() - start:.1f} s"
            )
        print(line)
        for part in ("CMIP6", "OBS6", "raw"):
            if (root / part).exists():
                n, size = folder_size(root / part)
                print(f"  {part:6s} {n:6d} files {size / 1e6:9.1f} MB")
        n, size = folder_size(root)
        print(f"  total  {n:6d} files {size / 1e6:9.1f} MB")
        if args.estimate:
            if args.scale != "paper" or args.reanalyses != "none":
                print("--estimate needs --scale paper --reanalyses none")
            else:
                _, cmip = folder_size(root / "CMIP6")
                estimate(
                    list(summary["models"]),
                    first,
                    cmip,
                    args.seconds_per_member,
                    args.members,
                )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
