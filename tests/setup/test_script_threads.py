"""The diagnostic scripts' Dask and BLAS threads: ESMValCore's rule for preprocessing tasks, cores / tasks at once.

The rule is checked against values worked out by hand; the installed wrapper
of ESMValCore's parallel run against a stand-in run that records the
environment its task processes (and so the scripts) would inherit.
"""

from __future__ import annotations

import os

import dask.config
import pytest
from esmvalcore import _task

from smeval import script_threads
from smeval.script_threads import BLAS_THREADS_ENV, THREADS_ENV

#: Every variable the wrapper may set.
ALL_ENV = (THREADS_ENV, *BLAS_THREADS_ENV)


@pytest.fixture(autouse=True)
def no_choice_yet(monkeypatch):
    for name in ALL_ENV:
        monkeypatch.delenv(name, raising=False)
    with dask.config.set({"num_workers": None, "scheduler": "threads"}):
        yield


@pytest.mark.parametrize(
    ("n_tasks", "max_parallel_tasks", "n_cores", "threads"),
    [
        (18, 2, 2, 1),  # the default archive on these machines
        (18, None, 2, 1),  # ESMValCore's default: a task per core
        (18, 2, 8, 4),
        (18, 3, 8, 3),  # round(8 / 3)
        (18, 16, 8, 1),  # more tasks than cores: still one
        (1, 4, 4, 4),  # one task has all cores
    ],
)
def test_the_cores_are_shared_among_the_tasks_at_once(
    n_tasks, max_parallel_tasks, n_cores, threads
):
    got = script_threads.script_threads(n_tasks, max_parallel_tasks, n_cores)
    assert got == threads


def test_a_users_choice_stays(monkeypatch):
    with dask.config.set({"num_workers": 3}):
        assert script_threads.script_threads(18, 2, 8) is None
    monkeypatch.setenv(THREADS_ENV, "3")
    assert script_threads.script_threads(18, 2, 8) is None


@pytest.mark.parametrize("scheduler", ["processes", "synchronous"])
def test_other_schedulers_are_left_alone(scheduler):
    with dask.config.set({"scheduler": scheduler}):
        assert script_threads.script_threads(18, 2, 8) is None


class _Tasks:
    """A stand-in for ESMValCore's TaskSet: records the environment of its run."""

    def __init__(self, n_tasks: int) -> None:
        self.n_tasks = n_tasks
        self.seen: list[dict[str, str]] = []

    def flatten(self) -> list[int]:
        return list(range(self.n_tasks))


@pytest.fixture
def installed(monkeypatch):
    def run(self, *_args):
        self.seen.append(
            {n: os.environ[n] for n in ALL_ENV if n in os.environ}
        )
        return "done"

    monkeypatch.setattr(_task.TaskSet, "_run_parallel", run)
    monkeypatch.setattr(_task, "available_cpu_count", lambda: 8)
    script_threads.install()
    script_threads.install()  # idempotent: one wrapper
    return _task.TaskSet._run_parallel


def test_the_parallel_run_hands_the_threads_to_its_processes(installed):
    tasks = _Tasks(18)
    assert installed(tasks, None, {"max_parallel_tasks": 2}) == "done"
    # 8 cores, 2 tasks at once: 4 Dask threads and 4 BLAS threads each.
    assert tasks.seen == [dict.fromkeys(ALL_ENV, "4")]
    assert not set(ALL_ENV) & set(os.environ)  # only while the tasks run


def test_on_a_dask_cluster_the_scripts_use_the_cluster(installed):
    # Dask's work goes to the cluster; the BLAS threads are the script's own.
    tasks = _Tasks(18)
    installed(tasks, "tcp://127.0.0.1:8786", {"max_parallel_tasks": 2})
    assert tasks.seen == [dict.fromkeys(BLAS_THREADS_ENV, "4")]


@pytest.mark.parametrize("chosen", BLAS_THREADS_ENV)
def test_a_users_blas_threads_stay(installed, monkeypatch, chosen):
    # Any one of the variables set is the user's choice: none is added (an
    # OPENBLAS_NUM_THREADS of ours would override the user's OMP_NUM_THREADS).
    monkeypatch.setenv(chosen, "3")
    tasks = _Tasks(18)
    installed(tasks, None, {"max_parallel_tasks": 2})
    assert tasks.seen == [{THREADS_ENV: "4", chosen: "3"}]
    assert os.environ[chosen] == "3"


def test_one_task_at_a_time_keeps_every_default(installed):
    tasks = _Tasks(18)
    installed(tasks, None, {"max_parallel_tasks": 1})
    assert tasks.seen == [{THREADS_ENV: "8"}]
    tasks = _Tasks(1)
    installed(tasks, None, {"max_parallel_tasks": 4})
    assert tasks.seen == [{THREADS_ENV: "8"}]


def test_install_wraps_once(installed):
    assert installed.smeval_script_threads
    assert not getattr(installed.__wrapped__, "smeval_script_threads", False)
