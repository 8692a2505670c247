"""What every sink of this target shares: record checks that reject instead of crash, input order
kept, deletes skipped, and the conversion of a record into an Exact body (`convert`) and of that
body into the part that differs from Exact's row (`changes`). Each stream's rules live in a module
of their own (customers.py, sales_invoices.py, attachments.py); `target.py` holds the table of them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError, ValidationError
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT7
from singer_sdk.sinks import BatchSink

from exactonline_api.odata import check_text
from target_exactonline.load import Deferred, Load
from target_exactonline.rejects import RecordRejected, Reject
from target_exactonline.values import same, to_exact

if TYPE_CHECKING:
    from singer_sdk import Target

    from exactonline_api.entities import Field

logger = logging.getLogger("target-exactonline")

DELETE_MARK = "__target_exactonline_deleted__"
# A RECORD whose `record` is no JSON object arrives wrapped under this key (see target.py), so it
# becomes a reject in its place in the input.
NOT_AN_OBJECT = "__target_exactonline_not_an_object__"
# No `$ref` of a tap's schema is fetched: a reference to a URL or a file must neither make the
# target read outside its settings' folders nor call the network.
NO_RETRIEVAL = Registry()


def _field_of(error: ValidationError) -> str:
    """The dotted path of the field a schema error is about (the missing one for `required`)."""
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        required: Any = error.validator_value
        missing = [name for name in required if name not in error.instance]
        if missing:
            path.append(missing[0])
    return ".".join(path) or "(record)"


def _texts(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """Every string in a record with its dotted field path (nesting is bounded by the reader)."""
    if isinstance(value, str):
        yield ".".join(path), value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _texts(v, (*path, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _texts(v, (*path, str(i)))


def _refs(schema: Any) -> Iterator[str]:
    """Every `$ref` in a schema."""
    if isinstance(schema, dict):
        if isinstance(schema.get("$ref"), str):
            yield schema["$ref"]
        for v in schema.values():
            yield from _refs(v)
    elif isinstance(schema, list):
        for v in schema:
            yield from _refs(v)


def schema_problem(schema: dict[str, Any]) -> str | None:
    """Why a declared schema cannot check records (not JSON Schema, a `$ref` that does not
    resolve inside it), or None when it can."""
    try:
        Draft7Validator.check_schema(schema)
    except SchemaError as exc:
        return exc.message
    resolver = NO_RETRIEVAL.resolver_with_root(DRAFT7.create_resource(schema))
    for ref in _refs(schema):
        try:
            resolver.lookup(ref)
        except Unresolvable:
            return f"$ref {ref!r} does not resolve within the schema"
    return None


def convert(fields: tuple[Field, ...], record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The Exact body for the `fields` present in `record`; a bad value rejects naming the field."""
    body: dict[str, Any] = {}
    for f in fields:
        if f.name not in record:
            continue
        try:
            body[f.name] = to_exact(f, record[f.name])
        except (TypeError, ValueError) as exc:
            raise RecordRejected(f"bad value: {exc}", field=prefix + f.name) from None
    return body


def changes(fields: tuple[Field, ...], body: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """The part of `body` that differs from Exact's `row`: all an update needs to send."""
    by_name = {f.name: f for f in fields}
    return {k: v for k, v in body.items() if not same(by_name[k], v, row.get(k))}


class ExactSink(BatchSink):
    """Validates each record into a reject instead of a crash, then writes batches in order.

    Records keep their input order: a batch is written record by record, so with
    `on_error: fail` everything before a bad record is written and nothing after it is.
    """

    input_schema: ClassVar[dict[str, Any]]
    deferred: ClassVar[bool] = False

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict,
        key_properties: list[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.load: Load = target.load  # type: ignore[attr-defined]
        self._validators = [Draft7Validator(self.input_schema)]
        # `validate_records` (singer-sdk's setting, default true) holds records to the SCHEMA the
        # tap declared; the target's own input schema applies either way.
        if self.validate_schema and isinstance(schema, dict) and schema.get("properties"):
            problem = schema_problem(schema)
            if problem:
                # A tap's broken SCHEMA must not stop the load: our own schema still applies.
                self.logger.warning(
                    "the declared schema of %r is not valid JSON Schema (%s); records are "
                    "checked against the target's input schema only",
                    stream_name,
                    problem,
                )
            else:
                self._validators.insert(0, Draft7Validator(schema, registry=NO_RETRIEVAL))

    # The SDK would validate (and crash on) records before `process_record`, and turn date strings
    # into datetimes; this target validates itself so a bad record becomes a reject, and keeps the
    # JSON values as they came.
    def get_validator(self) -> None:
        return None

    def _validate_and_parse(self, record: dict) -> dict:
        return record

    # Key properties are checked in `check`, so a record without one is a reject naming the
    # field (the SDK's own check raises and ends the run).
    def _singer_validate_message(self, record: dict) -> None:
        return None

    def check(self, record: dict[str, Any]) -> Reject | None:
        """A reject for the first fault: a missing key property, a schema violation (declared
        schema, then ours), text Exact cannot take; else None."""
        missing = [k for k in self.key_properties or () if k not in record]
        if missing:
            return Reject(
                self.stream_name,
                self.record_key(record),
                "the record lacks a key property its SCHEMA declares",
                record,
                field=missing[0],
            )
        for validator in self._validators:
            errors = sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path))
            if errors:
                err = errors[0]
                return Reject(
                    self.stream_name,
                    self.record_key(record),
                    f"schema violation: {err.message}",
                    record,
                    field=_field_of(err),
                )
        for path, text in _texts(record):
            try:
                check_text(text)
            except ValueError as exc:
                return Reject(
                    self.stream_name, self.record_key(record), f"bad value: {exc}", record, path
                )
        return None

    def record_key(self, record: dict[str, Any]) -> str | None:
        """How errors name the record: its idempotency key."""
        return None

    # The SDK strips `_sdc_deleted_at` before `process_record`; a delete must not become an
    # upsert of an empty record, so note it first.
    def _remove_sdc_metadata_from_record(self, record: dict) -> None:
        if record.get("_sdc_deleted_at"):
            record[DELETE_MARK] = True
        super()._remove_sdc_metadata_from_record(record)

    def process_record(self, record: dict, context: dict) -> None:
        self.load.summary.receive(self.stream_name)
        if record.pop(DELETE_MARK, False) or record.get("_sdc_deleted_at"):
            # This target never deletes in Exact (reverse ETL adds and corrects; removing
            # accounting rows is a decision for a person). Counted, so the summary shows it.
            self.load.summary.count(self.stream_name, "deletes_skipped")
            return
        if NOT_AN_OBJECT in record:
            value = record[NOT_AN_OBJECT]
            kind = "null" if value is None else type(value).__name__
            problem = Reject(
                self.stream_name, None, f"the record is a JSON {kind}, not an object", value
            )
            context.setdefault("records", []).append(Deferred(self.stream_name, {}, problem))
            return
        context.setdefault("records", []).append(
            Deferred(self.stream_name, record, self.check(record))
        )

    def process_batch(self, context: dict) -> None:
        items: list[Deferred] = context.get("records", [])
        if self.deferred:
            self.defer(items)
            return
        if any(d.problem is None for d in items):
            self.load.hold_division()  # before the lookups: see Load.hold_division
        self.prepare([d.record for d in items if d.problem is None])
        self.write_all(items)

    def write_all(self, items: list[Deferred]) -> None:
        """Write (or reject) each record in order; a failure becomes that record's reject."""
        for d in items:
            if d.problem is not None:
                self.load.reject(d.problem)
                continue
            self.load.guard(
                self.stream_name,
                self.record_key(d.record),
                d.record,
                partial(self.write, d.record),
            )

    def prepare(self, records: list[dict[str, Any]]) -> None:
        """Plan the lookups a batch needs (one prefetch, or nothing) before writing it."""

    def write(self, record: dict[str, Any]) -> str:
        """Write one record; return created, updated or unchanged; raise RecordRejected."""
        raise NotImplementedError

    def defer(self, items: list[Deferred]) -> None:
        """Keep records until the end of the input (streams that wait for other streams)."""
        raise NotImplementedError


class IgnoredSink(BatchSink):
    """A stream the target does not write, with `unknown_streams: ignore`: dropped, with a warning."""

    def __init__(self, target: Target, stream_name: str, schema: dict, key_properties: Any) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        target.load.summary.ignored_streams.add(stream_name)  # type: ignore[attr-defined]
        logger.warning("ignoring stream %r: target-exactonline does not write it", stream_name)

    def get_validator(self) -> None:
        return None

    def _validate_and_parse(self, record: dict) -> dict:
        return record  # never parsed, so a bad date in an ignored stream cannot stop the run

    def _singer_validate_message(self, record: dict) -> None:
        return None  # nor a missing key property

    def process_record(self, record: dict, context: dict) -> None:
        return None

    def process_batch(self, context: dict) -> None:
        return None
