"""``smeval cmorize``: convert raw reanalysis files into ESMValTool OBS6 files."""

from __future__ import annotations

import argparse
import sys

from .errors import CMORizeError

#: Command-line names of the data sets.
DATASET_CHOICES = ("ERA5", "ERA-Interim", "GLDAS", "ESACCI-SM")

_DESCRIPTION = """\
Convert raw reanalysis files, as distributed, into CMOR-compliant files that
ESMValCore reads as project OBS6:
  OUT/Tier3/ERA5/OBS6_ERA5_reanaly_1_Lmon_mrsos_197901-201412.nc
  OUT/Tier3/ERA-Interim/OBS6_ERA-Interim_reanaly_1_Emon_mrsol_...
  OUT/Tier3/GLDAS-NOAH/OBS6_GLDAS-NOAH_reanaly_1_Amon_pr_...
  OUT/Tier2/ESACCI-SOILMOISTURE/OBS6_ESACCI-SOILMOISTURE_sat_L3S-SSMV-COMBINED-v04.2_Lmon_mrsos_...
Variables: mrsos (0-10 cm), mrsol (native layers), pr, evspsbl (positive
upward), mrros, snm, sftlf; ESACCI-SM gives mrsos only.

Inputs (RAW is searched recursively):
  ERA5, ERA-Interim  CDS monthly-means NetCDF (old 'time' or new 'valid_time'
                     layout) with swvl1-4, tp, e, sro, smlt, lsm; ERA-Interim
                     also GRIB (regular or reduced Gaussian grid).
  GLDAS              GLDAS_NOAH025_M.A*.020.nc4 (monthly) and/or
                     GLDAS_NOAH025_3H.A*.021.nc4 (3-hourly, averaged to months).
  ESACCI-SM          ESACCI-SOILMOISTURE-L3S-SSMV-*-YYYYMMDD000000-fv*.nc daily.
Nothing is written unless every requested variable converts.
Memory: each variable is read, converted and written one month at a time,
so memory use is a few monthly fields, whatever the period and resolution."""


def register(subparsers) -> None:
    """Add the ``cmorize`` sub-command to ``smeval``'s sub-parsers."""
    parser = subparsers.add_parser(
        "cmorize",
        help="convert ERA5, ERA-Interim, GLDAS or ESA CCI SM raw files to CMOR (OBS6)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", choices=DATASET_CHOICES, help="data set to convert")
    parser.add_argument("--raw", required=True, metavar="DIR",
                        help="folder with the raw files as downloaded (searched recursively; "
                             "never modified)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="root of the OBS6 tree (the rootpath of project OBS6 in "
                             "ESMValCore's configuration)")
    parser.add_argument("--start", type=int, metavar="YEAR",
                        help="first year to convert (default: first year of the input)")
    parser.add_argument("--end", type=int, metavar="YEAR",
                        help="last year to convert (default: last year of the input)")
    parser.add_argument("--variables", metavar="LIST",
                        help="comma-separated CMOR variables (default: all the data set "
                             "provides; every raw variable they need must be present)")
    parser.add_argument("--allow-partial-months", action="store_true",
                        help="average sub-monthly input (3-hourly, 6-hourly) over the time "
                             "steps present instead of failing when a month is incomplete")
    parser.add_argument("--min-valid-days", type=int, default=10, metavar="N",
                        help="ESACCI-SM: minimum number of days with a retrieval for a "
                             "cell's monthly mean (default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``smeval cmorize``; returns the exit code (0 success, 1 bad input)."""
    from .convert import Options, cmorize

    if args.start is not None and args.end is not None and args.start > args.end:
        print(f"smeval cmorize: error: --start {args.start} is after --end {args.end}",
              file=sys.stderr)
        return 2
    opts = Options(
        start=args.start,
        end=args.end,
        variables=[v.strip() for v in args.variables.split(",") if v.strip()]
        if args.variables else None,
        allow_partial_months=args.allow_partial_months,
        min_valid_days=args.min_valid_days,
        progress=not args.no_progress,
    )
    try:
        written = cmorize(args.dataset, args.raw, args.out, opts)
    except CMORizeError as exc:
        print(f"smeval cmorize: error: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0
