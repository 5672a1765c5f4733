"""What a recipe would read: ESMValCore's own discovery, one data set entry at a time.

``esmvaltool run`` expands the wildcards of every data set entry of a recipe
(``ensemble: "*"``, ``grid: "*"``) from the files it finds, and stops the
whole run when one entry finds no file, before ``skip_nonexistent`` can act.
Here the same expansion (:meth:`esmvalcore.dataset.Dataset.from_files`) runs
per entry, so that every missing model, variable or member is reported at
once instead of one per run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Facets of a recipe's variable group that are facets of its data sets.
GROUP_FACETS = (
    "mip",
    "timerange",
    "exp",
    "ensemble",
    "grid",
    "activity",
    "project",
)


@dataclass
class Entry:
    """One data set entry of one variable group of the recipe.

    ``members`` lists the expanded data sets (one per member and grid) with
    their files; an entry whose wildcards found no file has none.
    """

    diagnostic: str
    group: str
    short_name: str
    facets: dict[str, Any]
    members: list[Member] = field(default_factory=list)
    problem: str = ""
    #: Position in the group's ``additional_datasets``; None for an entry of another level.
    index: int | None = None

    @property
    def dataset(self) -> str:
        """Name of the entry's data set."""
        return str(self.facets["dataset"])


@dataclass
class Member:
    """One expanded data set (a member of a model, or a reanalysis) and its files."""

    facets: dict[str, Any]
    files: list[Path]
    coverage: str = (
        ""  # ESMValCore's message when the files do not cover the timerange
    )

    @property
    def ensemble(self) -> str:
        """Ensemble member (empty for reanalyses)."""
        return str(self.facets.get("ensemble", ""))


def recipe_entries(recipe: dict) -> Iterator[Entry]:
    """Every data set entry of every variable group of a loaded recipe."""
    for diagnostic_name, diagnostic in (
        recipe.get("diagnostics") or {}
    ).items():
        diagnostic = diagnostic or {}
        shared = diagnostic.get("additional_datasets") or []
        for group_name, group in (diagnostic.get("variables") or {}).items():
            group = group or {}
            short_name = group.get("short_name", group_name)
            own = list(enumerate(group.get("additional_datasets") or []))
            entries = [
                (None, e) for e in (*(recipe.get("datasets") or []), *shared)
            ] + own
            for index, entry in entries:
                facets = {k: group[k] for k in GROUP_FACETS if k in group}
                facets.update(entry)
                facets["short_name"] = short_name
                yield Entry(
                    diagnostic_name,
                    group_name,
                    short_name,
                    facets,
                    index=index,
                )


def start_session(config_dir: Path):
    """Return an ESMValCore session configured from the folder of ``config-user.yml``."""
    from esmvalcore.config import (
        CFG,
    )

    CFG.load_from_dirs([Path(config_dir)])
    return CFG.start_session("smeval_check")


def expand(entry: Entry, session) -> None:
    """Fill ``entry.members`` the way ``esmvaltool run`` does (or set ``entry.problem``)."""
    from esmvalcore._recipe.check import data_availability
    from esmvalcore.dataset import Dataset, _isglob
    from esmvalcore.exceptions import RecipeError

    logging.getLogger("esmvalcore").setLevel(logging.ERROR)
    facets = {k: v for k, v in entry.facets.items() if not k.startswith("_")}
    dataset = Dataset(**facets)
    dataset.session = session
    try:
        found = list(dataset.from_files())
    except (RecipeError, ValueError, OSError) as exc:
        entry.problem = f"ESMValCore cannot find its files: {exc}"
        return
    for expanded in found:
        if (
            any(_isglob(v) for v in expanded.facets.values())
            or not expanded.files
        ):
            continue
        member = Member(
            dict(expanded.facets), [Path(str(f)) for f in expanded.files]
        )
        try:
            data_availability(expanded, log=False)
        except RecipeError as exc:
            member.coverage = f"ESMValCore: {str(exc).splitlines()[0].removesuffix(' in files:')}"
        entry.members.append(member)
    if not entry.members:
        where = f"{entry.facets.get('project')} {entry.dataset} {entry.short_name} ({entry.facets.get('mip')})"
        entry.problem = f"no files of {where} in the archive"
