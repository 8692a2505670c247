"""Deletes through the tap's CLI: a stream only ever tombstones a key it emitted.

Each test changes rows through the sandbox's API between two runs of `tap-exactonline` and
reads the Singer messages. A tombstone is a RECORD with `_sdc_deleted_at` set; in a soft-delete
warehouse one for a key the table never had becomes a phantom row holding only that key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from exactonline_api.client import ExactClient
from exactonline_sandbox.harness import Sandbox
from tap_exactonline.checkpoints import STATE_SHARE
from tap_exactonline.key_memory import MEMORY_STATE_KEY, KeyMemory
from tap_exactonline.streams import STREAM_TABLE
from tests.support.tap_runner import TapRun, TapRunner, partition_state

INVOICE_STREAMS = ["sales_invoices", "sales_invoice_lines"]


def tombstones(run: TapRun, stream: str) -> list[str]:
    """The keys of the stream's deletion records, in message order."""
    key = "InvoiceID" if stream == "sales_invoices" else "ID"
    found = []
    for record in run.records(stream):
        if record.get("_sdc_deleted_at") is not None:
            assert set(record) == {key, "Division", "_sdc_deleted_at"}, record
            found.append(record[key])
    return found


def live(run: TapRun, stream: str) -> list[dict[str, Any]]:
    return [r for r in run.records(stream) if r.get("_sdc_deleted_at") is None]


def ok(run: TapRun) -> TapRun:
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    return run


def account(client: ExactClient, division: int, name: str, **fields: Any) -> str:
    return str(client.post(division, "crm/Accounts", {"Name": name, **fields})["ID"])


def delete_account(client: ExactClient, division: int, key: str) -> None:
    client.delete(division, f"crm/Accounts(guid'{key}')")


# -- customers: a filtered stream -------------------------------------------------------------


def test_customers_tombstone_only_accounts_that_were_customers_in_the_stream(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    client = runner.client()
    supplier = next(
        r["ID"] for r in sb.rows(division, "crm/Accounts") if r["Status"] != "C" and r["IsSupplier"]
    )
    prospect = account(client, division, "Nog Geen Klant B.V.", Status="P")
    spare_supplier = account(client, division, "Losse Leverancier B.V.", Status="A")
    doomed = account(client, division, "Weg Ermee B.V.", Status="C")
    gone_before = account(client, division, "Al Weg B.V.", Status="C")
    delete_account(client, division, gone_before)

    first = ok(runner.run(divisions=[division], streams=["customers"]))

    emitted = {r["ID"] for r in first.records("customers")}
    assert doomed in emitted and supplier not in emitted and prospect not in emitted
    # deleted before the stream ever read it: the table never had it
    assert tombstones(first, "customers") == []
    kept, demoted = sorted(emitted - {doomed})[:2]
    client.put(division, f"crm/Accounts(guid'{supplier}')", {"Phone": "020-1234567"})
    client.put(division, f"crm/Accounts(guid'{prospect}')", {"City": "Zwolle"})
    client.put(division, f"crm/Accounts(guid'{kept}')", {"Name": "Hernoemd B.V."})
    client.put(division, f"crm/Accounts(guid'{demoted}')", {"Status": "P"})
    delete_account(client, division, spare_supplier)
    delete_account(client, division, doomed)
    fleeting = account(client, division, "Kort Bestaan B.V.", Status="C")
    delete_account(client, division, fleeting)

    second = ok(runner.run(divisions=[division], streams=["customers"], state=first.state))

    assert [r["ID"] for r in live(second, "customers")] == [kept]
    # left the stream (no longer a customer) and deleted in Exact: keys the stream had. The
    # edited supplier and prospect, the deleted supplier and the customer created and deleted
    # between the runs were never in it.
    assert sorted(tombstones(second, "customers")) == sorted([demoted, doomed])

    third = ok(runner.run(divisions=[division], streams=["customers"], state=second.state))
    assert third.records("customers") == []

    # a customer that left is forgotten: a later edit of it tombstones nothing more
    client.put(division, f"crm/Accounts(guid'{demoted}')", {"City": "Assen"})
    fourth = ok(runner.run(divisions=[division], streams=["customers"], state=third.state))
    assert fourth.records("customers") == []


# -- sales invoices: one endpoint, two streams, one deletion type -------------------------------


def new_invoice(sb: Sandbox, client: ExactClient, division: int) -> str:
    customer = next(r for r in sb.rows(division, "crm/Accounts") if r["Status"] == "C")
    item = sb.rows(division, "logistics/Items")[0]
    body = {
        "OrderedBy": customer["ID"],
        "Journal": "70",
        "Type": 8023,
        "SalesInvoiceLines": [
            {"Quantity": 2, "NetPrice": 5.5, "Item": item["ID"]},
            {"Quantity": 1, "NetPrice": 19.99, "Item": item["ID"], "Description": "Tweede"},
        ],
    }
    return str(client.post(division, "salesinvoice/SalesInvoices", body)["InvoiceID"])


def delete_invoice(client: ExactClient, division: int, invoice: str) -> None:
    client.delete(division, f"salesinvoice/SalesInvoices(guid'{invoice}')")


def lines_of(run: TapRun, invoice: str) -> set[str]:
    return {r["ID"] for r in run.records("sales_invoice_lines") if r.get("InvoiceID") == invoice}


@pytest.mark.parametrize(
    "streams", [INVOICE_STREAMS, ["sales_invoice_lines"]], ids=["both", "lines-alone"]
)
def test_a_deleted_invoice_tombstones_its_header_and_its_real_lines(
    streams: list[str],
    sandbox_factory: Callable[..., Sandbox],
    tap_runner: Callable[..., TapRunner],
) -> None:
    """EntityType 13 keyed by the InvoiceID (the reading the tap assumes; the sandbox default)."""
    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    client = runner.client()
    doomed = new_invoice(sb, client, division)

    first = ok(runner.run(divisions=[division], streams=streams))

    doomed_lines = lines_of(first, doomed)
    assert len(doomed_lines) == 2
    delete_invoice(client, division, doomed)
    fleeting = new_invoice(sb, client, division)
    delete_invoice(client, division, fleeting)

    second = ok(runner.run(divisions=[division], streams=streams, state=first.state))

    # the lines the warehouse holds for the invoice go, and nothing keyed by an invoice
    assert sorted(tombstones(second, "sales_invoice_lines")) == sorted(doomed_lines)
    assert live(second, "sales_invoice_lines") == []
    if "sales_invoices" in streams:
        assert tombstones(second, "sales_invoices") == [doomed]
        assert live(second, "sales_invoices") == []

    third = ok(runner.run(divisions=[division], streams=streams, state=second.state))
    assert third.streams_with_records() <= {"divisions"}


def test_line_keyed_invoice_deletes_tombstone_the_lines_and_never_a_header_by_a_line_key(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    """The other reading of EntityType 13 (one row per line, keyed by the line's ID) is safe:
    the lines go, the header stream emits no tombstone keyed by a line (a phantom header)."""
    sb = sandbox_factory(scale=0.05, divisions=1, invoice_deletes="lines")
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    client = runner.client()
    doomed = new_invoice(sb, client, division)
    first = ok(runner.run(divisions=[division], streams=INVOICE_STREAMS))
    doomed_lines = lines_of(first, doomed)
    delete_invoice(client, division, doomed)
    logged = {r["EntityKey"] for r in sb.rows(division, "sync/Deleted") if r["EntityType"] == 13}
    assert logged == doomed_lines

    second = ok(runner.run(divisions=[division], streams=INVOICE_STREAMS, state=first.state))

    assert sorted(tombstones(second, "sales_invoice_lines")) == sorted(doomed_lines)
    assert tombstones(second, "sales_invoices") == []
    assert second.records("sales_invoices") == []


def test_an_edited_invoice_is_upserted_and_nothing_is_tombstoned(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    client = runner.client()
    invoice = new_invoice(sb, client, division)
    first = ok(runner.run(divisions=[division], streams=INVOICE_STREAMS))
    client.put(division, f"salesinvoice/SalesInvoices(guid'{invoice}')", {"YourRef": "PO-9"})

    second = ok(runner.run(divisions=[division], streams=INVOICE_STREAMS, state=first.state))

    assert [h["InvoiceID"] for h in second.records("sales_invoices")] == [invoice]
    assert {r["ID"] for r in second.records("sales_invoice_lines")} == lines_of(first, invoice)
    assert tombstones(second, "sales_invoices") == tombstones(second, "sales_invoice_lines") == []


# -- every stream with deletes: payment terms, rows that came and went ---------------------------

PAYMENT_TERMS = "sync/Cashflow/PaymentTerms"
PLAIN_STREAMS = ["contacts", "items", "documents"]
"""Streams with deletes that are rows of the stream table and nothing more (no rule of their own)."""


def new_plain_rows(client: ExactClient, division: int, label: str) -> dict[str, str]:
    """One new row for each of `PLAIN_STREAMS` through the API: stream -> key."""
    owner = account(client, division, f"Eigenaar {label} B.V.", Status="C")
    contact = client.post(division, "crm/Contacts", {"Account": owner, "LastName": label})
    item = client.post(division, "logistics/Items", {"Code": label, "Description": label})
    document = client.post(division, "documents/Documents", {"Subject": label, "Type": 10})
    return {
        "contacts": str(contact["ID"]),
        "items": str(item["ID"]),
        "documents": str(document["ID"]),
    }


def delete_plain_rows(client: ExactClient, division: int, rows: dict[str, str]) -> None:
    paths = {
        "contacts": "crm/Contacts",
        "items": "logistics/Items",
        "documents": "documents/Documents",
    }
    for stream, key in rows.items():
        client.delete(division, f"{paths[stream]}(guid'{key}')")


def all_tombstones(run: TapRun, division: int | None = None) -> dict[str, list[str]]:
    """stream -> keys of its deletion records (of one division, or all), streams with any."""
    found: dict[str, list[str]] = {}
    for spec in STREAM_TABLE:
        keys = [
            r[spec.key[0]]
            for r in run.records(spec.name)
            if r.get("_sdc_deleted_at") is not None and division in (None, r["Division"])
        ]
        if keys:
            found[spec.name] = sorted(keys)
    return found


def test_payments_and_receivables_tombstone_only_their_own_payment_terms(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    """sync/Deleted EntityType 10 is every payment term: each stream passes on only the terms
    it emitted, never the sibling's, nor one deleted before its first run."""
    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    terms = sb.rows(division, PAYMENT_TERMS)
    payments = [r["ID"] for r in terms if r["LineType"] == 22]
    receivables = [r["ID"] for r in terms if r["LineType"] == 20]
    assert len(payments) >= 2 and len(receivables) >= 2
    sb.delete_row(division, PAYMENT_TERMS, payments[0])
    sb.delete_row(division, PAYMENT_TERMS, receivables[0])
    streams = ["payments", "receivables"]

    first = ok(runner.run(divisions=[division], streams=streams))

    assert all_tombstones(first) == {}  # deleted before either stream read them
    assert {r["ID"] for r in first.records("payments")} == set(payments[1:])
    sb.delete_row(division, PAYMENT_TERMS, payments[1])
    sb.delete_row(division, PAYMENT_TERMS, receivables[1])

    second = ok(runner.run(divisions=[division], streams=streams, state=first.state))

    assert all_tombstones(second) == {"payments": [payments[1]], "receivables": [receivables[1]]}
    third = ok(runner.run(divisions=[division], streams=streams, state=second.state))
    assert third.streams_with_records() <= {"divisions"}


def test_rows_that_came_and_went_unseen_give_no_tombstone_in_any_stream_of_any_division(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    """Every stream, two divisions read in parallel: rows deleted before the first run or created
    and deleted between two runs were never emitted, so no stream tombstones them; a deleted
    row that was emitted is tombstoned in its own stream and division only."""
    sb = sandbox_factory(scale=0.05, divisions=2)
    runner = tap_runner(sb, parallel_calls=4)
    divisions = runner.grant["divisions"][:2]
    assert len(divisions) == 2
    client = runner.client()
    for division in divisions:
        delete_plain_rows(client, division, new_plain_rows(client, division, f"Voor {division}"))
    kept = {d: new_plain_rows(client, d, f"Blijft {d}") for d in divisions}

    first = ok(runner.run(divisions=divisions))

    assert all_tombstones(first) == {}
    expected: dict[int, dict[str, list[str]]] = {}
    for division in divisions:
        for stream, key in kept[division].items():
            assert key in {r[STREAM_KEYS[stream]] for r in first.records(stream)}, stream
        delete_plain_rows(client, division, new_plain_rows(client, division, f"Tussen {division}"))
        term = sb.rows(division, PAYMENT_TERMS)[0]  # emitted by the first run
        sb.delete_row(division, PAYMENT_TERMS, term["ID"])
        expected[division] = {"payments" if term["LineType"] == 22 else "receivables": [term["ID"]]}
    doomed = divisions[1]
    delete_plain_rows(client, doomed, kept[doomed])
    expected[doomed] |= {stream: [key] for stream, key in kept[doomed].items()}

    second = ok(runner.run(divisions=divisions, state=first.state))

    for division in divisions:
        assert all_tombstones(second, division) == expected[division], division


STREAM_KEYS = {spec.name: spec.key[0] for spec in STREAM_TABLE}


# -- the memory behind it -----------------------------------------------------------------------


def test_every_state_message_remembers_only_keys_whose_records_came_before_it(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    """A saved state must never let a later run tombstone a key whose record it did not pass."""
    sb = sandbox_factory(scale=0.4, divisions=1)  # invoice lines take two pages
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    specs = {s.name: s for s in STREAM_TABLE if s.tombstones is not None}
    run = ok(runner.run(divisions=[division], streams=list(specs)))

    emitted: dict[str, set[str]] = {name: set() for name in specs}
    remembered: dict[str, set[str]] = {name: set() for name in specs}
    for message in run.messages:
        if message["type"] == "RECORD" and message["stream"] in specs:
            emitted[message["stream"]].add(message["record"][specs[message["stream"]].key[0]])
        elif message["type"] == "STATE":
            for name, spec in specs.items():
                assert spec.tombstones is not None
                text = partition_state(message["value"], name, division).get(MEMORY_STATE_KEY)
                memory = KeyMemory(spec.tombstones, text, logging.getLogger("test"))
                remembered[name] = set(memory.keys())
                assert remembered[name] <= emitted[name], name
    # and at the end it holds what can still be deleted: every customer, open invoices' rows
    open_invoices = {
        r["InvoiceID"]
        for r in sb.rows(division, "sync/SalesInvoice/SalesInvoices")
        if r["Status"] != 50
    }
    assert remembered["customers"] == emitted["customers"]
    assert remembered["sales_invoices"] == open_invoices
    assert remembered["sales_invoice_lines"] == {
        r["ID"]
        for r in sb.rows(division, "sync/SalesInvoice/SalesInvoices")
        if r["InvoiceID"] in open_invoices
    }


@pytest.mark.parametrize("memory", [None, "not a memory at all"], ids=["absent", "unreadable"])
def test_a_state_without_a_readable_key_memory_rereads_the_stream_once_to_rebuild_it(
    memory: str | None,
    sandbox_factory: Callable[..., Sandbox],
    tap_runner: Callable[..., TapRunner],
) -> None:
    """A state from before the memory existed (or damaged) is not trusted to name keys: the
    stream reads from the start once, then deletions of what it re-emitted are passed on."""
    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    client = runner.client()
    doomed = account(client, division, "Eerst Weg B.V.", Status="C")
    later = account(client, division, "Later Weg B.V.", Status="C")
    first = ok(runner.run(divisions=[division], streams=["customers"]))
    state = first.state
    (partition,) = state["bookmarks"]["customers"]["partitions"]
    assert MEMORY_STATE_KEY in partition
    if memory is None:
        del partition[MEMORY_STATE_KEY]
    else:
        partition[MEMORY_STATE_KEY] = memory
    delete_account(client, division, doomed)

    second = ok(runner.run(divisions=[division], streams=["customers"], state=state))

    # every customer again (upserts), and no deletion it cannot vouch for
    assert {r["ID"] for r in second.records("customers")} == {
        r["ID"] for r in first.records("customers")
    } - {doomed}
    assert tombstones(second, "customers") == []
    if memory is not None:
        assert "unreadable" in second.stderr
    delete_account(client, division, later)

    third = ok(runner.run(divisions=[division], streams=["customers"], state=second.state))
    assert tombstones(third, "customers") == [later]
    assert live(third, "customers") == []  # rebuilt once, then incremental again


def test_with_deletes_off_no_stream_tombstones_anything_nor_keeps_a_memory(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb, deletes=False)
    division = runner.grant["divisions"][0]
    client = runner.client()
    first = ok(runner.run(divisions=[division], streams=["customers"]))
    demoted = first.records("customers")[0]["ID"]
    client.put(division, f"crm/Accounts(guid'{demoted}')", {"Status": "P"})

    second = ok(runner.run(divisions=[division], streams=["customers"], state=first.state))

    assert second.records("customers") == []
    assert MEMORY_STATE_KEY not in second.partition("customers", division)


def test_a_stream_without_memory_in_a_state_of_the_previous_version_rereads_once_and_then_deletes(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    """Upgrade: the previous version kept no key memory for contacts (only a bookmark). Such a
    state is not trusted to name keys: the stream reads from the start once (re-emitting what
    Exact holds), passes on no deletion it cannot vouch for, and deletes normally after."""
    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    client = runner.client()
    doomed, later = (new_plain_rows(client, division, n)["contacts"] for n in ("Eerst", "Later"))
    first = ok(runner.run(divisions=[division], streams=["contacts"]))
    state = first.state
    (partition,) = state["bookmarks"]["contacts"]["partitions"]
    partition.pop(MEMORY_STATE_KEY, None)  # what the previous version wrote
    delete_plain_rows(client, division, {"contacts": doomed})
    fleeting = new_plain_rows(client, division, "Kort")["contacts"]
    delete_plain_rows(client, division, {"contacts": fleeting})

    second = ok(runner.run(divisions=[division], streams=["contacts"], state=state))

    assert {r["ID"] for r in second.records("contacts")} == {
        r["ID"] for r in first.records("contacts")
    } - {doomed}
    assert tombstones(second, "contacts") == []
    assert "rebuild" in second.stderr
    delete_plain_rows(client, division, {"contacts": later})

    third = ok(runner.run(divisions=[division], streams=["contacts"], state=second.state))
    assert tombstones(third, "contacts") == [later]
    assert live(third, "contacts") == []


def test_an_incremental_run_writes_its_state_once_at_the_end_not_once_per_stream(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    """Every STATE carries every stream's key memory, so progress goes into the state at
    checkpoints (checkpoints.py): when the records since the last one outweigh the state
    `1 / STATE_SHARE` to 1, and at the end of the run. A run with a few changes in several
    streams writes the STATEs singer-sdk writes of its own and one at the end; that last
    one holds every stream's progress (a run after it reads nothing again)."""
    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    client = runner.client()
    first = ok(runner.run(divisions=[division]))
    new_plain_rows(client, division, "Nieuw")
    customer = first.records("customers")[0]["ID"]
    client.put(division, f"crm/Accounts(guid'{customer}')", {"City": "Assen"})

    second = ok(runner.run(divisions=[division], state=first.state))

    changed = second.streams_with_records() - {"divisions"}
    assert {"contacts", "items", "documents", "customers"} <= changed
    # singer-sdk's echo of the input state, its note of the full-table divisions stream, the end
    assert len(second.states) <= 3
    third = ok(runner.run(divisions=[division], state=second.state))
    assert third.streams_with_records() == {"divisions"}  # the full table, every run
    assert len(third.states) <= 2


def test_state_messages_wait_until_the_records_since_the_last_outweigh_them(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    """A full run: a STATE message (but singer-sdk's own first notes of a stream, and the end
    of the run) comes only once the RECORD bytes since the previous one are 1 / STATE_SHARE
    times that previous state."""
    sb = sandbox_factory(scale=0.4, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    run = ok(runner.run(divisions=[division]))
    streams = {m["stream"] for m in run.messages if m["type"] == "SCHEMA"}
    record_bytes = previous = early = 0
    for message in run.messages[:-1]:
        size = len(json.dumps(message, separators=(",", ":")))
        if message["type"] == "RECORD":
            record_bytes += size
        elif message["type"] == "STATE":
            early += record_bytes * STATE_SHARE < previous
            previous, record_bytes = size, 0
    assert early <= len(streams)
