"""Hostile and bad input to the target: OData syntax in keys, odd characters, oversized and
wrongly typed fields, malformed Singer streams, hostile attachment paths and large documents.

A filter built by pasting a value into `$filter` would let `x' or Name ne '` match every
account; the target must match exactly the right record or none, leave every other row as it
was, reject what it cannot write (recorded in the reject file), and stop clearly on a broken
stream without writing anything wrong.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
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


def attachment_files(
    ws: Workspace,
    size: Size,
    config: dict[str, Any],
    customer: dict[str, Any],
    result: ScenarioResult,
    target: Callable[..., Any],
) -> None:
    """Hostile `path`s (each a reject naming `path`, nothing of theirs uploaded, no hang) and a
    document at the size cap (uploaded whole, with the target's peak memory as a figure)."""
    sb, root = ws.sandbox, ws.root
    division = config["division"]
    cap = size.document_mib * 1024 * 1024
    folder = root / "attachments"
    folder.mkdir()
    (folder / "factuur.pdf").write_bytes(b"%PDF-1.4 small")
    (folder / "large.pdf").write_bytes(os.urandom(cap))
    (folder / "one-over.pdf").write_bytes(b"x" * (cap + 1))
    with (folder / "sparse.pdf").open("wb") as f:
        f.truncate(1 << 30)  # 1 GiB by its size, no disk: refused before a byte is read
    (root / "outside.pdf").write_text("outside attachment_dir")
    configs = sorted(root.glob("*-target-config.json"))  # holds the client secret
    (folder / "store.pdf").symlink_to(config["token_store_path"])
    (folder / "zero.pdf").symlink_to("/dev/zero")
    os.mkfifo(folder / "fifo.pdf")
    (folder / "folder.pdf").mkdir()
    hostile = {
        "symlink to the token store": "store.pdf",
        "symlink to /dev/zero": "zero.pdf",
        "..": "../outside.pdf",
        "absolute, outside": str(configs[-1] if configs else root / "outside.pdf"),
        "/proc/self/environ": "/proc/self/environ",
        "/etc/shadow": "/etc/shadow",
        "/dev/zero": "/dev/zero",
        "FIFO": "fifo.pdf",
        "directory": "folder.pdf",
        "1 GiB sparse": "sparse.pdf",
        "cap + 1 byte": "one-over.pdf",
    }
    key = "ATT-HOSTILE"
    item = sb.rows(division, "logistics/Items")[0]
    invoice = record(
        "sales_invoices",
        {
            "invoice_key": key,
            "OrderedBy": customer["ID"],
            "lines": [{"Item": item["ID"], "Quantity": 1}],
        },
    )
    target(config, [schema("sales_invoices"), invoice], "invoice for attachments")

    def attachment(name: str, **content: Any) -> dict[str, Any]:
        return record("invoice_attachments", {"invoice_key": key, "FileName": name, **content})

    guarded = {**config, "attachment_dir": str(folder), "attachment_max_bytes": cap}
    files_before = len(sb.rows(division, "documents/DocumentAttachments"))
    # What one small upload needs, then the same with a file at the cap: the difference is
    # what sending the document costs. It is streamed from the file in blocks (never held
    # whole), so it must cost less than the file's own size.
    small = [schema("invoice_attachments"), attachment("factuur.pdf", path="factuur.pdf")]
    base = target(guarded, small, "small attachment", measure_memory=True)
    large = [schema("invoice_attachments"), attachment("large.pdf", path="large.pdf")]
    out = target(guarded, large, "large attachment", measure_memory=True)
    peak, floor = out.peak_rss_kib or 0, base.peak_rss_kib or 0
    result.check(
        peak - floor < cap // 1024,
        f"uploading {size.document_mib} MiB took {(peak - floor) // 1024} MiB more memory",
    )
    messages = [
        schema("invoice_attachments"),
        *(attachment(f"hostile-{i}.pdf", path=p) for i, p in enumerate(hostile.values())),
        attachment("base64-over.pdf", content_base64=base64.b64encode(b"y" * (cap + 1)).decode()),
    ]
    out = target(guarded, messages, "hostile attachment paths")
    fields = {r["record"]["FileName"]: r.get("field") for r in out.rejects}
    for i, what in enumerate(hostile):
        result.checked += 1
        result.check(fields.get(f"hostile-{i}.pdf") == "path", f"{what}: not a reject on path")
    result.check(fields.get("base64-over.pdf") == "content_base64", "base64 over the cap: taken")
    [linked] = [
        r for r in sb.rows(division, "salesinvoice/SalesInvoices") if r.get("YourRef") == key
    ] or [{}]
    every = sb.rows(division, "documents/DocumentAttachments")
    uploaded = {r["FileName"]: r for r in every if r["Document"] == linked.get("Document")}
    result.checked += 2
    result.check(set(uploaded) == {"factuur.pdf", "large.pdf"}, f"uploaded: {sorted(uploaded)}")
    result.check(len(every) - files_before == 2, "a hostile path reached Exact")
    result.lost += "large.pdf" not in uploaded
    result.check(
        uploaded.get("large.pdf", {}).get("FileSize") == float(cap), "the large file was cut"
    )
    # Without attachment_dir no path is read at all; content_base64 still is.
    bare = target(
        config,
        [
            schema("invoice_attachments"),
            attachment("no-dir.pdf", path=str(folder / "factuur.pdf")),
            attachment("inline.txt", content_base64="aW5saW5l"),
        ],
        "attachments without attachment_dir",
    )
    result.check(
        [(r["record"]["FileName"], r.get("field")) for r in bare.rejects]
        == [("no-dir.pdf", "path")],
        "without attachment_dir a path was read",
    )
    result.figures["hostile attachment paths rejected"] = (
        f"{sum(fields.get(f'hostile-{i}.pdf') == 'path' for i in range(len(hostile)))} of "
        f"{len(hostile)}"
    )
    result.figures["largest document uploaded"] = f"{size.document_mib} MiB (the cap)"
    result.figures["target peak memory uploading it"] = (
        f"{peak // 1024} MiB ({(peak - floor) // 1024} MiB over a one-small-file run)"
    )


def run(size: Size, root: Path) -> ScenarioResult:
    result = ScenarioResult(
        "Hostile and bad input",
        f"{len(HOSTILE_CODES)} customer codes and {len(HOSTILE_NAMES)} names with quotes, %, &, "
        "unicode and OData syntax; an invoice key with OData syntax; a 10,000-character name; "
        "a 40-character code; wrong types; a record before its schema; a broken JSON line; "
        "attachment paths out of attachment_dir (symlinks, .., absolute, /proc/self/environ, "
        "/etc/shadow, /dev/zero), a FIFO, a directory, a 1 GiB sparse file, one byte over the "
        f"cap, base64 over the cap; a {size.document_mib} MiB document",
    )
    with Sandbox(scale=0.02, divisions=1, access_log=False) as sb:
        ws = Workspace(sb, root)
        try:
            grant = ws.grant()
            division = grant["divisions"][0]
            config = ws.config(grant, root / "tokens.json", division=division, on_error="skip")
            by_name = {**config, "customer_match_field": "Name"}

            def target(
                cfg: dict[str, Any], messages: list[dict[str, Any]], what: str, **how: Any
            ) -> Any:
                out = ws.run_target(cfg, singer_lines(messages), **how)
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
                "input line 1 is no Singer message: a RECORD of stream 'customers' before its "
                "SCHEMA" in early.stderr and "Traceback" not in early.stderr,
                "record before schema: no clear error",
            )
            result.check(broken.returncode != 0, "broken JSON line: exit 0")
            result.check(
                "input line 3 is no Singer message: not JSON" in broken.stderr
                and "Traceback" not in broken.stderr,
                "broken JSON: no clear error",
            )
            result.check(
                changed_rows(before, accounts(sb, division)) == set(),
                "a malformed stream wrote to Exact",
            )
            # 7. attachment paths and a large document
            attachment_files(ws, size, config, customer, result, target)
        finally:
            ws.close()
        result.secret_hits = ws.secret_hits()
    return result
