"""customers -> crm/Accounts: matched by ID (same division), Code, then `customer_match_field`;
created when absent, updated with only the fields that differ, never deleted."""

from __future__ import annotations

from typing import Any

from exactonline_api.odata import guid_literal
from target_exactonline.matching import norm_guid, norm_text
from target_exactonline.rejects import RecordRejected
from target_exactonline.schemas import ACCOUNT_FIELDS, CUSTOMER_SCHEMA
from target_exactonline.sink import ExactSink, changes, convert
from target_exactonline.values import blank


class CustomersSink(ExactSink):
    """customers -> crm/Accounts: create or update, matched by ID, Code or a match field."""

    endpoint = "crm/Accounts"
    input_schema = CUSTOMER_SCHEMA
    fields = ACCOUNT_FIELDS

    def record_key(self, record: dict[str, Any]) -> str | None:
        for name in ("Code", self.load.settings.customer_match_field, "ID"):
            if name and not blank(record.get(name)):
                return norm_text(record[name])
        return None

    def match_key(self, record: dict[str, Any]) -> tuple[str, str]:
        """Which field identifies this record in Exact. A foreign record's ID is not used:
        GUIDs of another division never name a row here."""
        if not blank(record.get("ID")) and not self.load.is_foreign(record):
            return "ID", str(record["ID"])
        if not blank(record.get("Code")):
            return "Code", str(record["Code"])
        match = self.load.settings.customer_match_field
        if match and not blank(record.get(match)):
            return match, str(record[match])
        raise RecordRejected(
            "the customer has no Code"
            + (f" and no {match}" if match else "")
            + ", so a re-run could not find it again; give a Code or set customer_match_field",
            field="Code",
        )

    def prepare(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        wanted = []
        for record in records:
            try:
                wanted.append(self.match_key(record))
            except RecordRejected:
                continue
        self.load.accounts.plan(wanted)

    def write(self, record: dict[str, Any]) -> str:
        accounts = self.load.accounts
        key, value = self.match_key(record)
        found = accounts.find(key, value)
        if len(found) > 1:
            raise RecordRejected(
                f"{len(found)} accounts in Exact have {key} {value.strip()!r}; cannot tell which "
                "one this record is",
                field=key,
            )
        body = convert(self.fields, record)
        if found:
            row = found[0]
            diff = changes(self.fields, body, row)
            outcome = "unchanged"
            if diff:
                self.load.put(f"{self.endpoint}({guid_literal(row['ID'])})", diff)
                accounts.update(row["ID"], diff)
                outcome = "updated"
        elif key == "ID":
            raise RecordRejected(
                f"no account with ID {value} in division {self.load.division}", field="ID"
            )
        else:
            if not blank(record.get("Code")):
                body["Code"] = norm_text(record["Code"])
            if blank(body.get("Status")):
                body["Status"] = "C"  # a customers stream creates customers
            body = {k: v for k, v in body.items() if v is not None}

            def landed() -> dict[str, Any] | None:
                again = accounts.find(key, value, fresh=True)
                return again[0] if again else None

            row = accounts.add(self.load.create(self.endpoint, body, landed))
            outcome = "created"
        if self.load.is_foreign(record) and not blank(record.get("ID")):
            self.load.account_map[norm_guid(record["ID"])] = str(row["ID"])
        return outcome
