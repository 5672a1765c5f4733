"""Staging folders that a crash cannot orphan for good.

The converter writes into a staging folder (``OUT/.smeval-cmorize-*``, on
the output's file system so that the final ``os.replace`` is atomic) and
decodes GRIB into another (``$TMPDIR/smeval-cmorize-grib-*``). Normal exits,
errors, SIGINT and SIGTERM remove them (``finally`` blocks); SIGKILL, a
power cut or an out-of-memory kill cannot. So every staging folder holds a
lock file, locked (``fcntl.flock``) for as long as its process lives: the
kernel drops the lock when the process dies, however it dies. Each run first
removes the folders of its kind whose lock nobody holds and whose process
(pid in the lock file) is gone (:func:`clean_stale`), so a concurrent run's
folder, locked, is left alone; a folder whose pid cannot be read (a run that
is just creating it) is left alone for :data:`UNLOCKED_GRACE_S`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

#: Name of the lock file inside a staging folder.
LOCK_NAME = ".lock"
#: Folders without a lock file or pid are removed only when older than this
#: (s): a concurrent run writes them right after creating the folder.
UNLOCKED_GRACE_S = 60.0


@contextlib.contextmanager
def staging_dir(parent: Path, prefix: str) -> Iterator[Path]:
    """Yield a new folder ``parent/prefix*``, locked while the block runs, removed after it.

    Stale folders of the same ``prefix`` in ``parent`` (left by a killed run)
    are removed first.
    """
    clean_stale(parent, prefix)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    fd = None
    try:
        fd = os.open(folder / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if fd is not None:
            os.close(fd)


def clean_stale(parent: Path, prefix: str) -> list[Path]:
    """Remove the folders ``parent/prefix*`` whose process is gone; return them."""
    removed = []
    try:
        candidates = [
            p
            for p in Path(parent).iterdir()
            if p.name.startswith(prefix) and p.is_dir()
        ]
    except OSError:
        return removed
    for folder in candidates:
        if _is_stale(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _is_stale(folder: Path) -> bool:
    lock = folder / LOCK_NAME
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return _older_than_grace(folder)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        pid_text = os.read(fd, 32).decode(errors="replace").strip()
    except BlockingIOError:
        return False  # a live run holds it
    finally:
        os.close(fd)  # closing drops our lock again
    if not pid_text.isdigit():
        return _older_than_grace(folder)
    return not _alive(int(pid_text))


def _older_than_grace(folder: Path) -> bool:
    try:
        return time.time() - folder.stat().st_mtime > UNLOCKED_GRACE_S
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, another user's
    return True
