"""Inputs that ESMValCore skipped before the diagnostics ran (``skip_nonexistent: true``).

ESMValCore drops a data set whose files do not cover the ``timerange`` (a
missing year) or are missing, logging one INFO line ``Skipping: {...}`` in
the run's ``run/main_log.txt``, a Python set of its messages. The scripts
never see such an input, so the metrics script reads these lines to list
each skipped input in ``excluded.csv`` with ESMValCore's reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

#: The log line of a skipped data set (esmvalcore._recipe.recipe).
_SKIPPING = re.compile(r"\] Skipping: (\{.*\})\s*$")
_MEMBER = re.compile(r"^r\d+i\d+p\d+f\d+$")


def _from_file(path: str) -> dict[str, str] | None:
    """Return data set, member, project and variable from a CMIP6 or OBS6 file name."""
    parts = Path(path.strip()).name.removesuffix(".nc").split("_")
    if parts[0] in {"OBS", "OBS6"} and len(parts) >= 6:
        return {
            "project": parts[0],
            "dataset": parts[1],
            "member": "",
            "variable": parts[5],
        }
    if len(parts) >= 5 and _MEMBER.match(parts[4]):
        return {
            "project": "CMIP6",
            "dataset": parts[2],
            "member": parts[4],
            "variable": parts[0],
        }
    return None


def _from_summary(message: str) -> dict[str, str] | None:
    """Return data set, member, project and variable from ESMValCore's ``Dataset: short, mip, project, dataset, ...``."""
    match = re.search(r"Dataset:\s*([^\n]*)", message)
    if not match:
        return None
    facets = [f.strip() for f in match.group(1).split(",")]
    if len(facets) < 4:
        return None
    member = next((f for f in facets if _MEMBER.match(f)), "")
    return {
        "project": facets[2],
        "dataset": facets[3],
        "member": member,
        "variable": facets[0],
    }


def skipped_inputs(session: Path) -> list[dict[str, str]]:
    """Rows (dataset, member, project, variable, reason) of the inputs ESMValCore skipped in a run."""
    log = Path(session) / "run" / "main_log.txt"
    if not log.is_file():
        return []
    rows = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _SKIPPING.search(line)
        if not match:
            continue
        try:
            messages = ast.literal_eval(match.group(1))
        except (ValueError, SyntaxError):
            continue
        for message in sorted(messages):
            lines = str(message).splitlines()
            where = next(
                (w for w in map(_from_file, lines[1:]) if w), None
            ) or _from_summary(str(message))
            if where:
                reason = lines[0].removesuffix(" in files:").removesuffix(":")
                rows.append(
                    {**where, "reason": f"skipped by ESMValCore: {reason}"}
                )
    return rows
