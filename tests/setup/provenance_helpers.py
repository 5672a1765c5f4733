"""Files with their provenance, as ESMValCore leaves them: shared by the provenance tests."""

from __future__ import annotations

from pathlib import Path

import esmvalcore._task
from esmvalcore._provenance import TrackedFile
from prov.model import ProvDocument

from smeval import provenance_chain, provenance_lineage

#: ESMValCore's own functions, taken when the tests are collected, before
#: any test installs smeval's.
ESMVALCORE = TrackedFile.__dict__["_initialize_ancestors"]
ESMVALCORE_SAVE = getattr(
    TrackedFile.save_provenance, "__wrapped__", TrackedFile.save_provenance
)
ESMVALCORE_CITATIONS = getattr(
    esmvalcore._task._write_citation_files,
    "__wrapped__",
    esmvalcore._task._write_citation_files,
)


def use(monkeypatch, ours: bool) -> None:
    """Record provenance with smeval's functions (``ours``) or ESMValCore's own."""
    monkeypatch.setattr(
        TrackedFile,
        "_initialize_ancestors",
        provenance_lineage._initialize_ancestors if ours else ESMVALCORE,
    )
    monkeypatch.setattr(
        TrackedFile,
        "save_provenance",
        provenance_lineage._without_rebuild(ESMVALCORE_SAVE)
        if ours
        else ESMVALCORE_SAVE,
    )
    monkeypatch.setattr(
        esmvalcore._task,
        "_write_citation_files",
        provenance_chain._with_chained_citations(ESMVALCORE_CITATIONS)
        if ours
        else ESMVALCORE_CITATIONS,
    )


def activity(name: str):
    """A task's activity, as ESMValCore records it."""
    doc = ProvDocument()
    doc.add_namespace("task", "https://www.esmvaltool.org/task")
    return doc.activity(f"task:{name}")


def saved(path: Path, ancestors=(), **attributes) -> TrackedFile:
    """A file with its provenance written next to it, as ESMValCore leaves a finished product."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("data")
    tracked = TrackedFile(
        path, {"caption": path.stem, **attributes}, list(ancestors)
    )
    tracked.initialize_provenance(activity(path.stem))
    tracked.save_provenance()
    return tracked
