"""Atom XML over real HTTP: what a client that does not ask for JSON gets, as from Exact.

The XML is read with the standard library only (urllib and xml.etree), the way a client that
reads Exact's XML does, and compared with the JSON answer to the same request: same rows, same
values, typed by `m:type`, nulls as `m:null`, every page through `<link rel="next">`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any
from urllib.error import HTTPError
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit
from urllib.request import Request, urlopen

import pytest
import requests

from exactonline_sandbox.harness import Sandbox

ATOM = "{http://www.w3.org/2005/Atom}"
META = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"
DATA = "{http://schemas.microsoft.com/ado/2007/08/dataservices}"
LINES = "financialtransaction/TransactionLines"
LINE_FIELDS = "ID,Account,AmountDC,AmountVATFC,Date,Description,EntryNumber,Item,Quantity,VATCode"


# ------------------------------------------------------------------ a client that reads XML


def xml_value(element: ET.Element) -> Any:
    """One `<d:Field>` as a Python value, by its `m:null` and `m:type`."""
    if element.get(f"{META}null") == "true":
        return None
    edm = element.get(f"{META}type", "Edm.String")
    text = element.text or ""
    if edm in ("Edm.Int32", "Edm.Int64"):
        return int(text)
    if edm == "Edm.Double":
        return float(text)
    if edm == "Edm.Boolean":
        return {"true": True, "false": False}[text]
    if edm == "Edm.DateTime":
        return datetime.fromisoformat(text)
    return text


def xml_row(entry: ET.Element) -> dict[str, Any]:
    props = entry.find(f"{ATOM}content/{META}properties")
    assert props is not None, "an entry holds its fields in content/m:properties"
    return {child.tag.removeprefix(DATA): xml_value(child) for child in props}


def xml_get(url: str, token: str, accept: str | None = None) -> ET.Element:
    request = Request(url, headers={"Authorization": f"Bearer {token}"})
    if accept:
        request.add_header("Accept", accept)
    with urlopen(request, timeout=30) as answer:
        assert answer.headers["Content-Type"].startswith("application/atom+xml")
        return ET.fromstring(answer.read())


def read_every_page(url: str, token: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of every page, following `<link rel="next">`; and the URLs fetched."""
    rows: list[dict[str, Any]] = []
    fetched: list[str] = []
    next_url: str | None = url
    while next_url:
        fetched.append(next_url)
        feed = xml_get(next_url, token)
        assert feed.tag == f"{ATOM}feed"
        rows += [xml_row(entry) for entry in feed.findall(f"{ATOM}entry")]
        link = feed.find(f"{ATOM}link[@rel='next']")
        next_url = link.get("href") if link is not None else None
    return rows, fetched


# ------------------------------------------------------------------ the same data as JSON


def json_value(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("/Date("):
        ms = int(value[len("/Date(") : -len(")/")])
        return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)
    return value


def json_rows(url: str, token: str) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    rows: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        d = requests.get(next_url, headers=headers, timeout=30).json()["d"]
        page = d if isinstance(d, list) else d["results"]
        rows += [
            {k: json_value(v) for k, v in row.items() if not isinstance(v, dict)} for row in page
        ]
        next_url = None if isinstance(d, list) else d.get("__next")
    return rows


@pytest.fixture
def api(sandbox: Sandbox, grant: dict[str, Any]) -> dict[str, Any]:
    division = grant["divisions"][0]
    return {
        "sb": sandbox,
        "division": division,
        "token": sandbox.access_token(grant),
        "base": f"{sandbox.url}/api/v1/{division}",
    }


def url(api: dict[str, Any], path: str, **params: str) -> str:
    query = f"?{urlencode(params)}" if params else ""
    return f"{api['base']}/{path}{query}"


# ------------------------------------------------------------------ tests


def test_an_xml_reading_client_gets_every_page_with_the_same_values_as_json(
    api: dict[str, Any],
) -> None:
    first = url(api, LINES, **{"$select": LINE_FIELDS})
    rows, fetched = read_every_page(first, api["token"])
    truth = api["sb"].rows(api["division"], LINES)
    assert len(fetched) == -(-len(truth) // 60) > 1, "60-row pages, followed to the end"
    assert [r["ID"] for r in rows] == sorted(r["ID"] for r in truth)
    assert rows == json_rows(first, api["token"])
    # Clients that read XML take the skiptoken from the end of the next link.
    assert parse_qsl(urlsplit(fetched[1]).query)[-1][0] == "$skiptoken"


def test_properties_are_typed_and_nulls_marked_as_in_exacts_atom(api: dict[str, Any]) -> None:
    feed = xml_get(url(api, LINES, **{"$select": LINE_FIELDS}), api["token"])
    entry = feed.find(f"{ATOM}entry")
    assert entry is not None
    props = {
        e.tag.removeprefix(DATA): e for e in entry.iterfind(f"{ATOM}content/{META}properties/*")
    }
    types = {name: e.get(f"{META}type") for name, e in props.items()}
    assert types["ID"] == types["Account"] == "Edm.Guid"
    assert types["Date"] == "Edm.DateTime" and "T" in (props["Date"].text or "")
    assert types["AmountDC"] == "Edm.Double"
    assert types["EntryNumber"] == "Edm.Int32"
    assert types["Description"] is None, "a string carries no m:type"
    vat = props["AmountVATFC"]  # never filled in the generated lines
    assert vat.get(f"{META}null") == "true" and vat.text is None
    assert vat.get(f"{META}type") == "Edm.Double", "a null is typed when the type is known"
    category = entry.find(f"{ATOM}category")
    assert category is not None and category.get("term", "").startswith("Exact.Web.Api.Models.")
    # The literal prefixes that clients key on (xmltodict without namespace processing).
    raw = requests.get(
        url(api, LINES, **{"$select": "ID", "$top": "1"}),
        headers={"Authorization": f"Bearer {api['token']}"},
        timeout=30,
    ).text
    assert '<m:properties><d:ID m:type="Edm.Guid">' in raw


def test_sync_and_bulk_endpoints_answer_atom_with_int64_timestamps(api: dict[str, Any]) -> None:
    sync = url(api, "sync/CRM/Accounts", **{"$select": "Timestamp,ID,Name,Modified"})
    rows, _ = read_every_page(sync, api["token"])
    assert rows == json_rows(sync, api["token"])
    feed = xml_get(sync, api["token"])
    stamp = feed.find(f"{ATOM}entry/{ATOM}content/{META}properties/{DATA}Timestamp")
    assert stamp is not None and stamp.get(f"{META}type") == "Edm.Int64"
    edit = feed.find(f"{ATOM}entry/{ATOM}link[@rel='edit']")
    assert edit is not None and edit.get("href", "").endswith("L)")
    bulk = url(api, "bulk/CRM/Accounts", **{"$select": "ID,Name,Status"})
    assert read_every_page(bulk, api["token"])[0] == json_rows(bulk, api["token"])


def test_an_entity_read_is_an_atom_entry(api: dict[str, Any]) -> None:
    account = api["sb"].rows(api["division"], "crm/Accounts")[0]
    path = f"crm/Accounts(guid'{account['ID']}')"
    entry = xml_get(url(api, path), api["token"], accept="application/xml")
    assert entry.tag == f"{ATOM}entry"
    assert entry.findtext(f"{ATOM}id", "").endswith(path)
    row = xml_row(entry)
    assert row["ID"] == account["ID"] and row["Name"] == account["Name"]
    assert row["Code"] == account["Code"], "the padded code keeps its spaces"
    assert row["Created"] == json_value(account["Created"])
    nav = entry.find(f"{ATOM}link[@title='BankAccounts']")
    assert nav is not None
    base = entry.get("{http://www.w3.org/XML/1998/namespace}base", "")
    assert urljoin(base, nav.get("href", "")) == url(api, f"{path}/BankAccounts")


def test_expanded_lines_are_inline_feeds(api: dict[str, Any]) -> None:
    invoice = api["sb"].rows(api["division"], "salesinvoice/SalesInvoices")[0]
    path = f"salesinvoice/SalesInvoices(guid'{invoice['InvoiceID']}')"
    entry = xml_get(
        url(
            api, path, **{"$expand": "SalesInvoiceLines", "$select": "InvoiceID,SalesInvoiceLines"}
        ),
        api["token"],
    )
    inline = entry.findall(
        f"{ATOM}link[@title='SalesInvoiceLines']/{META}inline/{ATOM}feed/{ATOM}entry"
    )
    lines = [r for r in api["sb"].rows(api["division"], "salesinvoice/SalesInvoiceLines")]
    expected = {r["ID"] for r in lines if r["InvoiceID"] == invoice["InvoiceID"]}
    assert {xml_row(e)["ID"] for e in inline} == expected and expected


def test_inline_count_is_m_count(api: dict[str, Any]) -> None:
    feed = xml_get(url(api, LINES, **{"$select": "ID", "$inlinecount": "allpages"}), api["token"])
    total = len(api["sb"].rows(api["division"], LINES))
    assert feed.findtext(f"{META}count") == str(total)
    assert len(feed.findall(f"{ATOM}entry")) == 60


def test_me_and_divisions_answer_atom(api: dict[str, Any], grant: dict[str, Any]) -> None:
    me = xml_get(f"{api['sb'].url}/api/v1/current/Me", api["token"])
    user = xml_row(me.find(f"{ATOM}entry"))  # type: ignore[arg-type]
    assert user["CurrentDivision"] == grant["divisions"][0]
    divisions, _ = read_every_page(url(api, "system/Divisions"), api["token"])
    assert sorted(d["Code"] for d in divisions) == sorted(grant["divisions"])


def test_store_errors_answer_in_xml(api: dict[str, Any]) -> None:
    for path, status in (
        (url(api, "sync/CRM/Accounts"), 400),  # $select is mandatory
        (url(api, "crm/Accounts(guid'00000000-0000-0000-0000-000000000000')"), 404),
    ):
        with pytest.raises(HTTPError) as info:
            xml_get(path, api["token"])
        assert info.value.code == status
        assert info.value.headers["Content-Type"].startswith("application/xml")
        error = ET.fromstring(info.value.read())
        assert error.tag == f"{META}error"
        assert error.findtext(f"{META}message")


def test_json_is_answered_whenever_accept_asks_for_it(api: dict[str, Any]) -> None:
    for accept in ("application/json", "application/json;odata=verbose", "*/*, application/json"):
        answer = requests.get(
            url(api, LINES, **{"$select": "ID"}),
            headers={"Authorization": f"Bearer {api['token']}", "Accept": accept},
            timeout=30,
        )
        assert answer.headers["Content-Type"].startswith("application/json")
        assert len(answer.json()["d"]["results"]) == 60


def test_always_json_flag_answers_json_without_accept(sandbox_factory: Any) -> None:
    sb = sandbox_factory(always_json=True, divisions=1, scale=0.02)
    token = sb.access_token(sb.grant())
    bare = requests.get(
        f"{sb.url}/api/v1/current/Me", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert bare.headers["Content-Type"].startswith("application/json")
    assert bare.json()["d"]["results"]


def test_markup_and_control_characters_in_values_keep_the_xml_well_formed(
    api: dict[str, Any],
) -> None:
    name = 'Bakker <&> "Zn"\x01 B.V.'
    created = requests.post(
        url(api, "crm/Accounts"),
        json={"Name": name, "Status": "C"},
        headers={"Authorization": f"Bearer {api['token']}"},
        timeout=30,
    )
    assert created.status_code == 200
    entry = ET.fromstring(created.content)  # a POST answer is an Atom entry too
    assert xml_row(entry)["Name"] == 'Bakker <&> "Zn" B.V.'  # XML 1.0 cannot carry \x01
    read = xml_get(url(api, f"crm/Accounts(guid'{xml_row(entry)['ID']}')"), api["token"])
    assert xml_row(read)["Name"] == 'Bakker <&> "Zn" B.V.'
