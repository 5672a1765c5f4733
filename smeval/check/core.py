"""``smeval check``: everything a recipe would read, and its script options, in one pass.

Each problem is one row of a table (:data:`COLUMNS`): where it is (data
set, member, variable, file), what is wrong, and what the run would do with
it (:mod:`smeval.check.files`: stop, exclude, skip, keep). Rows that stop
the run or exclude an input are errors; :func:`restricted_recipe` writes the
recipe without those inputs, with the reason for each exclusion.
"""

from __future__ import annotations

import copy
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from smeval.diag.checks import missing_months
from smeval.diag.options import OptionsError, check_references, parse_options
from smeval.runner import dump_recipe

from .files import EXCLUDED, KEPT, SKIPPED, STOPS_RUN, inspect_file
from .inputs import Entry, expand, recipe_entries, start_session

#: What ``--resume_from`` does with a run whose preprocessed files are gone.
NOT_REUSED = "not reused"
#: Columns of the table of problems.
COLUMNS = ("in the run", "dataset", "member", "variable", "problem", "file")


@dataclass
class CheckResult:
    """Rows of problems, the recipe's entries and what was looked at."""

    rows: list[dict[str, str]] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    n_files: int = 0
    seconds: float = 0.0

    @property
    def errors(self) -> list[dict[str, str]]:
        """Rows that stop the run or are not reused."""
        return [
            r for r in self.rows if r["in the run"] not in {KEPT, NOT_REUSED}
        ]

    def add(  # noqa: D102 - a row of the table, named by its arguments
        self,
        consequence: str,
        problem: str,
        dataset: str = "",
        member: str = "",
        variable: str = "",
        file: str = "",
    ) -> None:
        self.rows.append(
            {
                "in the run": consequence,
                "dataset": dataset,
                "member": member,
                "variable": variable,
                "problem": problem,
                "file": file,
            }
        )


def _script_options() -> dict[str, type]:
    """Script file name -> its options dataclass."""
    from smeval.diag.climatology_fields import (
        ClimatologyOptions,
    )
    from smeval.diag.correlation_fields import (
        CorrelationOptions,
    )
    from smeval.diag.figures import FiguresOptions
    from smeval.diag.metrics import MetricsOptions
    from smeval.diag.regional_series import SeriesOptions
    from smeval.diag.report import ReportOptions

    return {
        "regional_series.py": SeriesOptions,
        "metrics.py": MetricsOptions,
        "figures.py": FiguresOptions,
        "climatology_fields.py": ClimatologyOptions,
        "correlation_fields.py": CorrelationOptions,
        "report.py": ReportOptions,
    }


def check_options(recipe: dict, result: CheckResult) -> None:
    """Every script's options (the checks the scripts run first), and references against the recipe's data sets."""
    projects = {
        str(e.facets["dataset"]): str(e.facets.get("project", ""))
        for e in recipe_entries(recipe)
    }
    classes = _script_options()
    for diagnostic_name, diagnostic in (
        recipe.get("diagnostics") or {}
    ).items():
        for script_name, settings in (
            (diagnostic or {}).get("scripts") or {}
        ).items():
            cls = classes.get(Path(str(settings.get("script", ""))).name)
            if cls is None:
                continue
            where = f"{diagnostic_name}/{script_name}"
            try:
                options = parse_options(
                    cls, settings, where, announce_errors=False
                )
            except OptionsError as exc:
                result.add(STOPS_RUN, f"recipe option: {exc}")
            else:
                if hasattr(options, "deep_depth"):
                    _check_layer_cut(recipe, diagnostic, options, result)
            # Checked even when another option is wrong, so that every problem shows at once.
            references = settings.get("references")
            if isinstance(references, list):
                try:
                    check_references(
                        where, references, projects, announce_errors=False
                    )
                except OptionsError as exc:
                    result.add(STOPS_RUN, f"recipe option: {exc}")


#: A layer the 0-deep_depth column needs starts above deep_depth; keeping the
#: layers whose depth point lies above this many times deep_depth keeps every
#: one that is less than 2 deep_depth thick (recipes/recipe_soilmoisture.yml).
LAYER_CUT_FACTOR = 2.0


def _check_layer_cut(
    recipe: dict, diagnostic: dict, options: Any, result: CheckResult
) -> None:
    """Add a row if the diagnostic's mrsol preprocessor cuts layers the deep column may need (``extract_volume``)."""
    group = ((diagnostic or {}).get("variables") or {}).get("mrsol") or {}
    name = group.get("preprocessor")
    steps = (recipe.get("preprocessors") or {}).get(name) or {}
    cut = steps.get("extract_volume")
    if not isinstance(cut, dict) or "z_max" not in cut:
        return
    limit = LAYER_CUT_FACTOR * options.deep_depth
    if float(cut["z_max"]) < limit:
        result.add(
            EXCLUDED,
            f"recipe: preprocessor '{name}' keeps the mrsol layers above z_max = {float(cut['z_max']):g} m "
            f"(extract_volume), but deep_depth is {options.deep_depth:g} m: a data set whose layer across "
            f"{options.deep_depth:g} m is cut is excluded as not reaching it; set z_max to at least {limit:g} m",
            variable="mrsol",
        )


def check_inputs(recipe: dict, config_dir: Path, result: CheckResult) -> None:
    """Expand every data set entry as ESMValCore does and inspect each file once."""
    session = start_session(config_dir)
    inspected: dict[Path, Any] = {}
    for entry in recipe_entries(recipe):
        expand(entry, session)
        result.entries.append(entry)
        if entry.problem:
            result.add(
                STOPS_RUN,
                f"{entry.problem}; esmvaltool stops when a listed data set has no files",
                entry.dataset,
                "",
                entry.short_name,
            )
            continue
        for member in entry.members:
            _check_member(entry, member, inspected, result)
    result.n_files = len(inspected)


def _check_member(
    entry: Entry, member, inspected: dict, result: CheckResult
) -> None:
    where = {
        "dataset": entry.dataset,
        "member": member.ensemble,
        "variable": entry.short_name,
    }
    if member.coverage:
        result.add(SKIPPED, member.coverage, **where)
    months = []
    for path in member.files:
        if path not in inspected:
            inspected[path] = inspect_file(path, entry.short_name)
        report = inspected[path]
        months.append(report.months)
        for consequence, problem in report.problems:
            result.add(consequence, problem, file=str(path), **where)
    timerange = entry.facets.get("timerange")
    joined = np.concatenate(months) if months else np.zeros(0, dtype=int)
    if timerange and joined.size and not member.coverage:
        gap = missing_months(joined, timerange)
        if gap:
            result.add(EXCLUDED, f"time axis: {gap}", **where)


def run_check(config_dir: Path, recipe_path: Path) -> CheckResult:
    """Check a recipe's options and inputs; returns every problem found."""
    start = time.perf_counter()
    recipe = yaml.safe_load(Path(recipe_path).read_text(encoding="utf-8"))
    result = CheckResult()
    check_options(recipe, result)
    check_inputs(recipe, config_dir, result)
    result.seconds = time.perf_counter() - start
    return result


def check_resume(run_dir: Path, result: CheckResult) -> None:
    """Tell what ``esmvaltool run --resume_from RUN_DIR`` would reuse of an earlier run."""
    from smeval.report.locate import state_problem

    run_dir = Path(run_dir)
    if not (run_dir / "run").is_dir():
        result.add(
            STOPS_RUN,
            f"--resume_from {run_dir}: not an esmvaltool run folder (no run/)",
        )
        return
    problem = state_problem(run_dir)
    if problem:
        result.add(
            KEPT,
            f"--resume_from: {problem}; ESMValCore reuses only the tasks it finished",
        )
    if not (run_dir / "preproc").is_dir():
        result.add(
            NOT_REUSED,
            f"--resume_from {run_dir}: the run has no preproc/ folder (removed after a "
            "successful run when remove_preproc_dir is true): nothing of it would be "
            "reused, every input is read and preprocessed again",
        )


def _excluded_keys(result: CheckResult) -> dict[tuple[str, str, str], str]:
    """(dataset, variable, member or "") -> reason, of every input the restricted recipe leaves out."""
    out: dict[tuple[str, str, str], str] = {}
    for row in result.errors:
        if row["dataset"]:
            out.setdefault(
                (row["dataset"], row["variable"], row["member"]),
                row["problem"],
            )
    return out


def restricted_recipe(
    recipe: dict, result: CheckResult
) -> tuple[dict, list[str]]:
    """Return the recipe without the inputs the check found unusable, and one line per exclusion.

    A data set entry some of whose members are unusable lists its usable
    members explicitly; an entry without a usable member is removed. An
    observation data set that is a reference stays a reference of the
    scripts only while it has data.
    """
    recipe = copy.deepcopy(recipe)
    bad = _excluded_keys(result)
    reasons: list[str] = []
    by_group: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for entry in result.entries:
        by_group[(entry.diagnostic, entry.group)].append(entry)
    for (diagnostic_name, group_name), entries in by_group.items():
        group = recipe["diagnostics"][diagnostic_name]["variables"][group_name]
        raw_entries = group.get("additional_datasets") or []
        kept: list[dict] = []
        for entry in entries:
            if entry.index is None:
                continue  # recipe-level `datasets`: left as they are
            raw = raw_entries[entry.index]
            whole = bad.get((entry.dataset, entry.short_name, ""))
            good = [
                m
                for m in entry.members
                if (entry.dataset, entry.short_name, m.ensemble) not in bad
            ]
            if whole or not good:
                reason = whole or "; ".join(
                    sorted(
                        {
                            bad[(entry.dataset, entry.short_name, m.ensemble)]
                            for m in entry.members
                        }
                    )
                )
                reasons.append(
                    f"{entry.dataset} {entry.short_name} ({diagnostic_name}/{group_name}): {reason}"
                )
                continue
            if len(good) == len(entry.members):
                kept.append(raw)
                continue
            for member in entry.members:
                if member not in good:
                    reasons.append(
                        f"{entry.dataset} {member.ensemble} {entry.short_name}: "
                        f"{bad[(entry.dataset, entry.short_name, member.ensemble)]}"
                    )
            kept += [{**raw, "ensemble": m.ensemble} for m in good]
        group["additional_datasets"] = kept
    _drop_empty_groups(recipe, reasons)
    return recipe, list(dict.fromkeys(reasons))


def _drop_empty_groups(recipe: dict, reasons: list[str]) -> None:
    """Remove variable groups left without data sets (ESMValCore refuses them), and ancestors naming them."""
    removed = set()
    for diagnostic_name, diagnostic in recipe["diagnostics"].items():
        variables = diagnostic.get("variables") or {}
        for name in [
            n for n, g in variables.items() if not g.get("additional_datasets")
        ]:
            del variables[name]
            removed.add(f"{diagnostic_name}/{name}")
            reasons.append(
                f"variable group {diagnostic_name}/{name}: no usable data set left"
            )
    left = {
        str(d["dataset"])
        for diagnostic in recipe["diagnostics"].values()
        for group in (diagnostic.get("variables") or {}).values()
        for d in group.get("additional_datasets", [])
    }
    for diagnostic in recipe["diagnostics"].values():
        for script in (diagnostic.get("scripts") or {}).values():
            if "ancestors" in script:
                script["ancestors"] = [
                    a for a in script["ancestors"] if a not in removed
                ]
            # A reference without any data left is no reference of the scripts either.
            for key in (
                "references",
                "figure_references",
                "ranking_references",
            ):
                gone = [r for r in script.get(key) or [] if r not in left]
                if gone:
                    script[key] = [r for r in script[key] if r in left]
                    reasons.append(
                        f"`{key}` without {', '.join(gone)} (no usable data)"
                    )


def write_restricted_recipe(
    recipe_path: Path, result: CheckResult, out: Path
) -> Path:
    """Write the restricted recipe to ``out`` (atomically); the reasons as comments and in its description."""
    from smeval.diag.shared import atomic_write_text

    recipe = yaml.safe_load(Path(recipe_path).read_text(encoding="utf-8"))
    restricted, reasons = restricted_recipe(recipe, result)
    note = (
        (
            "Restricted by `smeval check` to the inputs usable in the archive; left out:\n"
            + "".join(f"- {r}\n" for r in reasons)
        )
        if reasons
        else "Checked by `smeval check`: every input is usable.\n"
    )
    documentation = restricted.setdefault("documentation", {})
    documentation["description"] = (
        str(documentation.get("description", "")).rstrip() + "\n\n" + note
    )
    header = "".join(f"# {line}\n" for line in note.splitlines())
    text = (
        f"# Written by smeval check from {Path(recipe_path).name}\n{header}"
        + dump_recipe(restricted)
    )
    atomic_write_text(Path(out), text)
    return Path(out)


def format_table(rows: list[dict[str, str]], width: int = 110) -> str:
    """Return the rows as an aligned text table (file names after the problem), long problems wrapped."""
    import textwrap

    if not rows:
        return "No problem found."
    short = [c for c in COLUMNS if c not in {"problem", "file"}]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in short}
    head = "  ".join(c.ljust(widths[c]) for c in short) + "  problem"
    lines = [head, "-" * min(width, len(head) + 40)]
    indent = sum(widths.values()) + 2 * len(short)
    for r in sorted(
        rows,
        key=lambda r: (
            r["in the run"] == KEPT,
            r["dataset"],
            r["variable"],
            r["member"],
        ),
    ):
        text = r["problem"].splitlines()[0] + (
            f" [{Path(r['file']).name}]" if r["file"] else ""
        )
        wrapped = textwrap.wrap(text, max(40, width - indent)) or [""]
        lines.append(
            "  ".join(r[c].ljust(widths[c]) for c in short) + "  " + wrapped[0]
        )
        lines += [" " * indent + w for w in wrapped[1:]]
    return "\n".join(lines)
