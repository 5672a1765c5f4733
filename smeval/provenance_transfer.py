"""Keep provenance documents that ESMValCore can read back from disk out of its pickles.

ESMValCore runs each task in a worker process of a ``multiprocessing.Pool``:
the main process pickles the task (with its ancestor tasks and their output
files) to the worker, and the worker pickles the task's output files back.
Each output file is a ``TrackedFile`` that holds its ancestor files; when a
diagnostic's provenance is recorded, every ancestor's provenance document is
read back from its ``*_provenance.xml`` (``restore_provenance``) and stays
attached to that ancestor object. So the result of a task drags along the
whole lineage of the run as Python objects, and every later task drags it
back and forth again. Measured on the default sample archive (401 input
files, 2026-12-06, ``benchmarks/pipeline.py --scale default``): the report's
result alone pickled to 36 MB (35 restored documents) and the main process
spent 1,357 s of worker time between tasks, 302 s of it only to receive the
report's result (``between_tasks``, ``last_result``).

A document that was restored from its file is equal to that file, and
ESMValCore reads it again wherever it is needed (``_initialize_ancestors``
restores an ancestor whose ``provenance`` is None and whose file exists). So
leaving it out of the pickle loses nothing: :func:`install` gives
``TrackedFile`` a ``__getstate__`` that drops documents restored from a file
that still exists, and marks restored documents. Documents being built
(not saved yet) always travel. A file whose document is saved also leaves
its ancestors out: ESMValCore needs them only to build that document, and
each result otherwise carried the graph of the run's files down to every
input file (at the paper's scale, 1,636 input files with their attributes
in every task sent and every result returned). The upstream change this stands in for: the
same ``__getstate__`` in ``esmvalcore._provenance.TrackedFile``, or releasing
restored ancestor documents once a diagnostic's products are saved.
"""

from __future__ import annotations

from typing import Any

#: Attribute set on a TrackedFile whose document was read from its file.
RESTORED = "_smeval_restored"


def install() -> bool:
    """Patch ESMValCore's ``TrackedFile`` (idempotent); False if its shape is not the expected one."""
    from esmvalcore._provenance import (
        TrackedFile,
    )

    if getattr(TrackedFile, "smeval_light_pickles", False):
        return True
    if not all(
        hasattr(TrackedFile, name)
        for name in ("restore_provenance", "provenance_file")
    ):
        # Another ESMValCore: change nothing rather than guess.
        return False
    restore = TrackedFile.restore_provenance

    def restore_provenance(self) -> None:
        restore(self)
        setattr(self, RESTORED, True)

    TrackedFile.restore_provenance = restore_provenance
    TrackedFile.__getstate__ = _getstate
    TrackedFile.smeval_light_pickles = True
    return True


def _getstate(self) -> dict[str, Any]:
    state = dict(self.__dict__)
    restored = state.pop(RESTORED, False)
    if state.get("provenance") is not None and not restored:
        return state  # a document being built: it travels whole
    if readable_again(self):
        # The receiving process restores the document from the file when it
        # needs it; and ESMValCore reads a file's ancestors only to build its
        # document (``_initialize_ancestors``), which is saved: the whole
        # graph of ancestors down to the input files need not travel either.
        state.update(provenance=None, entity=None, activity=None)
        state["_ancestors"] = []
    return state


def readable_again(tracked) -> bool:
    """Return True if ``tracked``'s provenance document can be read back from its file."""
    try:
        return tracked.provenance_file.is_file()
    except NotImplementedError:
        # Not a path (ESMValCore's DataElement inputs): nothing to read back.
        return False
