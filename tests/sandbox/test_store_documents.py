"""Documents and attachments: the attach-a-file-to-an-invoice flow and its sync traces."""

from __future__ import annotations

import base64

import pytest

from exactonline_sandbox.answers import Result, SandboxError
from exactonline_sandbox.store import Company

HOST = "http://127.0.0.1:9090"


@pytest.fixture()
def company() -> Company:
    return Company(seed=9, scale=0.05, divisions=1, clock=lambda: 1_782_397_000.637)


def div(company: Company) -> int:
    return company.division_codes[0]


def send(company: Company, method: str, path: str, body: object = None) -> Result:
    return company.handle(method, div(company), path, {}, body, HOST)


def account_id(company: Company) -> str:
    return company.rows(div(company), "crm/Accounts")[0]["ID"]


def new_document(company: Company) -> dict:
    body = {
        "Subject": "Test attachment",
        "DocumentDate": "2026-06-25",
        "Account": account_id(company),
        "Type": 10,
    }
    return send(company, "POST", "documents/Documents", body).body["d"]


def test_post_document_answers_the_entity_with_id_and_dates(company: Company) -> None:
    doc = new_document(company)
    assert doc["Subject"] == "Test attachment"
    assert doc["DocumentDate"] == "/Date(1782345600000)/"
    # The recording: answered at 14:16:40 GMT, Created = 16:16:40.637 Amsterdam wall clock.
    assert doc["Created"] == "/Date(1782404200637)/"
    assert doc["AccountCode"].strip() and len(doc["AccountCode"]) == 18
    assert doc["DocumentViewUrl"].startswith(f"{HOST}/docs/DocViewContent.aspx?ID={doc['ID']}")


def test_post_attachment_stores_the_file_and_answers_size_and_absolute_url(
    company: Company,
) -> None:
    doc = new_document(company)
    content = b"%PDF-1.4 hello"
    body = {
        "Document": doc["ID"],
        "Attachment": base64.b64encode(content).decode(),
        "FileName": "factuur.pdf",
    }
    att = send(company, "POST", "documents/DocumentAttachments", body).body["d"]
    assert att["Attachment"] is None
    assert att["FileSize"] == len(content)
    assert att["Url"] == f"{HOST}/docs/SysAttachment.aspx?ID={att['ID']}"
    assert company.attachment(att["ID"]) == ("factuur.pdf", content)
    assert company.attachment(att["ID"].upper()) == ("factuur.pdf", content)


def test_attachment_with_bad_base64_or_unknown_document_is_400(company: Company) -> None:
    doc = new_document(company)
    for body in (
        {"Document": doc["ID"], "Attachment": "not base64!!", "FileName": "x.txt"},
        {
            "Document": "11111111-2222-4333-8444-555555555555",
            "Attachment": "dGVzdA==",
            "FileName": "x.txt",
        },
        {"Document": doc["ID"], "Attachment": "dGVzdA=="},
    ):
        with pytest.raises(SandboxError) as err:
            send(company, "POST", "documents/DocumentAttachments", body)
        assert err.value.status == 400


def test_attach_flow_links_the_document_to_an_open_invoice(company: Company) -> None:
    inv = next(
        r for r in company.rows(div(company), "salesinvoice/SalesInvoices") if r["Status"] == 20
    )
    doc = new_document(company)
    key = f"salesinvoice/SalesInvoices(guid'{inv['InvoiceID']}')"
    assert send(company, "PUT", key, {"Document": doc["ID"]}).status == 204
    assert send(company, "GET", key).body["d"]["Document"] == doc["ID"]


def test_seeded_attachments_are_downloadable(company: Company) -> None:
    att = company.rows(div(company), "documents/DocumentAttachments")[0]
    name, content = company.attachment(att["ID"])
    assert name == att["FileName"] and len(content) == att["FileSize"]
    assert content.startswith(b"%PDF")
    assert company.attachment("00000000-0000-4000-8000-000000000000") is None


def test_deleting_a_document_logs_it_and_its_attachments(company: Company) -> None:
    doc = new_document(company)
    att = send(
        company,
        "POST",
        "documents/DocumentAttachments",
        {"Document": doc["ID"], "Attachment": "dGVzdA==", "FileName": "t.txt"},
    ).body["d"]
    assert send(company, "DELETE", f"documents/Documents(guid'{doc['ID']}')").status == 204
    logged = {(r["EntityType"], r["EntityKey"]) for r in company.rows(div(company), "sync/Deleted")}
    assert logged == {(6, doc["ID"]), (4, att["ID"])}
    assert att["ID"] not in {
        r["ID"] for r in company.rows(div(company), "sync/Documents/DocumentAttachments")
    }
