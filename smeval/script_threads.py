"""Threads of the diagnostic scripts (Dask's and the BLAS library's): the cores shared among the tasks that run at once.

ESMValCore runs up to ``max_parallel_tasks`` tasks at once. It gives the
threaded Dask scheduler of each preprocessing task ``cores / tasks at once``
threads (``TaskSet._get_dask_config``), but its diagnostic scripts are
processes of their own and get Dask's default: a thread per core each. With
two scripts on two cores, four threads then compete for two cores, and the
recipe on the default sample archive took 98 s instead of 95 s.

:func:`install` (called by :mod:`smeval.plugin`) applies ESMValCore's rule
to the scripts too: while ESMValCore runs its tasks in parallel, the
scripts' environment holds ``DASK_NUM_WORKERS`` (Dask reads it as its
``num_workers`` setting). Nothing changes there where the user chose
already (Dask's ``num_workers`` or ``DASK_NUM_WORKERS`` set), with another
Dask scheduler, on a Dask cluster, or when tasks run one at a time.

The BLAS library numpy and scipy load (OpenBLAS in the wheels) starts a
thread per core too, whatever Dask does, and its idle threads spin before
they sleep: a series script with one Dask thread used 20.0 s of CPU for
14.0 s of wall time, 12.7 s with one BLAS thread, same wall time and the
same files (benchmarks/README.md). So the scripts' environment also holds
the same share in :data:`BLAS_THREADS_ENV`, where the user has set none
of them, on a Dask cluster too (the threads are the script's own). The
preprocessing tasks run in processes forked from ``esmvaltool``, whose
BLAS library has started already: the variables do not reach them.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator

#: The variable through which Dask in each script reads its threads.
THREADS_ENV = "DASK_NUM_WORKERS"

#: The variables through which the BLAS and OpenMP libraries of each script
#: read their threads (OpenBLAS reads the first it finds of its own and
#: OpenMP's; MKL its own).
BLAS_THREADS_ENV = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)


def _share(n_tasks: int, max_parallel_tasks: int | None, n_cores: int) -> int:
    """ESMValCore's share of the cores of each of the tasks at once: ``round(n_cores / tasks at once)``, at least one."""
    at_once = min(n_tasks, max_parallel_tasks or n_cores)
    return max(1, round(n_cores / max(at_once, 1)))


def _dask_threads_chosen() -> bool:
    """Return True if the user chose Dask's threads, or Dask's scheduler is not the threaded one."""
    import dask.config

    if THREADS_ENV in os.environ or (
        dask.config.get("num_workers", None) is not None
    ):
        return True
    return dask.config.get("scheduler", "threads") not in (
        "threads",
        "threading",
    )


def script_threads(
    n_tasks: int, max_parallel_tasks: int | None, n_cores: int
) -> int | None:
    """Dask threads of each diagnostic script, or None to leave Dask's default.

    ``n_tasks`` tasks, at most ``max_parallel_tasks`` at once (None: one
    per core) on ``n_cores`` cores: ``round(n_cores / tasks at once)``, at
    least one, as ESMValCore gives each preprocessing task. None where the
    user chose, or the scheduler is not Dask's threaded one.
    """
    if _dask_threads_chosen():
        return None
    return _share(n_tasks, max_parallel_tasks, n_cores)


def script_environment(
    n_tasks: int,
    max_parallel_tasks: int | None,
    n_cores: int,
    on_cluster: bool,
) -> dict[str, str]:
    """Return the variables of the scripts' environment that give each its threads.

    The share of the cores (:func:`script_threads`): as :data:`THREADS_ENV`
    unless ``on_cluster`` or the user chose Dask's threads, and as
    :data:`BLAS_THREADS_ENV` where it is less than all cores and the user
    has set none of them.
    """
    share = _share(n_tasks, max_parallel_tasks, n_cores)
    env = {}
    if not on_cluster and not _dask_threads_chosen():
        env[THREADS_ENV] = str(share)
    if share < n_cores and not set(BLAS_THREADS_ENV) & set(os.environ):
        env |= dict.fromkeys(BLAS_THREADS_ENV, str(share))
    return env


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` updated with ``values`` within the block."""
    os.environ.update(values)
    try:
        yield
    finally:
        for name in values:
            os.environ.pop(name, None)


def install() -> None:
    """Give ESMValCore's parallel run of tasks :func:`script_threads` (idempotent)."""
    from esmvalcore import _task

    original = _task.TaskSet._run_parallel  # noqa: SLF001
    if getattr(original, "smeval_script_threads", False):
        return

    @functools.wraps(original)
    def _run_parallel(self, scheduler_address, session):
        env = script_environment(
            len(self.flatten()),
            session["max_parallel_tasks"],
            _task.available_cpu_count(),
            on_cluster=scheduler_address is not None,
        )
        # The task processes start (fork) inside: they and the scripts they
        # run inherit the variables.
        with _environment(env):
            return original(self, scheduler_address, session)

    _run_parallel.smeval_script_threads = True
    _task.TaskSet._run_parallel = _run_parallel  # noqa: SLF001
