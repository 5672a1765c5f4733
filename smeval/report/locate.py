"""Find the report of the latest run of a recipe, and link it from the run's ``index.html``.

``python -m smeval.report.locate OUTPUT_DIR [RECIPE]`` prints the path of the
smeval HTML report of the newest ``OUTPUT_DIR/<recipe>_YYYYMMDD_HHMMSS`` run
(or ESMValCore's own ``index.html`` if the run wrote no smeval report), inserts
a link to the report near the top of that run's ``index.html`` (see
:func:`link_index`), and exits non-zero if there is no report.
"""

from __future__ import annotations

import html
import os
import re
import sys
from pathlib import Path
from urllib.parse import quote

#: File name of smeval's report inside a run's plot folder.
REPORT_NAME = "smeval_report.html"
#: Markers around smeval's insertion into ESMValCore's index.html.
LINK_START = (
    "<!-- smeval-report-link: start (inserted by smeval report link) -->"
)
LINK_END = "<!-- smeval-report-link: end -->"
_BLOCK = re.compile(
    re.escape(LINK_START) + r".*?" + re.escape(LINK_END) + r"\n?",
    flags=re.DOTALL,
)
_BODY = re.compile(r"<body\b[^>]*>", flags=re.IGNORECASE)


def latest_run(
    output_dir: Path, recipe: str = "recipe_soilmoisture.yml"
) -> Path | None:
    """Newest run folder of ``recipe`` in ``output_dir``, or None."""
    stem = Path(recipe).stem
    runs = sorted(p for p in Path(output_dir).glob(f"{stem}_*") if p.is_dir())
    return runs[-1] if runs else None


#: Lines of ESMValCore's ``run/main_log.txt`` that end a run.
SUCCESS_LINE = "Run was successful"
FAILURE_LINE = "Program terminated abnormally"


def run_state(run_dir: Path) -> str:
    """``complete``, ``failed``, ``incomplete`` or ``unknown``: how a run ended, from ESMValCore's main log.

    ESMValCore writes "Run was successful" as the last line of a finished
    run. Without it (killed with SIGTERM or SIGKILL, interrupted, or still
    running) the run is ``incomplete``: its ``work/`` may hold CSV files that
    look complete but are not. A folder without ``run/main_log.txt`` is
    ``unknown``.
    """
    log = Path(run_dir) / "run" / "main_log.txt"
    if not log.is_file():
        return "unknown"
    text = log.read_text(encoding="utf-8", errors="replace")
    if SUCCESS_LINE in text:
        return "complete"
    return "failed" if FAILURE_LINE in text else "incomplete"


def state_problem(run_dir: Path) -> str | None:
    """Why a run's outputs must not be trusted (failed or incomplete run), or None."""
    state = run_state(run_dir)
    if state == "incomplete":
        return (
            f"the run {run_dir} is incomplete: its run/main_log.txt does not end with "
            f"'{SUCCESS_LINE}' (interrupted, killed or still running); its outputs may be partial"
        )
    if state == "failed":
        return f"the run {run_dir} failed (see {Path(run_dir) / 'run' / 'main_log.txt'}); its outputs may be partial"
    return None


def find_report(run_dir: Path) -> Path | None:
    """Smeval's report of a run, or None."""
    ours = sorted(Path(run_dir).glob(f"plots/**/{REPORT_NAME}"))
    return ours[0] if ours else None


def report_path(run_dir: Path) -> Path | None:
    """Smeval's report of a run if present, else ESMValCore's index.html."""
    ours = find_report(run_dir)
    if ours:
        return ours
    index = Path(run_dir) / "index.html"
    return index if index.is_file() else None


def link_block(href: str) -> str:
    """Return the HTML inserted into index.html (inline style: the page's own CSS comes from a CDN)."""
    return (
        f"{LINK_START}\n"
        '<div id="smeval-report-link" style="margin:1rem 0;padding:.8rem 1rem;border:2px solid #1f5f99;'
        'border-radius:6px;background:#eef5fb;font-family:system-ui,sans-serif;font-size:1.15rem;">'
        f'<strong>smeval report:</strong> <a href="{html.escape(href, quote=True)}">'
        "summary, figures, skill-score tables and provenance of this run</a></div>\n"
        f"{LINK_END}\n"
    )


def link_index(run_dir: Path) -> Path | None:
    """Insert (or refresh) the link to smeval's report at the top of the run's ``index.html``.

    Idempotent: the insertion sits between two comment markers and replaces
    an earlier one, so running it again never duplicates the link. Returns the
    ``index.html`` that was edited, or None if the run has no report or no
    ``index.html`` (ESMValCore writes it only at the very end of a run).
    """
    run_dir = Path(run_dir)
    index = run_dir / "index.html"
    report = find_report(run_dir)
    if report is None or not index.is_file():
        return None
    href = quote(Path(os.path.relpath(report, run_dir)).as_posix())
    text = index.read_text(encoding="utf-8")
    block = link_block(href)
    if LINK_START in text:
        new = _BLOCK.sub(lambda _: block, text, count=1)
    else:
        body = _BODY.search(text)
        pos = body.end() if body else 0
        new = text[:pos] + ("\n" if body else "") + block + text[pos:]
    if new != text:
        from smeval.diag.shared import atomic_write_text

        atomic_write_text(index, new)
    return index


def main(argv: list[str] | None = None) -> int:
    """Print the report path of the latest run and link it from its index.html; return the exit code."""
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
    problem = state_problem(run)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    report = report_path(run)
    if report is None:
        print(
            f"error: the run {run} wrote no report (see {run}/run/main_log.txt)",
            file=sys.stderr,
        )
        return 1
    if link_index(run):
        print(f"Linked the report from {run / 'index.html'}")
    print(f"\nReport: {report.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
