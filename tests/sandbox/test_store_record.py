"""Compact generated rows: a Record reads like the dict it came from, joins and selects."""

from __future__ import annotations

import pytest

from exactonline_sandbox.record import Record


def test_record_reads_like_its_dict() -> None:
    row = {"ID": "a", "Name": "Bakkerij", "Amount": 1.5, "Empty": None}
    rec = Record.of(row)
    assert rec["Name"] == "Bakkerij" and rec.get("Amount") == 1.5
    assert rec.get("Missing") is None and rec.get("Missing", 7) == 7
    assert "Empty" in rec and "Missing" not in rec
    assert list(rec) == ["ID", "Name", "Amount", "Empty"] and len(rec) == 4
    assert dict(rec) == row == rec.copy()
    assert list(rec.values()) == list(row.values())
    assert list(rec.items()) == list(row.items())
    with pytest.raises(KeyError):
        rec["Missing"]


def test_rows_with_the_same_fields_share_one_shape() -> None:
    a = Record.of({"ID": "a", "Name": "x"})
    b = Record.of({"ID": "b", "Name": "y"})
    assert a.shape is b.shape


def test_getter_selects_fields_and_answers_none_for_absent_ones() -> None:
    rec = Record.of({"ID": "a", "Name": "x", "Code": "1"})
    assert rec.shape.getter(("Code", "Nope", "ID"))(rec.cells) == ("1", None, "a")
    assert rec.shape.getter(("Name",))(rec.cells) == ("x",)
    assert rec.shape.getter(())(rec.cells) == ()


def test_joined_line_wins_over_header_and_keeps_header_fields() -> None:
    line = Record.of({"ID": "line", "Description": "regel", "InvoiceID": "inv"})
    header = Record.of({"InvoiceID": "inv", "Description": "kop", "OrderedBy": "acc"})
    joined = line.joined(header)
    assert joined["ID"] == "line" and joined["Description"] == "regel"
    assert joined["OrderedBy"] == "acc"
    assert joined.shape.getter(("OrderedBy", "ID", "Absent"))(joined.cells) == (
        "acc",
        "line",
        None,
    )


def test_with_copy_and_replaced() -> None:
    rec = Record.of({"OrderID": "o1", "Timestamp": None})
    with_id = rec.with_copy("ID", "OrderID")
    assert with_id["ID"] == "o1" and dict(with_id) == {
        "OrderID": "o1",
        "Timestamp": None,
        "ID": "o1",
    }
    stamped = rec.replaced("Timestamp", 5)
    assert stamped["Timestamp"] == 5 and rec["Timestamp"] is None
    assert rec.replaced("OrderID", "o2")["OrderID"] == "o2"
