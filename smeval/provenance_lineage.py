"""Copy each record of a product's lineage into its provenance document once.

When ESMValCore records the provenance of a diagnostic's output
(``TrackedFile._initialize_ancestors``), it copies the whole document of
every ancestor into the output's document, and ``wasderivedfrom`` copies
the same ancestor document a second time. The ancestors of one product
share most of their lineage (every figure and table of smeval derives from
the same input files), so the output's document holds each input file's
records once per ancestor, twice: the report, made from 18 files that each
carry the lineage of every input, held 36 copies of it in memory. Only
``save_provenance`` removes the duplicates (it rebuilds the document from
the set of its records), after they have been copied, hashed and rebuilt.

:func:`install` replaces ``_initialize_ancestors`` by one that adds only
the records the document does not hold yet, and records the derivation
without the second copy. The saved document is the same set of records:
``save_provenance`` keeps one of each equal record either way
(``tests/setup/test_provenance_lineage.py`` compares the two).

``save_provenance`` then rebuilds the whole document from the set of its
records before writing it, to drop duplicates; :func:`install` makes it
skip the rebuild when the records are distinct already (they are, with the
above), which is most of its time besides writing the XML.

Each ancestor's document, read back from its ``*_provenance.xml``, also
stays in memory for the rest of the task: the report's 18 held 3.5 GB at
the paper's scale. So while ESMValCore records a task's provenance
(``DiagnosticTask._collect_provenance``, wrapped by :func:`install`), the
ancestors named in the task's ``diagnostic_provenance.yml`` are counted,
and an ancestor's document is released after the last output that names
it, when its file can be read again (as :mod:`smeval.provenance_transfer`
does for pickles: ESMValCore restores a released document from its file
where it needs it).

The upstream change this stands in for: the same in
``esmvalcore._provenance``, or, better, an output that refers to its
ancestors' provenance files instead of copying their documents
(benchmarks/README.md, "The fixed cost").
"""

from __future__ import annotations

import contextlib
import functools
from collections import Counter
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import yaml

from smeval import provenance_chain
from smeval.provenance_transfer import readable_again

#: Ancestor file name -> outputs still to be recorded that name it, while a
#: task's provenance is recorded; None outside (nothing is released).
_USES: ContextVar[Counter | None] = ContextVar("smeval_uses", default=None)


def install() -> bool:
    """Patch ESMValCore's ``TrackedFile`` (idempotent); False if its shape is not the expected one."""
    from esmvalcore._provenance import TrackedFile

    if getattr(TrackedFile, "smeval_lineage_once", False):
        return True
    if not all(
        hasattr(TrackedFile, name)
        for name in (
            "_initialize_ancestors",
            "restore_provenance",
            "provenance_file",
        )
    ):
        # Another ESMValCore: change nothing rather than guess.
        return False
    from esmvalcore._task import DiagnosticTask

    TrackedFile._initialize_ancestors = _initialize_ancestors  # noqa: SLF001
    TrackedFile.save_provenance = _without_rebuild(TrackedFile.save_provenance)
    if hasattr(DiagnosticTask, "_collect_provenance"):
        DiagnosticTask._collect_provenance = _counting(  # noqa: SLF001
            DiagnosticTask._collect_provenance  # noqa: SLF001
        )
    TrackedFile.smeval_lineage_once = True
    return True


def _without_rebuild(save):
    """Wrap ``TrackedFile.save_provenance`` so that a document of distinct records is not rebuilt first."""

    @functools.wraps(save)
    def save_provenance(self) -> None:
        records = self.provenance.records
        if len(set(records)) < len(records):
            save(self)  # ESMValCore's own, which drops the duplicates
            return
        # ESMValCore's save_provenance without its first statement, which
        # rebuilds the document from the set of its records.
        self._include_provenance()
        with self.provenance_file.open("wb") as file:
            self.provenance.serialize(file, format="xml")
        self.activity = None
        self.entity = None
        self.provenance = None

    return save_provenance


def _counting(collect):
    """Wrap ``DiagnosticTask._collect_provenance`` in :func:`counting_uses` of its table."""

    @functools.wraps(collect)
    def collect_provenance(task) -> None:
        try:
            path = Path(task.settings["run_dir"]) / "diagnostic_provenance.yml"
            table = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, KeyError, TypeError, yaml.YAMLError):
            table = None  # ESMValCore reports it; nothing is released
        with counting_uses(table if isinstance(table, dict) else {}):
            collect(task)

    return collect_provenance


@contextlib.contextmanager
def counting_uses(table: Mapping[str, Any]) -> Iterator[Counter]:
    """Count, for the duration, the outputs of ``table`` (a ``diagnostic_provenance.yml``) that name each ancestor."""
    uses: Counter = Counter()
    for record in table.values():
        names = (record or {}).get("ancestors") or []
        # ESMValCore takes one string as one file, and a set of ancestors.
        uses.update({names} if isinstance(names, str) else set(names))
    token = _USES.set(uses)
    try:
        yield uses
    finally:
        _USES.reset(token)


def _release_after_last_use(ancestor) -> None:
    """Drop ``ancestor``'s document once no output left to record names it, if its file can be read again."""
    uses = _USES.get()
    if uses is None:
        return
    key = str(ancestor.filename)
    uses[key] -= 1
    if uses[key] <= 0 and readable_again(ancestor):
        ancestor.provenance = ancestor.entity = ancestor.activity = None


def _initialize_ancestors(self, activity: Any) -> None:
    """Register ancestor files for provenance tracking, each record once.

    ESMValCore's ``_initialize_ancestors``, with the ancestor's records added
    only where the document lacks an equal one, and the derivation recorded
    without copying the ancestor's document again; an ancestor that another
    smeval script made is referred to, not copied (:mod:`smeval.provenance_chain`).
    """
    present = set(self.provenance.get_records())
    for ancestor in self._ancestors:
        if provenance_chain.chains(self, ancestor):
            provenance_chain.refers_to(self, ancestor, present)
            continue
        if ancestor.provenance is None:
            if (
                isinstance(ancestor.filename, Path)
                and ancestor.provenance_file.exists()
            ):
                ancestor.restore_provenance()
            else:
                ancestor.initialize_provenance(activity)
        if ancestor.provenance.has_bundles():
            # Never the case for ESMValCore's documents; keep its own merge.
            self.provenance.update(ancestor.provenance)
        else:
            for record in ancestor.provenance.get_records():
                if record not in present:
                    present.add(record)
                    self.provenance.add_record(record)
        self.entity.wasDerivedFrom(ancestor.entity, self.activity)
        _release_after_last_use(ancestor)
