"""Hostile and bad input to the target: OData syntax in keys, odd characters, oversized and
wrongly typed fields, and malformed Singer streams.

A filter built by pasting a value into `$filter` would let `x' or Name ne '` match every
account; the target must match exactly the right record or none, leave every other row as it
was, reject what it cannot write (recorded in the reject file), and stop clearly on a broken
stream without writing anything wrong.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from urllib.request import Request, urlopen

from exactonline_sandbox.harness import Sandbox
from reliability.result import ScenarioResult
from reliability.size import Size
from reliability.workspace import Workspace, singer_lines

HOSTILE_CODES = [
    "x' or Name ne '",
    "x') or (1 eq 1",
    "O'Brien & Zn",
    "100% 'echt'",
    "a%27b%20c",
    "Zoë ñ ☃ 日本",
    "A+B #1 ?x=y",
    "DECOY1'",
]
HOSTILE_NAMES = [
    "Bakker's & Zn 100%",
    "' or 1 eq 1 or Name eq '",
    "Name eq 'Decoy'",
    'quote " and \\ backslash',
    "☃ snow; $filter=ID",
]


def schema(stream: str) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": {}},
        "key_properties": [],
    }


def record(stream: str, rec: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": rec}


def accounts(sb: Sandbox, division: int) -> dict[str, dict[str, Any]]:
    return {r["ID"]: r for r in sb.rows(division, "crm/Accounts")}


def changed_rows(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> set[str]:
    """IDs of rows created or changed (ignoring the modification bookkeeping fields)."""
    skip = {"Modified", "Modifier", "ModifierFullName", "Timestamp"}
    out = {i for i in after if i not in before}
    for i, row in after.items():
        if i in before and {k: v for k, v in row.items() if k not in skip} != {
            k: v for k, v in before[i].items() if k not in skip
        }:
            out.add(i)
    return out


def injected_filter_rows(sb: Sandbox, grant: dict[str, Any], division: int) -> int:
    """Rows a naively built `Code eq '<hostile>'` filter returns (should be 0, is many)."""
    token = sb.access_token(grant)
    naive = f"Code eq '{HOSTILE_CODES[0]}'"
    query = urlencode({"$filter": naive, "$select": "ID"}, quote_via=quote)
    request = Request(
        f"{sb.url}/api/v1/{division}/crm/Accounts?{query}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    with urlopen(request, timeout=30) as answer:
        return len(json.loads(answer.read())["d"]["results"])


def run(size: Size, root: Path) -> ScenarioResult:
    result = ScenarioResult(
        "Hostile and bad input",
        f"{len(HOSTILE_CODES)} customer codes and {len(HOSTILE_NAMES)} names with quotes, %, &, "
        "unicode and OData syntax; an invoice key with OData syntax; a 10,000-character name; "
        "a 40-character code; wrong types; a record before its schema; a broken JSON line",
    )
    with Sandbox(scale=0.02, divisions=1, access_log=False) as sb:
        ws = Workspace(sb, root)
        try:
            grant = ws.grant()
            division = grant["divisions"][0]
            config = ws.config(grant, root / "tokens.json", division=division, on_error="skip")
            by_name = {**config, "customer_match_field": "Name"}

            def target(cfg: dict[str, Any], messages: list[dict[str, Any]], what: str) -> Any:
                out = ws.run_target(cfg, singer_lines(messages))
                result.runs += 1
                result.check(out.returncode == 0, f"{what}: exit {out.returncode}")
                return out

            def by_code(code: str) -> list[dict[str, Any]]:
                return [r for r in sb.rows(division, "crm/Accounts") if r["Code"].strip() == code]

            # 0. canary: the sandbox really evaluates an injected `or`, so a target that pasted
            # values into $filter would be caught below
            leaked = injected_filter_rows(sb, ws.grant(), division)
            result.check(leaked > 1, "the sandbox does not evaluate an injected `or`")
            # 1. codes with OData syntax: each created once, under exactly its own code
            decoy = [record("customers", {"Code": "DECOY1", "Name": "Decoy"})]
            target(config, [schema("customers"), *decoy], "decoy")
            start = accounts(sb, division)
            hostile = [
                record("customers", {"Code": code, "Name": f"Hostile {i}"})
                for i, code in enumerate(HOSTILE_CODES)
            ]
            target(config, [schema("customers"), *hostile], "hostile codes")
            for i, code in enumerate(HOSTILE_CODES):
                rows = by_code(code)
                result.checked += 1
                result.lost += len(rows) == 0
                result.duplicated += max(0, len(rows) - 1)
                result.check([r["Name"] for r in rows] == [f"Hostile {i}"], f"code #{i} wrong row")
            after = accounts(sb, division)
            result.check(
                len(changed_rows(start, after)) == len(HOSTILE_CODES),
                "the hostile codes touched other accounts",
            )
            # 2. rerun and rename through the same codes: only those rows change
            again = target(config, [schema("customers"), *hostile], "hostile rerun")
            totals = (again.summary or {}).get("totals", {})
            result.check(totals.get("unchanged") == len(HOSTILE_CODES), f"rerun wrote: {totals}")
            renamed = [
                record("customers", {"Code": code, "Name": f"Renamed {i}"})
                for i, code in enumerate(HOSTILE_CODES)
            ]
            before = accounts(sb, division)
            target(config, [schema("customers"), *renamed], "hostile rename")
            after = accounts(sb, division)
            touched = changed_rows(before, after)
            result.check(
                {after[i]["Code"].strip() for i in touched} == set(HOSTILE_CODES),
                "a rename by hostile code changed another account",
            )
            # 3. match by Name: an existing hostile name matches exactly its row; a name that
            # exists nowhere matches nothing (never every account)
            named = [
                record("customers", {"Code": f"NM{i}", "Name": name})
                for i, name in enumerate(HOSTILE_NAMES)
            ]
            target(config, [schema("customers"), *named], "hostile names")
            before = accounts(sb, division)
            updates = [
                record("customers", {"Name": name, "City": f"Stad {i}"})
                for i, name in enumerate(HOSTILE_NAMES)
            ]
            target(by_name, [schema("customers"), *updates], "match by hostile name")
            after = accounts(sb, division)
            touched = changed_rows(before, after)
            result.check(
                sorted(after[i]["Code"].strip() for i in touched)
                == sorted(f"NM{i}" for i in range(len(HOSTILE_NAMES))),
                "matching by a hostile name changed the wrong accounts",
            )
            for i in range(len(HOSTILE_NAMES)):
                [row] = by_code(f"NM{i}") or [{}]
                result.checked += 1
                result.check(row.get("City") == f"Stad {i}", f"name #{i} not matched")
            before = accounts(sb, division)
            nowhere = [record("customers", {"Name": "zz' or Name ne '", "City": "Nergens"})]
            target(by_name, [schema("customers"), *nowhere], "match by absent hostile name")
            touched = changed_rows(before, accounts(sb, division))
            result.check(
                all(i not in before for i in touched), "an absent hostile name updated a row"
            )
            # 4. an invoice key with OData syntax: one invoice, found again on a rerun
            customer = by_code("DECOY1")[0]
            item = sb.rows(division, "logistics/Items")[0]
            key = "INV' or YourRef ne '"
            invoice = [
                schema("sales_invoices"),
                record(
                    "sales_invoices",
                    {
                        "invoice_key": key,
                        "OrderedBy": customer["ID"],
                        "lines": [{"Item": item["ID"], "Quantity": 1}],
                    },
                ),
            ]
            for what in ("hostile invoice key", "hostile invoice key rerun"):
                target(config, invoice, what)
                found = [
                    r
                    for r in sb.rows(division, "salesinvoice/SalesInvoices")
                    if r.get("YourRef") == key
                ]
                result.checked += 1
                result.lost += len(found) == 0
                result.duplicated += max(0, len(found) - 1)
            # 5. oversized and wrongly typed fields: stored verbatim or rejected, never cut
            bad = [
                ("BIG", {"Code": "BIG", "Name": "N" * 10000}),
                ("A" * 40, {"Code": "A" * 40, "Name": "long code"}),
                ("WT1", {"Code": "WT1", "Name": 12345}),
                ("WT2", {"Code": "WT2", "Name": "x", "IsSales": "yes please"}),
                ("['a']", {"Code": ["a"], "Name": "list code"}),
            ]
            out = target(
                config, [schema("customers"), *(record("customers", r) for _, r in bad)], "bad"
            )
            rejected = {str(r.get("key")): r for r in out.rejects}
            for key_text, rec in bad:
                result.checked += 1
                code = rec["Code"] if isinstance(rec["Code"], str) else None
                rows = by_code(code) if code else []
                if key_text in rejected:
                    result.check(rows == [], f"{key_text[:10]}: rejected but written")
                    result.check(bool(rejected[key_text].get("field")), "reject without field")
                else:
                    result.check(
                        len(rows) == 1 and rows[0]["Name"] == rec["Name"],
                        f"{key_text[:10]}: neither rejected nor stored verbatim",
                    )
            result.check(
                {"WT1", "WT2", "['a']", "A" * 40} <= set(rejected), "wrong types not rejected"
            )
            result.figures["rejects recorded"] = len(rejected)
            # 6. malformed streams: clear error, exit non-zero, nothing written
            before = accounts(sb, division)
            early = ws.run_target(config, singer_lines([record("customers", {"Code": "NS1"})]))
            broken = ws.run_target(
                config,
                singer_lines([schema("customers"), record("customers", {"Code": "BR1"})])
                + '{"type": "RECORD", "stream": "customers", "rec\n'
                + singer_lines([record("customers", {"Code": "BR2", "Name": "after"})]),
            )
            result.runs += 2
            result.check(early.returncode != 0, "record before schema: exit 0")
            result.check(
                "before a corresponding schema" in early.stderr,
                "record before schema: no clear error",
            )
            result.check(broken.returncode != 0, "broken JSON line: exit 0")
            result.check(
                "Unable to parse line as JSON" in broken.stderr, "broken JSON: no clear error"
            )
            result.check(
                changed_rows(before, accounts(sb, division)) == set(),
                "a malformed stream wrote to Exact",
            )
        finally:
            ws.close()
        result.secret_hits = ws.secret_hits()
    return result
