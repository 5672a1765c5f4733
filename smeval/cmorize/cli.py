"""``smeval cmorize``: convert raw reanalysis files into ESMValTool OBS6 files."""

from __future__ import annotations

import argparse
import signal
import sys
import warnings

from . import _signals
from .errors import CMORizeError, CMORizeWarning

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
  ERA5, ERA-Interim  CDS NetCDF (old 'time' or new 'valid_time' layout) or GRIB
                     (regular or reduced Gaussian grid) with swvl1-4, tp, e,
                     sro, smlt, lsm: monthly means, or sub-monthly fields
                     averaged to months (accumulations de-accumulated: ERA5
                     hourly, ERA-Interim 3/6-hourly forecast steps). 'ro' is
                     total runoff and is refused for mrros (surface runoff,
                     'sro') unless --mrros-from-total-runoff.
  GLDAS              GLDAS_NOAH025_M.A*.020.nc4 (monthly) and/or
                     GLDAS_NOAH025_3H.A*.021.nc4 (3-hourly, averaged to months).
  ESACCI-SM          ESACCI-SOILMOISTURE-L3S-SSMV-*-YYYYMMDD000000-fv*.nc daily.
Nothing is written unless every requested variable converts. A variable whose
every value is missing (e.g. ESA CCI months with fewer than --min-valid-days
days, GLDAS whose top layer is all fill) is an error unless --allow-empty,
and never replaces an existing file. A file of the same variable for another
period in the output folder is reported (ESMValCore would read both).
Interrupts: Ctrl-C (exit 130) and SIGTERM (exit 143) remove the partial
output; files are moved into place all together or not at all. Staging
folders left by a killed run (OUT/.smeval-cmorize-*,
$TMPDIR/smeval-cmorize-grib-*) are removed by the next run.
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
    _add_what_arguments(parser)
    _add_rule_arguments(parser)
    parser.set_defaults(func=run)


def _add_what_arguments(parser: argparse.ArgumentParser) -> None:
    """Add what to convert: data set, folders, years and variables."""
    parser.add_argument(
        "dataset", choices=DATASET_CHOICES, help="data set to convert"
    )
    parser.add_argument(
        "--raw",
        required=True,
        metavar="DIR",
        help="folder with the raw files as downloaded (searched recursively; "
        "never modified)",
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="root of the OBS6 tree (the rootpath of project OBS6 in "
        "ESMValCore's configuration)",
    )
    parser.add_argument(
        "--start",
        type=int,
        metavar="YEAR",
        help="first year to convert (default: first year of the input)",
    )
    parser.add_argument(
        "--end",
        type=int,
        metavar="YEAR",
        help="last year to convert (default: last year of the input)",
    )
    parser.add_argument(
        "--variables",
        metavar="LIST",
        help="comma-separated CMOR variables (default: all the data set "
        "provides; every raw variable they need must be present)",
    )


def _add_rule_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that relax checks, and the progress bar's."""
    parser.add_argument(
        "--allow-partial-months",
        action="store_true",
        help="average sub-monthly input (3-hourly, 6-hourly) over the time "
        "steps present instead of failing when a month is incomplete",
    )
    parser.add_argument(
        "--min-valid-days",
        type=int,
        default=10,
        metavar="N",
        help="ESACCI-SM: minimum number of days with a retrieval for a "
        "cell's monthly mean (default: %(default)s)",
    )
    parser.add_argument(
        "--allow-empty",
        action="store_true",
        help="write a variable whose every value is missing instead of "
        "failing (an existing file is never replaced by an empty one)",
    )
    parser.add_argument(
        "--mrros-from-total-runoff",
        action="store_true",
        help="ERA5, ERA-Interim: make mrros (surface runoff) from 'ro', TOTAL "
        "runoff (surface + sub-surface), when 'sro' is absent ('sro' is "
        "always preferred); an upper bound of surface runoff, said so in the "
        "file's comment attribute",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="hide the progress bar"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``smeval cmorize``; returns the exit code.

    0 success, 1 bad input, 2 bad options, 128 + signal number when
    interrupted (130 SIGINT, 143 SIGTERM).
    """
    from .convert import Options, cmorize

    if (
        args.start is not None
        and args.end is not None
        and args.start > args.end
    ):
        return _error(f"--start {args.start} is after --end {args.end}", 2)
    opts = Options(
        start=args.start,
        end=args.end,
        variables=[v.strip() for v in args.variables.split(",") if v.strip()]
        if args.variables
        else None,
        allow_partial_months=args.allow_partial_months,
        min_valid_days=args.min_valid_days,
        allow_empty=args.allow_empty,
        mrros_from_total_runoff=args.mrros_from_total_runoff,
        progress=not args.no_progress,
    )
    written, error = [], None
    try:
        with _signals.interrupts_guarded():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", CMORizeWarning)
                try:
                    written = cmorize(args.dataset, args.raw, args.out, opts)
                except CMORizeError as exc:
                    error = exc
                except Exception:
                    # A library that catches our Interrupted and raises its
                    # own error (netCDF4 turns it into a TypeError while it
                    # converts a path) must not hide the signal.
                    _signals.check()
                    raise
            _print_warnings(caught)
            _signals.check()  # a signal whose raise was lost comes first
    except _signals.Interrupted as exc:
        return _interrupted(exc, exc.written or written)
    except KeyboardInterrupt:  # before the handler was installed
        return _interrupted(_signals.Interrupted(signal.SIGINT), written)
    if error is not None:
        return _error(str(error), 1)
    for path in written:
        print(path)
    return 0


def _error(message: str, code: int) -> int:
    print(f"smeval cmorize: error: {message}", file=sys.stderr)
    return code


def _print_warnings(caught) -> None:
    """Ours as one line each; other libraries' as Python would have shown them."""
    for w in caught:
        if issubclass(w.category, CMORizeWarning):
            print(f"smeval cmorize: warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _interrupted(exc: _signals.Interrupted, written) -> int:
    for path in written:
        print(path)
    if written:
        what = f"after its {len(written)} file(s) were moved into place (they are complete)"
    else:
        what = "nothing was written, partial files removed"
    print(f"smeval cmorize: {exc}: {what}", file=sys.stderr)
    return exc.exit_code
