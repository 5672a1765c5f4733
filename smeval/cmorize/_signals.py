"""SIGINT and SIGTERM during a conversion: never lost, never half-applied.

Python's default SIGINT handler raises ``KeyboardInterrupt`` wherever the
interpreter happens to be; raised inside a destructor, a weak-reference
callback or a library's cleanup, it is printed as "Exception ignored" and the
run goes on to exit 0 (seen in 6 of 12 Ctrl-C during writing). SIGTERM's
default ends the process without running any ``finally``, so staging
folders stay behind.

:func:`interrupts_guarded` installs one handler for both signals. It records
the signal (so that it cannot be lost: :func:`check` re-raises it at the
converter's checkpoints, each month written and before files are moved into
place) and raises :class:`Interrupted` the first time only, so that a second
Ctrl-C does not interrupt the clean-up. :func:`deferred` holds both signals
back while files are moved into place, so that a run either moves all its
files or none.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

#: Signals handled; SIGTERM is what batch schedulers and ``kill`` send.
HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """The run received SIGINT or SIGTERM (a ``BaseException``, like ``KeyboardInterrupt``)."""

    def __init__(self, signum: int, *, held: bool = False) -> None:
        self.signum = signum
        #: True when the signal arrived during :func:`deferred`, i.e. after
        #: the block it held back (moving files into place) completed.
        self.held = held
        #: Files already in place when the signal took effect (set by the converter).
        self.written: list = []
        super().__init__(f"interrupted by {self.name}")

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """Shell convention: 128 + signal number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum


class _State:
    signum: int | None = None
    active: bool = False
    holding: bool = False


_STATE = _State()


def received() -> int | None:
    """Return the first signal received inside :func:`interrupts_guarded`, or None."""
    return _STATE.signum


def check() -> None:
    """Raise :class:`Interrupted` if a signal was received (a lost raise included)."""
    if _STATE.active and _STATE.signum is not None:
        raise Interrupted(_STATE.signum)


def _handler(signum, frame) -> None:  # noqa: ARG001 - signal.signal's handler signature
    if _STATE.signum is None:
        _STATE.signum = signum
        if not _STATE.holding:
            raise Interrupted(signum)


@contextlib.contextmanager
def interrupts_guarded() -> Iterator[None]:
    """Handle SIGINT/SIGTERM as the module says; restores the previous handlers.

    Outside the main thread (signals cannot be handled there) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in HANDLED}
    _STATE.signum, _STATE.active, _STATE.holding = None, True, False
    try:
        for s in HANDLED:
            signal.signal(s, _handler)
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _STATE.signum, _STATE.active, _STATE.holding = None, False, False


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back during the block.

    The handler only records a signal that arrives meanwhile; it is raised
    after the block, as ``Interrupted(held=True)`` when the block completed,
    so that the caller knows the block's work is done. (Blocking the signals
    with ``pthread_sigmask`` would not do: it blocks them for one thread
    only, and the kernel hands a process's signal to any thread, e.g.
    tqdm's monitor.)
    """
    if not _STATE.active:
        yield
        return
    held_before = _STATE.signum
    _STATE.holding = True
    completed = False
    try:
        yield
        completed = True
    finally:
        _STATE.holding = False
    if completed and held_before is None and _STATE.signum is not None:
        raise Interrupted(_STATE.signum, held=True)
