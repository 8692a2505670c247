"""Bad input never crashes a run: a record at fault is a reject naming it and its field (and the
valid records of the same input are written), input that is no Singer message stops the run
with one error line naming the input line. The reject file is strict JSON whatever it holds."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from exactonline_sandbox.harness import Sandbox
from target_exactonline.load import Load
from target_exactonline.rejects import RecordRejected
from target_exactonline.settings import TargetSettings
from tests.support.output import assert_one_error_line
from tests.target.singer_run import TargetRun, record, run_target, run_target_on, schema, state


def _tag() -> str:
    return uuid.uuid4().hex[:8].upper()


def _lines(*messages: dict[str, Any] | bytes) -> bytes:
    return b"".join(
        (m if isinstance(m, bytes) else json.dumps(m).encode()) + b"\n" for m in messages
    )


def _one_clear_error(run: TargetRun, error: str) -> str:
    """The run stopped with exit 1 and exactly one error line, no traceback."""
    assert run.returncode == 1, run.stderr
    return assert_one_error_line(run.stderr, "target-exactonline", error)


def _account_codes(sb: Sandbox, division: int) -> set[str]:
    return {str(r["Code"]).strip() for r in sb.rows(division, "crm/Accounts")}


def _invoice_refs(sb: Sandbox, division: int) -> set[str]:
    return {r.get("YourRef") or "" for r in sb.rows(division, "salesinvoice/SalesInvoices")}


def _customer_and_item(sb: Sandbox, division: int) -> tuple[str, str]:
    customer = min(
        str(r["Code"]).strip() for r in sb.rows(division, "crm/Accounts") if r["Status"] == "C"
    )
    item = min(str(r["Code"]) for r in sb.rows(division, "logistics/Items"))
    return customer, item


def _invoice(key: str, customer: str, item: str, **line: Any) -> dict[str, Any]:
    return {
        "invoice_key": key,
        "ordered_by_code": customer,
        "lines": [{"item_code": item, "Quantity": 2, **line}],
    }


# -- item 9: text no OData filter (and no Exact field) can carry ---------------------------------


@pytest.mark.parametrize(
    ("stream", "field"),
    [
        ("customers", "Code"),
        ("sales_invoices", "invoice_key"),
        ("sales_invoices", "ordered_by_code"),
        ("sales_invoices", "lines.0.item_code"),
        ("sales_invoice_lines", "item_code"),
    ],
)
def test_a_nul_in_a_looked_up_value_is_that_records_reject_and_the_rest_is_written(
    stream: str, field: str, sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    tag = _tag()
    if stream == "customers":
        bad = {"Code": f"N\x00{tag}", "Name": "Nul BV"}
        good = {"Code": f"OK{tag}", "Name": "Goed BV"}
        messages = [schema(stream), record(stream, bad), record(stream, good)]
    else:
        customer, item = _customer_and_item(sandbox, division)
        bad = _invoice(f"BAD-{tag}", customer, item)
        good = _invoice(f"OK{tag}", customer, item)
        if field == "invoice_key":
            bad["invoice_key"] = f"BAD\x00{tag}"
        elif field == "ordered_by_code":
            bad["ordered_by_code"] = customer + "\x00"
        else:
            bad["lines"][0]["item_code"] = item + "\x00"
        messages = [schema("sales_invoices"), record("sales_invoices", good)]
        if stream == "sales_invoice_lines":
            line = {"invoice_key": bad.pop("invoice_key"), **bad.pop("lines")[0]}
            bad["invoice_key"] = line["invoice_key"]
            messages += [schema(stream), record(stream, line)]
        messages.append(record("sales_invoices", bad))
    run = run_target(tmp_path, {**target_config, "on_error": "skip"}, [*messages, state({"n": 1})])
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    reject = next(r for r in run.rejects if r["stream"] == stream)
    assert reject["field"] == field
    assert "U+0000" in reject["reason"]
    assert run.states == [{"n": 1}]
    if stream == "customers":
        assert f"OK{tag}" in _account_codes(sandbox, division)
        assert not any("\x00" in code for code in _account_codes(sandbox, division))
    else:
        refs = _invoice_refs(sandbox, division)
        assert f"OK{tag}" in refs
        assert f"BAD-{tag}" not in refs


def test_under_on_error_fail_a_nul_stops_the_run_with_one_line_naming_record_and_field(
    target_config: dict, tmp_path: Path
) -> None:
    bad = {"Code": "NUL\x00CODE", "Name": "Nul BV"}
    run = run_target(tmp_path, target_config, [schema("customers"), record("customers", bad)])
    line = _one_clear_error(run, "LoadStopped")
    assert "customers record 'NUL\\x00CODE'" in line and "(field Code)" in line
    [reject] = run.rejects
    assert reject["record"] == bad


def test_invalid_utf8_in_a_value_is_that_records_reject_and_the_rest_is_written(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    tag = _tag()
    bad = b'{"type": "RECORD", "stream": "customers", "record": {"Code": "U8' + tag.encode()
    bad += b'\xff", "Name": "Caf\xc3\xa9 \xe9t\xe9"}}'
    good = record("customers", {"Code": f"OK{tag}", "Name": "Café"})
    stdin = _lines(schema("customers"), bad, good)
    run = run_target_on(tmp_path, {**target_config, "on_error": "skip"}, stdin, "run")
    assert run.returncode == 0, run.stderr
    [reject] = run.rejects
    assert reject["field"] == "Code"
    assert "byte 0xFF that is not valid UTF-8" in reject["reason"]
    assert reject["record"]["Code"].startswith(f"U8{tag}")
    codes = _account_codes(sandbox, division)
    assert f"OK{tag}" in codes and f"U8{tag}" not in "".join(codes)


# -- item 10: a record without the key its SCHEMA declares ---------------------------------------


def test_a_record_without_its_declared_key_property_is_rejected_naming_that_key(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    tag = _tag()
    declared = schema("customers", {"Code": {"type": "string"}, "Name": {"type": "string"}})
    declared["key_properties"] = ["Code"]
    messages = [
        declared,
        record("customers", {"Name": f"Zonder code {tag}"}),
        record("customers", {"Code": f"KP{tag}", "Name": "Met code"}),
    ]
    run = run_target(tmp_path, {**target_config, "on_error": "skip"}, messages)
    assert run.returncode == 0, run.stderr
    [reject] = run.rejects
    assert reject["field"] == "Code" and "key property" in reject["reason"]
    assert f"KP{tag}" in _account_codes(sandbox, division)

    stopped = run_target(tmp_path, target_config, messages[:2], "fail")
    assert "lacks a key property" in _one_clear_error(stopped, "LoadStopped")


# -- item 11: numbers Exact cannot store ---------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Quantity", float("nan")),
        ("Quantity", float("inf")),
        ("UnitPrice", float("-inf")),
        ("UnitPrice", 1e308),
        ("UnitPrice", 1e15),
        ("LineNumber", 2**40),
    ],
)
def test_a_number_exact_cannot_store_is_rejected_before_anything_is_sent(
    field: str,
    value: float,
    sandbox: Sandbox,
    target_config: dict,
    division: int,
    tmp_path: Path,
) -> None:
    tag = _tag()
    customer, item = _customer_and_item(sandbox, division)
    bad = _invoice(f"NUM-{tag}", customer, item, **{field: value})
    good = _invoice(f"OK{tag}", customer, item, UnitPrice=999999999999.99)
    messages = [schema("sales_invoices"), record("sales_invoices", bad)]
    messages += [record("sales_invoices", good), state({"n": 1})]
    before = sandbox.stats()["by_status"]
    run = run_target(tmp_path, {**target_config, "on_error": "skip"}, messages)
    after = sandbox.stats()["by_status"]
    assert run.returncode == 0, run.stderr
    [reject] = run.rejects  # parsed as strict JSON: NaN and Infinity became strings
    assert reject["key"] == f"NUM-{tag}" and reject["field"] == f"lines[0].{field}"
    assert reject["exact_status"] is None
    assert all(after.get(s, 0) == before.get(s, 0) for s in ("400", "500"))  # never sent
    assert run.states == [{"n": 1}]
    refs = _invoice_refs(sandbox, division)
    assert f"OK{tag}" in refs and f"NUM-{tag}" not in refs


# -- item 12: input that is malformed --------------------------------------------------------------


@pytest.mark.parametrize("value", [[1, 2], None, "Klant BV", 42])
def test_a_record_that_is_not_an_object_is_rejected_and_the_rest_is_written(
    value: Any, sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    tag = _tag()
    messages = [
        schema("customers"),
        {"type": "RECORD", "stream": "customers", "record": value},
        record("customers", {"Code": f"OK{tag}", "Name": "Goed BV"}),
    ]
    run = run_target(tmp_path, {**target_config, "on_error": "skip"}, messages)
    assert run.returncode == 0, run.stderr
    [reject] = run.rejects
    assert reject["record"] == value and "not an object" in reject["reason"]
    assert f"OK{tag}" in _account_codes(sandbox, division)


@pytest.mark.parametrize("ref", ["#/definitions/missing", "file"])
def test_a_schema_ref_that_does_not_resolve_is_never_fetched_and_the_input_schema_applies(
    ref: str, sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    """A `$ref` to a file would make the target read outside its settings' folders: it is not
    read (the file here would refuse every Code), the declared schema is set aside."""
    if ref == "file":
        refused = tmp_path / "outside.json"
        refused.write_text(json.dumps({"type": "integer"}))
        ref = refused.as_uri()
    tag = _tag()
    declared = schema("customers", {"Code": {"$ref": ref}, "Name": {"type": "string"}})
    messages = [declared, record("customers", {"Code": f"RF{tag}", "Name": "Ref BV"})]
    run = run_target(tmp_path, target_config, messages)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert f"$ref {ref!r} does not resolve" in run.stderr
    assert run.rejects == []
    assert f"RF{tag}" in _account_codes(sandbox, division)


_GOOD = record("customers", {"Code": "NEVER-WRITTEN", "Name": "x"})


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (
            b'{"type": "RECORD", "stream": "customers", "record": {"x": '
            + b"[" * 100_000
            + b"]" * 100_000
            + b"}}",
            "nested deeper than 100 levels",
        ),
        (
            b'{"type": "RECORD", "stream": "customers", "record": {"x": '
            + b"[" * 150
            + b"]" * 150
            + b"}}",
            "nested deeper than 100 levels",
        ),
        (b'{"type": "RECORD", "stream": "customers", "record": {"Code": "A"', "not JSON"),
        (b"[1, 2]", "a JSON list, not a message object"),
        (b'{"stream": "customers", "record": {}}', "no message type"),
        (b'{"type": "RECORD", "record": {"Code": "A"}}', "a RECORD message needs 'stream'"),
        (b'{"type": "RECORD", "stream": "orders", "record": {}}', "before its SCHEMA"),
        (b'{"type": "SCHEMA", "stream": "customers", "schema": [1]}', "must be an object"),
        (b'{"type": "BOGUS"}', "unknown message type 'BOGUS'"),
        (b'{"type": "RECORD", "stream": ["customers"], "record": {}}', "must be a string"),
        (
            b'{"type": "SCHEMA", "stream": "customers", "schema": {"type": "object"}}',
            "'properties'",
        ),
        (b'{"type": "STATE"}', "a STATE message needs 'value'"),
        (
            b'{"type": "SCHEMA", "stream": "customers", "schema": {"properties": {}}, '
            b'"key_properties": "Code"}',
            "must be a list of names",
        ),
        (b'{"type": "ACTIVATE_VERSION", "stream": "orders", "version": 1}', "before its SCHEMA"),
        (
            b'{"type": "BATCH", "stream": "customers", "encoding": {"format": "jsonl"}, '
            b'"manifest": ["file:///etc/passwd"]}',
            "BATCH messages are not read",
        ),
    ],
)
def test_a_line_that_is_no_singer_message_stops_the_run_with_one_line_naming_it(
    line: bytes, why: str, target_config: dict, tmp_path: Path
) -> None:
    stdin = _lines(schema("customers"), line, _GOOD, state({"n": 1}))
    run = run_target_on(tmp_path, {**target_config, "on_error": "skip"}, stdin, "run")
    error = _one_clear_error(run, "BadInput")
    assert "input line 2 is no Singer message" in error and why in error
    assert run.states == []
    assert run.rejects == []
    assert run.summary["totals"]["created"] == 0  # the summary is still written


def test_an_update_failing_with_bare_500s_every_time_becomes_its_reject_and_the_run_goes_on(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    """The PUT is retried by the client (5 tries), each a bare 500 while the lookup answered:
    Exact fails on this record, so it is kept as a reject and the next record is written."""
    tag = _tag()
    config = {**target_config, "on_error": "skip"}
    first = run_target(
        tmp_path,
        config,
        [schema("customers"), record("customers", {"Code": f"UP{tag}", "Name": "Oud"})],
    )
    assert first.returncode == 0, first.stderr
    messages = [
        schema("customers"),
        record("customers", {"Code": f"UP{tag}", "Name": "Nieuw"}),
        state({"n": 1}),
    ]
    # calls on the endpoint: the lookup, then 5 PUTs
    with sandbox.faults_during(
        {"endpoints": ["crm/Accounts"], "next": ["latency", *["500"] * 5], "latency_ms": 0}
    ) as answered:
        run = run_target(tmp_path, config, messages, "update")
    assert answered.get("500", 0) == 5
    assert run.returncode == 0, run.stderr
    [reject] = run.rejects
    assert reject["key"] == f"UP{tag}" and reject["exact_status"] == 500
    assert "5 tries of the PUT" in reject["reason"]
    assert run.states == [{"n": 1}]
    [row] = [
        r for r in sandbox.rows(division, "crm/Accounts") if str(r["Code"]).strip() == f"UP{tag}"
    ]
    assert row["Name"] == "Oud"


def test_a_value_no_filter_can_carry_is_left_out_of_a_planned_lookup_and_rejected_when_found(
    sandbox: Sandbox, target_config: dict, tmp_path: Path
) -> None:
    """The lookup helper's own guard (whatever the sink checked before): planning skips the
    value, asking for it is a reject naming the key, the other keys are still looked up."""
    config = {**target_config, "reject_file": str(tmp_path / "rejects.jsonl")}
    load = Load(TargetSettings.from_config(config))
    codes = sorted(str(r["Code"]).strip() for r in sandbox.rows(load.division, "crm/Accounts"))
    load.accounts.plan([("Code", "A\x00B"), ("Code", codes[0]), ("Code", codes[1])])
    assert load.accounts.cached("Code", codes[0]) and load.accounts.cached("Code", codes[1])
    with pytest.raises(RecordRejected) as caught:
        load.accounts.find("Code", "A\x00B")
    assert caught.value.field == "Code" and "U+0000" in caught.value.reason
