"""The shipped field catalogue stays a faithful copy of the shared source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exactonline_api import entities
from tests.support.shared import SHARED

ROOT = Path(__file__).resolve().parents[1]
SOURCE = SHARED / "exact-entities.json"


@pytest.mark.skipif(
    not SOURCE.exists(), reason="../shared/exact-entities.json is not beside the repo"
)
def test_shipped_catalogue_equals_the_shared_source_for_every_used_resource() -> None:
    source = json.loads(SOURCE.read_text(encoding="utf-8"))
    shipped = json.loads((ROOT / "exactonline_api" / "entities.json").read_text(encoding="utf-8"))
    assert shipped, "the shipped catalogue is empty"
    for name, entry in shipped.items():
        assert entry == source[name], f"{name} differs from ../shared/exact-entities.json"


@pytest.mark.skipif(
    not SOURCE.exists(), reason="../shared/exact-methods.json is not beside the repo"
)
def test_shipped_methods_equal_the_shared_source() -> None:
    source = json.loads((SOURCE.parent / "exact-methods.json").read_text(encoding="utf-8"))
    shipped = json.loads((ROOT / "exactonline_api" / "methods.json").read_text(encoding="utf-8"))
    assert shipped == source


def test_methods_come_from_the_catalogue_and_default_to_get() -> None:
    assert entities.methods("Account") == {"GET", "POST", "PUT", "DELETE"}
    assert entities.methods("SyncAccount") == {"GET"}
    assert "GET" not in entities.methods("AcceptQuotation")


def test_every_documented_resource_is_shipped() -> None:
    assert len(entities.names()) >= 451
    assert entities.entity("VatCode").url == "vat/VATCodes"


def test_bulk_entries_borrow_the_fields_of_their_regular_endpoint() -> None:
    bulk = entities.entity("BulkAccount")
    assert bulk.url == "bulk/CRM/Accounts"
    assert bulk.field_names == entities.entity("Account").field_names


def test_sync_entities_carry_timestamp_and_unknown_fields_are_refused() -> None:
    sync = entities.entity("SyncAccount")
    assert sync.url == "sync/CRM/Accounts"
    assert sync.field("Timestamp").type == "int"
    with pytest.raises(KeyError, match="NoSuchField"):
        sync.field("NoSuchField")
