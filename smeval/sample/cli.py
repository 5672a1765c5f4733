"""``smeval sample-data``: generate the synthetic CMIP6 + reanalysis archive."""

from __future__ import annotations

import argparse
import sys
import time

HELP = """\
Generate a synthetic, CMOR-exact CMIP6 archive (ESGF layout) and the three
reanalyses (raw distributor formats and/or CMORized OBS6 files) under OUT.
Every file carries the global attribute 'synthetic'.

Scales:
  tiny     MPI-ESM1-2-LR, MPI-ESM1-2-HR, CNRM-CM6-1 (2 families, both
           resolution groups), up to 2 members, 1979-1981, grids coarsened
           6x (at least 12 rows), 4-degree reanalyses; a few seconds.
  default  all 31 Table 1 models (both resolution groups, which follow the
           NATIVE rows of Table 2), each with exactly the variables Table 1
           gives it; 1 member per model and variable, 2 for CESM2,
           MRI-ESM2-0 (high resolution), CNRM-CM6-1, MIROC6 and GISS-E2-1-G
           (low resolution); 1979-2014; every model's real calendar, soil
           layers, grid kind and file splitting (all kept, e.g. the 5-year
           files of MPI-ESM1-2-HR, 10-year NorESM2, 20-year MPI-ESM-LR/HAM,
           50-year CESM2-FV2/E3SM/GISS); grids COARSENED 6x from the native
           ones, keeping each grid kind (at least 12 rows: CNRM-CM6-1-HR
           60 x 120, CESM2 33 x 48, CanESM5 12 x 24); 2-degree synthetic
           truth, 2.5-degree reanalyses. About 80 s on 2 cores; 906 files
           (380 CMIP6), 0.7 GB.
  paper    every Table 1 model on its native grid with all Table 1 members,
           1-degree synthetic truth, reanalyses on their 0.25/0.75-degree
           grids; not for CI. Files are computed and written in time blocks
           (at most 256 MiB of float64 per variable block), so memory does
           not grow with the grid: measured with --members 1 --reanalyses
           none, CNRM-CM6-1-HR (360 x 720, 14 layers) 69 s, peak RSS 1.9 GB,
           0.95 GB written; CESM2 + MIROC6 35 s, 2.0 GB, 0.53 GB. All
           models and all Table 1 members, 1979-2014, --reanalyses obs6
           (measured): 2,497 files, 35.5 GB (34.0 GB CMIP6, 1.5 GB OBS6),
           83 minutes on 2 cores shared with other work, peak RSS 3.4 GB;
           1979-1990: 12 GB of CMIP6 files in 27 minutes.

Re-running skips complete files (writes are atomic) and completes a partial
archive. Output is identical for the same --seed.
"""


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``sample-data`` subcommand to ``subparsers``; return its parser."""
    parser = subparsers.add_parser(
        "sample-data",
        help="generate the synthetic CMIP6 + reanalysis sample archive",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="root folder of the archive",
    )
    _add_selection_options(parser)
    _add_reference_options(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
    return parser


def _add_selection_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that choose the models, members, years and seed."""
    parser.add_argument(
        "--scale", choices=("tiny", "default", "paper"), default="default"
    )
    parser.add_argument(
        "--models",
        nargs="+",
        metavar="MODEL",
        help="CMIP6 source_ids to write instead of the scale's list",
    )
    parser.add_argument(
        "--members",
        type=int,
        metavar="N",
        help="at most N members per model and variable (default: the scale's cap)",
    )
    parser.add_argument(
        "--years",
        metavar="FIRST-LAST",
        help="period, e.g. 1979-2014 (default: the scale's)",
    )
    parser.add_argument("--seed", type=int, default=0)


def _add_reference_options(parser: argparse.ArgumentParser) -> None:
    """Add the options of the reanalyses and the planted model."""
    parser.add_argument(
        "--planted",
        choices=("ERA5", "ERA-Interim", "GLDAS"),
        metavar="REF",
        help="add PLANTED-1 with known R, sigma against REF (ERA5, ERA-Interim, "
        "GLDAS) and write planted_REF.json",
    )
    parser.add_argument(
        "--reanalyses",
        choices=("both", "obs6", "raw", "none"),
        default="both",
        help="raw distributor files (for 'smeval cmorize'), CMORized OBS6 "
        "files (made by smeval's converters from raw files), both "
        "(default) or none",
    )


def parse_years(text: str | None) -> tuple[int, int] | None:
    """Return (first, last) year of ``--years`` (``1979-2014``), or None."""
    if not text:
        return None
    parts = text.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        msg = f"--years must look like 1979-2014, not {text!r}"
        raise ValueError(msg)
    first, last = int(parts[0]), int(parts[1])
    if last < first:
        msg = f"--years: {last} is before {first}"
        raise ValueError(msg)
    return first, last


def run(args) -> int:
    """Run ``smeval sample-data``; return the exit code."""
    from smeval.sample.generate import generate

    try:
        years = parse_years(args.years)
        start = time.perf_counter()
        summary = generate(
            args.out,
            scale=args.scale,
            models=args.models,
            members=args.members,
            years=years,
            seed=args.seed,
            planted=args.planted,
            reanalyses=args.reanalyses,
            progress=not args.quiet,
        )
    except ValueError as exc:
        print(f"smeval sample-data: error: {exc}", file=sys.stderr)
        return 2
    took = time.perf_counter() - start
    print(
        f"{summary['files_written']} files written to {args.out} in {took:.1f} s "
        f"({len(summary['models'])} models, scale {args.scale}, seed {args.seed})"
    )
    return 0
