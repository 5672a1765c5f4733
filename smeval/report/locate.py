"""Print where the report of the latest run of a recipe is.

``python -m smeval.report.locate OUTPUT_DIR [RECIPE]`` prints the path of the
smeval HTML report of the newest ``OUTPUT_DIR/<recipe>_YYYYMMDD_HHMMSS`` run
(or ESMValCore's own ``index.html`` if the run wrote no smeval report) and
exits non-zero if there is none.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: File name of smeval's report inside a run's plot folder.
REPORT_NAME = "smeval_report.html"


def latest_run(output_dir: Path, recipe: str = "recipe_soilmoisture.yml") -> Path | None:
    """Newest run folder of ``recipe`` in ``output_dir``, or None."""
    stem = Path(recipe).stem
    runs = sorted(p for p in Path(output_dir).glob(f"{stem}_*") if p.is_dir())
    return runs[-1] if runs else None


def report_path(run_dir: Path) -> Path | None:
    """smeval's report of a run if present, else ESMValCore's index.html."""
    ours = sorted(run_dir.glob(f"plots/**/{REPORT_NAME}"))
    if ours:
        return ours[0]
    index = run_dir / "index.html"
    return index if index.is_file() else None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in {"-h", "--help"}:
        print(__doc__.strip())
        return 0 if args else 2
    output_dir = Path(args[0])
    recipe = args[1] if len(args) > 1 else "recipe_soilmoisture.yml"
    run = latest_run(output_dir, recipe)
    if run is None:
        print(f"error: no run of {recipe} in {output_dir}", file=sys.stderr)
        return 1
    report = report_path(run)
    if report is None:
        print(f"error: the run {run} wrote no report (see {run}/run/main_log.txt)", file=sys.stderr)
        return 1
    print(f"\nReport: {report.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
