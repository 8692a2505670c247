"""The $filter / $orderby / $select parser: grammar, literals, escaping, refusals."""

from __future__ import annotations

import pytest

from exactonline_sandbox.query import (
    SYNTAX_ERROR,
    QueryError,
    compile_filter,
    parse_orderby,
    parse_select,
    tokenize,
)

FIELDS = {
    "ID": "string",
    "Name": "string",
    "Code": "string",
    "Status": "string",
    "Timestamp": "int",
    "Amount": "float",
    "IsSales": "bool",
    "Modified": "string",
    "Email": "string",
}

ROWS = [
    {
        "ID": "6f1c3a2e-1111-4aaa-8bbb-000000000001",
        "Name": "O'Brien Bouw",
        "Code": "           0000001",
        "Status": "C",
        "Timestamp": 10,
        "Amount": 12.5,
        "IsSales": True,
        # 2024-03-31 01:30 Amsterdam wall clock (just before the switch to summer time)
        "Modified": "/Date(1711848600000)/",
        "Email": None,
    },
    {
        "ID": "6f1c3a2e-2222-4aaa-8bbb-000000000002",
        "Name": "Jansen Transport",
        "Code": "           0000002",
        "Status": "S",
        "Timestamp": 20,
        "Amount": 100,
        "IsSales": False,
        # 2024-03-31 03:30 Amsterdam wall clock (just after it)
        "Modified": "/Date(1711855800000)/",
        "Email": "info@jansen.nl",
    },
]


def matching(text: str) -> list[str]:
    pred = compile_filter(text, FIELDS)
    return [r["Name"] for r in ROWS if pred(r)]


def test_equality_on_strings_ignores_case_like_sql_server() -> None:
    assert matching("Name eq 'jansen transport'") == ["Jansen Transport"]


def test_doubled_quote_is_an_escaped_quote() -> None:
    assert matching("Name eq 'O''Brien Bouw'") == ["O'Brien Bouw"]


@pytest.mark.parametrize(
    "text",
    [
        "Name eq 'O'Brien Bouw'",  # unescaped quote: the rest is garbage
        "Name eq 'x' or 1 eq 1; --",
        "Name eq 'x') or (1 eq 1",
        "__import__('os').system('id') eq 1",
        "Name eq",
        "eq 'x'",
        "Name eq 'x' and",
        "Name like 'x'",
        'Name eq "x"',
        "Nonexistent eq 'x'",
        "Timestamp gt 'abc'",
        "IsSales eq 1",
        "ID eq guid'not-a-guid'",
        "Modified gt datetime'yesterday'",
        "",
    ],
)
def test_malformed_or_hostile_filters_are_syntax_errors(text: str) -> None:
    with pytest.raises(QueryError) as err:
        compile_filter(text, FIELDS)
    assert err.value.message == SYNTAX_ERROR


def test_injection_attempt_inside_a_quoted_literal_is_just_text() -> None:
    assert matching("Name eq 'x'' or ''1'' eq ''1'") == []


def test_int64_literal_with_l_suffix() -> None:
    assert matching("Timestamp gt 10L") == ["Jansen Transport"]
    assert matching("Timestamp ge 10L") == ["O'Brien Bouw", "Jansen Transport"]


def test_guid_literal_compares_case_insensitively() -> None:
    assert matching("ID eq guid'6F1C3A2E-2222-4AAA-8BBB-000000000002'") == ["Jansen Transport"]


def test_datetime_literal_is_amsterdam_wall_clock_across_dst() -> None:
    assert matching("Modified lt datetime'2024-03-31T02:00:00'") == ["O'Brien Bouw"]
    assert matching("Modified ge datetime'2024-03-31T03:30:00'") == ["Jansen Transport"]
    assert matching("Modified eq datetime'2024-03-31T03:30:00.000'") == ["Jansen Transport"]


def test_and_or_not_and_parentheses_bind_as_expected() -> None:
    assert matching("Status eq 'C' or Status eq 'S' and Amount gt 1000") == ["O'Brien Bouw"]
    assert matching("(Status eq 'C' or Status eq 'S') and Amount gt 50") == ["Jansen Transport"]
    assert matching("not (Status eq 'C')") == ["Jansen Transport"]


def test_decimals_booleans_and_null() -> None:
    assert matching("Amount eq 12.5") == ["O'Brien Bouw"]
    assert matching("Amount ge 100") == ["Jansen Transport"]
    assert matching("IsSales eq true") == ["O'Brien Bouw"]
    assert matching("Email eq null") == ["O'Brien Bouw"]
    assert matching("Email ne null") == ["Jansen Transport"]


def test_null_never_satisfies_an_ordering_comparison() -> None:
    assert matching("Email gt 'a'") == ["Jansen Transport"]


def test_trim_matches_the_padded_account_code() -> None:
    assert matching("trim(Code) eq '0000002'") == ["Jansen Transport"]
    assert matching("Code eq '0000002'") == []


def test_substringof_and_startswith() -> None:
    assert matching("substringof('bouw', Name)") == ["O'Brien Bouw"]
    assert matching("substringof('bouw', Name) eq true") == ["O'Brien Bouw"]
    assert matching("startswith(Name, 'Jan')") == ["Jansen Transport"]


def test_tokenizer_unescapes_strings_and_types_literals() -> None:
    kinds = [(t.kind, t.value) for t in tokenize("Name eq 'a''b' and Timestamp gt 5L")]
    assert kinds == [
        ("name", None),
        ("name", None),
        ("string", "a'b"),
        ("name", None),
        ("name", None),
        ("name", None),
        ("int", 5),
    ]


def test_orderby_accepts_directions_and_refuses_unknown_fields() -> None:
    keys = parse_orderby("Modified asc, Name desc", FIELDS)
    assert [(k.field, k.descending) for k in keys] == [("Modified", False), ("Name", True)]
    with pytest.raises(QueryError):
        parse_orderby("Bogus asc", FIELDS)
    with pytest.raises(QueryError):
        parse_orderby("Name sideways", FIELDS)


def test_select_keeps_order_drops_duplicates_and_refuses_unknown_fields() -> None:
    assert parse_select("Name, ID,Name", FIELDS) == ["Name", "ID"]
    with pytest.raises(QueryError):
        parse_select("ID,IsPurchase", FIELDS)
    with pytest.raises(QueryError):
        parse_select("ID,,Name", FIELDS)
