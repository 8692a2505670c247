"""The buffered writer writes the same bytes as singer-sdk's msgspec writer, and a STATE leaves
the process at once, after every record written before it."""

from __future__ import annotations

import queue
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

MESSAGES = """
import datetime, decimal
from singer_sdk.singerlib import RecordMessage, SchemaMessage, StateMessage
when = datetime.datetime(2026, 3, 29, 1, 30, 0, 123456, tzinfo=datetime.timezone.utc)
messages = [SchemaMessage(stream="s", schema={"type": "object"}, key_properties=["ID"])]
for n in range(9000):  # about 3 MB between the STATEs: several 1 MiB chunks
    record = {"ID": n, "Name": "Bakkerij \u00e9\u00e8 \\"quoted\\"" + "x" * 200,
              "Amount": decimal.Decimal("12.50"), "Rate": 0.1 * n, "Flag": n % 2 == 0,
              "Empty": None, "Nested": {"a": [1, 2]}}
    messages.append(RecordMessage(stream="s", record=record, time_extracted=when))
    if n % 8000 == 7999:
        messages.append(StateMessage(value={"bookmarks": {"s": {"n": n}}}))
"""


def run_writer(writer: str) -> bytes:
    script = MESSAGES + textwrap.dedent(
        f"""
        from {writer.rsplit(".", 1)[0]} import {writer.rsplit(".", 1)[1]} as Writer
        w = Writer()
        for m in messages:
            w.write_message(m)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, cwd=REPO, check=True, timeout=120
    )
    return out.stdout


def test_output_is_byte_for_byte_what_singer_sdks_msgspec_writer_writes() -> None:
    ours = run_writer("tap_exactonline.writer.BufferedMsgSpecWriter")
    theirs = run_writer("singer_sdk.contrib.msgspec.MsgSpecWriter")
    assert len(ours) > 2 * 1024 * 1024
    assert ours.count(b"\n") == 1 + 9000 + 1
    assert ours == theirs


def test_a_state_is_on_the_pipe_at_once_with_every_record_before_it() -> None:
    script = textwrap.dedent(
        """
        import sys
        from singer_sdk.singerlib import RecordMessage, StateMessage
        from tap_exactonline.writer import BufferedMsgSpecWriter
        w = BufferedMsgSpecWriter()
        for i in range(5):
            w.write_message(RecordMessage(stream="s", record={"i": i}))
        w.write_message(StateMessage(value={"after": 5}))
        for i in range(5, 8):
            w.write_message(RecordMessage(stream="s", record={"i": i}))
        sys.stdin.read()  # alive (records 5-7 still buffered) until the test has seen the STATE
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO
    )
    assert proc.stdin is not None and proc.stdout is not None
    lines: queue.Queue[bytes] = queue.Queue()
    stdout = proc.stdout
    reader = threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True)
    reader.start()
    try:
        seen = []
        while not seen or b'"STATE"' not in seen[-1]:
            seen.append(lines.get(timeout=60))  # a writer that holds the STATE never gets here
        assert [b'"i":%d' % i in line for i, line in enumerate(seen[:5])] == [True] * 5
        assert len(seen) == 6
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
        reader.join(timeout=60)
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    # records after the last STATE are still written when the process ends
    assert [b'"i":%d' % i in line for i, line in zip(range(5, 8), rest, strict=True)] == [True] * 3


PAGES = """
import datetime, decimal, sys
from singer_sdk.singerlib import RecordMessage, StateMessage
when = datetime.datetime(2026, 3, 29, 1, 30, 0, 123456, tzinfo=datetime.timezone.utc)
pages = []
for p in range(3):
    pages.append([{"ID": n, "Name": "line\\nbreak \\u00e9 \\"q\\"" + "x" * (n % 300),
                   "Amount": decimal.Decimal("12.50"), "Rate": 0.1 * n, "Flag": n % 2 == 0,
                   "Empty": None} for n in range(p * 2000, p * 2000 + 2000)])
"""


def run_pages(by_page: bool, version: int | None) -> bytes:
    if by_page:
        body = f"""
        from tap_exactonline.writer import BufferedMsgSpecWriter
        w = BufferedMsgSpecWriter()
        for n, page in enumerate(pages):
            w.write_page("s", w.encode_page(page), time_extracted=when, version={version})
            w.write_message(StateMessage(value={{"page": n}}))
        w.write_page("s", w.encode_page([]), time_extracted=when, version={version})
        """
    else:
        body = f"""
        from singer_sdk.contrib.msgspec import MsgSpecWriter
        w = MsgSpecWriter()
        for n, page in enumerate(pages):
            for r in page:
                w.write_message(RecordMessage(stream="s", record=r, version={version},
                                              time_extracted=when))
            w.write_message(StateMessage(value={{"page": n}}))
        """
    out = subprocess.run(
        [sys.executable, "-c", PAGES + textwrap.dedent(body)],
        capture_output=True,
        cwd=REPO,
        check=True,
        timeout=120,
    )
    return out.stdout


def test_a_page_of_records_is_written_as_the_same_bytes_as_record_by_record() -> None:
    for version in (None, 1763694000):
        ours = run_pages(True, version)
        assert ours.count(b"\n") == 3 * 2000 + 3
        assert ours == run_pages(False, version)
