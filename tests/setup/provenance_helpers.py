"""Files with their provenance, as ESMValCore leaves them: shared by the provenance tests."""

from __future__ import annotations

from pathlib import Path

from esmvalcore._provenance import TrackedFile
from prov.model import ProvDocument


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
