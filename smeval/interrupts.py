"""An interrupted ``esmvaltool run`` ends all its processes and says its run folder is incomplete.

Why: ESMValCore 2.15 runs a recipe's tasks in a ``multiprocessing.Pool`` of
processes forked from the ``esmvaltool`` process; a diagnostic task starts
its script with ``subprocess.Popen`` (``esmvalcore._task``: ``_run_parallel``,
``DiagnosticTask._run``). Python's default SIGTERM ends only the process that
gets it, so a batch scheduler's SIGTERM to the ``esmvaltool`` pid left the
workers (parent pid 1) and their scripts writing into the dead run. SIGINT to
that pid alone unwinds ``with multiprocessing.Pool``, whose ``terminate``
sends SIGTERM to the workers; they died at once and left their scripts
running.

What smeval adds, without replacing any ESMValCore function (the plugin,
:mod:`smeval.plugin`, calls :func:`install` in the ``esmvaltool run``
process before the recipe is read; ESMValCore's workers are forked from that
process and inherit it):

1. In the ``esmvaltool`` process, SIGTERM and SIGINT raise
   :class:`Interrupted` (a ``SystemExit`` with status 128 + signal number:
   143, 130). ESMValCore unwinds as it does for Ctrl-C: the pool terminates
   its workers, the ``multiprocessing.Manager`` and a Dask cluster are shut
   down; ESMValCore never writes "Run was successful", so the run folder
   stays *incomplete* for :func:`smeval.report.locate.run_state`. At exit,
   any process of the run still alive is ended (SIGTERM, then SIGKILL after
   :data:`GRACE_S`) and one line says that the run was interrupted. If
   unwinding takes longer than :data:`HARD_STOP_S` (a worker killed while it
   held the pool's queue lock makes ``Pool.terminate`` wait for ever), or on
   a second signal, every process of the run is killed at once. Where
   Python ignores the exception (raised inside a gc callback or
   ``__del__``), it is raised again (``sys.unraisablehook``).
2. In a process forked from it (pool workers, the Manager's server), the
   same signals first end that process's own children, the diagnostic
   script a worker started, then the process exits. Each forked process
   also asks Linux to send it SIGTERM when the ``esmvaltool`` process dies
   (``prctl(PR_SET_PDEATHSIG)``), so even SIGKILL of that pid takes the
   workers, and through them their scripts, with it. A worker that does
   not end within :data:`GRACE_S` of its signal (a library swallowed the
   exception) exits outright.
3. smeval's diagnostic scripts call :func:`die_with_parent` (through
   ``smeval.diag.shared.run_diagnostic``): they ask the same for their parent
   worker, so a worker killed by SIGKILL takes its script with it, and a
   script whose run has already gone stops.

Linux only for the parent-death signal (ctypes ``prctl``); elsewhere 1 and 2
still apply. A signal that the shell set to be ignored (``nohup``, ``&`` in a
script) stays ignored.
"""

from __future__ import annotations

import _thread
import atexit
import contextlib
import ctypes
import functools
import logging
import os
import signal
import sys
import threading
import time
from multiprocessing import resource_tracker
from pathlib import Path

import psutil

#: Environment variable holding the pid of the ``esmvaltool run`` process; inherited by its workers and scripts.
RUN_ENV = "SMEVAL_ESMVALTOOL_PID"
#: Signals that interrupt a run.
SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: Seconds a process of the run has to end after SIGTERM before it gets SIGKILL.
GRACE_S = 3.0
#: Seconds ESMValCore has to unwind after the first signal before every process of the run is killed.
HARD_STOP_S = 10.0
#: ``PR_SET_PDEATHSIG`` of ``<linux/prctl.h>``.
_PR_SET_PDEATHSIG = 1

#: pid of the ``esmvaltool run`` process in which :func:`install` ran (None elsewhere).
_main_pid: int | None = None
#: The first signal the ``esmvaltool run`` process received, or None.
_received: int | None = None
#: Set when Python ignored an :class:`Interrupted` (:func:`_on_unraisable`); :func:`_watch` raises it again.
_ignored = False
#: True while the signal is raised again after :data:`_ignored` (then it is no second signal).
_raising_again = False
#: ``sys.unraisablehook`` before :func:`install`.
_previous_unraisablehook = sys.__unraisablehook__
#: Held by whoever says that the run was interrupted (at exit or the hard stop): said once.
_announcing = threading.Lock()


class Interrupted(SystemExit):
    """Raised in the ``esmvaltool run`` process by SIGTERM or SIGINT; exit status 128 + signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


def install() -> None:
    """Set up 1-2 of the module docstring in this (the ``esmvaltool run``) process; idempotent.

    Must run in the main thread, before ESMValCore forks its workers.
    """
    global _main_pid, _previous_unraisablehook  # noqa: PLW0603 - one run per process
    if _main_pid == os.getpid() or threading.current_thread() is not threading.main_thread():
        return
    _main_pid = os.getpid()
    os.environ[RUN_ENV] = str(_main_pid)
    for signum in SIGNALS:
        if signal.getsignal(signum) not in (signal.SIG_IGN, None):
            signal.signal(signum, _on_signal)
    _previous_unraisablehook, sys.unraisablehook = sys.unraisablehook, _on_unraisable
    os.register_at_fork(after_in_child=_after_fork)
    atexit.register(_at_exit)


def die_with_parent() -> None:
    """In a process started by a process of an ``esmvaltool run``: get SIGTERM when the parent dies.

    Does nothing outside such a run (no :data:`RUN_ENV`, e.g. a script run by
    hand) and on platforms without ``prctl``.

    Raises
    ------
    SystemExit
        With one line, if the run has ended already (the parent died before
        the request was made).
    """
    run = os.environ.get(RUN_ENV)
    if not run or not _ask_for_sigterm_when_parent_dies():
        return
    if not _belongs_to_run(os.getppid(), int(run)):
        raise SystemExit(f"smeval: the esmvaltool run (process {run}) that started this process has ended")


def _on_signal(signum: int, frame) -> None:  # noqa: ARG001 - signal handler signature
    global _received, _raising_again  # noqa: PLW0603
    if os.getpid() != _main_pid:
        # A forked process (worker): its script first, then itself. Raising
        # (not os._exit) releases the pool's queue lock a worker holds while idle.
        _end_processes(_descendants())
        # Should a library swallow the exception (a bare ``except:``), the
        # process still ends: os._exit is what SIGTERM's default does.
        threading.Thread(target=_exit_after, args=(GRACE_S, 128 + signum), daemon=True).start()
        raise Interrupted(signum)
    if _raising_again:
        _raising_again = False
    elif _received is not None:
        _hard_stop()  # a second signal
    else:
        _received = signum
        threading.Thread(target=_watch, name="smeval-interrupt", daemon=True).start()
    raise Interrupted(signum)


def _exit_after(delay_s: float, status: int) -> None:
    time.sleep(delay_s)
    os._exit(status)


def _on_unraisable(unraisable) -> None:
    """``sys.unraisablehook``: Python ignored an :class:`Interrupted` (raised in a gc callback or ``__del__``).

    Distributed's gc callback runs often; a signal handled inside it would be
    lost. A forked process exits at once (its children are ended already);
    in the ``esmvaltool`` process, :func:`_watch` raises it again.
    """
    global _ignored  # noqa: PLW0603
    if not isinstance(unraisable.exc_value, Interrupted):
        _previous_unraisablehook(unraisable)
    elif os.getpid() != _main_pid:
        os._exit(unraisable.exc_value.code)
    else:
        _ignored = True


def _watch() -> None:
    """In the ``esmvaltool`` process after the first signal: raise it again where Python ignored it; hard stop.

    From this thread, not from the hook: raised inside the hook, it would be
    ignored again.
    """
    global _ignored, _raising_again  # noqa: PLW0603
    deadline = time.monotonic() + HARD_STOP_S
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if _ignored:
            _ignored, _raising_again = False, True
            _thread.interrupt_main(_received)
    _hard_stop()


def _after_fork() -> None:
    """In a process just forked from the ``esmvaltool run`` process: die with it."""
    if _main_pid is None or os.getppid() != _main_pid:
        return  # forked by another process (a worker), which does this itself where needed
    if _ask_for_sigterm_when_parent_dies() and os.getppid() != _main_pid:
        # The run died between fork and prctl. Not SystemExit: the forked
        # copy of the parent's stack must not unwind the parent's code.
        os._exit(128 + signal.SIGTERM)


def _at_exit() -> None:
    if os.getpid() != _main_pid or _received is None:
        return
    _end_processes(_descendants())
    _announce()


def _hard_stop() -> None:
    """Kill every process of the run, report and exit (status 128 + signal)."""
    for process in _descendants():
        with contextlib.suppress(psutil.Error):
            process.kill()
    _announce()
    os._exit(128 + (_received or signal.SIGTERM))


def _descendants() -> list[psutil.Process]:
    """This process's descendants, less multiprocessing's resource tracker.

    The tracker (started by spawned processes, e.g. of a Dask LocalCluster)
    ignores SIGTERM and SIGINT and ends by itself once this process has
    ended, after removing what the run leaked (semaphores, shared memory).
    """
    tracker = getattr(resource_tracker._resource_tracker, "_pid", None)
    try:
        return [p for p in psutil.Process().children(recursive=True) if p.pid != tracker]
    except psutil.Error:
        return []


def _end_processes(processes: list[psutil.Process]) -> None:
    """SIGTERM to each process, SIGKILL to those still alive after :data:`GRACE_S` seconds."""
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=GRACE_S)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()


def _announce() -> None:
    """One line on standard error, and in the run's main logs if they are open (once)."""
    if not _announcing.acquire(blocking=False):
        return
    name = signal.Signals(_received).name if _received else "a signal"
    logs = _main_logs()
    where = (f"the run folder {Path(logs[0].baseFilename).parents[1]} is incomplete" if logs
             else "no run folder had been created")
    message = f"esmvaltool run interrupted by {name}: all its processes were ended; {where}"
    print(f"smeval: {message}", file=sys.stderr, flush=True)  # noqa: T201
    record = logging.LogRecord("smeval.interrupts", logging.ERROR, __file__, 0, message, None, None)
    for handler in logs:
        with contextlib.suppress(Exception):
            handler.emit(record)  # not handle(): ESMValCore's filters drop other packages' loggers


def _main_logs() -> list[logging.FileHandler]:
    """ESMValCore's ``run/main_log*.txt`` handlers, main_log.txt first (none before the run folder exists)."""
    handlers = [h for h in logging.getLogger().handlers
                if isinstance(h, logging.FileHandler) and Path(h.baseFilename).name.startswith("main_log")]
    return sorted(handlers, key=lambda h: Path(h.baseFilename).name)


def _belongs_to_run(pid: int, run_pid: int) -> bool:
    """True if process ``pid`` is the ``esmvaltool run`` process ``run_pid`` or one of its descendants."""
    try:
        process = psutil.Process(pid)
        return pid == run_pid or any(parent.pid == run_pid for parent in process.parents())
    except psutil.Error:
        return False


@functools.cache
def _prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _ask_for_sigterm_when_parent_dies() -> bool:
    """``prctl(PR_SET_PDEATHSIG, SIGTERM)``: True if Linux accepted it."""
    prctl = _prctl()
    return prctl is not None and prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) == 0
