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
   unwinding takes longer than :data:`HARD_STOP_S` (e.g. a worker killed
   while it wrote its result makes ``Pool.terminate`` wait for ever), or on
   a second signal, every process of the run is killed at once; a thread
   started by :func:`install`, idle until the first signal, keeps that
   time. Where Python ignores the exception (raised inside a gc callback or
   ``__del__``), it is raised again (``sys.unraisablehook``).
2. In a process forked from it (pool workers, the Manager's server), the
   same signals do what SIGTERM's default does, plus taking the children
   along: the process sends SIGTERM to its descendants (the diagnostic
   script a worker started; SIGKILL after :data:`GRACE_S`) and exits at
   once (``os._exit``, status 128 + signal number), with system calls only:
   no thread, no lock, no logging, no exception. This is also the path of
   a run that fails: ESMValCore's ``Pool.terminate`` sends SIGTERM to the
   workers and waits for them, so a worker must not wait for a lock or a
   thread (Dask's, ESMValCore's resource logger). An idle worker first
   releases the pool's task-queue lock (``Pool.terminate`` takes it when
   the signal reached the whole process group). Each forked process also
   asks Linux to send it SIGTERM when the ``esmvaltool`` process dies
   (``prctl(PR_SET_PDEATHSIG)``), so even SIGKILL of that pid takes the
   workers, and through them their scripts, with it.
3. smeval's diagnostic scripts call :func:`die_with_parent` (through
   ``smeval.diag.shared.run_diagnostic``): they ask the same for their parent
   worker, so a worker killed by SIGKILL takes its script with it, and a
   script whose run has already gone stops.

Linux only for the parent-death signal (ctypes ``prctl``) and for finding
the descendants (``/proc``); elsewhere a forked process just exits. A signal
that the shell set to be ignored (``nohup``, ``&`` in a script) stays
ignored. Python runs signal handlers in the main thread between bytecodes: a
worker whose main thread is inside one long C call ends when the call
returns.
"""

from __future__ import annotations

import _thread
import atexit
import contextlib
import ctypes
import functools
import gc
import logging
import multiprocessing.pool
import os
import signal
import sys
import threading
import time
from multiprocessing import resource_tracker
from pathlib import Path

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
#: Set when Python ignored an :class:`Interrupted` (:func:`_on_unraisable`); :func:`_watchdog` raises it again.
_ignored = False
#: True while the signal is raised again after :data:`_ignored` (then it is no second signal).
_raising_again = False
#: ``sys.unraisablehook`` before :func:`install`.
_previous_unraisablehook = sys.__unraisablehook__
#: Write end of the pipe on which :func:`_watchdog` waits for the first signal (None before :func:`install`).
_wake_fd: int | None = None
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
    global _main_pid, _previous_unraisablehook, _wake_fd  # noqa: PLW0603 - one run per process
    if (
        _main_pid == os.getpid()
        or threading.current_thread() is not threading.main_thread()
    ):
        return
    _main_pid = os.getpid()
    os.environ[RUN_ENV] = str(_main_pid)
    # Looked up now: dlopen in a process forked from a threaded one may wait for a lock no thread will release.
    _prctl()
    # The watchdog thread starts now and idles; a thread started inside the
    # signal handler could wait for ever for a lock (imports, logging) that
    # the interrupted code holds.
    wait_fd, _wake_fd = os.pipe()
    threading.Thread(
        target=_watchdog, args=(wait_fd,), name="smeval-interrupt", daemon=True
    ).start()
    for signum in SIGNALS:
        if signal.getsignal(signum) not in (signal.SIG_IGN, None):
            signal.signal(signum, _on_signal)
    _previous_unraisablehook, sys.unraisablehook = (
        sys.unraisablehook,
        _on_unraisable,
    )
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
        msg = f"smeval: the esmvaltool run (process {run}) that started this process has ended"
        raise SystemExit(msg)


def _on_signal(signum: int, frame) -> None:
    global _received, _raising_again  # noqa: PLW0603
    if os.getpid() != _main_pid:
        _end_forked_process(signum, frame)
    if _raising_again:
        _raising_again = False
    elif _received is not None:
        _hard_stop()  # a second signal
    else:
        _received = signum
        os.write(_wake_fd, b"!")  # the watchdog counts HARD_STOP_S from now
    raise Interrupted(signum)


def _end_forked_process(signum: int, frame) -> None:
    """In a process forked from the ``esmvaltool`` process (a pool worker, the Manager): end it and its children.

    What SIGTERM's default does, plus the children (the diagnostic script a
    worker started). Only system calls: no threads, no logging, no raising.
    ``Pool.terminate`` in the ``esmvaltool`` process waits for this process;
    code that waits for a lock or a thread here (a thread of Dask, of
    ESMValCore's resource logger, or one that held a lock at fork) would make
    that wait last for ever.
    """
    gc.disable()  # a collection now could run __del__ methods that take locks
    _release_task_queue(frame)
    _end(_descendants(os.getpid()))
    os._exit(128 + signum)


def _release_task_queue(frame) -> None:
    """Release the pool's task-queue lock if this worker holds it (it does while it waits for a task).

    A worker that exits holding it leaves ``Pool.terminate`` in the
    ``esmvaltool`` process waiting for it (``_help_stuff_finish``): that
    happens when the signal reaches the whole process group (Ctrl-C in a
    terminal, a batch scheduler). Releasing is ``sem_post``, no lock.
    """
    while (
        frame is not None
        and frame.f_code is not multiprocessing.pool.worker.__code__
    ):
        frame = frame.f_back
    inqueue = frame.f_locals.get("inqueue") if frame is not None else None
    lock = getattr(inqueue, "_rlock", None)
    if lock is not None and lock._semlock._is_mine():  # noqa: SLF001 - the pool's own lock, no public API
        lock.release()


def _on_unraisable(unraisable) -> None:
    """``sys.unraisablehook``: Python ignored an :class:`Interrupted` (raised in a gc callback or ``__del__``).

    Distributed's gc callback runs often; a signal handled inside it would be
    lost: :func:`_watchdog` raises it again.
    """
    global _ignored  # noqa: PLW0603
    if (
        isinstance(unraisable.exc_value, Interrupted)
        and os.getpid() == _main_pid
    ):
        _ignored = True
    else:
        _previous_unraisablehook(unraisable)


def _watchdog(wait_fd: int) -> None:
    """Thread of the ``esmvaltool`` process, idle until the first signal: raise it again where Python ignored it; hard stop.

    Raised again from here, not from the hook: raised inside the hook, it
    would be ignored again.
    """
    global _ignored, _raising_again
    os.read(wait_fd, 1)
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
    _end(_descendants(os.getpid()))
    _announce()


def _hard_stop() -> None:
    """Kill every process of the run, report and exit (status 128 + signal); from any thread, no lock waited for."""
    _send(_descendants(os.getpid()), signal.SIGKILL)
    _announce()
    os._exit(128 + (_received or signal.SIGTERM))


def _descendants(root: int) -> list[int]:
    """Pids of the processes descended from ``root``, less multiprocessing's resource tracker (Linux: /proc).

    Only system calls (safe in a signal handler of a forked process). The
    tracker (started by spawned processes, e.g. of a Dask LocalCluster)
    ignores SIGTERM and SIGINT and ends by itself once this process has
    ended, after removing what the run leaked (semaphores, shared memory).
    """
    try:
        names = os.listdir("/proc")  # noqa: PTH208 - plain system calls in a signal handler
    except OSError:
        return []
    children: dict[int, list[int]] = {}
    for name in names:
        if name.isdigit() and (stat := _stat(int(name))) is not None:
            children.setdefault(stat[1], []).append(int(name))
    found, todo = [], [root]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    tracker = getattr(resource_tracker._resource_tracker, "_pid", None)  # noqa: SLF001 - no public API
    return [pid for pid in found if pid != tracker]


def _stat(pid: int) -> tuple[bytes, int] | None:
    """State letter and parent pid of process ``pid`` from ``/proc/PID/stat`` (None if it has gone)."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, 1024)
    except OSError:
        return None
    finally:
        os.close(fd)
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    fields = data[data.rfind(b")") + 2 :].split()
    return (fields[0], int(fields[1])) if len(fields) > 1 else None


def _alive(pid: int) -> bool:
    """Return True unless process ``pid`` has gone or is a zombie (ended, not yet reaped)."""
    stat = _stat(pid)
    return stat is not None and stat[0] not in (b"Z", b"X")


def _send(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):  # gone already
            os.kill(pid, signum)


def _end(pids: list[int]) -> None:
    """SIGTERM to each process, SIGKILL to those still alive after :data:`GRACE_S` seconds (system calls only)."""
    _send(pids, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    _send([pid for pid in pids if _alive(pid)], signal.SIGKILL)


def _announce() -> None:
    """One line on standard error, and in the run's main logs if they are open (once).

    Written with ``os.write``: the hard stop calls this from the watchdog
    thread while the main thread may hold the locks of ``sys.stderr`` and of
    the log handlers.
    """
    if not _announcing.acquire(blocking=False):
        return
    name = signal.Signals(_received).name if _received else "a signal"
    logs = _main_logs()
    where = (
        f"the run folder {Path(logs[0].baseFilename).parents[1]} is incomplete"
        if logs
        else "no run folder had been created"
    )
    message = f"esmvaltool run interrupted by {name}: all its processes were ended; {where}"
    os.write(2, f"smeval: {message}\n".encode())
    record = logging.LogRecord(
        "smeval.interrupts", logging.ERROR, __file__, 0, message, None, None
    )
    for handler in logs:
        try:
            # handler.format, not handle(): ESMValCore's filters drop other packages' loggers.
            fd = os.open(handler.baseFilename, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(fd, f"{handler.format(record)}\n".encode())
            finally:
                os.close(fd)
        except Exception:  # noqa: BLE001, S110 - the line on standard error is enough
            pass


def _main_logs() -> list[logging.FileHandler]:
    """ESMValCore's ``run/main_log*.txt`` handlers, main_log.txt first (none before the run folder exists)."""
    handlers = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.FileHandler)
        and Path(h.baseFilename).name.startswith("main_log")
    ]
    return sorted(handlers, key=lambda h: Path(h.baseFilename).name)


def _belongs_to_run(pid: int, run_pid: int) -> bool:
    """Return True if process ``pid`` is the ``esmvaltool run`` process ``run_pid`` or one of its descendants."""
    while pid > 1 and pid != run_pid:
        stat = _stat(pid)
        if stat is None:
            return False
        pid = stat[1]
    return pid == run_pid


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
    return (
        prctl is not None
        and prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) == 0
    )
