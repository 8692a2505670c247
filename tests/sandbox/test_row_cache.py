"""The row cache of the serving path: cached answers are byte for byte the fresh ones, and a
write (PUT, POST, DELETE, a header change under joined lines) shows in the very next read."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest
import requests

from exactonline_sandbox.listing import wire_rows
from exactonline_sandbox.resources import RESOURCES
from exactonline_sandbox.rowcache import RowCache
from exactonline_sandbox.store import Company

HOST = "http://127.0.0.1:5555"
SYNC_PATHS = [p for p, r in RESOURCES.items() if r.kind == "sync"]
ALL_FIELDS = {p: ",".join(r.fields) for p, r in RESOURCES.items()}


class Clock:
    def __init__(self) -> None:
        self.now = 1_760_000_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture()
def company() -> Company:
    return Company(seed=5, scale=0.1, divisions=1, clock=Clock())


def code(company: Company) -> int:
    return company.division_codes[0]


def pages(
    company: Company, path: str, query: dict[str, str], *, wire: bool, host: str = HOST
) -> list[tuple[bytes, Any]]:
    """Every page of a collection read as a tap does (following __next): each page's JSON as
    the server would send it, and its `results` as the store returned it."""
    out: list[tuple[bytes, Any]] = []
    while True:
        if wire:
            with wire_rows():
                result = company.handle("GET", code(company), path, query, None, host)
        else:
            result = company.handle("GET", code(company), path, query, None, host)
        assert result.status == 200
        d = result.body["d"]
        results = d["results"] if isinstance(d, dict) else d
        out.append((orjson.dumps(result.body), results))
        if not isinstance(d, dict) or "__next" not in d:
            return out
        parts = urlsplit(d["__next"])
        path = parts.path.split(f"/api/v1/{code(company)}/", 1)[1]
        query = dict(parse_qsl(parts.query))


def page_bytes(company: Company, path: str, query: dict[str, str], *, wire: bool) -> list[bytes]:
    return [data for data, _ in pages(company, path, query, wire=wire)]


def served_rows(read: list[tuple[bytes, Any]]) -> list[dict[str, Any]]:
    """The rows of every page, parsed back from the bytes."""
    out: list[dict[str, Any]] = []
    for data, _ in read:
        d = orjson.loads(data)["d"]
        out += d["results"] if isinstance(d, dict) else d
    return out


def cache_of(company: Company) -> RowCache:
    return company._divisions[code(company)].reader.cache


QUERIES: list[tuple[str, dict[str, str]]] = [
    *((p, {"$select": ALL_FIELDS[p], "$filter": "Timestamp gt 1L"}) for p in SYNC_PATHS),
    ("sync/CRM/Accounts", {"$select": "Name,Timestamp,ID", "$filter": "Timestamp ge 100005L"}),
    ("sync/Financial/TransactionLines", {"$select": "ID,AmountDC", "$top": "1500"}),
    (
        "sync/Cashflow/PaymentTerms",
        {"$select": "ID", "$filter": "Timestamp gt 1L and AmountDC gt 0"},
    ),
    ("bulk/CRM/Accounts", {"$select": ALL_FIELDS["bulk/CRM/Accounts"]}),
    ("bulk/Cashflow/Receivables", {"$select": "ID,AmountDC"}),
    ("bulk/SalesOrder/SalesOrderLines", {"$select": "ID", "$filter": "Quantity gt 1"}),
    ("crm/Accounts", {}),
    ("crm/Accounts", {"$select": "ID,Name", "$top": "70"}),
    ("crm/Accounts", {"$select": "ID,Name", "$top": "5"}),
    ("crm/Accounts", {"$select": "ID,Name", "$orderby": "Name"}),
    ("salesinvoice/SalesInvoices", {"$expand": "SalesInvoiceLines", "$top": "3"}),
    ("documents/Documents", {"$select": "ID,DocumentViewUrl", "$inlinecount": "allpages"}),
    ("cashflow/Receivables", {"$select": "ID,AmountDC"}),
]


@pytest.mark.parametrize(("path", "query"), QUERIES, ids=lambda v: str(v)[:60])
def test_cached_answers_are_byte_for_byte_the_fresh_ones(
    company: Company, path: str, query: dict[str, str]
) -> None:
    fresh = page_bytes(company, path, query, wire=False)
    first = pages(company, path, query, wire=True)  # served plainly, nothing kept yet
    encoded = pages(company, path, query, wire=True)  # read again: encoded and kept
    cached = pages(company, path, query, wire=True)  # from the cache
    for read in (first, encoded, cached):
        assert [data for data, _ in read] == fresh
    assert fresh[0].count(b'{"__metadata":') > 0 or b'"results":[]' in fresh[0]


def test_rows_are_kept_from_their_second_read_and_then_served_from_the_cache(
    company: Company,
) -> None:
    """A first read (a full sync read once) keeps nothing; reading again encodes and keeps
    the rows; the next read encodes nothing and sends the kept pages as they are."""
    query = {"$select": ALL_FIELDS["sync/CRM/Accounts"], "$filter": "Timestamp gt 1L"}
    cache = cache_of(company)
    first = pages(company, "sync/CRM/Accounts", query, wire=True)
    rows = len(served_rows(first))
    assert (cache.hits, cache.misses, cache.held) == (0, 0, 0) and rows > 0
    second = pages(company, "sync/CRM/Accounts", query, wire=True)
    assert (cache.hits, cache.misses) == (0, rows) and cache.held > 0
    third = pages(company, "sync/CRM/Accounts", query, wire=True)
    assert (cache.hits, cache.misses) == (rows, rows)
    assert [data for data, _ in first] == [data for data, _ in second]
    assert [data for data, _ in second] == [data for data, _ in third]
    assert all(isinstance(results, orjson.Fragment) for _, results in third)
    # Once something of the $select is kept, a page never read before goes through the cache.
    later = {**query, "$filter": f"Timestamp gt {served_rows(first)[10]['Timestamp']}L"}
    pages(company, "sync/CRM/Accounts", later, wire=True)
    assert cache.hits == 2 * rows - 11
    # In process, without the wire context, the store still answers plain dicts.
    plain = pages(company, "sync/CRM/Accounts", query, wire=False)
    assert all(type(row) is dict for _, results in plain for row in results)


def test_put_post_and_delete_show_in_the_next_cached_read(company: Company) -> None:
    path = "sync/CRM/Accounts"
    query = {"$select": ALL_FIELDS[path], "$filter": "Timestamp gt 1L"}

    def send(method: str, target: str, body: Any = None) -> Any:
        return company.handle(method, code(company), target, {}, body, HOST)

    doomed = send("POST", "crm/Accounts", {"Name": "To be deleted", "Status": "C"}).body["d"]
    for _ in "12":  # read twice: every row kept, the doomed one included
        pages(company, path, query, wire=True)
    changed = company.rows(code(company), path)[3]
    assert send("PUT", f"crm/Accounts(guid'{changed['ID']}')", {"Name": "Renamed"}).status == 204
    added = send("POST", "crm/Accounts", {"Name": "Brand new", "Status": "C"}).body["d"]
    assert send("DELETE", f"crm/Accounts(guid'{doomed['ID']}')").status == 204

    after = pages(company, path, query, wire=True)
    assert [data for data, _ in after] == page_bytes(company, path, query, wire=False)
    rows = served_rows(after)
    by_id = {r["ID"]: r for r in rows}
    assert by_id[changed["ID"]]["Name"] == "Renamed"
    assert by_id[changed["ID"]]["Timestamp"] > changed["Timestamp"]
    assert [r["ID"] for r in rows].count(changed["ID"]) == 1
    assert by_id[added["ID"]]["Name"] == "Brand new"
    assert doomed["ID"] not in by_id


def test_a_header_change_alone_reencodes_the_joined_lines(company: Company) -> None:
    """Sync invoice rows repeat their header: a header written without new line versions must
    still show, because an entry also remembers the header's Timestamp."""
    path = "sync/SalesInvoice/SalesInvoices"
    query = {"$select": ALL_FIELDS[path], "$filter": "Timestamp gt 1L"}
    for _ in "12":  # read twice: every row kept
        pages(company, path, query, wire=True)
    division = company._divisions[code(company)]  # the store's tables, to write a header only
    lines, headers = division.tables["invoicelines"], division.tables["invoices"]
    line = next(iter(lines.rows.values()))
    header = headers.get(line["InvoiceID"])
    assert header is not None
    field = next(f for f in ("DeliverToName", "InvoiceToName", "YourRef") if f not in line)
    changed = dict(header.items())
    changed[field] = "Header changed"
    headers.put(changed, division.next_ts())

    after = pages(company, path, query, wire=True)
    assert [data for data, _ in after] == page_bytes(company, path, query, wire=False)
    shown = served_rows(after)
    assert {r[field] for r in shown if r["InvoiceID"] == line["InvoiceID"]} == {"Header changed"}


def test_rows_cut_from_encoded_pages_match_their_own_encoding_even_with_tricky_strings() -> None:
    """Rows are encoded a page at a time and later cut at row boundaries; strings that look
    like a boundary cannot fool the cut, and rows that cannot be cut are still served (and not
    kept)."""
    tricky = ',{"__metadata":', '"},{"__metadata":{"uri":"x"}}', "\\", '\u2028"\x00', "plain"
    rows = [
        {"__metadata": {"uri": f"u{i}", "type": "T"}, "A": text, "B": i, "C": None}
        for i, text in enumerate(tricky)
    ]
    cache = RowCache(budget=10**9)
    slot = cache.slot("test")
    parts: list[Any] = [None] * len(rows)
    cache.fill(slot, parts, [(i, f"k{i}", None, i, None) for i in range(len(rows))], rows)
    assert len(cache.blobs) == 1 and set(slot) == {f"k{i}" for i in range(len(rows))}
    assert orjson.dumps(cache.assemble(parts)) == orjson.dumps(rows)
    for picked in ([0], [4], [1, 2], [0, 2, 3], [3, 1], [4, 3, 2, 1, 0]):
        chosen = cache.assemble([parts[i] for i in picked])
        assert orjson.dumps(chosen) == orjson.dumps([rows[i] for i in picked])

    bare = [{"A": 1}, {"A": ',{"__metadata":'}]
    other = RowCache(budget=10**9)
    bare_parts: list[Any] = [None, None]
    other.fill(
        other.slot("test"), bare_parts, [(0, "a", None, 1, None), (1, "b", None, 2, None)], bare
    )
    assert orjson.dumps(other.assemble(bare_parts)) == orjson.dumps(bare)
    assert other.blobs == {} and other.slot("test") == {} and other.held == 0
    assert RowCache.assemble([]) == []


def test_a_rewritten_row_frees_its_old_page_once_no_row_needs_it() -> None:
    cache = RowCache(budget=10**9)
    slot = cache.slot("test")
    rows = [{"__metadata": {"uri": f"u{i}"}, "A": i} for i in range(3)]
    parts: list[Any] = [None] * 3
    cache.fill(slot, parts, [(i, i, None, i, None) for i in range(3)], rows)
    (first_blob,) = cache.blobs
    for i in range(3):  # each row written again and read alone: its new version replaces it
        again: list[Any] = [None]
        cache.fill(slot, again, [(0, i, slot[i], 10 + i, None)], [rows[i]])
    assert len(cache.blobs) == 3 and first_blob not in cache.blobs
    assert cache.held == sum(len(blob.data) for blob in cache.blobs.values())
    assert {entry[0] for entry in slot.values()} == {10, 11, 12}


def test_http_answers_equal_the_store_and_follow_writes(sandbox_factory: Any) -> None:
    """Over HTTP (the cached path): pages equal a fresh in-process company's answer byte for
    byte, repeat identically, and a PUT shows in the next read."""
    sb = sandbox_factory(seed=1, scale=0.05, divisions=1)
    grant = sb.grant()
    division = grant["divisions"][0]
    headers = {"Authorization": f"Bearer {sb.access_token(grant)}", "Accept": "application/json"}
    path = "sync/CRM/Accounts"
    query = {"$select": ALL_FIELDS[path], "$filter": "Timestamp gt 1L"}
    url = f"{sb.url}/api/v1/{division}/{path}"

    def read() -> bytes:
        answer = requests.get(url, params=query, headers=headers, timeout=60)
        assert answer.status_code == 200
        return answer.content

    first, second, third = read(), read(), read()  # plain, then encoded and kept, then cached
    assert first == second == third
    local = Company(seed=1, scale=0.05, divisions=1)
    assert local.division_codes[0] == division
    expected = local.handle("GET", division, path, query, None, sb.url)
    assert first == orjson.dumps(expected.body)

    account = sb.rows(division, path)[0]
    put = requests.put(
        f"{sb.url}/api/v1/{division}/crm/Accounts(guid'{account['ID']}')",
        json={"Name": "Renamed over HTTP"},
        headers=headers,
        timeout=60,
    )
    assert put.status_code == 204
    third = read()
    served = orjson.loads(third)["d"]["results"]
    assert [{k: v for k, v in r.items() if k != "__metadata"} for r in served] == sb.rows(
        division, path
    )
    assert [r["Name"] for r in served if r["ID"] == account["ID"]] == ["Renamed over HTTP"]


def test_a_zero_budget_keeps_nothing_and_answers_the_same(company: Company) -> None:
    from exactonline_sandbox import rowcache

    query = {"$select": ALL_FIELDS["sync/CRM/Contacts"], "$filter": "Timestamp gt 1L"}
    rowcache.configure(0)
    try:
        uncached = Company(seed=5, scale=0.1, divisions=1, clock=Clock())
    finally:
        rowcache.configure(rowcache.DEFAULT_BUDGET)
    first = pages(uncached, "sync/CRM/Contacts", query, wire=True)
    second = pages(uncached, "sync/CRM/Contacts", query, wire=True)
    third = pages(uncached, "sync/CRM/Contacts", query, wire=True)
    assert [d for d, _ in first] == [d for d, _ in second] == [d for d, _ in third]
    assert [d for d, _ in first] == page_bytes(company, "sync/CRM/Contacts", query, wire=False)
    cache = cache_of(uncached)
    assert cache.hits == 0 and cache.blobs == {} and cache.held == 0


def test_serve_takes_a_row_cache_budget(sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=1, scale=0.05, divisions=1, row_cache_mb=0)
    grant = sb.grant()
    division = grant["divisions"][0]
    headers = {"Authorization": f"Bearer {sb.access_token(grant)}", "Accept": "application/json"}
    url = f"{sb.url}/api/v1/{division}/sync/CRM/Contacts"
    query = {"$select": ALL_FIELDS["sync/CRM/Contacts"], "$filter": "Timestamp gt 1L"}
    bodies = [requests.get(url, params=query, headers=headers, timeout=60).content for _ in "abc"]
    expected = Company(seed=1, scale=0.05, divisions=1).handle(
        "GET", division, "sync/CRM/Contacts", query, None, sb.url
    )
    assert bodies == [orjson.dumps(expected.body)] * 3


def test_rows_that_hide_a_boundary_are_refused_loudly_not_cut_wrongly() -> None:
    """Only expanded children could nest `{"__metadata":` objects (the wire path never serves
    `$expand` from the cache); should a blob hold one anyway, cutting it fails instead of
    serving half rows."""
    rows = [
        {"__metadata": {"uri": "a"}, "Children": [{"__metadata": 1}, {"__metadata": 2}]},
        {"__metadata": {"uri": "b"}},
    ]
    cache = RowCache(budget=10**9)
    parts: list[Any] = [None, None]
    cache.fill(cache.slot("t"), parts, [(0, "a", None, 1, None), (1, "b", None, 2, None)], rows)
    assert orjson.dumps(cache.assemble(parts)) == orjson.dumps(rows)  # whole: no cut needed
    with pytest.raises(RuntimeError):
        cache.assemble([parts[1]])


def test_admission_remembers_a_bounded_number_of_pages_read_once() -> None:
    cache = RowCache(budget=10**9)
    assert cache.admit("s", 1) is False and cache.admit("s", 1) is True
    for page in range(2, 20_001):
        cache.admit("s", page)
    assert len(cache.seen["s"]) <= 10_000
    assert RowCache(budget=0).admit("s", 1) is False
    zero = RowCache(budget=0)
    assert [zero.admit("s", 1) for _ in "abc"] == [False, False, False]
