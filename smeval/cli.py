"""The ``smeval`` command line: ``smeval sample-data``, ``smeval cmorize``, ...

Each subpackage that offers a command has a ``cli`` module with a
``register(subparsers)`` function that adds its sub-command and sets the
``func`` default to the callable that runs it (returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Modules that contribute sub-commands, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "smeval.sample.cli",
    "smeval.cmorize.cli",
    "smeval.check.cli",
    "smeval.report.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the parser of the ``smeval`` command and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="smeval",
        description=(
            "Tools of the smeval soil-moisture evaluation: generate the sample "
            "archive, CMORize reanalyses. The evaluation itself runs with "
            "'esmvaltool run recipe_soilmoisture.yml' from the repository root."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``smeval`` command; return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
