"""Records come out typed as their schema says (the SDK's own conformance pass is skipped)."""

from __future__ import annotations

from decimal import Decimal

from exactonline_api.entities import entity
from tap_exactonline.records import RecordShaper
from tap_exactonline.schemas import select_fields


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
            "AccountManagerHID": True,  # an int in the catalogue sent as a boolean
            "Name": "  Bakkerij  ",  # not a code: untouched
        },
        7,
    )
    assert record["Timestamp"] == 9007199254740993
    assert record["CreditLineSales"] == Decimal("1250.10")
    assert record["IsSales"] is True and record["Blocked"] is False
    assert record["DiscountSales"] is None
    assert record["IsAccountant"] == 0 and record["IsAccountant"] is not False
    assert record["AccountManagerHID"] == 1 and record["AccountManagerHID"] is not True
    assert record["Name"] == "  Bakkerij  "
    assert record["Division"] == 7


def test_fields_outside_the_schema_and_odata_metadata_never_reach_a_record() -> None:
    shaper = RecordShaper(select_fields(entity("SyncGLAccount"), ["ID", "Code"]))
    record = shaper(
        {"__metadata": {"uri": "x"}, "ID": "a", "Code": " 0100 ", "Description": "d"}, 1
    )
    assert record == {"ID": "a", "Code": "0100", "Division": 1}
