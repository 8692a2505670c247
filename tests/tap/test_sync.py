"""End to end: tap-exactonline as a subprocess against the sandbox, checked against its data.

Covers the full sync (row for row, one call per 1,000 rows per endpoint), the incremental run
with no changes (minimal calls), changes and deletes made through the API between runs, several
divisions with their own bookmarks, and the shared read of paired streams.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from exactonline_sandbox.harness import Sandbox
from tap_exactonline.streams import STREAM_TABLE
from tests.support.tap_runner import TapRun, TapRunner, forget_budget
from tests.tap.truth import TRUTH, mismatches, truth_rows

SYNC_STREAMS = sorted(TRUTH)
PLAIN_STREAMS = [
    s.name
    for s in STREAM_TABLE
    if s.name in TRUTH and s.name not in ("customers", "sales_invoices", "sales_invoice_lines")
]
"""The streams the end-to-end tests know that are rows of the table and nothing more (no
filter, no grouped memory)."""
PAGE = 1000


def sync_calls(sandbox: Sandbox) -> Counter[str]:
    return Counter(sandbox.stats()["by_endpoint"])


def test_full_sync_matches_the_sandbox_row_for_row_at_one_call_per_1000_rows(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.4, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    sb.reset_stats()

    run = runner.run(divisions=[division])

    assert run.returncode == 0, run.stderr[-3000:]
    for stream in SYNC_STREAMS:
        truth = truth_rows(sb, division, stream)
        key = TRUTH[stream][1]
        records = run.records(stream)
        assert len(records) == len(truth), stream
        assert {r[key] for r in records} == set(truth), stream
        for record in records:
            assert record["Division"] == division
            ignore = {"Timestamp"} if stream == "sales_invoices" else set()
            bad = [
                m for m in mismatches(record, truth[record[key]]) if m.split(":")[0] not in ignore
            ]
            assert bad == [], f"{stream} {record[key]}: {bad[:5]}"

    # one call per 1,000 rows per endpoint (paired streams share their endpoint's calls)
    calls = sync_calls(sb)
    served = {TRUTH[s][0] for s in SYNC_STREAMS}
    for endpoint in served:
        rows = len(sb.rows(division, endpoint))
        assert calls[endpoint] == max(1, math.ceil(rows / PAGE)), endpoint
    assert calls["sync/Financial/TransactionLines"] >= 3  # the scale really pages
    assert calls["sync/Deleted"] == 1
    assert calls["current/Me"] == 0  # divisions given explicitly: no need to ask
    assert calls["system/Divisions"] == 1  # the divisions stream
    assert sum(calls.values()) == len(served) + 1 + 1 + (
        sum(max(1, math.ceil(len(sb.rows(division, e)) / PAGE)) for e in served) - len(served)
    )
    # the bookmark of every stream is the highest Timestamp of its endpoint
    for stream in SYNC_STREAMS:
        endpoint = TRUTH[stream][0]
        top = max(r["Timestamp"] for r in sb.rows(division, endpoint))
        assert run.partition(stream, division)["replication_key_value"] == top, stream


def test_second_run_without_changes_makes_only_the_minimal_calls_and_emits_nothing(
    sandbox: Sandbox, tap_runner: Callable[..., TapRunner]
) -> None:
    runner = tap_runner(sandbox)
    division = runner.grant["divisions"][0]
    first = runner.run(divisions=[division])
    assert first.returncode == 0, first.stderr[-3000:]
    before = sync_calls(sandbox)

    second = runner.run(divisions=[division], state=first.state)

    assert second.returncode == 0, second.stderr[-3000:]
    made = sync_calls(sandbox) - before
    endpoints = {TRUTH[s][0] for s in SYNC_STREAMS}
    assert made == Counter({e: 1 for e in endpoints} | {"sync/Deleted": 1, "system/Divisions": 1})
    assert second.streams_with_records() == {"divisions"}  # full table, by nature
    assert second.state["bookmarks"] == first.state["bookmarks"]


def test_changes_and_deletes_made_through_the_api_arrive_and_nothing_else(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    client = runner.client()
    doomed = client.post(division, "crm/Accounts", {"Name": "Doomed B.V.", "Status": "C"})
    first = runner.run(divisions=[division])
    assert first.returncode == 0, first.stderr[-3000:]
    assert doomed["ID"] in {r["ID"] for r in first.records("customers")}

    kept, demoted = [r for r in first.records("customers") if r["ID"] != doomed["ID"]][:2]
    client.put(division, f"crm/Accounts(guid'{kept['ID']}')", {"Name": "Renamed Customer B.V."})
    client.put(division, f"crm/Accounts(guid'{demoted['ID']}')", {"Status": "P"})
    created = client.post(division, "crm/Accounts", {"Name": "New Customer B.V.", "Status": "C"})
    prospect = client.post(division, "crm/Accounts", {"Name": "Just A Prospect", "Status": "P"})
    client.delete(division, f"crm/Accounts(guid'{doomed['ID']}')")

    second = runner.run(divisions=[division], state=first.state)

    assert second.returncode == 0, second.stderr[-3000:]
    assert second.streams_with_records() == {"customers", "divisions"}
    records = second.records("customers")
    upserts = {r["ID"]: r for r in records if r.get("_sdc_deleted_at") is None}
    deletes = {r["ID"]: r for r in records if r.get("_sdc_deleted_at") is not None}
    assert set(upserts) == {kept["ID"], created["ID"]}  # not the unchanged ones
    assert upserts[kept["ID"]]["Name"] == "Renamed Customer B.V."
    assert upserts[created["ID"]]["Code"] == created["Code"].strip()
    # deleted in Exact (sync/Deleted) and no longer a customer; the prospect never was one, so
    # it gets nothing (tests/tap/test_deletes.py has the cases)
    assert set(deletes) == {doomed["ID"], demoted["ID"]}
    assert prospect["ID"] not in upserts
    for record in deletes.values():
        assert set(record) == {"ID", "Division", "_sdc_deleted_at"}
        assert record["Division"] == division
        assert record["_sdc_deleted_at"].endswith("+00:00")
    # the delete bookmark moved past the deletion: a third run repeats nothing
    assert second.partition("customers", division)["deleted_timestamp"] > 0
    third = runner.run(divisions=[division], state=second.state)
    assert third.returncode == 0, third.stderr[-3000:]
    assert third.streams_with_records() == {"divisions"}


def test_two_divisions_and_all_keep_bookmarks_per_division(
    sandbox: Sandbox, tap_runner: Callable[..., TapRunner]
) -> None:
    runner = tap_runner(sandbox)
    codes = sorted(runner.grant["divisions"])
    assert len(codes) == 2

    listed = runner.run(divisions=codes, streams=["customers", "gl_accounts"])
    everything = tap_runner(sandbox).run(divisions="all", streams=["customers", "gl_accounts"])

    for run in (listed, everything):
        assert run.returncode == 0, run.stderr[-3000:]
        for stream in ("customers", "gl_accounts"):
            for division in codes:
                # the shared sandbox may hold deletions made by earlier tests of this worker:
                # those arrive as `_sdc_deleted_at` records, which are not rows of the truth
                mine = [
                    r
                    for r in run.records(stream)
                    if r["Division"] == division and r.get("_sdc_deleted_at") is None
                ]
                truth = truth_rows(sandbox, division, stream)
                assert {r["ID"] for r in mine} == set(truth), (stream, division)
                top = max(r["Timestamp"] for r in sandbox.rows(division, TRUTH[stream][0]))
                assert run.partition(stream, division)["replication_key_value"] == top
    assert listed.state["bookmarks"] == everything.state["bookmarks"]


def test_paired_streams_read_their_endpoint_once_and_keep_their_own_bookmarks(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]

    only_receivables = runner.run(divisions=[division], streams=["receivables"])
    assert only_receivables.returncode == 0, only_receivables.stderr[-3000:]
    assert sync_calls(sb)["sync/Cashflow/PaymentTerms"] == 1
    assert only_receivables.partition("payments", division) == {}
    receivables = truth_rows(sb, division, "receivables")
    assert {r["ID"] for r in only_receivables.records("receivables")} == set(receivables)

    # now both: payments starts from nothing, receivables from its bookmark; still one read
    both = runner.run(
        divisions=[division], streams=["payments", "receivables"], state=only_receivables.state
    )
    assert both.returncode == 0, both.stderr[-3000:]
    assert sync_calls(sb)["sync/Cashflow/PaymentTerms"] == 2
    assert {r["ID"] for r in both.records("payments")} == set(truth_rows(sb, division, "payments"))
    assert both.records("receivables") == []  # nothing new: the shared read skips what it had
    top = max(r["Timestamp"] for r in sb.rows(division, "sync/Cashflow/PaymentTerms"))
    assert both.partition("payments", division)["replication_key_value"] == top
    assert both.partition("receivables", division)["replication_key_value"] == top

    # invoices and their lines: one read, headers one per invoice
    invoices = runner.run(divisions=[division], streams=["sales_invoices", "sales_invoice_lines"])
    assert invoices.returncode == 0, invoices.stderr[-3000:]
    assert sync_calls(sb)["sync/SalesInvoice/SalesInvoices"] == 1
    headers = invoices.records("sales_invoices")
    assert len(headers) == len({h["InvoiceID"] for h in headers})
    lines = invoices.records("sales_invoice_lines")
    assert {line["InvoiceID"] for line in lines} == {h["InvoiceID"] for h in headers}
    assert "AmountFCExclVat" in headers[0] and "UnitPrice" not in headers[0]
    assert "UnitPrice" in lines[0] and "InvoiceTo" not in lines[0]


def test_start_date_limits_the_first_sync_by_modified(
    sandbox: Sandbox, tap_runner: Callable[..., TapRunner]
) -> None:
    runner = tap_runner(sandbox)
    division = runner.grant["divisions"][0]
    truth = truth_rows(sandbox, division, "gl_accounts")
    from tests.tap.truth import expected_value

    modified = sorted(expected_value("Modified", r["Modified"]) for r in truth.values())
    start = modified[len(modified) // 2]
    run = runner.run(divisions=[division], streams=["gl_accounts"], start_date=start)
    assert run.returncode == 0, run.stderr[-3000:]
    got = {r["ID"] for r in run.records("gl_accounts")}
    want = {k for k, r in truth.items() if expected_value("Modified", r["Modified"]) >= start}
    assert got == want
    assert 0 < len(got) < len(truth)
    # the bookmark still covers the rows read but dropped: they are not read again
    top = max(r["Timestamp"] for r in truth.values())
    assert run.partition("gl_accounts", division)["replication_key_value"] == top


def test_start_date_starts_the_first_read_at_its_sync_timestamp_and_saves_calls(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.4, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    truth = truth_rows(sb, division, "transaction_lines")
    from tests.tap.truth import expected_value

    modified = sorted(expected_value("Modified", r["Modified"]) for r in truth.values())
    assert len(modified) > 2 * PAGE
    start = modified[-PAGE // 2]  # the newest 500 rows: one page instead of three
    sb.reset_stats()

    run = runner.run(
        divisions=[division], streams=["transaction_lines"], start_date=start, deletes=False
    )

    assert run.returncode == 0, run.stderr[-3000:]
    want = {k for k, r in truth.items() if expected_value("Modified", r["Modified"]) >= start}
    assert {r["ID"] for r in run.records("transaction_lines")} == want
    calls = sync_calls(sb)
    assert calls["read/sync/Sync/SyncTimestamp"] == 1
    assert calls["sync/Financial/TransactionLines"] == 1  # not ceil(rows / 1,000)
    top = max(r["Timestamp"] for r in truth.values())
    assert run.partition("transaction_lines", division)["replication_key_value"] == top

    # the next run is incremental from the bookmark: no SyncTimestamp call
    again = runner.run(
        divisions=[division],
        streams=["transaction_lines"],
        start_date=start,
        deletes=False,
        state=run.state,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.records("transaction_lines") == []
    assert sync_calls(sb)["read/sync/Sync/SyncTimestamp"] == 1


def test_start_date_without_a_sync_timestamp_answer_reads_from_the_beginning(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.4, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    truth = truth_rows(sb, division, "transaction_lines")
    from tests.tap.truth import expected_value

    modified = sorted(expected_value("Modified", r["Modified"]) for r in truth.values())
    start = modified[-PAGE // 2]
    # the lookup keeps failing (503 on every try): the read falls back to Timestamp 1
    sb.faults({"rate": {"503": 1.0}, "endpoints": ["read/sync/Sync/SyncTimestamp"]})
    sb.reset_stats()

    run = runner.run(
        divisions=[division], streams=["transaction_lines"], start_date=start, deletes=False
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert "start_date read from the beginning (no SyncTimestamp)" in run.stderr
    want = {k for k, r in truth.items() if expected_value("Modified", r["Modified"]) >= start}
    assert {r["ID"] for r in run.records("transaction_lines")} == want
    assert sync_calls(sb)["sync/Financial/TransactionLines"] == math.ceil(len(truth) / PAGE)


def _keys(run: TapRun) -> set[tuple[str, int, Any]]:
    return {
        (stream, r["Division"], r[TRUTH[stream][1]])
        for stream in SYNC_STREAMS
        for r in run.records(stream)
    }


@pytest.mark.parametrize(
    ("scale", "daily_limit", "streams", "cut_stream"),
    [
        # All streams, one call at a time: a full sync costs 16-17 calls: system/Divisions
        # first (the check of the `divisions` setting; the divisions stream reuses it), then
        # in the fetch plan's order (stream names): contacts, sync/Deleted, customers,
        # documents, gl_accounts, items, payment terms (1 page), sales invoice lines (2 pages,
        # shared with sales_invoices), order lines, orders, transaction lines (4 pages since
        # the ledger books bank, cash and memoriaal entries too). 13 a day cut transaction lines.
        (0.4, 13, None, "transaction_lines"),
        # Without customers, the invoice streams and divisions: system/Divisions first (the
        # check of the `divisions` setting), then 11 calls, transaction lines last; 10 a day
        # cuts after its first page (and 10 check every endpoint).
        (0.4, 10, PLAIN_STREAMS, "transaction_lines"),
        # Invoices only: system/Divisions, 3 pages of the shared invoice endpoint, then
        # sync/Deleted; 3 a day cuts the shared read after its second page.
        (0.8, 3, ["sales_invoices", "sales_invoice_lines"], "sales_invoice_lines"),
    ],
)
def test_daily_limit_ends_runs_cleanly_and_the_runs_together_equal_a_full_sync(
    sandbox_factory: Callable[..., Sandbox],
    tap_runner: Callable[..., TapRunner],
    scale: float,
    daily_limit: int,
    streams: list[str] | None,
    cut_stream: str,
) -> None:
    sb = sandbox_factory(scale=scale, divisions=1, daily_limit=daily_limit)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    truth_cut = truth_rows(sb, division, cut_stream)
    assert 1000 < len(truth_cut) <= 4000

    runs: list[TapRun] = []
    state: dict[str, Any] | None = None
    for _ in range(5):
        # one call at a time: the calls go in the plan's order, so the cut falls where planned
        run = runner.run(divisions=[division], state=state, streams=streams, parallel_calls=1)
        assert run.returncode == 0, run.stderr[-3000:]
        runs.append(run)
        state = run.state
        if "daily API limit" not in run.stderr:
            break
        assert "resets at" in run.stderr
        sb.advance_clock(86400)
        forget_budget(runner)
    assert len(runs) >= 2, "the budget should have run out at least once"
    assert "daily API limit" not in runs[-1].stderr

    # the first run stopped inside the stream but kept its first page's bookmark
    first = runs[0].records(cut_stream)
    assert 0 < len(first) < len(truth_cut)
    bookmark = runs[0].partition(cut_stream, division)["replication_key_value"]
    assert bookmark == max(r["Timestamp"] for r in first)
    # no gap and no whole re-read: every row exactly once over all runs
    every = [r["ID"] for run in runs for r in run.records(cut_stream)]
    assert sorted(every) == sorted(truth_cut)
    if cut_stream == "sales_invoice_lines":
        # the sibling replayed the part that was read: same bookmark, nothing lost
        assert runs[0].partition("sales_invoices", division)["replication_key_value"] == bookmark

    union = set().union(*(_keys(run) for run in runs))
    want = {
        (stream, division, key)
        for stream in streams or SYNC_STREAMS
        for key in truth_rows(sb, division, stream)
    }
    assert union == want


def test_invoice_header_changes_reach_header_and_lines_and_a_deletion_reaches_both_streams(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    streams = ["sales_invoices", "sales_invoice_lines"]
    first = runner.run(divisions=[division], streams=streams)
    assert first.returncode == 0, first.stderr[-3000:]
    editable = [h for h in first.records("sales_invoices") if h["Status"] == 20]
    changed, deleted = editable[0], editable[1]
    client = runner.client()
    client.put(
        division, f"salesinvoice/SalesInvoices(guid'{changed['InvoiceID']}')", {"YourRef": "PO-77"}
    )
    client.delete(division, f"salesinvoice/SalesInvoices(guid'{deleted['InvoiceID']}')")

    second = runner.run(divisions=[division], streams=streams, state=first.state)

    assert second.returncode == 0, second.stderr[-3000:]
    headers = second.records("sales_invoices")
    upserted = [h for h in headers if h.get("_sdc_deleted_at") is None]
    assert [h["InvoiceID"] for h in upserted] == [changed["InvoiceID"]]  # once, not per line
    assert upserted[0]["YourRef"] == "PO-77"
    assert [h["InvoiceID"] for h in headers if h.get("_sdc_deleted_at")] == [deleted["InvoiceID"]]
    lines = second.records("sales_invoice_lines")
    changed_lines = {line["ID"] for line in lines if line.get("_sdc_deleted_at") is None}
    truth_lines = {
        r["ID"]
        for r in sb.rows(division, "sync/SalesInvoice/SalesInvoices")
        if r["InvoiceID"] == changed["InvoiceID"]
    }
    assert changed_lines == truth_lines  # every line carries the repeated header fields
    assert all(line["InvoiceID"] == changed["InvoiceID"] for line in lines if "InvoiceID" in line)
    # the deleted invoice's own lines go (never a line keyed by the invoice)
    deleted_lines = {
        line["ID"]
        for line in first.records("sales_invoice_lines")
        if line["InvoiceID"] == deleted["InvoiceID"]
    }
    assert {line["ID"] for line in lines if line.get("_sdc_deleted_at")} == deleted_lines


def test_a_sync_through_transient_faults_still_matches_the_sandbox(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    """5xx, dropped and cut-off answers and minutely 429s are retried by the client; the tap
    must neither lose nor duplicate rows because a page had to be fetched twice."""
    sb = sandbox_factory(
        scale=0.4,
        divisions=1,
        minute_seconds=2,
        faults="500:0.1,503:0.05,drop:0.05,truncate:0.05,429:0.05,seed:7",
    )
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]

    # one call at a time: the seeded faults then land on the same calls every run (in parallel
    # a call may draw 5 faults in a row, which ends its division as failed, as it should)
    run = runner.run(divisions=[division], parallel_calls=1)

    assert run.returncode == 0, run.stderr[-3000:]
    assert sum(sb.stats()["by_status"].get(code, 0) for code in ("500", "503", "429")) > 0
    for stream in SYNC_STREAMS:
        key = TRUTH[stream][1]
        ids = [r[key] for r in run.records(stream)]
        assert sorted(ids) == sorted(truth_rows(sb, division, stream)), stream


def test_deletes_off_makes_no_sync_deleted_call(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    sb = sandbox_factory(scale=0.05, divisions=1)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    run = runner.run(divisions=[division], streams=["items"], deletes=False)
    assert run.returncode == 0, run.stderr[-3000:]
    calls = sync_calls(sb)
    assert calls["sync/Deleted"] == 0
    assert calls["sync/Logistics/Items"] == 1
    assert len(run.records("items")) == len(truth_rows(sb, division, "items"))
    assert "deleted_timestamp" not in run.partition("items", division)


def test_with_a_budget_below_one_call_per_stream_later_runs_start_with_the_unfinished_ones(
    sandbox_factory: Callable[..., Sandbox], tap_runner: Callable[..., TapRunner]
) -> None:
    # 8 calls a day, while merely checking every endpoint once takes 14: without reordering,
    # every run would spend its budget re-checking the same first streams and never reach
    # transaction_lines (the ninth call; customers and the invoice streams come after it).
    # One call at a time: with parallel calls, which reads the 8 calls reach first is not fixed.
    # Scale 0.1: the unfinished reads (transaction lines 2 pages, invoices 1) fit in a day.
    sb = sandbox_factory(scale=0.1, divisions=1, daily_limit=8)
    runner = tap_runner(sb)
    division = runner.grant["divisions"][0]
    first = runner.run(divisions=[division], parallel_calls=1)
    assert first.returncode == 0, first.stderr[-3000:]
    unfinished = {
        name
        for name, book in first.state["bookmarks"].items()
        if any(p.get("unfinished") for p in book.get("partitions", []))
    }
    assert "transaction_lines" in unfinished
    assert first.records("transaction_lines") == []
    sb.advance_clock(86400)
    forget_budget(runner)

    second = runner.run(divisions=[division], state=first.state, parallel_calls=1)

    assert second.returncode == 0, second.stderr[-3000:]
    # the second run's budget went to the streams cut off in the first: they all finished
    for name in unfinished:
        partitions = second.state["bookmarks"][name]["partitions"]
        assert not any(p.get("unfinished") for p in partitions), name
    union = _keys(first) | _keys(second)
    want = {(s, division, k) for s in SYNC_STREAMS for k in truth_rows(sb, division, s)}
    assert union == want
