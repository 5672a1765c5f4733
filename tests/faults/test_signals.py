"""A signal to the ``esmvaltool run`` pid alone ends every process of the run (issue 19, point 5; smeval.interrupts).

The real runs (marked ``e2e``: SIGTERM and SIGINT without ESMValTool,
SIGTERM beside it; about 15 s each) start ``esmvaltool run`` on the tiny
archive in a session of its own, wait until one of smeval's diagnostic
scripts runs, send the signal to the ``esmvaltool`` pid only (not the
process group) and check that no process of the run is left. One more real
run has a diagnostic script that fails: ESMValCore's ``Pool.terminate`` then
sends SIGTERM to the workers and waits for them, which once hung for ever
(the revert 0bb5611). The other tests check the workers' handler, the
parent-death signals, the hard stop and lost exceptions with small Python
processes, no ESMValCore run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from smeval import interrupts, runner
from smeval.report import locate

from .conftest import case_recipe, misspelled_region

#: Seconds after the signal by which every process of the run must have ended.
ENDED_WITHIN_S = 20
#: Seconds the run may take to reach its first diagnostic script.
SCRIPT_STARTS_WITHIN_S = 300
#: Seconds a run whose diagnostic script fails may take to end (about 60 s on the loaded 2-core machine).
FAILING_RUN_ENDS_WITHIN_S = 300


def _script_running(run: psutil.Process) -> bool:
    """True once one of smeval's diagnostic scripts is a process of the run."""
    return any(_is_script(process) for process in run.children(recursive=True))


def _is_script(process: psutil.Process) -> bool:
    """True if ``process`` runs one of smeval's diagnostic scripts (``diagnostics/<name>.py``)."""
    try:
        return any(
            part.endswith(".py") and "/diagnostics/" in part
            for part in process.cmdline()
        )
    except psutil.Error:
        return False


def _wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout_s} s"
        time.sleep(0.2)


@pytest.fixture(scope="session")
def esmvaltool_venv() -> Path:
    """The environment with the esmvaltool package beside smeval (the one tests/e2e/test_beside_esmvaltool.py uses)."""
    venv = runner.ROOT / ".venv-esmvaltool"
    process = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "venv-esmvaltool",
            f"VENV_ESMVALTOOL={venv}",
        ],
        check=False,
        cwd=runner.ROOT,
        capture_output=True,
        text=True,
    )
    assert process.returncode == 0, (
        process.stdout[-3000:] + process.stderr[-3000:]
    )
    return venv


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("signum", "beside_esmvaltool"),
    [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGTERM, True)],
    ids=["SIGTERM", "SIGINT", "SIGTERM-beside-ESMValTool"],
)
def test_a_signal_to_the_main_pid_ends_every_process_of_the_run(
    tiny_archive, tmp_path, request, signum, beside_esmvaltool
):
    recipe, config = case_recipe(tmp_path, tiny_archive)
    if beside_esmvaltool:  # the plugin loaded beside ESMValTool's own commands, run from another folder
        exe, cwd = (
            request.getfixturevalue("esmvaltool_venv") / "bin" / "esmvaltool",
            tmp_path,
        )
    else:
        exe, cwd = runner.esmvaltool_executable(), runner.ROOT
    cmd = [str(exe), "run", f"--config_dir={config}", str(recipe)]
    with (
        (tmp_path / "stdout.txt").open("w") as out,
        (tmp_path / "stderr.txt").open("w") as err,
    ):
        # A session of its own: the signal reaches only the pid it is sent to,
        # and the clean-up below can reach every process of the run.
        main = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdout=out,
            stderr=err,
            start_new_session=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    try:
        run = psutil.Process(main.pid)
        _wait_for(
            lambda: _script_running(run) or main.poll() is not None,
            SCRIPT_STARTS_WITHIN_S,
            "diagnostic script",
        )
        assert main.poll() is None, (tmp_path / "stdout.txt").read_text()[
            -3000:
        ]
        processes = run.children(recursive=True)
        scripts = [process for process in processes if _is_script(process)]
        os.kill(main.pid, signum)
        signalled = time.monotonic()
        # Popen reaps the main process (its exit status); psutil watches the others.
        main.wait(timeout=ENDED_WITHIN_S)
        _, alive = psutil.wait_procs(
            processes,
            timeout=max(0.0, ENDED_WITHIN_S - (time.monotonic() - signalled)),
        )
        took = time.monotonic() - signalled
    finally:
        with_leftovers = _kill_session(main.pid)
        main.wait()
    stderr = (tmp_path / "stderr.txt").read_text()
    assert not alive, (
        f"alive {ENDED_WITHIN_S} s after {signum.name}: {[p.pid for p in alive]}\n{stderr[-3000:]}"
    )
    assert not with_leftovers
    # The run had a pool of workers and a script (the scenario of the issue).
    assert len(processes) >= 3, processes
    assert scripts, processes
    assert main.returncode == 128 + signum, stderr[-3000:]
    run_dir = runner.latest_run_dir(tmp_path / "output", recipe.name)
    [line] = [line for line in stderr.splitlines() if "interrupted by" in line]
    assert line == (
        f"smeval: esmvaltool run interrupted by {signum.name}: all its processes were ended; "
        f"the run folder {run_dir} is incomplete"
    )
    assert "Traceback" not in stderr
    assert locate.run_state(run_dir) == "incomplete"
    assert locate.main([str(tmp_path / "output"), recipe.name]) == 1
    main_log = (run_dir / "run" / "main_log.txt").read_text()
    assert f"interrupted by {signum.name}" in main_log
    # ESMValCore lists the packages of the esmvaltool command (ESMValTool when installed: beside it, or
    # when this suite runs in .venv-esmvaltool).
    with_esmvaltool = (
        beside_esmvaltool or importlib.util.find_spec("esmvaltool") is not None
    )
    assert ("] ESMValTool: " in main_log) == with_esmvaltool
    print(
        f"{signum.name}: esmvaltool and {len(processes)} processes ended in {took:.1f} s"
    )


@pytest.mark.e2e
def test_a_run_whose_script_fails_ends_with_its_error_and_leaves_no_process(
    tiny_archive, tmp_path
):
    """ESMValCore's ``Pool.terminate`` sends SIGTERM to the workers and waits: each must end at once."""
    recipe, config = case_recipe(
        tmp_path, tiny_archive, edit=misspelled_region
    )
    cmd = [
        str(runner.esmvaltool_executable()),
        "run",
        f"--config_dir={config}",
        str(recipe),
    ]
    main = subprocess.Popen(
        cmd,
        cwd=runner.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    started = time.monotonic()
    try:
        out, err = main.communicate(timeout=FAILING_RUN_ENDS_WITHIN_S)
    except subprocess.TimeoutExpired:
        tree = _process_tree(main.pid)
        _kill_session(main.pid)
        main.communicate()
        pytest.fail(
            f"the run did not end within {FAILING_RUN_ENDS_WITHIN_S} s; its processes:\n{tree}"
        )
    took = time.monotonic() - started
    _, alive = psutil.wait_procs(_in_session(main.pid), timeout=10)
    leftovers = _process_tree(main.pid)
    _kill_session(main.pid)
    assert not alive, f"left after the run ended:\n{leftovers}"
    assert main.returncode == 1, err[-3000:]
    line = "smeval: error: regional_series: option `regions` has unknown value `EUROPE` (did you mean `EUR`?)"
    assert line in out + err, (out + err)[-3000:]
    assert "interrupted by" not in err
    print(f"the failing run ended in {took:.0f} s")


def _in_session(sid: int) -> list[psutil.Process]:
    return [p for p in psutil.process_iter() if _session(p) == sid]


def _process_tree(sid: int) -> str:
    """One line per process of session ``sid``: pid, parent, state, kernel wait channel, command."""
    lines = []
    for process in _in_session(sid):
        try:
            wchan = Path(f"/proc/{process.pid}/wchan").read_text()
            lines.append(
                f"{process.pid} {process.ppid()} {process.status()} {wchan} {' '.join(process.cmdline())}"
            )
        except (psutil.Error, OSError):
            continue
    return "\n".join(lines) or "(none)"


def _kill_session(pid: int) -> list[int]:
    """SIGKILL every process left in the session of ``pid``; returns their pids (none if all went)."""
    left = [p.pid for p in psutil.process_iter() if _session(p) == pid]
    for other in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(other, signal.SIGKILL)
    return [other for other in left if other != pid]


def _session(process: psutil.Process) -> int | None:
    try:
        return os.getsid(process.pid)
    except OSError:
        return None


PARENT = textwrap.dedent("""
    import os, subprocess, sys, time
    os.environ[{env!r}] = str(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", {child!r}])
    # One write per line: the child writes to this pipe too, and print()
    # makes two writes (text, end) when stdout is unbuffered.
    os.write(1, f"{{child.pid}}\\n".encode())
    time.sleep(600)
""")

CHILD = textwrap.dedent("""
    import os, time
    from smeval.interrupts import die_with_parent
    die_with_parent()
    os.write(1, b"armed\\n")
    time.sleep(600)
""")

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="prctl(PR_SET_PDEATHSIG) is Linux only",
)


@linux_only
def test_a_script_dies_with_its_parent_killed_outright():
    """What one of smeval's diagnostic scripts does when its ESMValCore worker gets SIGKILL."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            PARENT.format(env=interrupts.RUN_ENV, child=CHILD),
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        # The child writes to the parent's standard output too.
        lines = sorted(parent.stdout.readline().strip() for _ in range(2))
        assert lines[1] == "armed", lines
        child = psutil.Process(int(lines[0]))
        parent.kill()
        parent.wait()
        _, alive = psutil.wait_procs([child], timeout=10)
        assert not alive
    finally:
        _kill_session(parent.pid)


def test_a_script_whose_run_has_gone_stops_and_one_outside_a_run_goes_on():
    code = "from smeval.interrupts import die_with_parent; die_with_parent(); print('went on')"
    dead = subprocess.Popen(["true"])
    dead.wait()
    stopped = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, interrupts.RUN_ENV: str(dead.pid)},
    )
    if sys.platform.startswith("linux"):
        assert stopped.returncode == 1
        assert stopped.stderr.strip() == (
            f"smeval: the esmvaltool run (process {dead.pid}) that started this "
            "process has ended"
        )
    outside = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != interrupts.RUN_ENV},
    )
    assert (outside.returncode, outside.stdout) == (0, "went on\n")


RUN = textwrap.dedent("""
    import multiprocessing, os, subprocess, sys, time
    from smeval import interrupts

    def task(_):
        # As ESMValCore's DiagnosticTask: a worker starts a script and polls it.
        script = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        # One write per line: print() makes two (text, then end) when stdout is
        # unbuffered (PYTHONUNBUFFERED), and the two workers' pids then interleave.
        os.write(sys.stdout.fileno(), f"{script.pid}\\n".encode())
        while script.poll() is None:
            time.sleep(0.01)

    if __name__ == "__main__":
        interrupts.install()
        with multiprocessing.get_context("fork").Pool(2) as pool:
            pool.map(task, range(2))
""")


@linux_only
def test_the_workers_and_their_scripts_die_with_a_main_process_killed_outright(
    tmp_path,
):
    """SIGKILL to the main pid: its forked workers get SIGTERM from Linux and end their scripts first."""
    (tmp_path / "run.py").write_text(RUN)
    main = subprocess.Popen(
        [sys.executable, str(tmp_path / "run.py")],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        scripts = [
            psutil.Process(int(main.stdout.readline())) for _ in range(2)
        ]
        processes = psutil.Process(main.pid).children(recursive=True)
        assert len(processes) == 4
        assert set(scripts) <= set(processes)
        main.kill()
        main.wait()
        _, alive = psutil.wait_procs(processes, timeout=10)
        assert not alive
    finally:
        _kill_session(main.pid)


STUBBORN = textwrap.dedent("""
    import subprocess, sys, time
    from smeval import interrupts

    interrupts.HARD_STOP_S = float(sys.argv[1])
    interrupts.install()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        print(child.pid, flush=True)
        time.sleep(600)
    except SystemExit:
        # Unwinding that never ends (as Pool.terminate waiting for a lock a killed worker held).
        print("stuck", flush=True)
        time.sleep(600)
""")


@pytest.mark.parametrize(
    ("hard_stop_s", "signals"),
    [(1.0, 1), (600.0, 2)],
    ids=["deadline", "second-signal"],
)
def test_unwinding_that_hangs_is_cut_short(tmp_path, hard_stop_s, signals):
    """After HARD_STOP_S seconds, or at a second signal, every process is killed and the run exits 143."""
    (tmp_path / "stubborn.py").write_text(STUBBORN)
    main = subprocess.Popen(
        [sys.executable, str(tmp_path / "stubborn.py"), str(hard_stop_s)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        child = psutil.Process(int(main.stdout.readline()))
        main.send_signal(signal.SIGTERM)
        assert main.stdout.readline() == "stuck\n"
        if signals == 2:
            main.send_signal(signal.SIGTERM)
        _, err = main.communicate(timeout=60)
        _, alive = psutil.wait_procs([child], timeout=10)
    finally:
        _kill_session(main.pid)
    assert main.returncode == 143
    assert not alive
    assert err == (
        "smeval: esmvaltool run interrupted by SIGTERM: all its processes were ended; "
        "no run folder had been created\n"
    )


IGNORED = textwrap.dedent("""
    import time
    from smeval import interrupts

    interrupts.HARD_STOP_S = 600.0  # only raising the signal again can end this in time
    interrupts.install()

    class Slow:
        def __del__(self):
            print("in __del__", flush=True)
            start = time.monotonic()
            while time.monotonic() - start < 5:
                pass

    slow = Slow()
    del slow
    start = time.monotonic()
    while time.monotonic() - start < 600:
        pass
    print("finished", flush=True)
""")


def test_a_signal_python_ignores_in_del_is_raised_again(tmp_path):
    """Interrupted raised inside ``__del__`` (or a gc callback) is ignored by Python; it must not be lost."""
    (tmp_path / "ignored.py").write_text(IGNORED)
    main = subprocess.Popen(
        [sys.executable, str(tmp_path / "ignored.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert main.stdout.readline() == "in __del__\n"
        main.send_signal(signal.SIGTERM)
        out, err = main.communicate(timeout=60)
    finally:
        _kill_session(main.pid)
    assert main.returncode == 143, err
    assert "finished" not in out
    assert "Exception ignored" not in err
    assert "interrupted by SIGTERM" in err


SWALLOWING = textwrap.dedent("""
    import multiprocessing, time
    from smeval import interrupts

    def task(_):
        try:
            print("working", flush=True)
            time.sleep(600)
        except BaseException:
            pass  # a library's bare except: swallows the worker's Interrupted
        time.sleep(600)

    if __name__ == "__main__":
        interrupts.HARD_STOP_S = 600.0  # only the worker's own exit can end this in time
        interrupts.install()
        with multiprocessing.get_context("fork").Pool(1) as pool:
            pool.map(task, [0])
""")


def test_a_worker_that_swallows_the_signal_still_ends(tmp_path):
    """A worker never raises: it exits outright, as with SIGTERM's default."""
    (tmp_path / "swallowing.py").write_text(SWALLOWING)
    main = subprocess.Popen(
        [sys.executable, str(tmp_path / "swallowing.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert main.stdout.readline() == "working\n"
        [worker] = psutil.Process(main.pid).children()
        main.send_signal(signal.SIGTERM)
        _, err = main.communicate(timeout=60)
        _, alive = psutil.wait_procs([worker], timeout=10)
    finally:
        _kill_session(main.pid)
    assert main.returncode == 143, err
    assert not alive


FAILING = textwrap.dedent("""
    import multiprocessing, subprocess, sys, threading, time
    from concurrent.futures import ThreadPoolExecutor
    from smeval import interrupts

    def task(i):
        if i == 0:
            time.sleep(1)
            raise ValueError("the script failed")
        # As a preprocessing task beside a diagnostic one: busy threads that
        # never end, a lock held by one of them, and a script.
        lock = threading.Lock()
        threading.Thread(target=lambda: (lock.acquire(), time.sleep(600))).start()
        script = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        print(script.pid, flush=True)
        with ThreadPoolExecutor(2) as pool:
            pool.submit(time.sleep, 600)
            with lock:
                pass

    if __name__ == "__main__":
        interrupts.install()
        with multiprocessing.get_context("fork").Pool(2) as pool:
            for _ in pool.imap(task, [0, 1]):  # raises at the first failure, as ESMValCore does
                pass
""")


def test_a_failing_task_ends_the_pool_whose_other_worker_is_busy(tmp_path):
    """A task fails: Pool.terminate's SIGTERM ends a worker with busy threads and a held lock, and its script."""
    (tmp_path / "failing.py").write_text(FAILING)
    main = subprocess.Popen(
        [sys.executable, str(tmp_path / "failing.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        script = psutil.Process(int(main.stdout.readline()))
        _, err = main.communicate(timeout=60)
        _, alive = psutil.wait_procs([script], timeout=10)
    finally:
        _kill_session(main.pid)
    assert main.returncode == 1, err
    assert err.rstrip().endswith("ValueError: the script failed"), err
    assert not alive  # Python's default SIGTERM would leave it running


GROUP = textwrap.dedent("""
    import multiprocessing, os, time
    from smeval import interrupts

    def task(i):
        os.write(1, f"task {i}\\n".encode())  # one write: the two workers share the pipe
        if i == 0:
            time.sleep(600)

    if __name__ == "__main__":
        interrupts.HARD_STOP_S = 600.0  # only the released queue lock ends this in time
        interrupts.install()
        with multiprocessing.get_context("fork").Pool(2) as pool:
            pool.map(task, [0, 1], chunksize=1)
""")


def test_a_signal_to_the_process_group_ends_a_pool_with_an_idle_worker(
    tmp_path,
):
    """The idle worker holds the task queue's lock, which ``Pool.terminate`` takes: it must release it."""
    (tmp_path / "group.py").write_text(GROUP)
    main = subprocess.Popen(
        [sys.executable, str(tmp_path / "group.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert sorted(main.stdout.readline() for _ in range(2)) == [
            "task 0\n",
            "task 1\n",
        ]
        workers = psutil.Process(main.pid).children()
        time.sleep(
            0.5
        )  # the worker of task 1 waits for the next task, holding the lock
        os.killpg(main.pid, signal.SIGTERM)
        _, err = main.communicate(timeout=60)
        _, alive = psutil.wait_procs(workers, timeout=10)
    finally:
        _kill_session(main.pid)
    assert main.returncode == 143, err
    assert not alive
    assert err == (
        "smeval: esmvaltool run interrupted by SIGTERM: all its processes were ended; "
        "no run folder had been created\n"
    )
