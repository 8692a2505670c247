"""Selecting streams and properties in the tap's catalog (what runs without Meltano pass)."""

from __future__ import annotations

from tap_exactonline.selection import offline_catalog, select_streams


def selected(catalog: dict, stream: str, prop: str | None = None) -> bool:
    """A stream is selected when its metadata says so; a property unless it says otherwise."""
    entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == stream)
    crumb = [] if prop is None else ["properties", prop]
    meta = next(m for m in entry["metadata"] if m["breadcrumb"] == crumb)["metadata"]
    return bool(meta.get("selected", prop is not None))


def test_only_the_named_streams_are_selected_and_deselected_properties_are_left_out() -> None:
    catalog = select_streams(offline_catalog(), ["customers", "divisions"], {"customers": ["Fax"]})
    assert selected(catalog, "customers") and selected(catalog, "divisions")
    assert not selected(catalog, "transaction_lines")
    assert not selected(catalog, "customers", "Fax")
    assert selected(catalog, "customers", "Name")


def test_no_stream_named_selects_every_stream() -> None:
    catalog = select_streams(offline_catalog())
    assert all(selected(catalog, e["tap_stream_id"]) for e in catalog["streams"])
