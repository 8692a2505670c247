"""sales_invoices (+ sales_invoice_lines) -> salesinvoice/SalesInvoices against the sandbox."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from exactonline_sandbox.harness import Sandbox
from tests.support.configs import config_for
from tests.target.singer_run import record, run_target, schema, state


def _tag() -> str:
    return uuid.uuid4().hex[:8].upper()


def _seed(sb: Sandbox, division: int) -> tuple[list[dict], list[dict]]:
    customers = sorted(
        (r for r in sb.rows(division, "crm/Accounts") if r["Status"] == "C"),
        key=lambda r: r["Code"],
    )
    items = sorted(sb.rows(division, "logistics/Items"), key=lambda r: r["Code"])
    return customers, items


def _invoices_by_ref(sb: Sandbox, division: int) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in sb.rows(division, "salesinvoice/SalesInvoices"):
        out.setdefault(row.get("YourRef") or "", []).append(row)
    return out


def _lines_of(sb: Sandbox, division: int, invoice_id: str) -> list[dict[str, Any]]:
    rows = sb.rows(division, "salesinvoice/SalesInvoiceLines")
    return sorted((r for r in rows if r["InvoiceID"] == invoice_id), key=lambda r: r["LineNumber"])


def _calls(before: dict[str, Any], after: dict[str, Any], endpoint: str) -> int:
    return after["by_endpoint"].get(endpoint, 0) - before["by_endpoint"].get(endpoint, 0)


def test_invoices_are_created_with_their_lines_in_one_call_and_rerun_writes_nothing(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    customers, items = _seed(sandbox, division)
    tag = _tag()
    inline_key, joined_key = f"WH-{tag}-1", f"WH-{tag}-2"
    messages = [
        schema("sales_invoices"),
        record(
            "sales_invoices",
            {
                "invoice_key": inline_key,
                "ordered_by_code": customers[0]["Code"].strip(),
                "Journal": "70",
                "InvoiceDate": "2026-01-15",
                "Description": "Inline lines",
                "lines": [
                    {"item_code": items[0]["Code"], "Quantity": 2, "NetPrice": 10.5},
                    {"Item": items[1]["ID"], "Quantity": 1, "NetPrice": 4},
                ],
            },
        ),
        record(
            "sales_invoices",
            {"invoice_key": joined_key, "OrderedBy": customers[1]["ID"], "Description": "Joined"},
        ),
        state({"at": "invoices"}),
        schema("sales_invoice_lines"),
        record(
            "sales_invoice_lines",
            {
                "invoice_key": joined_key,
                "LineNumber": 2,
                "item_code": items[2]["Code"],
                "Quantity": 5,
            },
        ),
        record(
            "sales_invoice_lines",
            {
                "invoice_key": joined_key,
                "LineNumber": 1,
                "item_code": items[0]["Code"],
                "Quantity": 3,
            },
        ),
        state({"at": "lines"}),
    ]
    config = {**target_config, "prefetch_threshold": 0}
    before = sandbox.stats()
    run = run_target(tmp_path, config, messages, "first")
    after = sandbox.stats()
    assert run.returncode == 0, run.stderr
    assert run.states == [{"at": "lines"}]
    assert run.summary["streams"]["sales_invoices"]["created"] == 2
    assert run.summary["streams"]["sales_invoice_lines"]["created"] == 2
    # prefetch_threshold 0: the company's invoice headers in one bulk read (fewer than 1,000),
    # then one POST per invoice with its lines (deep insert)
    assert _calls(before, after, "bulk/SalesInvoice/SalesInvoices") == 1
    assert _calls(before, after, "salesinvoice/SalesInvoices") == 2
    assert _calls(before, after, "salesinvoice/SalesInvoiceLines") == 0

    by_ref = _invoices_by_ref(sandbox, division)
    [inline] = by_ref[inline_key]
    assert inline["OrderedBy"] == customers[0]["ID"]
    assert inline["Status"] == 20 and inline["Description"] == "Inline lines"
    assert [
        (ln["Item"], ln["Quantity"]) for ln in _lines_of(sandbox, division, inline["InvoiceID"])
    ] == [
        (items[0]["ID"], 2.0),
        (items[1]["ID"], 1.0),
    ]
    [joined] = by_ref[joined_key]
    assert [
        (ln["Item"], ln["Quantity"]) for ln in _lines_of(sandbox, division, joined["InvoiceID"])
    ] == [
        (items[0]["ID"], 3.0),
        (items[2]["ID"], 5.0),
    ]

    before = sandbox.stats()
    again = run_target(tmp_path, config, messages, "again")
    after = sandbox.stats()
    assert again.returncode == 0, again.stderr
    assert again.summary["streams"]["sales_invoices"]["unchanged"] == 2
    # the one bulk read, and no write
    assert _calls(before, after, "bulk/SalesInvoice/SalesInvoices") == 1
    assert _calls(before, after, "salesinvoice/SalesInvoices") == 0
    assert after["by_status"].get("204", 0) == before["by_status"].get("204", 0)
    assert len(_invoices_by_ref(sandbox, division)[inline_key]) == 1


def test_open_invoice_header_is_updated_and_processed_invoice_change_is_rejected(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    customers, items = _seed(sandbox, division)
    tag = _tag()
    key = f"UPD-{tag}"
    create = [
        schema("sales_invoices"),
        record(
            "sales_invoices",
            {
                "invoice_key": key,
                "ordered_by_code": customers[2]["Code"].strip(),
                "Description": "Eerst",
                "lines": [{"item_code": items[0]["Code"], "Quantity": 1}],
            },
        ),
    ]
    assert run_target(tmp_path, target_config, create, "create").returncode == 0
    [created] = _invoices_by_ref(sandbox, division)[key]
    processed = next(
        r for r in sandbox.rows(division, "salesinvoice/SalesInvoices") if r["Status"] == 50
    )
    update = [
        schema("sales_invoices"),
        record(
            "sales_invoices",
            {
                "invoice_key": key,
                "ordered_by_code": customers[2]["Code"].strip(),
                "Description": "Daarna",
            },
        ),
        # the same values as Exact has: not a change, so not a rejection
        record(
            "sales_invoices",
            {"InvoiceID": processed["InvoiceID"], "Description": processed["Description"]},
        ),
        record("sales_invoices", {"InvoiceID": processed["InvoiceID"], "Description": "Mag niet"}),
        state({"n": 1}),
    ]
    run = run_target(tmp_path, {**target_config, "on_error": "skip"}, update, "update")
    assert run.returncode == 0, run.stderr
    assert run.summary["streams"]["sales_invoices"] == {
        "created": 0,
        "updated": 1,
        "unchanged": 1,
        "rejected": 1,
    }
    [reject] = run.rejects
    assert reject["key"] == processed["InvoiceID"]
    assert reject["field"] == "Description"
    assert "Status 50" in reject["reason"] and "Status 20" in reject["reason"]
    assert run.states == [{"n": 1}]
    [updated] = _invoices_by_ref(sandbox, division)[key]
    assert updated["Description"] == "Daarna"
    assert len(_lines_of(sandbox, division, created["InvoiceID"])) == 1
    still = [
        r
        for r in sandbox.rows(division, "salesinvoice/SalesInvoices")
        if r["InvoiceID"] == processed["InvoiceID"]
    ][0]
    assert still["Description"] == processed["Description"]


def _bad_invoice_input(customers: list[dict], items: list[dict], tag: str) -> list[dict]:
    item = items[0]["Code"]
    return [
        schema("sales_invoices"),
        record(
            "sales_invoices",
            {
                "invoice_key": f"OK-{tag}",
                "ordered_by_code": customers[0]["Code"].strip(),
                "lines": [{"item_code": item, "Quantity": 1}],
            },
        ),
        state({"after": "ok"}),
        record(
            "sales_invoices",
            {
                "invoice_key": f"UNK-{tag}",
                "ordered_by_code": "NOPE-" + tag,
                "lines": [{"item_code": item}],
            },
        ),
        record(
            "sales_invoices",
            {
                "invoice_key": f"NOBY-{tag}",
                "Description": "no customer",
                "lines": [{"item_code": item}],
            },
        ),
        record(
            "sales_invoices",
            {
                "invoice_key": f"TYPE-{tag}",
                "ordered_by_code": customers[0]["Code"].strip(),
                "Type": "x",
            },
        ),
        record(
            "sales_invoices",
            {
                "invoice_key": f"LAST-{tag}",
                "ordered_by_code": customers[1]["Code"].strip(),
                "lines": [{"item_code": item, "Quantity": 2}],
            },
        ),
        state({"after": "last"}),
    ]


def test_bad_invoices_go_to_the_reject_file_and_skip_goes_on(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    customers, items = _seed(sandbox, division)
    tag = _tag()
    run = run_target(
        tmp_path, {**target_config, "on_error": "skip"}, _bad_invoice_input(customers, items, tag)
    )
    assert run.returncode == 0, run.stderr
    rejects = {r["key"]: r for r in run.rejects}
    assert set(rejects) == {f"UNK-{tag}", f"NOBY-{tag}", f"TYPE-{tag}"}
    assert rejects[f"UNK-{tag}"]["field"] == "ordered_by_code"
    assert f"unknown customer code 'NOPE-{tag}'" in rejects[f"UNK-{tag}"]["reason"]
    assert rejects[f"NOBY-{tag}"]["exact_status"] == 400
    assert rejects[f"NOBY-{tag}"]["exact_message"] == "Verplicht: Besteld door"
    assert rejects[f"NOBY-{tag}"]["record"]["Description"] == "no customer"
    assert rejects[f"TYPE-{tag}"]["field"] == "Type"
    by_ref = _invoices_by_ref(sandbox, division)
    assert f"OK-{tag}" in by_ref and f"LAST-{tag}" in by_ref
    assert not {f"UNK-{tag}", f"NOBY-{tag}", f"TYPE-{tag}"} & set(by_ref)
    assert run.summary["streams"]["sales_invoices"]["rejected"] == 3
    assert run.states == [{"after": "last"}]


def test_fail_stops_at_the_first_bad_invoice_and_emits_no_state(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    customers, items = _seed(sandbox, division)
    tag = _tag()
    run = run_target(tmp_path, target_config, _bad_invoice_input(customers, items, tag))
    assert run.returncode == 1
    [reject] = run.rejects
    assert reject["key"] == f"UNK-{tag}"
    assert (
        f"sales_invoices record 'UNK-{tag}'" in run.stderr and "field ordered_by_code" in run.stderr
    )
    assert "Traceback" not in run.stderr
    assert run.states == []
    by_ref = _invoices_by_ref(sandbox, division)
    assert f"OK-{tag}" in by_ref  # written before the bad one
    assert f"LAST-{tag}" not in by_ref  # nothing after it
    assert run.summary["streams"]["sales_invoices"]["rejected"] == 1


def test_invoice_post_whose_answer_is_lost_is_not_sent_twice(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    """drop_after: Exact created the invoice but the answer never came. The target looks the
    invoice up by its key before sending again, finds it, and creates nothing twice."""
    customers, items = _seed(sandbox, division)
    key = f"DROP-{_tag()}"
    messages = [
        schema("sales_invoices"),
        record(
            "sales_invoices",
            {
                "invoice_key": key,
                "ordered_by_code": customers[0]["Code"].strip(),
                "lines": [{"item_code": items[0]["Code"], "Quantity": 7}],
            },
        ),
    ]
    # calls on the endpoint: the lookup (untouched), then the POST (lands, answer dropped)
    with sandbox.faults_during(
        {
            "endpoints": ["salesinvoice/SalesInvoices"],
            "next": ["latency", "drop_after"],
            "latency_ms": 0,
        }
    ) as answered:
        run = run_target(tmp_path, target_config, messages)
    assert run.returncode == 0, run.stderr
    assert answered.get("dropped", 0) == 1
    assert run.summary["streams"]["sales_invoices"]["created"] == 1
    [invoice] = _invoices_by_ref(sandbox, division)[key]
    assert [ln["Quantity"] for ln in _lines_of(sandbox, division, invoice["InvoiceID"])] == [7.0]


def _bad_record(
    kind: str, sb: Sandbox, division: int, tag: str
) -> tuple[dict, str | None, int | None]:
    """One invalid sales_invoices record of each kind, with the field and Exact status expected."""
    customers, items = _seed(sb, division)
    line = [{"item_code": items[0]["Code"], "Quantity": 1}]
    if kind == "schema":
        return {"invoice_key": f"BAD-{tag}", "InvoiceDate": 20260101}, "InvoiceDate", None
    if kind == "unknown_customer":
        return (
            {"invoice_key": f"BAD-{tag}", "ordered_by_code": "X" + tag, "lines": line},
            "ordered_by_code",
            None,
        )
    if kind == "exact_400":
        return {"invoice_key": f"BAD-{tag}", "lines": line}, None, 400
    processed = next(
        r for r in sb.rows(division, "salesinvoice/SalesInvoices") if r["Status"] == 50
    )
    return {"InvoiceID": processed["InvoiceID"], "Remarks": "te laat " + tag}, "Remarks", None


@pytest.mark.parametrize("kind", ["schema", "unknown_customer", "exact_400", "processed_update"])
@pytest.mark.parametrize("on_error", ["fail", "skip"])
def test_each_kind_of_bad_invoice_is_recorded_and_on_error_decides_the_exit(
    kind: str,
    on_error: str,
    sandbox: Sandbox,
    target_config: dict,
    division: int,
    tmp_path: Path,
) -> None:
    customers, items = _seed(sandbox, division)
    tag = _tag()
    bad, field, status = _bad_record(kind, sandbox, division, tag)
    good = {
        "invoice_key": f"AFTER-{tag}",
        "ordered_by_code": customers[0]["Code"].strip(),
        "lines": [{"item_code": items[0]["Code"], "Quantity": 1}],
    }
    messages = [
        schema("sales_invoices"),
        record("sales_invoices", bad),
        record("sales_invoices", good),
        state({"done": tag}),
    ]
    run = run_target(tmp_path, {**target_config, "on_error": on_error}, messages)
    [reject] = run.rejects
    assert reject["stream"] == "sales_invoices"
    assert reject["record"] == bad
    assert reject["field"] == field
    assert reject["exact_status"] == status
    if status is not None:
        assert reject["exact_message"] == "Verplicht: Besteld door"
    written = f"AFTER-{tag}" in _invoices_by_ref(sandbox, division)
    if on_error == "fail":
        assert run.returncode == 1
        assert run.states == [] and not written
        assert "field" in run.stderr or status is not None
    else:
        assert run.returncode == 0, run.stderr
        assert run.states == [{"done": tag}] and written
    assert run.summary["streams"]["sales_invoices"]["rejected"] == 1


def test_a_bad_line_rejects_its_invoice_and_its_other_lines(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    customers, items = _seed(sandbox, division)
    key = f"LINE-{_tag()}"
    messages = [
        schema("sales_invoices"),
        record(
            "sales_invoices", {"invoice_key": key, "ordered_by_code": customers[0]["Code"].strip()}
        ),
        schema("sales_invoice_lines"),
        record(
            "sales_invoice_lines",
            {"invoice_key": key, "LineNumber": 1, "item_code": items[0]["Code"], "Quantity": 1},
        ),
        record(
            "sales_invoice_lines",
            {
                "invoice_key": key,
                "LineNumber": 2,
                "item_code": items[1]["Code"],
                "Quantity": "veel",
            },
        ),
    ]
    run = run_target(tmp_path, {**target_config, "on_error": "skip"}, messages)
    assert run.returncode == 0, run.stderr
    summary = [(r["stream"], r["key"], r["field"]) for r in run.rejects]
    assert summary == [
        ("sales_invoice_lines", f"{key}/2", "Quantity"),
        ("sales_invoice_lines", f"{key}/1", None),
        ("sales_invoices", key, "lines"),
    ]
    assert key not in _invoices_by_ref(sandbox, division)
    assert run.summary["streams"]["sales_invoice_lines"]["rejected"] == 2


def _one_invoice(sb: Sandbox, division: int, key: str, **extra: Any) -> list[dict]:
    customers, items = _seed(sb, division)
    rec = {
        "invoice_key": key,
        "ordered_by_code": customers[0]["Code"].strip(),
        "lines": [{"item_code": items[0]["Code"], "Quantity": 4}],
        **extra,
    }
    return [schema("sales_invoices"), record("sales_invoices", rec), state({"done": key})]


def test_invoice_post_answered_500_twice_without_a_message_is_retried_and_lands_once(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    """Two bare 500s (Exact failing, not judging the record): the target looks the invoice up
    after each, finds it absent, sends it again after a backoff, and the third POST lands."""
    key = f"T500-{_tag()}"
    messages = _one_invoice(sandbox, division, key)
    # calls on the endpoint: lookup, POST (500), lookup, POST (500), lookup, POST (lands)
    before = sandbox.stats()
    with sandbox.faults_during(
        {
            "endpoints": ["salesinvoice/SalesInvoices"],
            "next": ["latency", "500", "latency", "500"],
            "latency_ms": 0,
        }
    ) as answered:
        run = run_target(tmp_path, target_config, messages)
    after = sandbox.stats()
    assert run.returncode == 0, run.stderr
    assert answered.get("500", 0) == 2
    assert run.rejects == []
    assert run.states == [{"done": key}]
    assert run.summary["streams"]["sales_invoices"]["created"] == 1
    [invoice] = _invoices_by_ref(sandbox, division)[key]
    assert [ln["Quantity"] for ln in _lines_of(sandbox, division, invoice["InvoiceID"])] == [4.0]
    assert _calls(before, after, "salesinvoice/SalesInvoices") == 6

    rerun = run_target(tmp_path, target_config, messages, "rerun")
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.summary["streams"]["sales_invoices"]["unchanged"] == 1
    assert rerun.summary["streams"]["sales_invoices"].get("created", 0) == 0
    assert len(_invoices_by_ref(sandbox, division)[key]) == 1


def test_invoice_refused_with_exacts_500_message_is_rejected_without_a_second_post(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    """A 500 carrying Exact's own message (an unknown customer reference) is Exact's verdict on
    the record: rejected at once with that message, not sent again."""
    key = f"REF-{_tag()}"
    unknown = str(uuid.uuid4())
    messages = _one_invoice(sandbox, division, key)
    rec = messages[1]["record"]
    del rec["ordered_by_code"]
    rec["OrderedBy"] = unknown
    before = sandbox.stats()
    run = run_target(tmp_path, target_config, messages)
    after = sandbox.stats()
    assert run.returncode == 1
    assert after["by_status"].get("500", 0) - before["by_status"].get("500", 0) == 1
    [reject] = run.rejects
    assert reject["exact_status"] == 500
    assert reject["key"] == key
    assert "Ongeldige referentie" in reject["exact_message"] and unknown in reject["exact_message"]
    assert run.states == []
    assert key not in _invoices_by_ref(sandbox, division)


@pytest.mark.parametrize("on_error", ["skip", "fail"])
def test_invoice_post_failing_with_bare_500s_every_time_becomes_its_reject(
    on_error: str, sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    """Bounded: after the client's max tries (5) of bare 500s, each checked by a lookup that
    answered, Exact fails on this record: it is kept as a reject naming it, nothing of it is
    created, and with `on_error: skip` the next invoice of the input is still written (with
    `fail` the run stops there, state unmoved). A re-run once Exact recovers creates it once."""
    key, other = f"DOWN-{_tag()}", f"NEXT-{_tag()}"
    messages = _one_invoice(sandbox, division, key)
    messages[2:2] = _one_invoice(sandbox, division, other)[1:2]
    # calls on the endpoint: the planned lookup of both keys, then 5 x (POST 500, lookup)
    with sandbox.faults_during(
        {
            "endpoints": ["salesinvoice/SalesInvoices"],
            "next": ["latency", *(["500", "latency"] * 5)],
            "latency_ms": 0,
        }
    ) as answered:
        run = run_target(tmp_path, {**target_config, "on_error": on_error}, messages)
    assert answered.get("500", 0) == 5
    assert "Traceback" not in run.stderr
    [reject] = run.rejects
    assert reject["key"] == key and reject["exact_status"] == 500
    assert "5 tries" in reject["reason"]
    assert key not in _invoices_by_ref(sandbox, division)
    if on_error == "skip":
        assert run.returncode == 0, run.stderr
        assert run.states == [{"done": key}]
        assert len(_invoices_by_ref(sandbox, division)[other]) == 1
    else:
        assert run.returncode == 1
        assert f"sales_invoices record {key!r}" in run.stderr
        assert run.states == []
        assert other not in _invoices_by_ref(sandbox, division)

    again = run_target(tmp_path, target_config, messages, "again")
    assert again.returncode == 0, again.stderr
    assert again.summary["streams"]["sales_invoices"]["created"] == (1 if on_error == "skip" else 2)
    assert len(_invoices_by_ref(sandbox, division)[key]) == 1
    assert len(_invoices_by_ref(sandbox, division)[other]) == 1


def test_invoice_keys_are_looked_up_as_many_per_call_as_fit_in_a_2048_byte_query(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    """300 new invoices: their keys are asked for in filtered calls each as full as IIS's
    2,048-byte query-string default allows (as sent on the wire), then 300 deep inserts; all
    calls of the run, prefetches included, stay within 1.05 per invoice. A re-run costs the
    same lookups and no write."""
    sb = sandbox_factory(seed=5, minutely_limit=100_000)  # > 60 calls: no minute-window waits
    grant = sb.grant()
    division = int(grant["divisions"][0])
    # invoices always looked up: no bulk read of the company's headers
    config = config_for(sb, grant, tmp_path, prefetch_threshold=100_000)
    customers, items = _seed(sb, division)
    tag = _tag()
    keys = [f"PACK-{tag}-{n:04d}" for n in range(300)]
    messages = [schema("sales_invoices")] + [
        record(
            "sales_invoices",
            {
                "invoice_key": key,
                "ordered_by_code": customers[n % len(customers)]["Code"].strip(),
                "lines": [{"item_code": items[n % len(items)]["Code"], "Quantity": 1}],
            },
        )
        for n, key in enumerate(keys)
    ]
    assert sb.log_path is not None
    run = run_target(tmp_path, config, messages)
    stats = sb.stats()
    assert run.returncode == 0, run.stderr
    assert run.summary["streams"]["sales_invoices"]["created"] == 300

    queries = re.findall(
        r'"GET /api/v1/\d+/salesinvoice/SalesInvoices\?(\S*) HTTP', sb.log_path.read_text()
    )
    sizes = [len(q.encode()) for q in queries]
    assert all(size <= 2048 for size in sizes), sizes
    assert all(size > 1800 for size in sizes[:-1]), sizes  # packed, not a fixed small count
    assert sum(q.count(f"PACK-{tag}") for q in queries) == 300
    assert stats["by_endpoint"]["salesinvoice/SalesInvoices"] == 300 + len(queries)
    assert stats["api_calls"] / 300 <= 1.05, stats["by_endpoint"]
    by_ref = _invoices_by_ref(sb, division)
    assert all(len(by_ref[key]) == 1 for key in keys)

    sb.reset_stats()
    again = run_target(tmp_path, config, messages, "again")
    assert again.returncode == 0, again.stderr
    assert again.summary["streams"]["sales_invoices"]["unchanged"] == 300
    assert sb.stats()["by_endpoint"]["salesinvoice/SalesInvoices"] == len(queries)
    assert len(_invoices_by_ref(sb, division)[keys[0]]) == 1


def _invoice_load(sb: Sandbox, division: int, keys: list[str]) -> list[dict]:
    customers, items = _seed(sb, division)
    return [schema("sales_invoices")] + [
        record(
            "sales_invoices",
            {
                "invoice_key": key,
                "ordered_by_code": customers[n % len(customers)]["Code"].strip(),
                "lines": [{"item_code": items[n % len(items)]["Code"], "Quantity": 2}],
            },
        )
        for n, key in enumerate(keys)
    ]


def test_a_large_invoice_load_in_a_small_company_reads_the_headers_in_bulk_once(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    """300 new invoices in a company of 50: reading every header with a key through
    bulk/SalesInvoice/SalesInvoices takes one call, fewer than the 6 key lookups, so the run
    costs 300 deep inserts + 1 bulk read + the customer and item reads. Re-run: no write."""
    sb = sandbox_factory(seed=8, minutely_limit=100_000)  # > 60 calls: no minute-window waits
    grant = sb.grant()
    division = int(grant["divisions"][0])
    config = config_for(sb, grant, tmp_path)
    assert len(sb.rows(division, "salesinvoice/SalesInvoices")) < 1000
    (tmp_path / "tokens.rows.json").write_text("{not json")  # a damaged hint is ignored
    keys = [f"BULK-{_tag()}-{n:04d}" for n in range(300)]
    messages = _invoice_load(sb, division, keys)
    run = run_target(tmp_path, config, messages)
    stats = sb.stats()
    assert run.returncode == 0, run.stderr
    assert run.summary["streams"]["sales_invoices"]["created"] == 300
    assert stats["by_endpoint"]["bulk/SalesInvoice/SalesInvoices"] == 1
    assert stats["by_endpoint"]["salesinvoice/SalesInvoices"] == 300  # the POSTs only
    assert stats["api_calls"] <= 304, stats["by_endpoint"]  # with current/Me (division check)
    by_ref = _invoices_by_ref(sb, division)
    assert all(len(by_ref[key]) == 1 for key in keys)
    counts = json.loads((tmp_path / "tokens.rows.json").read_text())
    assert counts["divisions"][str(division)]["bulk/SalesInvoice/SalesInvoices"] < 1000
    assert (tmp_path / "tokens.rows.json").stat().st_mode & 0o077 == 0

    sb.reset_stats()
    again = run_target(tmp_path, config, messages, "again")
    assert again.returncode == 0, again.stderr
    assert again.summary["streams"]["sales_invoices"]["unchanged"] == 300
    assert sb.stats()["by_endpoint"].get("salesinvoice/SalesInvoices", 0) == 0
    assert all(len(v) == 1 for k, v in _invoices_by_ref(sb, division).items() if k in keys)


def test_a_company_too_large_to_read_in_bulk_is_remembered_and_looked_up_next_time(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    """1,200 invoices; a load of 30 new ones needs one key lookup. The first run does not know
    the company's size: its bulk read stops after that one call (a full page), and the keys are
    looked up. The target keeps "more than 1,000 rows" beside the token store, so the next load
    of 30 goes straight to the lookup."""
    sb = sandbox_factory(seed=9, scale=1.2, minutely_limit=100_000)
    grant = sb.grant()
    division = int(grant["divisions"][0])
    config = config_for(sb, grant, tmp_path)
    assert len(sb.rows(division, "salesinvoice/SalesInvoices")) > 1000
    tag = _tag()
    first = [f"BIG-{tag}-A{n:02d}" for n in range(30)]
    run = run_target(tmp_path, config, _invoice_load(sb, division, first), "first")
    stats = sb.stats()["by_endpoint"]
    assert run.returncode == 0, run.stderr
    assert run.summary["streams"]["sales_invoices"]["created"] == 30
    assert stats["bulk/SalesInvoice/SalesInvoices"] == 1
    assert stats["salesinvoice/SalesInvoices"] == 1 + 30
    counts = json.loads((tmp_path / "tokens.rows.json").read_text())
    assert counts["divisions"][str(division)]["bulk/SalesInvoice/SalesInvoices"] == 1001

    sb.reset_stats()
    second = [f"BIG-{tag}-B{n:02d}" for n in range(30)]
    run = run_target(tmp_path, config, _invoice_load(sb, division, second), "second")
    stats = sb.stats()["by_endpoint"]
    assert run.returncode == 0, run.stderr
    assert run.summary["streams"]["sales_invoices"]["created"] == 30
    assert "bulk/SalesInvoice/SalesInvoices" not in stats
    assert stats["salesinvoice/SalesInvoices"] == 1 + 30
    by_ref = _invoices_by_ref(sb, division)
    assert all(len(by_ref[key]) == 1 for key in first + second)


def _line_view(sb: Sandbox, division: int, invoice_id: str) -> list[tuple[str, float]]:
    return [(ln["Item"], ln["Quantity"]) for ln in _lines_of(sb, division, invoice_id)]


def test_an_open_invoices_lines_are_changed_added_and_deleted_until_they_equal_the_input(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    customers, items = _seed(sandbox, division)
    key = f"LN-{_tag()}"
    code = customers[0]["Code"].strip()

    def invoice(*lines: tuple[int, int]) -> list[dict]:
        body = [{"item_code": items[i]["Code"], "Quantity": q, "NetPrice": 2} for i, q in lines]
        return [
            schema("sales_invoices"),
            record("sales_invoices", {"invoice_key": key, "ordered_by_code": code, "lines": body}),
        ]

    assert run_target(tmp_path, target_config, invoice((0, 1), (1, 2), (2, 3)), "c").returncode == 0
    [inv] = _invoices_by_ref(sandbox, division)[key]
    iid = inv["InvoiceID"]

    # line 2 changes quantity, line 3 another item, a 4th line is new
    before = sandbox.stats()
    run = run_target(tmp_path, target_config, invoice((0, 1), (1, 5), (3, 3), (4, 1)), "u")
    after = sandbox.stats()
    assert run.returncode == 0, run.stderr
    assert run.summary["streams"]["sales_invoices"]["updated"] == 1
    assert _line_view(sandbox, division, iid) == [
        (items[0]["ID"], 1.0),
        (items[1]["ID"], 5.0),
        (items[3]["ID"], 3.0),
        (items[4]["ID"], 1.0),
    ]
    # one lookup of the invoice's lines, two PUTs and one POST: no header write
    assert _calls(before, after, "salesinvoice/SalesInvoiceLines") == 4
    assert _calls(before, after, "salesinvoice/SalesInvoices") == 1  # the key lookup

    # fewer lines: the rest are deleted
    run = run_target(tmp_path, target_config, invoice((0, 1), (1, 5)), "d")
    assert run.returncode == 0, run.stderr
    assert run.summary["streams"]["sales_invoices"]["updated"] == 1
    assert run.summary["streams"]["sales_invoice_lines"]["deleted"] == 2
    assert _line_view(sandbox, division, iid) == [(items[0]["ID"], 1.0), (items[1]["ID"], 5.0)]
    header = next(
        r for r in sandbox.rows(division, "salesinvoice/SalesInvoices") if r["InvoiceID"] == iid
    )
    assert header["AmountFCExclVat"] == 12.0  # Exact's totals follow the lines

    # the same input again: nothing to write
    before = sandbox.stats()
    run = run_target(tmp_path, target_config, invoice((0, 1), (1, 5)), "same")
    after = sandbox.stats()
    assert run.returncode == 0, run.stderr
    assert run.summary["streams"]["sales_invoices"]["unchanged"] == 1
    assert after["by_status"].get("204", 0) == before["by_status"].get("204", 0)
    assert _calls(before, after, "salesinvoice/SalesInvoiceLines") == 1


@pytest.mark.parametrize("fault", ["drop_after", "drop"], ids=["landed", "not-landed"])
def test_a_new_line_whose_post_answer_is_lost_is_looked_up_and_added_exactly_once(
    fault: str, sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    """A line added to an open invoice has no key of its own: after a lost answer the target
    reads the invoice's lines again and takes a new line equal to the one sent as the one it
    added (drop_after: it landed), or sends it again (drop: it never arrived)."""
    customers, items = _seed(sandbox, division)
    key = f"LL-{_tag()}"
    code = customers[0]["Code"].strip()

    def invoice(*lines: tuple[int, int]) -> list[dict]:
        body = [{"item_code": items[i]["Code"], "Quantity": q, "NetPrice": 2} for i, q in lines]
        return [
            schema("sales_invoices"),
            record("sales_invoices", {"invoice_key": key, "ordered_by_code": code, "lines": body}),
        ]

    assert run_target(tmp_path, target_config, invoice((0, 1)), "c").returncode == 0
    [inv] = _invoices_by_ref(sandbox, division)[key]

    # calls on the lines endpoint: the lookup (untouched), then the new line's POST
    with sandbox.faults_during(
        {
            "endpoints": ["salesinvoice/SalesInvoiceLines"],
            "next": ["latency", fault],
            "latency_ms": 0,
        }
    ) as answered:
        run = run_target(tmp_path, target_config, invoice((0, 1), (1, 4)), "add")

    assert run.returncode == 0, run.stderr
    assert answered.get("dropped", 0) == 1
    assert run.summary["streams"]["sales_invoices"]["updated"] == 1
    assert run.summary["streams"]["sales_invoices"]["rejected"] == 0
    assert _line_view(sandbox, division, inv["InvoiceID"]) == [
        (items[0]["ID"], 1.0),
        (items[1]["ID"], 4.0),
    ]


def test_a_second_record_of_an_invoice_in_one_input_gets_its_lines_and_processed_ones_are_rejected(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    customers, items = _seed(sandbox, division)
    key = f"TWICE-{_tag()}"
    code = customers[1]["Code"].strip()
    processed = next(
        r for r in sandbox.rows(division, "salesinvoice/SalesInvoices") if r["Status"] == 50
    )
    processed_lines = _line_view(sandbox, division, processed["InvoiceID"])
    messages = [
        schema("sales_invoices"),
        record(
            "sales_invoices",
            {
                "invoice_key": key,
                "ordered_by_code": code,
                "lines": [{"item_code": items[0]["Code"], "Quantity": 1}],
            },
        ),
        # the same invoice again, later in the input: its lines are the last word
        record("sales_invoices", {"invoice_key": key, "ordered_by_code": code}),
        schema("sales_invoice_lines"),
        record(
            "sales_invoice_lines",
            {"invoice_key": key, "LineNumber": 1, "item_code": items[0]["Code"], "Quantity": 4},
        ),
        record(
            "sales_invoice_lines",
            {"invoice_key": key, "LineNumber": 2, "item_code": items[1]["Code"], "Quantity": 2},
        ),
        record(
            "sales_invoices",
            {
                "InvoiceID": processed["InvoiceID"],
                "lines": [{"Item": items[2]["ID"], "Quantity": 99}],
            },
        ),
    ]
    run = run_target(tmp_path, {**target_config, "on_error": "skip"}, messages, "twice")
    assert run.returncode == 0, run.stderr
    assert run.summary["streams"]["sales_invoices"] == {
        "created": 1,
        "updated": 1,
        "unchanged": 0,
        "rejected": 1,
    }
    [inv] = _invoices_by_ref(sandbox, division)[key]
    assert _line_view(sandbox, division, inv["InvoiceID"]) == [
        (items[0]["ID"], 4.0),
        (items[1]["ID"], 2.0),
    ]
    [reject] = run.rejects
    assert reject["key"] == processed["InvoiceID"] and reject["field"] == "lines"
    assert "Status 50" in reject["reason"] and "Status 20" in reject["reason"]
    assert _line_view(sandbox, division, processed["InvoiceID"]) == processed_lines
