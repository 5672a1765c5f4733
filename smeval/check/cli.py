"""``smeval check CONFIG RECIPE``: every problem of a recipe and its archive, before the run.

Looks at everything ``esmvaltool run`` would read for RECIPE with the
configuration CONFIG (the folder passed as ``--config_dir``, or its
``config-user.yml``), in one pass: data set entries expanded with
ESMValCore's own file discovery (``ensemble: "*"``, ``grid: "*"``), each
file's header and three time steps of its values, and the options of every
diagnostic script. Prints one table of all problems, with what the run would
do with each (stop, exclude, skip, keep). ``--write-recipe OUT`` writes the
recipe restricted to the usable inputs, with the reason for each exclusion.
``--resume-from RUN_DIR`` also reports whether that earlier run finished and
whether its preproc/ folder, which ``--resume_from`` reuses, is still there.
Exit status: 0 when nothing would stop or change the run, 1 otherwise, 2 for
bad arguments. Run it from the repository root, as esmvaltool.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from smeval import resources

#: Where a recipe named without a folder is looked for (as esmvaltool does from the repository root).
RECIPES = resources.folder("recipes")


def _recipe_path(name: str) -> Path | None:
    path = Path(name)
    for candidate in (path, RECIPES / path.name):
        if candidate.is_file():
            return candidate
    return None


def _check(args: argparse.Namespace) -> int:
    from . import core  # lazy: imports ESMValCore

    recipe = _recipe_path(args.recipe)
    config = Path(args.config)
    if recipe is None:
        print(
            f"smeval check: error: no recipe {args.recipe} (nor in {RECIPES})",
            file=sys.stderr,
        )
        return 2
    if not config.exists():
        print(
            f"smeval check: error: no configuration {config}", file=sys.stderr
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="smeval-check-") as tmp:
        if config.is_file():
            # ESMValCore reads every *.yml of a folder: give it this file alone.
            shutil.copy(config, Path(tmp) / "config-user.yml")
            config = Path(tmp)
        result = core.run_check(config, recipe)
    if args.resume_from:
        core.check_resume(Path(args.resume_from), result)
    print(core.format_table(result.rows))
    n_errors = len(result.errors)
    print(
        f"\n{len(result.entries)} data set entries, {result.n_files} files checked in {result.seconds:.1f} s: "
        f"{n_errors} problem(s) that stop or change the run, {len(result.rows) - n_errors} warning(s)."
    )
    if args.write_recipe:
        out = core.write_restricted_recipe(
            recipe, result, Path(args.write_recipe)
        )
        print(f"Wrote the recipe restricted to the usable inputs: {out}")
    return 1 if n_errors else 0


def register(subparsers) -> None:
    """Add ``smeval check``."""
    parser = subparsers.add_parser(
        "check",
        help="check a recipe's options and archive before the run (all problems, one table)",
        description=__doc__.strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "config",
        metavar="CONFIG",
        help="ESMValCore configuration: the folder given to --config_dir, or its config-user.yml",
    )
    parser.add_argument(
        "recipe",
        metavar="RECIPE",
        help="the recipe (a path, or a name in recipes/)",
    )
    parser.add_argument(
        "--write-recipe",
        metavar="OUT",
        help="write the recipe restricted to the usable inputs, with the reason for each exclusion",
    )
    parser.add_argument(
        "--resume-from",
        metavar="RUN_DIR",
        help="also say what `esmvaltool run --resume_from RUN_DIR` would reuse of that run "
        "(an incomplete run, or one without preproc/, reuses little or nothing)",
    )
    parser.set_defaults(func=_check)
