"""The scenarios' own checks can fail: a missing row, a changed field, an extra copy, a leaked
token and a socket bound to every address are each detected."""

from __future__ import annotations

import socket
from pathlib import Path

from exactonline_sandbox.harness import Sandbox
from reliability.compare import difference, keyed
from reliability.oauth_callback import listening_addresses
from reliability.reverse_etl import load, tally
from reliability.secrets import TokenWatcher, count_hits


def test_difference_counts_missing_extra_and_changed_rows() -> None:
    clean, _ = keyed([("customers", {"ID": "a", "Name": "A"}), ("items", {"ID": "b", "Code": 1})])
    got, repeats = keyed(
        [
            ("customers", {"ID": "a", "Name": "changed"}),
            ("items", {"ID": "c", "Code": 2}),
            ("items", {"ID": "c", "Code": 2}),
        ]
    )
    diff = difference(clean, got)
    assert (diff.missing, diff.extra, diff.changed, repeats) == (1, 1, 1, 1)
    assert difference(clean, clean).none


def test_tally_counts_a_load_that_never_landed_as_lost(sandbox: Sandbox) -> None:
    division = sandbox.grant()["divisions"][0]
    items = [r["Code"] for r in sandbox.rows(division, "logistics/Items")][:2]
    messages = load("NEVER1", 4, items)
    lost, duplicated, _ = tally(sandbox, division, messages)
    # 4 customers, 2 invoices with 2 lines each, 2 files
    assert (lost, duplicated) == (4 + 2 + 4 + 2, 0)


def test_count_hits_finds_a_watched_token_in_output(tmp_path: Path) -> None:
    store = tmp_path / "tokens.json"
    watcher = TokenWatcher().start()
    watcher.watch(store)
    store.write_text('{"access_token": "tok-1", "refresh_token": "ref-1"}')
    watcher.stop()
    assert watcher.tokens == {"tok-1", "ref-1"}
    assert count_hits(["log: Bearer tok-1", "clean"], watcher.tokens) == 1
    assert count_hits(["clean"], watcher.tokens) == 0


def test_listening_addresses_tells_loopback_from_every_address() -> None:
    for bind, expected in (("127.0.0.1", {"127.0.0.1"}), ("0.0.0.0", {"0.0.0.0"})):
        sock = socket.socket()
        sock.bind((bind, 0))
        sock.listen(1)
        try:
            assert listening_addresses(sock.getsockname()[1]) == expected
        finally:
            sock.close()
