"""How the tap writes Singer messages to stdout.

singer-sdk's msgspec writer flushes stdout after every message: for a RECORD that is a write
system call and a wake-up of the target per record, one of the larger costs of the tap's main
thread in a profile of the hand-shaped streams (the thread that writes every record, while the
calls wait on it). `RecordBufferingWriter`
leaves RECORD lines in stdout's buffer, which goes out whenever it fills, and flushes at every
other message. A STATE therefore reaches the target together with every record before it, and a
run killed between two STATE messages loses only records that the next run reads again from the
last STATE.
"""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import Message, RecordMessage


class RecordBufferingWriter(MsgSpecWriter):
    """singer-sdk's msgspec writer, flushing at every message but RECORD."""

    def write_message(self, message: Message) -> None:
        sys.stdout.buffer.write(self.format_message(message))
        if not isinstance(message, RecordMessage):
            sys.stdout.flush()
