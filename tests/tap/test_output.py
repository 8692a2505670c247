"""How the tap's Singer messages reach stdout: records buffered, everything else flushed."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from singer_sdk.singerlib import RecordMessage, SchemaMessage, StateMessage

from tap_exactonline.output import BUFFER_BYTES, RecordBufferingWriter


class Pipe(io.RawIOBase):
    """What the target reads: each write the tap's process makes, as it makes it."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.writes.append(bytes(data))
        return len(data)

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in b"".join(self.writes).splitlines()]


def stdout_into(pipe: Pipe, monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout as a process has it (text over a buffer over the pipe). Set in the test itself:
    pytest puts its own capture back as sys.stdout when a test's call begins."""
    stdout = io.TextIOWrapper(io.BufferedWriter(pipe, buffer_size=1 << 20), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", stdout)


def test_records_wait_in_the_buffer_until_the_state_that_covers_them_goes_out_with_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipe = Pipe()
    stdout_into(pipe, monkeypatch)
    writer = RecordBufferingWriter()
    writer.write_message(SchemaMessage(stream="s", schema={"type": "object"}, key_properties=[]))
    assert [m["type"] for m in pipe.lines()] == ["SCHEMA"]  # flushed at once

    for number in range(100):
        writer.write_message(RecordMessage(stream="s", record={"id": number}))
    assert len(pipe.lines()) == 1  # no write per record

    writer.write_message(StateMessage(value={"bookmarks": {"s": {"n": 99}}}))
    lines = pipe.lines()
    assert [m["record"]["id"] for m in lines[1:-1]] == list(range(100))
    assert lines[-1] == {"type": "STATE", "value": {"bookmarks": {"s": {"n": 99}}}}
    assert len(pipe.writes) == 2  # the SCHEMA, then the records and their STATE in one write


def test_a_megabyte_of_records_goes_out_without_waiting_for_a_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A long stream between two STATEs still flows to the target, a megabyte at a time."""
    pipe = Pipe()
    stdout_into(pipe, monkeypatch)
    writer = RecordBufferingWriter()
    line = len(
        writer.format_message(RecordMessage(stream="s", record={"id": 0, "pad": "x" * 1000}))
    )
    count = BUFFER_BYTES // line + 10
    for number in range(count):
        writer.write_message(RecordMessage(stream="s", record={"id": number, "pad": "x" * 1000}))
    written = [m["record"]["id"] for m in pipe.lines()]
    assert len(pipe.writes) == 1
    assert written == list(range(len(written)))
    assert len(pipe.writes[0]) >= BUFFER_BYTES
    assert len(written) < count  # the rest waits for the next write

    writer.write_message(StateMessage(value={"bookmarks": {}}))
    assert [m["record"]["id"] for m in pipe.lines()[:-1]] == list(range(count))


def test_records_a_run_ends_on_go_out_when_the_writer_is_flushed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stream that moved no state ends the run on records: the run's end flushes them."""
    pipe = Pipe()
    stdout_into(pipe, monkeypatch)
    writer = RecordBufferingWriter()
    for number in range(3):
        writer.write_message(RecordMessage(stream="divisions", record={"Code": number}))
    assert pipe.lines() == []
    writer.flush()
    assert [m["record"]["Code"] for m in pipe.lines()] == [0, 1, 2]


# A process that writes records and exits without a STATE after them (a run that ended some
# other way than through the end of its sync)
ENDS_ON_RECORDS = """
from singer_sdk.singerlib import RecordMessage
from tap_exactonline.output import RecordBufferingWriter
writer = RecordBufferingWriter()
for number in range(3):
    writer.write_message(RecordMessage(stream="divisions", record={"Code": number}))
"""


def test_records_still_waiting_when_the_process_exits_are_written_as_it_exits() -> None:
    done = subprocess.run(
        [sys.executable, "-c", ENDS_ON_RECORDS], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [m["record"]["Code"] for m in lines] == [0, 1, 2]


def test_a_target_gone_before_the_exit_flush_is_no_second_error() -> None:
    """stdout closed (the target died): the exit's flush says nothing more."""
    done = subprocess.run(
        [sys.executable, "-c", ENDS_ON_RECORDS + "import os; os.close(1)\n"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
