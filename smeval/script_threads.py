"""Dask threads of the diagnostic scripts: the cores shared among the tasks that run at once.

ESMValCore runs up to ``max_parallel_tasks`` tasks at once. It gives the
threaded Dask scheduler of each preprocessing task ``cores / tasks at once``
threads (``TaskSet._get_dask_config``), but its diagnostic scripts are
processes of their own and get Dask's default: a thread per core each. With
two scripts on two cores, four threads then compete for two cores, and the
recipe on the default sample archive took 98 s instead of 95 s.

:func:`install` (called by :mod:`smeval.plugin`) applies ESMValCore's rule
to the scripts too: while ESMValCore runs its tasks in parallel, the
scripts' environment holds ``DASK_NUM_WORKERS`` (Dask reads it as its
``num_workers`` setting). Nothing changes where the user chose already
(Dask's ``num_workers`` or ``DASK_NUM_WORKERS`` set), with another Dask
scheduler, on a Dask cluster, or when tasks run one at a time.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator

#: The variable through which Dask in each script reads its threads.
THREADS_ENV = "DASK_NUM_WORKERS"


def script_threads(
    n_tasks: int, max_parallel_tasks: int | None, n_cores: int
) -> int | None:
    """Dask threads of each diagnostic script, or None to leave Dask's default.

    ``n_tasks`` tasks, at most ``max_parallel_tasks`` at once (None: one
    per core) on ``n_cores`` cores: ``round(n_cores / tasks at once)``, at
    least one, as ESMValCore gives each preprocessing task. None where the
    user chose, or the scheduler is not Dask's threaded one.
    """
    import dask.config

    if THREADS_ENV in os.environ or (
        dask.config.get("num_workers", None) is not None
    ):
        return None
    if dask.config.get("scheduler", "threads") not in ("threads", "threading"):
        return None
    at_once = min(n_tasks, max_parallel_tasks or n_cores)
    return max(1, round(n_cores / max(at_once, 1)))


@contextlib.contextmanager
def _environment(name: str, value: int | None) -> Iterator[None]:
    """``os.environ[name] = value`` within the block (nothing if None)."""
    if value is None:
        yield
        return
    os.environ[name] = str(value)
    try:
        yield
    finally:
        os.environ.pop(name, None)


def install() -> None:
    """Give ESMValCore's parallel run of tasks :func:`script_threads` (idempotent)."""
    from esmvalcore import _task

    original = _task.TaskSet._run_parallel  # noqa: SLF001
    if getattr(original, "smeval_script_threads", False):
        return

    @functools.wraps(original)
    def _run_parallel(self, scheduler_address, session):
        threads = None
        if scheduler_address is None:
            threads = script_threads(
                len(self.flatten()),
                session["max_parallel_tasks"],
                _task.available_cpu_count(),
            )
        # The task processes start (fork) inside: they and the scripts they
        # run inherit the variable.
        with _environment(THREADS_ENV, threads):
            return original(self, scheduler_address, session)

    _run_parallel.smeval_script_threads = True
    _task.TaskSet._run_parallel = _run_parallel  # noqa: SLF001
