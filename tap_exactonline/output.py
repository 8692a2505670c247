"""How the tap writes Singer messages to stdout.

singer-sdk's msgspec writer flushes stdout after every message, and stdout's own buffer holds only
8 KiB (about four transaction lines): for the records that is a write system call, and a wake-up of
the target, every few records, on the main thread that shapes and writes every record while the
calls wait on it (a large part of its time in a profile of a parallel run). `RecordBufferingWriter`
gathers RECORD lines in a buffer of its own and writes them when it holds `BUFFER_BYTES`, or at
any other message, which is written with them and flushed at once. A STATE therefore reaches the
target together with every record before it. A run that ends on records (a stream that moved no
state) has them written by `flush`, called at the end of the run (`Session.finish`) and, for a
run that ends any other way, at the process's exit, as stdout's own buffer would be.
"""

from __future__ import annotations

import atexit
import contextlib
import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import Message, RecordMessage

BUFFER_BYTES = 1 << 20
"""RECORD lines gathered before they are written without waiting for the next STATE."""


class RecordBufferingWriter(MsgSpecWriter):
    """singer-sdk's msgspec writer, writing RECORD lines a megabyte at a time."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = bytearray()
        atexit.register(self._flush_at_exit)

    def write_message(self, message: Message) -> None:
        self._pending += self.format_message(message)
        if len(self._pending) >= BUFFER_BYTES or not isinstance(message, RecordMessage):
            self.flush()

    def flush(self) -> None:
        """Write the lines still waiting and flush stdout."""
        if self._pending:
            sys.stdout.buffer.write(self._pending)
            self._pending.clear()
        sys.stdout.flush()

    def _flush_at_exit(self) -> None:
        # a target that is gone (a closed pipe) is the run's error already, not a second one
        with contextlib.suppress(OSError, ValueError):
            self.flush()
