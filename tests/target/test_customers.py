"""customers -> crm/Accounts against the sandbox: create, update, unchanged, re-runs, faults."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from exactonline_sandbox.harness import Sandbox
from tests.target.singer_run import record, run_target, schema, state


def _tag() -> str:
    return uuid.uuid4().hex[:8].upper()


def _by_code(sb: Sandbox, division: int) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in sb.rows(division, "crm/Accounts"):
        out.setdefault((row.get("Code") or "").strip(), []).append(row)
    return out


def _calls(before: dict[str, Any], after: dict[str, Any], endpoint: str) -> int:
    return after["by_endpoint"].get(endpoint, 0) - before["by_endpoint"].get(endpoint, 0)


def test_create_update_unchanged_then_rerun_writes_nothing(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    tag = _tag()
    existing = sorted(
        (r for r in sandbox.rows(division, "crm/Accounts") if r["Status"] == "C"),
        key=lambda r: r["Code"],
    )
    changed, same = existing[0], existing[1]
    messages = [
        schema("customers", {"Code": {"type": "string"}}, ["Code"]),
        record("customers", {"Code": f"N1{tag}", "Name": "Nieuw Een", "Email": "een@example.com"}),
        record("customers", {"Code": f"N2{tag}", "Name": "Nieuw Twee", "City": "Delft"}),
        # Exact pads codes to 18 characters; the warehouse has them trimmed.
        record("customers", {"Code": changed["Code"].strip(), "City": f"Stad {tag}"}),
        record(
            "customers",
            {"Code": same["Code"].strip(), "Name": same["Name"], "Country": same["Country"]},
        ),
        state({"bookmark": tag}),
    ]
    config = {**target_config, "prefetch_threshold": 0}
    first = run_target(tmp_path, config, messages, "first")
    assert first.returncode == 0, first.stderr
    assert first.states == [{"bookmark": tag}]
    assert first.summary["streams"]["customers"] == {
        "created": 2,
        "updated": 1,
        "unchanged": 1,
        "rejected": 0,
    }
    rows = _by_code(sandbox, division)
    [n1] = rows[f"N1{tag}"]
    assert (n1["Name"], n1["Email"], n1["Status"]) == ("Nieuw Een", "een@example.com", "C")
    assert n1["Code"] == f"N1{tag}".rjust(18)
    assert rows[changed["Code"].strip()][0]["City"] == f"Stad {tag}"
    assert rows[same["Code"].strip()][0]["Modified"] == same["Modified"]

    before = sandbox.stats()
    second = run_target(tmp_path, config, messages, "second")
    after = sandbox.stats()
    assert second.returncode == 0, second.stderr
    assert second.summary["streams"]["customers"]["unchanged"] == 4
    # Lookups went to the sync endpoint: crm/Accounts saw no call at all, so no POST or PUT.
    assert _calls(before, after, "crm/Accounts") == 0
    assert after["by_status"].get("204", 0) == before["by_status"].get("204", 0)
    rows_again = _by_code(sandbox, division)
    assert len(rows_again[f"N1{tag}"]) == 1 and len(rows_again[f"N2{tag}"]) == 1
    assert rows_again[f"N1{tag}"][0]["Modified"] == n1["Modified"]


def test_small_load_uses_filtered_lookups_and_sends_only_changed_fields(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    tag = _tag()
    messages = [
        schema("customers"),
        record("customers", {"Code": f"S{tag}", "Name": "Klein", "Phone": "010-1"}),
    ]
    assert run_target(tmp_path, target_config, messages, "a").returncode == 0
    before = sandbox.stats()
    changed = [
        schema("customers"),
        record("customers", {"Code": f"S{tag}", "Name": "Klein", "Phone": "010-2"}),
    ]
    run = run_target(tmp_path, target_config, changed, "b")
    after = sandbox.stats()
    assert run.returncode == 0, run.stderr
    assert run.summary["streams"]["customers"]["updated"] == 1
    # one filtered GET and one PUT; no prefetch for a single record
    assert _calls(before, after, "crm/Accounts") == 2
    assert _calls(before, after, "sync/CRM/Accounts") == 0
    assert run.summary["api_calls"] == 3  # and current/Me: the check of the division setting
    [row] = _by_code(sandbox, division)[f"S{tag}"]
    assert (row["Name"], row["Phone"]) == ("Klein", "010-2")


def test_customer_without_code_matches_on_the_configured_field(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    tag = _tag()
    email = f"Match.{tag}@Example.com"
    config = {**target_config, "customer_match_field": "Email"}
    first = [schema("customers"), record("customers", {"Name": "Zonder Code", "Email": email})]
    second = [
        schema("customers"),
        record("customers", {"Name": "Zonder Code", "Email": email.lower(), "City": "Ede"}),
    ]
    assert run_target(tmp_path, config, first, "a").returncode == 0
    run = run_target(tmp_path, config, second, "b")
    assert run.returncode == 0, run.stderr
    assert run.summary["streams"]["customers"]["updated"] == 1
    matches = [
        r
        for r in sandbox.rows(division, "crm/Accounts")
        if (r["Email"] or "").lower() == email.lower()
    ]
    assert len(matches) == 1
    assert matches[0]["City"] == "Ede"
    assert matches[0]["Code"].strip()  # Exact assigned one


def test_customer_without_any_key_is_rejected_not_created(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    name = f"Sleutelloos {_tag()}"
    run = run_target(
        tmp_path,
        {**target_config, "on_error": "skip"},
        [schema("customers"), record("customers", {"Name": name})],
    )
    assert run.returncode == 0, run.stderr
    [reject] = run.rejects
    assert reject["field"] == "Code"
    assert "a re-run could not find it again" in reject["reason"]
    assert not [r for r in sandbox.rows(division, "crm/Accounts") if r["Name"] == name]


def test_faults_during_a_load_leave_the_same_data_as_a_clean_load(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    """drop_after (the POST landed, the answer was lost), 500 and 429 on the writes: the target
    looks up before re-sending, so every customer exists once, as in a fault-free load."""
    from tests.support.configs import config_for

    sb = sandbox_factory(seed=5, divisions=1, minute_seconds=2)  # a 429 waits ~2 s
    grant = sb.grant()
    division = int(grant["divisions"][0])
    tag = _tag()
    customers = [
        {"Code": f"F{i}{tag}", "Name": f"Storing {i}", "City": "Gouda", "Email": f"f{i}@x.nl"}
        for i in range(6)
    ]
    messages = [schema("customers"), *(record("customers", c) for c in customers)]
    config = config_for(sb, grant, tmp_path, prefetch_threshold=0)
    # With prefetching, lookups use sync/CRM/Accounts: every crm/Accounts call is a write.
    faults = {"endpoints": ["crm/Accounts"], "next": ["drop_after", "500", "drop_after", "429"]}
    with sb.faults_during(faults):
        run = run_target(tmp_path, config, messages, "faulty")
    assert run.returncode == 0, run.stderr
    assert run.summary["streams"]["customers"]["created"] == 6
    rows = _by_code(sb, division)
    for c in customers:
        [row] = rows[c["Code"]]
        assert (row["Name"], row["City"], row["Email"]) == (c["Name"], c["City"], c["Email"])
    stats = sb.stats()
    assert stats["by_status"].get("dropped", 0) == 2
    assert stats["by_status"].get("500", 0) == 1
    assert stats["by_status"].get("429", 0) == 1
    # and a clean re-run finds all of them: nothing to write
    again = run_target(tmp_path, config, messages, "again")
    assert again.summary["streams"]["customers"]["unchanged"] == 6


def test_a_few_hundred_customers_cost_at_most_1_05_calls_each(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    from tests.support.configs import config_for

    sb = sandbox_factory(seed=7, divisions=1, minutely_limit=1000)  # counts, not timing
    grant = sb.grant()
    division = int(grant["divisions"][0])
    existing = [r for r in sb.rows(division, "crm/Accounts") if r["Status"] == "C"]
    tag = _tag()
    new = [{"Code": f"B{i:03d}{tag}", "Name": f"Bulk {i}"} for i in range(300 - len(existing))]
    touched = [
        {"Code": r["Code"].strip(), "Name": r["Name"], "City": f"Nieuw {tag}"} for r in existing
    ]
    messages = [schema("customers"), *(record("customers", c) for c in new + touched)]
    before = sb.stats()
    run = run_target(tmp_path, config_for(sb, grant, tmp_path), messages)
    after = sb.stats()
    assert run.returncode == 0, run.stderr
    counts = run.summary["streams"]["customers"]
    written = counts["created"] + counts["updated"] + counts["unchanged"]
    assert written == 300 and counts["created"] == len(new)
    sandbox_calls = after["api_calls"] - before["api_calls"]
    assert run.summary["api_calls"] == sandbox_calls
    assert sandbox_calls <= 1.05 * written, (sandbox_calls, written)
    print("calls", sandbox_calls, "records", written, counts)


def test_tap_delete_records_are_counted_not_applied(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    victim = next(r for r in sandbox.rows(division, "crm/Accounts") if r["Status"] == "C")
    deleted = {"ID": victim["ID"], "Division": division, "_sdc_deleted_at": "2026-01-01T00:00:00Z"}
    for metadata in (False, True):
        run = run_target(
            tmp_path,
            {**target_config, "add_record_metadata": metadata},
            [schema("customers"), record("customers", deleted)],
            f"meta-{metadata}",
        )
        assert run.returncode == 0, run.stderr
        assert run.summary["streams"]["customers"]["deletes_skipped"] == 1
        assert run.summary["streams"]["customers"]["created"] == 0
    [still] = [r for r in sandbox.rows(division, "crm/Accounts") if r["ID"] == victim["ID"]]
    assert still["Modified"] == victim["Modified"]


def test_a_batch_below_the_threshold_looks_its_keys_up_in_one_call(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    tag = _tag()
    existing = [r for r in sandbox.rows(division, "crm/Accounts") if r["Status"] == "C"][:3]
    messages = [
        schema("customers"),
        *(record("customers", {"Code": f"L{i}{tag}", "Name": f"Los {i}"}) for i in range(5)),
        *(record("customers", {"Code": r["Code"].strip(), "Name": r["Name"]}) for r in existing),
    ]
    before = sandbox.stats()
    run = run_target(tmp_path, target_config, messages)
    after = sandbox.stats()
    assert run.returncode == 0, run.stderr
    assert run.summary["streams"]["customers"]["created"] == 5
    assert run.summary["streams"]["customers"]["unchanged"] == 3
    # 8 keys in one filtered GET (`Code eq ... or Code eq ...`), then the 5 POSTs
    assert _calls(before, after, "crm/Accounts") == 6
    assert _calls(before, after, "sync/CRM/Accounts") == 0


def test_a_lowercase_country_equal_to_exacts_padded_uppercase_one_costs_no_write(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    """Exact stores `nl` as `NL ` (upper case, padded to 3): the next run must not PUT it back."""
    tag = _tag()
    existing = next(
        r
        for r in sorted(sandbox.rows(division, "crm/Accounts"), key=lambda r: r["Code"])
        if r["Status"] == "C" and (r.get("Country") or "").strip()
    )
    messages = [
        schema("customers"),
        record("customers", {"Code": f"LC{tag}", "Name": "Klein land", "Country": "nl"}),
        record(
            "customers",
            {"Code": existing["Code"].strip(), "Country": existing["Country"].strip().lower()},
        ),
    ]
    first = run_target(tmp_path, target_config, messages, "first")
    assert first.returncode == 0, first.stderr
    assert first.summary["streams"]["customers"]["created"] == 1
    assert first.summary["streams"]["customers"]["unchanged"] == 1
    [row] = _by_code(sandbox, division)[f"LC{tag}"]
    assert row["Country"] == "NL "

    before = sandbox.stats()
    again = run_target(tmp_path, target_config, messages, "again")
    after = sandbox.stats()
    assert again.returncode == 0, again.stderr
    assert again.summary["streams"]["customers"]["unchanged"] == 2
    assert after["by_status"].get("204", 0) == before["by_status"].get("204", 0)
    assert _by_code(sandbox, division)[f"LC{tag}"][0]["Modified"] == row["Modified"]
