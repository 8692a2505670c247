"""A real sync (the tap CLI against the sandbox) emits exactly the records the plain reference
rules make of the sandbox's rows, and its STATE never moves past a record it has not written.

This holds the tap's speed-ups to account end to end: the shaper's shortcuts, the per-sync
record plan that replaces singer-sdk's per-record deselection (a catalog with deselected
properties must still drop them), the buffered writer and the page read ahead. Rows written
through the API beforehand carry the awkward values: an OData date in a text field, dates in the
skipped and in the repeated hour of Amsterdam's DST switches, padded codes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from exactonline_sandbox.harness import Sandbox
from tap_exactonline.spec import StreamSpec
from tap_exactonline.streams import STREAM_TABLE
from tests.tap.conftest import TapRun, TapRunner
from tests.tap.reference_shaping import reference_record

DESELECT = {
    "customers": ["Phone", "Email", "Website", "Latitude"],
    "transaction_lines": ["Description", "AmountFC"],
    "sales_invoice_lines": ["Notes"],  # read together with sales_invoices, which keeps its own
    "payments": ["Description"],
}

AWKWARD_ACCOUNTS = [
    {
        "Name": "/Date(1711846800000)/",  # an OData date in a text field: converted, as always
        "Code": "42",
        "Country": "nl",
        "Status": "C",
        "EndDate": "2024-03-31T02:30:00",  # does not exist in Amsterdam (clocks jump 2 -> 3)
        "ControlledDate": "2024-10-27T02:30:00",  # happens twice (clocks go back 3 -> 2)
        "EstablishedDate": "2024-10-27T03:00:00",
        "Phone": "  padded but deselected  ",
        "CreditLineSales": 1250.1,
    },
    {
        "Name": "  Bakkerij Zomertijd  ",  # not a code: padding stays
        "Status": "C",
        "EndDate": "2023-03-26T01:59:59",
        "ControlledDate": "2023-10-29T01:00:00",
        "EstablishedDate": "1999-12-31T23:59:59",
    },
    {"Name": "Prospect Wintertijd", "Status": "P", "EndDate": "2022-10-30T02:59:59"},
]


def expected(
    sb: Sandbox, division: int, spec: StreamSpec, after: int = 0
) -> list[tuple[int, Any, str]]:
    """(Timestamp, key, record as JSON) for every record the stream must emit, in read order."""
    fields = [f for f in spec.field_list if f.name not in DESELECT.get(spec.name, [])]
    seen: set[Any] = set()
    found = []
    for row in sb.rows(division, spec.path):
        if int(row["Timestamp"]) <= after:
            continue
        if spec.keep is not None and not spec.keep(row):
            continue
        if spec.one_per is not None:
            if row[spec.one_per] in seen:
                continue
            seen.add(row[spec.one_per])
        record = reference_record(fields, row, division)
        found.append((int(row["Timestamp"]), row[spec.key[0]], json.dumps(record)))
    return found


def check_run(sb: Sandbox, division: int, run: TapRun, after: dict[str, int]) -> None:
    """Records equal the reference, in order; no STATE covers a record not yet written."""
    assert run.returncode == 0, run.stderr[-3000:]
    for spec in STREAM_TABLE:
        want = expected(sb, division, spec, after.get(spec.name, 0))
        got = [json.dumps(r) for r in run.records(spec.name) if "_sdc_deleted_at" not in r]
        assert got == [w[2] for w in want], spec.name
        for name in DESELECT.get(spec.name, []):
            assert all(name not in r for r in run.records(spec.name))

    owed = {
        spec.name: expected(sb, division, spec, after.get(spec.name, 0)) for spec in STREAM_TABLE
    }
    written: dict[str, int] = {name: 0 for name in owed}
    states = 0
    for message in run.messages:
        if message["type"] == "RECORD" and "_sdc_deleted_at" not in message["record"]:
            written[message["stream"]] = written.get(message["stream"], 0) + 1
        if message["type"] != "STATE":
            continue
        states += 1
        for name, rows in owed.items():
            parts = message["value"].get("bookmarks", {}).get(name, {}).get("partitions", [])
            for part in parts:
                bookmark = part.get("replication_key_value")
                if bookmark is None:
                    continue
                covered = sum(1 for ts, _, _ in rows if ts <= bookmark)
                assert covered <= written[name], (name, bookmark, covered, written[name])
    assert states > len(STREAM_TABLE)  # a STATE per page, not only at the end


def test_a_sync_and_an_incremental_run_emit_the_reference_records_and_safe_states(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.15, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    client = runner.client()
    made = [client.post(division, "crm/Accounts", body)["ID"] for body in AWKWARD_ACCOUNTS]
    awkward = sb.rows(division, "sync/CRM/Accounts")
    assert any(r["Name"] == "/Date(1711846800000)/" for r in awkward)
    assert any(r["Code"] != r["Code"].strip() for r in awkward if r["ID"] in made)

    first = runner.run(divisions=[division], deselect=DESELECT)
    check_run(sb, division, first, {})
    customers = {r["ID"]: r for r in first.records("customers")}
    assert customers[made[0]]["Name"].endswith("+00:00")
    assert customers[made[0]]["Code"] == customers[made[0]]["Code"].strip()

    bookmarks = {
        spec.name: first.partition(spec.name, division).get("replication_key_value", 0)
        for spec in STREAM_TABLE
    }
    client.put(division, f"crm/Accounts(guid'{made[1]}')", {"EndDate": "2025-03-30T02:15:00"})
    client.put(division, f"crm/Accounts(guid'{made[2]}')", {"Status": "C"})
    second = runner.run(divisions=[division], state=first.state, deselect=DESELECT)
    check_run(sb, division, second, bookmarks)
    assert {r["ID"] for r in second.records("customers")} == {made[1], made[2]}


def test_stream_maps_take_singer_sdks_own_path_and_still_drop_deselected_properties(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    run = runner.run(
        divisions=[division],
        streams=["customers"],
        deselect={"customers": ["Phone"]},
        stream_maps={"customers": {"Name": "__NULL__"}},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    spec = next(s for s in STREAM_TABLE if s.name == "customers")
    fields = [f for f in spec.field_list if f.name not in ("Phone", "Name")]
    want = [
        json.dumps(reference_record(fields, row, division))
        for row in sb.rows(division, spec.path)
        if spec.keep is None or spec.keep(row)
    ]
    assert want
    assert [json.dumps(r) for r in run.records("customers")] == want
