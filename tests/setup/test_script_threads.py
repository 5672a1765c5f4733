"""The diagnostic scripts' Dask threads: ESMValCore's rule for preprocessing tasks, cores / tasks at once.

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
from smeval.script_threads import THREADS_ENV


@pytest.fixture(autouse=True)
def no_choice_yet(monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
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
        self.seen: list[str | None] = []

    def flatten(self) -> list[int]:
        return list(range(self.n_tasks))


@pytest.fixture
def installed(monkeypatch):
    def run(self, *_args):
        self.seen.append(os.environ.get(THREADS_ENV))
        return "done"

    monkeypatch.setattr(_task.TaskSet, "_run_parallel", run)
    monkeypatch.setattr(_task, "available_cpu_count", lambda: 8)
    script_threads.install()
    script_threads.install()  # idempotent: one wrapper
    return _task.TaskSet._run_parallel


def test_the_parallel_run_hands_the_threads_to_its_processes(installed):
    tasks = _Tasks(18)
    assert installed(tasks, None, {"max_parallel_tasks": 2}) == "done"
    assert tasks.seen == ["4"]
    assert THREADS_ENV not in os.environ  # only while the tasks run


def test_on_a_dask_cluster_the_scripts_use_the_cluster(installed):
    tasks = _Tasks(18)
    installed(tasks, "tcp://127.0.0.1:8786", {"max_parallel_tasks": 2})
    assert tasks.seen == [None]


def test_install_wraps_once(installed):
    assert installed.smeval_script_threads
    assert not getattr(installed.__wrapped__, "smeval_script_threads", False)
