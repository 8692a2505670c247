"""invoice_attachments -> documents/Documents + DocumentAttachments + the invoice's Document."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from urllib.request import Request, urlopen

from exactonline_api.streamed_body import FILE_BLOCK
from exactonline_sandbox.harness import Sandbox
from tests.support.configs import config_for
from tests.target.singer_run import invoices_for, record, run_target, schema


def _calls(before: dict[str, Any], after: dict[str, Any], endpoint: str) -> int:
    return after["by_endpoint"].get(endpoint, 0) - before["by_endpoint"].get(endpoint, 0)


def _download(sb: Sandbox, division: int, url: str) -> bytes:
    """Fetch an attachment's Url with a bearer token of another app, as a user of the API would."""
    token = sb.access_token(sb.grant())
    query = urlsplit(url).query
    att_id = parse_qs(query)["ID"][0]
    request = Request(
        f"{sb.url}/docs/SysAttachment.aspx?ID={att_id}&_Division_={division}",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urlopen(request, timeout=30) as answer:
        return answer.read()


def test_files_are_uploaded_linked_to_the_invoice_and_not_uploaded_again(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    key = f"ATT-{tag}"
    customer = next(r for r in sandbox.rows(division, "crm/Accounts") if r["Status"] == "C")
    folder = tmp_path / "attachments"
    folder.mkdir()
    pdf = folder / "factuur.pdf"
    pdf.write_bytes(b"%PDF-1.4 invoice " + tag.encode())
    target_config = {**target_config, "attachment_dir": str(folder)}
    messages = [
        *invoices_for(sandbox, division, [key]),
        schema("invoice_attachments"),
        record(
            "invoice_attachments",
            {"invoice_key": key, "FileName": "factuur.pdf", "path": "factuur.pdf"},
        ),
        record(
            "invoice_attachments",
            {
                "invoice_key": key,
                "FileName": "notitie.txt",
                "content_base64": base64.b64encode(b"hallo " + tag.encode()).decode(),
            },
        ),
    ]
    run = run_target(tmp_path, target_config, messages, "first")
    assert run.returncode == 0, run.stderr
    assert run.summary["streams"]["invoice_attachments"]["created"] == 2

    [invoice] = [
        r for r in sandbox.rows(division, "salesinvoice/SalesInvoices") if r.get("YourRef") == key
    ]
    assert invoice["Document"]
    [document] = [
        r for r in sandbox.rows(division, "documents/Documents") if r["ID"] == invoice["Document"]
    ]
    assert document["Type"] == 10
    assert document["Account"] == customer["ID"]
    assert document["Subject"] == f"Sales invoice {key}"
    files = {
        r["FileName"]: r
        for r in sandbox.rows(division, "documents/DocumentAttachments")
        if r["Document"] == document["ID"]
    }
    assert set(files) == {"factuur.pdf", "notitie.txt"}
    assert _download(sandbox, division, files["factuur.pdf"]["Url"]) == pdf.read_bytes()
    assert _download(sandbox, division, files["notitie.txt"]["Url"]) == b"hallo " + tag.encode()

    before = sandbox.stats()
    again = run_target(tmp_path, target_config, messages, "again")
    after = sandbox.stats()
    assert again.returncode == 0, again.stderr
    assert again.summary["streams"]["invoice_attachments"]["unchanged"] == 2
    assert _calls(before, after, "documents/Documents") == 0
    assert _calls(before, after, "documents/DocumentAttachments") == 1  # the listing, once
    assert after["by_status"].get("204", 0) == before["by_status"].get("204", 0)

    # A new file for the same invoice joins its document: no new document, no new link.
    extra = [
        schema("invoice_attachments"),
        record(
            "invoice_attachments",
            {"invoice_key": key, "FileName": "bijlage-2.txt", "content_base64": "dHdlZQ=="},
        ),
    ]
    before = sandbox.stats()
    third = run_target(tmp_path, target_config, extra, "third")
    after = sandbox.stats()
    assert third.returncode == 0, third.stderr
    assert _calls(before, after, "documents/Documents") == 0
    assert after["by_status"].get("204", 0) == before["by_status"].get("204", 0)
    names = {
        r["FileName"]
        for r in sandbox.rows(division, "documents/DocumentAttachments")
        if r["Document"] == document["ID"]
    }
    assert names == {"factuur.pdf", "notitie.txt", "bijlage-2.txt"}


def test_attachment_problems_are_rejected_with_the_field(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    processed = next(
        r
        for r in sandbox.rows(division, "salesinvoice/SalesInvoices")
        if r["Status"] == 50 and not r.get("Document")
    )
    documents_before = len(sandbox.rows(division, "documents/Documents"))
    messages = [
        schema("invoice_attachments"),
        record(
            "invoice_attachments",
            {"InvoiceID": processed["InvoiceID"], "FileName": "laat.pdf", "content_base64": "eA=="},
        ),
        record(
            "invoice_attachments",
            {"invoice_key": "BESTAAT-NIET", "FileName": "a.txt", "content_base64": "eA=="},
        ),
        record(
            "invoice_attachments",
            {"InvoiceID": processed["InvoiceID"], "FileName": "b.txt", "content_base64": "%%%"},
        ),
        record(
            "invoice_attachments",
            {
                "InvoiceID": processed["InvoiceID"],
                "FileName": "c.txt",
                "path": str(tmp_path / "nope"),
            },
        ),
    ]
    run = run_target(tmp_path, {**target_config, "on_error": "skip"}, messages)
    assert run.returncode == 0, run.stderr
    fields = [(r["record"]["FileName"], r["field"]) for r in run.rejects]
    assert fields == [
        ("laat.pdf", "InvoiceID"),
        ("a.txt", "invoice_key"),
        ("b.txt", "content_base64"),
        ("c.txt", "path"),
    ]
    assert "Status 50" in run.rejects[0]["reason"]
    assert len(sandbox.rows(division, "documents/Documents")) == documents_before


def test_lost_answers_while_attaching_create_no_second_document_or_file(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    """The document POST and the attachment POST both land but lose their answers; the target
    finds the document by its Subject and the file by its name, and goes on to link them."""
    tag = uuid.uuid4().hex[:8].upper()
    key = f"ATTDROP-{tag}"
    messages = [
        *invoices_for(sandbox, division, [key]),
        schema("invoice_attachments"),
        record(
            "invoice_attachments",
            {"invoice_key": key, "FileName": "scan.txt", "content_base64": "c2Nhbg=="},
        ),
    ]
    # calls on these endpoints, in order: find the document (GET), create it (POST: dropped),
    # find it again (GET), make sure the document found holds no files yet (GET), upload the
    # file (POST: dropped), then the recovery listing.
    with sandbox.faults_during(
        {
            "endpoints": ["documents/Documents", "documents/DocumentAttachments"],
            "next": ["latency", "drop_after", "latency", "latency", "drop_after"],
            "latency_ms": 0,
        }
    ) as answered:
        run = run_target(tmp_path, target_config, messages)
    assert run.returncode == 0, run.stderr
    assert answered.get("dropped", 0) == 2
    [invoice] = [
        r for r in sandbox.rows(division, "salesinvoice/SalesInvoices") if r.get("YourRef") == key
    ]
    documents = [
        r
        for r in sandbox.rows(division, "documents/Documents")
        if r["Subject"] == f"Sales invoice {key}"
    ]
    assert [d["ID"] for d in documents] == [invoice["Document"]]
    files = [
        r["FileName"]
        for r in sandbox.rows(division, "documents/DocumentAttachments")
        if r["Document"] == invoice["Document"]
    ]
    assert files == ["scan.txt"]


def test_attachments_of_many_invoices_share_their_lookups(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    """12 files for 12 invoices written by an earlier run: one lookup finds the invoices, one
    asks for unlinked documents by Subject, then three writes per file (document, file, link).
    The re-run asks for the invoices once and the files of all 12 documents once: no write."""
    sb = sandbox_factory(seed=6, minutely_limit=100_000)  # > 60 calls: no minute-window waits
    grant = sb.grant()
    division = int(grant["divisions"][0])
    config = config_for(sb, grant, tmp_path)
    tag = uuid.uuid4().hex[:8].upper()
    keys = [f"MANY-{tag}-{n:02d}" for n in range(12)]
    invoices = invoices_for(sb, division, keys)
    assert run_target(tmp_path, config, invoices, "invoices").returncode == 0
    files = [schema("invoice_attachments")] + [
        record(
            "invoice_attachments",
            {
                "invoice_key": key,
                "FileName": f"{key}.txt",
                "content_base64": base64.b64encode(key.encode()).decode(),
            },
        )
        for key in keys
    ]
    sb.reset_stats()
    run = run_target(tmp_path, config, files, "files")
    stats = sb.stats()["by_endpoint"]
    assert run.returncode == 0, run.stderr
    assert run.summary["streams"]["invoice_attachments"]["created"] == 12
    assert stats["salesinvoice/SalesInvoices"] == 1 + 12  # one lookup, 12 links (PUT)
    assert stats["documents/Documents"] == 1 + 12  # one lookup by Subject, 12 POSTs
    assert stats["documents/DocumentAttachments"] == 12  # new documents: nothing to list
    linked = {
        r["YourRef"]: r["Document"]
        for r in sb.rows(division, "salesinvoice/SalesInvoices")
        if r.get("YourRef") in keys
    }
    names = {
        (r["Document"], r["FileName"]) for r in sb.rows(division, "documents/DocumentAttachments")
    }
    assert all((linked[key], f"{key}.txt") in names for key in keys)

    sb.reset_stats()
    again = run_target(tmp_path, config, files, "again")
    assert again.returncode == 0, again.stderr
    assert again.summary["streams"]["invoice_attachments"]["unchanged"] == 12
    assert sb.stats()["by_endpoint"] == {
        "current/Me": 1,  # the check of the division setting
        "salesinvoice/SalesInvoices": 1,
        "documents/DocumentAttachments": 1,
    }


def test_files_beyond_the_first_page_of_a_document_are_not_uploaded_again(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    """61 files on one invoice's document: Exact lists them 60 a page, so the re-run must read the
    second page too, or the file on it looks new and is uploaded a second time."""
    sb = sandbox_factory(seed=7, minutely_limit=100_000)  # > 60 calls: no minute-window waits
    grant = sb.grant()
    division = int(grant["divisions"][0])
    config = config_for(sb, grant, tmp_path)
    key = f"PAGES-{uuid.uuid4().hex[:8].upper()}"
    files = [schema("invoice_attachments")] + [
        record(
            "invoice_attachments",
            {"invoice_key": key, "FileName": f"scan-{n:02d}.txt", "content_base64": "eA=="},
        )
        for n in range(61)
    ]
    first = run_target(tmp_path, config, [*invoices_for(sb, division, [key]), *files], "first")
    assert first.returncode == 0, first.stderr
    assert first.summary["streams"]["invoice_attachments"]["created"] == 61

    sb.reset_stats()
    again = run_target(tmp_path, config, files, "again")
    assert again.returncode == 0, again.stderr
    assert again.summary["streams"]["invoice_attachments"]["unchanged"] == 61
    # Two GETs (both pages of the listing), no upload; the sales invoice lookup, no link; and
    # current/Me, the check of the division setting.
    assert sb.stats()["by_endpoint"] == {
        "current/Me": 1,
        "salesinvoice/SalesInvoices": 1,
        "documents/DocumentAttachments": 2,
    }
    [invoice] = [
        r for r in sb.rows(division, "salesinvoice/SalesInvoices") if r.get("YourRef") == key
    ]
    names = [
        r["FileName"]
        for r in sb.rows(division, "documents/DocumentAttachments")
        if r["Document"] == invoice["Document"]
    ]
    assert sorted(names) == [f"scan-{n:02d}.txt" for n in range(61)]


def test_invoices_of_one_customer_with_the_same_subject_get_a_document_each(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    """A user-given Subject is not unique: two invoices of one customer (and a third in a later
    run) that share it each get their own document, holding only their own file."""
    tag = uuid.uuid4().hex[:8].upper()
    keys = [f"SUBJ-{tag}-{n}" for n in range(3)]
    subject = f"Factuur {tag}"

    def attachment(key: str) -> dict[str, Any]:
        content = base64.b64encode(f"pdf of {key}".encode()).decode()
        return record(
            "invoice_attachments",
            {
                "invoice_key": key,
                "FileName": f"{key}.pdf",
                "content_base64": content,
                "Subject": subject,
            },
        )

    first = run_target(
        tmp_path,
        target_config,
        [
            *invoices_for(sandbox, division, keys),
            schema("invoice_attachments"),
            attachment(keys[0]),
            attachment(keys[1]),
        ],
        "first",
    )
    assert first.returncode == 0, first.stderr
    later = run_target(
        tmp_path, target_config, [schema("invoice_attachments"), attachment(keys[2])], "later"
    )
    assert later.returncode == 0, later.stderr

    linked = {
        r["YourRef"]: r["Document"]
        for r in sandbox.rows(division, "salesinvoice/SalesInvoices")
        if r.get("YourRef") in keys
    }
    assert len(set(linked.values())) == 3, linked
    files: dict[str, list[str]] = {}
    for row in sandbox.rows(division, "documents/DocumentAttachments"):
        files.setdefault(row["Document"], []).append(row["FileName"])
    assert {key: files.get(linked[key]) for key in keys} == {key: [f"{key}.pdf"] for key in keys}
    documents = {r["ID"]: r for r in sandbox.rows(division, "documents/Documents")}
    assert all(documents[linked[key]]["Subject"] == subject for key in keys)


def _api_post(sb: Sandbox, division: int, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A write by another tool (a person, another integration), with a token of another app."""
    token = sb.access_token(sb.grant())
    request = Request(
        f"{sb.url}/api/v1/{division}/{path}",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
        method="POST",
    )
    with urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())["d"]


def test_an_unlinked_document_that_holds_files_is_not_taken_for_the_invoices(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    """Someone else's document for the customer with the same Subject, not linked to any
    invoice but holding a file: the invoice gets a new document, the other stays as it was."""
    tag = uuid.uuid4().hex[:8].upper()
    key = f"FOREIGN-{tag}"
    subject = f"Offerte {tag}"
    invoices = invoices_for(sandbox, division, [key])
    customer = invoices[1]["record"]["ordered_by_code"]
    [account] = [r for r in sandbox.rows(division, "crm/Accounts") if r["Code"].strip() == customer]
    other = _api_post(
        sandbox,
        division,
        "documents/Documents",
        {"Subject": subject, "Type": 10, "Account": account["ID"]},
    )
    _api_post(
        sandbox,
        division,
        "documents/DocumentAttachments",
        {"Document": other["ID"], "FileName": "offerte.pdf", "Attachment": "b2ZmZXJ0ZQ=="},
    )
    run = run_target(
        tmp_path,
        target_config,
        [
            *invoices,
            schema("invoice_attachments"),
            record(
                "invoice_attachments",
                {
                    "invoice_key": key,
                    "FileName": "factuur.pdf",
                    "content_base64": "ZmFjdHV1cg==",
                    "Subject": subject,
                },
            ),
        ],
    )
    assert run.returncode == 0, run.stderr
    [invoice] = [
        r for r in sandbox.rows(division, "salesinvoice/SalesInvoices") if r.get("YourRef") == key
    ]
    assert invoice["Document"] and invoice["Document"] != other["ID"]
    files = sandbox.rows(division, "documents/DocumentAttachments")
    assert [f["FileName"] for f in files if f["Document"] == other["ID"]] == ["offerte.pdf"]
    assert [f["FileName"] for f in files if f["Document"] == invoice["Document"]] == ["factuur.pdf"]


def test_a_run_stopped_before_the_link_leaves_an_empty_document_the_next_run_reuses(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    """The link (PUT) fails on every try: the run stops with the document created, unlinked and
    still empty (the file goes on after the link). The next run reuses that document."""
    tag = uuid.uuid4().hex[:8].upper()
    key = f"STOPLINK-{tag}"
    assert (
        run_target(
            tmp_path, target_config, invoices_for(sandbox, division, [key]), "inv"
        ).returncode
        == 0
    )
    files = [
        schema("invoice_attachments"),
        record(
            "invoice_attachments",
            {"invoice_key": key, "FileName": "scan.pdf", "content_base64": "c2Nhbg=="},
        ),
    ]
    # On sales invoices: the lookup passes, the PUT answers 503 on all five tries.
    with sandbox.faults_during(
        {
            "endpoints": ["salesinvoice/SalesInvoices"],
            "next": ["latency"] + ["503"] * 5,
            "latency_ms": 0,
        }
    ):
        stopped = run_target(tmp_path, target_config, files, "stopped")
    assert stopped.returncode != 0
    subject = f"Sales invoice {key}"
    [left] = [r for r in sandbox.rows(division, "documents/Documents") if r["Subject"] == subject]
    attached = sandbox.rows(division, "documents/DocumentAttachments")
    assert [f for f in attached if f["Document"] == left["ID"]] == []

    again = run_target(tmp_path, target_config, files, "again")
    assert again.returncode == 0, again.stderr
    documents = [
        r for r in sandbox.rows(division, "documents/Documents") if r["Subject"] == subject
    ]
    assert [d["ID"] for d in documents] == [left["ID"]]
    [invoice] = [
        r for r in sandbox.rows(division, "salesinvoice/SalesInvoices") if r.get("YourRef") == key
    ]
    assert invoice["Document"] == left["ID"]
    names = [
        f["FileName"]
        for f in sandbox.rows(division, "documents/DocumentAttachments")
        if f["Document"] == left["ID"]
    ]
    assert names == ["scan.pdf"]


def test_an_upload_that_exact_fails_with_a_500_is_sent_again_whole_from_the_file(
    sandbox: Sandbox, target_config: dict, division: int, tmp_path: Path
) -> None:
    """The file is streamed from disk at each attempt: after two bare 500s (nothing landed,
    as the lookups show) the third attempt stores the exact bytes, base64 or path alike."""
    tag = uuid.uuid4().hex[:8].upper()
    key = f"ATT500-{tag}"
    folder = tmp_path / "attachments"
    folder.mkdir()
    scan = os.urandom(2 * FILE_BLOCK + 2)
    (folder / "scan.pdf").write_bytes(scan)
    note = os.urandom(1000)
    messages = [
        *invoices_for(sandbox, division, [key]),
        schema("invoice_attachments"),
        record(
            "invoice_attachments", {"invoice_key": key, "FileName": "scan.pdf", "path": "scan.pdf"}
        ),
        record(
            "invoice_attachments",
            {
                "invoice_key": key,
                "FileName": "note.bin",
                "content_base64": base64.b64encode(note).decode(),
            },
        ),
    ]
    # calls on the endpoint, in order: upload (500), is it there? (no), upload (500), is it
    # there? (no), upload; then the second file: upload (500), is it there? (no), upload.
    with sandbox.faults_during(
        {
            "endpoints": ["documents/DocumentAttachments"],
            "next": ["500", "latency", "500", "latency", "latency", "500"],
            "latency_ms": 0,
        }
    ) as answered:
        run = run_target(tmp_path, {**target_config, "attachment_dir": str(folder)}, messages)
    assert run.returncode == 0, run.stderr
    assert answered.get("500") == 3
    [invoice] = [
        r for r in sandbox.rows(division, "salesinvoice/SalesInvoices") if r.get("YourRef") == key
    ]
    files = [
        r
        for r in sandbox.rows(division, "documents/DocumentAttachments")
        if r["Document"] == invoice["Document"]
    ]
    assert sorted(r["FileName"] for r in files) == ["note.bin", "scan.pdf"]
    stored = {r["FileName"]: _download(sandbox, division, r["Url"]) for r in files}
    assert stored == {"scan.pdf": scan, "note.bin": note}
