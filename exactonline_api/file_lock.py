"""The one inter-process file lock of the product (grant, throttle, division writers).

Every lock on a file goes through `FileLock`, so the operating-system call (`fcntl.flock` on POSIX)
is written once: porting to another platform, or to `filelock`, is a change here only. `filelock`
itself is not used because its blocking wait is a polling loop, and pollers starve behind a process
that re-takes the lock at once (eight processes sharing one throttle do exactly that); `flock`
waits in the kernel, in arrival order, and the kernel drops the lock when its holder dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path


class FileLock:
    """An exclusive lock on one file, shared by processes (not re-entrant).

    The file (mode 0600) stays open between acquisitions: the throttle takes its lock twice per API
    call, and reopening each time costs system calls. It is reopened after a fork, so a child never
    shares its parent's lock owner. Threads of one process take turns through a thread lock first
    (one open file is one lock owner to the kernel).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid: int | None = None

    def _open(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextlib.contextmanager
    def held(self, on_busy: Callable[[], None] | None = None) -> Iterator[int]:
        """Hold the lock for the block, giving the locked file's descriptor (a document kept in
        the locked file itself is read and written through it); `on_busy`, if given, is called
        once before a wait."""
        with self._threads:
            fd = self._lock_the_file_at_the_path(on_busy)
            try:
                yield fd
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _lock_the_file_at_the_path(self, on_busy: Callable[[], None] | None) -> int:
        """Lock the open file, unless it was deleted or replaced since it was opened (no link
        left): other processes lock the file now at the path, so that one is opened instead."""
        while True:
            fd = self._open()
            if on_busy is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    on_busy()
                    on_busy = None  # said once
                    fcntl.flock(fd, fcntl.LOCK_EX)
            else:
                fcntl.flock(fd, fcntl.LOCK_EX)  # retried on EINTR by Python (PEP 475)
            if os.fstat(fd).st_nlink > 0:
                return fd
            fcntl.flock(fd, fcntl.LOCK_UN)
            self._drop()

    def close(self) -> None:
        """Close the file (reopened on the next acquisition)."""
        with self._threads:
            self._drop()

    def _drop(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None


@contextlib.contextmanager
def file_lock(path: Path, on_busy: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path` for the block, closing the file afterwards.

    For locks held once and long (a division's write phase) or rarely (a token refresh).
    """
    lock = FileLock(path)
    try:
        with lock.held(on_busy):
            yield
    finally:
        lock.close()
