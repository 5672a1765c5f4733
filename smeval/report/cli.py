"""``smeval report``: link a run's report from its index.html, or find the latest report.

- ``smeval report link RUN_DIR``: insert (idempotently) a link to
  ``plots/**/smeval_report.html`` near the top of ``RUN_DIR/index.html``.
- ``smeval report locate OUTPUT_DIR [RECIPE]``: as ``python -m smeval.report.locate``.
- ``smeval report lineage OUTPUT [--out FILE]``: list the provenance files of
  an output's whole lineage (an output of smeval's scripts refers to its
  ancestors' provenance files, :mod:`smeval.provenance_chain`), and write
  their union, the document ESMValCore would have written whole, to FILE.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from . import locate


def _link(args: argparse.Namespace) -> int:
    run = Path(args.run_dir)
    if not run.is_dir():
        print(f"error: {run} is not a folder", file=sys.stderr)
        return 2
    problem = locate.state_problem(run)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    report = locate.find_report(run)
    if report is None:
        print(
            f"error: no {locate.REPORT_NAME} under {run}/plots (did the report diagnostic run?)",
            file=sys.stderr,
        )
        return 1
    index = locate.link_index(run)
    if index is None:
        print(
            f"error: {run}/index.html is missing (ESMValCore writes it at the end of a run)",
            file=sys.stderr,
        )
        return 1
    print(f"Linked {report} from {index}")
    return 0


def _locate(args: argparse.Namespace) -> int:
    return locate.main([args.output_dir, args.recipe])


def _lineage(args: argparse.Namespace) -> int:
    from prov.model import ProvWarning

    from smeval.cmorio import atomic_output
    from smeval.provenance_chain import (
        full_document,
        lineage_files,
        provenance_file,
    )

    output = Path(args.output)
    own = (
        output
        if output.name.endswith("_provenance.xml")
        else provenance_file(output)
    )
    if not own.is_file():
        print(
            f"error: {own}: no provenance file (ESMValCore writes one beside each output)",
            file=sys.stderr,
        )
        return 1
    # prov warns of ESMValCore's agent names (spaces) on every document read.
    warnings.filterwarnings("ignore", category=ProvWarning)
    files = lineage_files(own)
    print("\n".join(str(f) for f in files))
    if args.out:
        out = Path(args.out)
        if out.resolve() in {f.resolve() for f in files}:
            print(
                f"error: {out} is a provenance file of the lineage; choose another --out",
                file=sys.stderr,
            )
            return 2
        with atomic_output(out) as tmp, tmp.open("wb") as file:
            full_document(own, files).serialize(file, format="xml")
        print(
            f"Wrote the whole lineage of {output.name} ({len(files)} provenance files) to {out}"
        )
    return 0


def register(subparsers) -> None:
    """Add ``smeval report`` and its sub-commands."""
    parser = subparsers.add_parser(
        "report",
        help="link a run's HTML report from its index.html, find the latest report, list an output's lineage",
        description=__doc__.strip().splitlines()[0],
    )
    commands = parser.add_subparsers(
        dest="report_command", metavar="SUBCOMMAND"
    )
    link = commands.add_parser(
        "link",
        help="insert a link to smeval's report at the top of RUN_DIR/index.html",
    )
    link.add_argument(
        "run_dir",
        metavar="RUN_DIR",
        help="an esmvaltool run folder (<recipe>_YYYYMMDD_HHMMSS)",
    )
    link.set_defaults(func=_link)
    find = commands.add_parser(
        "locate", help="print the report of the newest run (and link it)"
    )
    find.add_argument("output_dir", metavar="OUTPUT_DIR")
    find.add_argument(
        "recipe",
        nargs="?",
        default="recipe_soilmoisture.yml",
        metavar="RECIPE",
    )
    find.set_defaults(func=_locate)
    lineage = commands.add_parser(
        "lineage",
        help="list the provenance files of an output's whole lineage; --out writes their union",
    )
    lineage.add_argument(
        "output",
        metavar="OUTPUT",
        help="an output of the run (or its *_provenance.xml)",
    )
    lineage.add_argument(
        "--out",
        metavar="FILE",
        help="write the union of the lineage's records (PROV-XML) here",
    )
    lineage.set_defaults(func=_lineage)
    parser.set_defaults(func=lambda _args: (parser.print_help(), 2)[1])
