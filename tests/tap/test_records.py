"""Records come out typed as their schema says (the SDK's own conformance pass is skipped)."""

from __future__ import annotations

from decimal import Decimal

from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform

from exactonline_api.entities import entity
from tap_exactonline.record_plan import RecordPlan
from tap_exactonline.records import RecordShaper
from tap_exactonline.schemas import select_fields
from tap_exactonline.streams import STREAM_TABLE


def test_odata_string_numbers_and_numeric_booleans_are_typed_by_the_catalogue() -> None:
    shaper = RecordShaper(select_fields(entity("SyncAccount")))
    record = shaper(
        {
            "Timestamp": "9007199254740993",  # Int64 as OData v2 may send it, beyond float range
            "CreditLineSales": "1250.10",  # Decimal as a string
            "IsSales": 1,
            "Blocked": 0,
            "DiscountSales": float("nan"),
            "IsAccountant": 0,  # an int in the catalogue: stays an int
            "Name": "  Bakkerij  ",  # not a code: untouched
        },
        7,
    )
    assert record["Timestamp"] == 9007199254740993
    assert record["CreditLineSales"] == Decimal("1250.10")
    assert record["IsSales"] is True and record["Blocked"] is False
    assert record["DiscountSales"] is None
    assert record["IsAccountant"] == 0 and record["IsAccountant"] is not False
    assert record["Name"] == "  Bakkerij  "
    assert record["Division"] == 7


def test_fields_outside_the_schema_and_odata_metadata_never_reach_a_record() -> None:
    shaper = RecordShaper(select_fields(entity("SyncGLAccount"), ["ID", "Code"]))
    record = shaper(
        {"__metadata": {"uri": "x"}, "ID": "a", "Code": " 0100 ", "Description": "d"}, 1
    )
    assert record == {"ID": "a", "Code": "0100", "Division": 1}


def test_the_record_plan_steps_aside_whenever_singer_sdk_could_change_a_record() -> None:
    same = SameRecordTransform(
        stream_alias="s", raw_schema={"properties": {}}, key_properties=[], flattening_options=None
    )
    none = TypeConformanceLevel.NONE
    mask = {(): True, ("properties", "A"): True, ("properties", "B"): False}
    plan = RecordPlan.build(mask, [same], none)
    assert plan is not None and plan.deselected == ("B",) and plan.alias == "s"
    assert RecordPlan.build(mask, [same], TypeConformanceLevel.ROOT_ONLY) is None
    assert RecordPlan.build(mask, [same, same], none) is None
    assert (
        RecordPlan.build({**mask, ("properties", "A", "properties", "x"): False}, [same], none)
        is None
    )
    assert RecordPlan.build({(): False}, [same], none) is None


def test_a_shared_stream_keeps_the_same_rows_from_the_fields_a_sibling_spools_for_it() -> None:
    """A replayed stream sees only its `spooled_fields`; its `keep` must decide the same."""
    shared = [s for s in STREAM_TABLE if s.shared_read and s.keep is not None]
    assert shared
    for spec in shared:
        for line_type in (20, 22, None, 0):
            row = {f.name: None for f in spec.catalogue.fields} | {"LineType": line_type}
            row |= {"Status": "C", "Modified": "/Date(1)/", "__metadata": {}}
            spooled = {k: v for k, v in row.items() if k in spec.spooled_fields}
            assert "Modified" in spooled
            assert spec.keep(spooled) == spec.keep(row), (spec.name, line_type)
