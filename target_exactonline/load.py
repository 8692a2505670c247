"""One run of the target: the connection, the division, the lookups and the bookkeeping.

Sinks are per stream, but a load is one thing: invoices refer to customers written a moment ago,
attachments to invoices, and every stream shares the reject file, the summary, the API budget and
the rule for what a failure means. This object holds that shared state.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from exactonline_api.divisions import listed_codes, not_reachable
from exactonline_api.errors import ApiError, ConfigError, ExactError, WriteOutcomeUnknown
from exactonline_api.retry import Transient
from exactonline_api.streamed_body import StreamedBody
from exactonline_api.token_store import DivisionWriteLocks
from target_exactonline.matching import (
    Finder,
    norm_account_code,
    norm_case,
    norm_casefold,
    norm_guid,
    norm_text,
)
from target_exactonline.rejects import LoadStopped, RecordRejected, Reject, RejectFile
from target_exactonline.row_counts import RowCounts, beside
from target_exactonline.schemas import ACCOUNT_FIELDS, INVOICE_FIELDS, LINE_FIELDS
from target_exactonline.settings import TargetSettings
from target_exactonline.summary import Summary
from target_exactonline.values import blank

if TYPE_CHECKING:
    from exactonline_api.client import ExactClient

logger = logging.getLogger("target-exactonline")

# Statuses that mean "this record is wrong" (reject it) rather than "this run cannot go on".
RECORD_STATUSES = frozenset({400, 404, 409, 422, 500})
# What a 500 says when Exact (or the sandbox, or a gateway) failed without a reason of its own.
# Exact reports some validations as 500 too, but always with its message ("Ongeldige
# referentie: ..."); only a 500 like these is worth sending again.
GENERIC_500_TEXTS = frozenset(
    {"", "http 500", "an internal error occurred.", "internal server error"}
)


def is_transient_500(exc: ApiError) -> bool:
    """True for a 500 with no message of Exact's own: a failure, not a verdict on the record."""
    if exc.status != 500:
        return False
    text = exc.detail.strip()
    if text.upper().startswith("HTTP 500"):
        text = text[len("HTTP 500") :].lstrip(" :")  # the client's prefix after its own retries
    return text.casefold() in GENERIC_500_TEXTS


def kept_failing(exc: ApiError, method: str, tries: int) -> RecordRejected:
    """A write that got a bare 500 on every try, while the lookups around it answered: Exact
    fails on something in this record. Kept as its reject, so the load (with `on_error: skip`)
    goes on and a re-run does not stop at it again; the record waits in the reject file."""
    return RecordRejected(
        f"Exact failed on every one of {tries} tries of the {method} on {exc.endpoint} with a "
        "500 that gives no reason",
        exact_message=exc.detail,
        exact_status=exc.status,
    )


@dataclass
class Deferred:
    """A record kept until end of input (invoices wait for their lines, attachments for invoices)."""

    stream: str
    record: dict[str, Any]
    problem: Reject | None = None
    lines: list[Deferred] = field(default_factory=list)  # an invoice's deferred line records


class NotLanded(Transient):
    """A POST whose answer was lost and that a look-up did not find: worth sending again."""

    def __init__(self, lost: WriteOutcomeUnknown | ApiError) -> None:
        super().__init__(str(lost), sent=False)
        self.lost = lost


class Load:
    """State shared by all sinks of one target run; connects to Exact on first use."""

    def __init__(self, settings: TargetSettings) -> None:
        self.settings = settings
        self.client_settings = settings.client
        self.rejects = RejectFile(self.settings.reject_file)
        self.summary = Summary()
        self._client: ExactClient | None = None
        self._division: int | None = None
        self._finders: dict[str, Finder] = {}
        self._row_counts: RowCounts | None = None
        # Account IDs of another division (tap copies) -> the matching account here.
        self.account_map: dict[str, str] = {}
        self.invoices: list[Deferred] = []
        self.lines: dict[tuple[str, str], list[Deferred]] = {}
        self.attachments: list[Deferred] = []
        self.finished = False
        self._write_lock: contextlib.ExitStack | None = None

    # -- connection ----------------------------------------------------------------------------

    @property
    def client(self) -> ExactClient:
        if self._client is None:
            from exactonline_api.client import ExactClient  # connect only when a write needs it

            self._client = ExactClient(self.client_settings)
        return self._client

    @property
    def division(self) -> int:
        """The division written to: the `division` setting, checked before the first call to it,
        or else the user's current division."""
        if self._division is None:
            current = int(self.client.me()["CurrentDivision"])
            configured = self.settings.division
            if configured is None:
                logger.info("no division configured: writing to the current division %s", current)
            elif configured != current:
                self._check_reachable(configured, current)
            self._division = configured or current
        self.summary.division = self._division
        return self._division

    def _check_reachable(self, division: int, current: int) -> None:
        """Stop before any call to `division` unless system/Divisions (listed through the user's
        current division) has it: a 403 there would count towards Exact's error limit."""
        reachable = listed_codes(self.client.divisions(current))
        if division not in reachable:
            raise ConfigError(
                "division", not_reachable([division], reachable) + "; nothing was written"
            )

    def hold_division(self) -> None:
        """Take the division's write lock before the first lookup of a write, for the rest of
        the run (released by `finish`, or by the kernel if the process dies).

        Idempotency rests on "look the key up, then create": two runs doing that at once on one
        division would both find nothing and both create. So writers of a division take turns
        through the token store they share (the lock lives beside the grant); a second run waits,
        saying for whom, and then finds what the first one wrote.
        """
        if self._write_lock is not None:
            return
        store = self.client.store
        division = self.division
        if not isinstance(store, DivisionWriteLocks):
            raise ExactError(
                f"the token store ({store.describe()}) has no division write lock, so two runs "
                f"could write division {division} at once and create records twice"
            )
        waited: list[float] = []

        def on_wait(holder: str) -> None:
            waited.append(time.monotonic())
            logger.warning(
                "division %s is being written by another run (%s); waiting for it to finish "
                "before writing",
                division,
                holder,
            )

        stack = contextlib.ExitStack()
        stack.enter_context(store.division_write_lock(division, on_wait=on_wait))
        self._write_lock = stack
        if waited:
            logger.info(
                "division %s is free: writing after waiting %.1f s",
                division,
                time.monotonic() - waited[0],
            )

    def is_foreign(self, record: dict[str, Any]) -> bool:
        """True for a record read from another division: its Exact IDs mean nothing here."""
        origin = record.get("Division")
        return origin not in (None, "") and int(origin) != self.division

    # -- lookups -------------------------------------------------------------------------------

    @property
    def row_counts(self) -> RowCounts:
        """Rows each prefetch source held when last read (kept beside the token store)."""
        if self._row_counts is None:
            self._row_counts = RowCounts(beside(self.client_settings.token_store_path))
        return self._row_counts

    def _finder(self, name: str, build: Callable[[], Finder]) -> Finder:
        if name not in self._finders:
            self._finders[name] = build()
        return self._finders[name]

    @property
    def accounts(self) -> Finder:
        def build() -> Finder:
            keys = {"ID": norm_guid, "Code": norm_account_code}
            match = self.settings.customer_match_field
            if match:
                keys[match] = norm_casefold if match == "Email" else norm_text
            return Finder(
                self.client,
                self.division,
                name="accounts",
                lookup_path="crm/Accounts",
                prefetch_path="sync/CRM/Accounts",
                select=[f.name for f in ACCOUNT_FIELDS],
                keys=keys,
                row_id="ID",
                prefetch_threshold=self.settings.prefetch_threshold,
                row_counts=self.row_counts,
            )

        return self._finder("accounts", build)

    def source_accounts(self, division: int) -> Finder:
        """Accounts of the division a copy comes from, by ID: their Codes name the counterparts
        here when the customer was copied in an earlier run."""
        return self._finder(
            f"accounts of {division}",
            lambda: Finder(
                self.client,
                division,
                name=f"accounts of division {division}",
                lookup_path="crm/Accounts",
                prefetch_path=None,
                select=["Code"],
                keys={"ID": norm_guid},
                row_id="ID",
                prefetch_threshold=self.settings.prefetch_threshold,
            ),
        )

    def plan_counterparts(self, refs: Iterable[tuple[int, str]]) -> None:
        """Before a batch of copies: look up, in as few calls as fit, the accounts of other
        divisions that no customer record of this run mapped yet, then their Codes here."""
        by_division: dict[int, list[tuple[str, str]]] = {}
        for division, ref in refs:
            if norm_guid(ref) not in self.account_map:
                by_division.setdefault(division, []).append(("ID", norm_guid(ref)))
        codes: list[tuple[str, Any]] = []
        for division, wanted in by_division.items():
            finder = self.source_accounts(division)
            try:
                finder.plan(wanted)
            except ApiError as exc:
                if exc.status != 403:
                    raise
                continue  # each invoice says why when it is written (counterpart)
            for _, ref in wanted:
                codes.extend(
                    ("Code", row["Code"])
                    for row in finder.cached("ID", ref) or []
                    if not blank(row.get("Code"))
                )
        if codes:
            self.accounts.plan(codes)

    def counterpart(self, division: int, ref: str, field: str) -> str:
        """The account here that account `ref` of `division` was copied to: mapped by a customer
        record of this run, else found by the source account's Code (copied in an earlier run)."""
        key = norm_guid(ref)
        if key in self.account_map:
            return self.account_map[key]
        try:
            source = self.source_accounts(division).find("ID", key)
        except ApiError as exc:
            if exc.status != 403:
                raise
            raise RecordRejected(
                f"customer {ref} of division {division} was not copied in this run, and its Code "
                f"cannot be read there with this grant ({exc.detail}); copy the customers "
                "stream in the same run",
                field=field,
            ) from None
        if not source or blank(source[0].get("Code")):
            raise RecordRejected(
                f"customer {ref} does not exist in division {division}, the division the record "
                "was read from",
                field=field,
            )
        code = str(source[0]["Code"]).strip()
        found = self.accounts.find("Code", code)
        if len(found) != 1:
            raise RecordRejected(
                f"customer {ref} of division {division} (Code {code!r}) has "
                + ("no counterpart" if not found else f"{len(found)} accounts with that Code")
                + f" in division {self.division}; copy the customers stream first",
                field=field,
            )
        self.account_map[key] = str(found[0]["ID"])
        return self.account_map[key]

    @property
    def sales_invoices(self) -> Finder:
        key_field = self.settings.invoice_key_field
        return self._finder(
            "sales_invoices",
            lambda: Finder(
                self.client,
                self.division,
                name="sales invoices",
                lookup_path="salesinvoice/SalesInvoices",
                # The sync endpoint has one row per LINE, and fields both levels have (e.g.
                # Description) hold the line's value there: no good for diffing headers. The
                # bulk endpoint has one row per header, 1,000 a call. Exact wants bulk reads
                # filtered; invoices without a key cannot match one, so the read covers the
                # key field only (an InvoiceID is still looked up).
                prefetch_path="bulk/SalesInvoice/SalesInvoices",
                prefetch_filter=f"{key_field} ne null",
                prefetch_covers=[key_field],
                select=["Status", "Document", *(f.name for f in INVOICE_FIELDS)],
                keys={"InvoiceID": norm_guid, key_field: norm_text},
                row_id="InvoiceID",
                prefetch_threshold=self.settings.prefetch_threshold,
                row_counts=self.row_counts,
            ),
        )

    @property
    def invoice_lines(self) -> Finder:
        """The lines of existing invoices, by InvoiceID, to bring them in line with the input.
        Only invoices that exist and whose record gives lines are asked for; a large batch reads
        the company's lines in bulk (1,000 a call) when that takes fewer calls."""
        return self._finder(
            "invoice_lines",
            lambda: Finder(
                self.client,
                self.division,
                name="sales invoice lines",
                lookup_path="salesinvoice/SalesInvoiceLines",
                prefetch_path="bulk/SalesInvoice/SalesInvoiceLines",
                prefetch_filter="InvoiceID ne null",
                select=["InvoiceID", *(f.name for f in LINE_FIELDS)],
                keys={"InvoiceID": norm_guid},
                row_id="ID",
                prefetch_threshold=self.settings.prefetch_threshold,
                row_counts=self.row_counts,
            ),
        )

    @property
    def items(self) -> Finder:
        return self._finder(
            "items",
            lambda: Finder(
                self.client,
                self.division,
                name="items",
                lookup_path="logistics/Items",
                prefetch_path="sync/Logistics/Items",
                select=["Code"],
                keys={"ID": norm_guid, "Code": norm_text},
                row_id="ID",
                prefetch_threshold=self.settings.prefetch_threshold,
                row_counts=self.row_counts,
            ),
        )

    @property
    def documents(self) -> Finder:
        """Documents by Subject: one an interrupted run created but did not link is reused."""
        return self._finder(
            "documents",
            lambda: Finder(
                self.client,
                self.division,
                name="documents",
                lookup_path="documents/Documents",
                prefetch_path=None,
                # FinancialTransactionEntryID: the invoice a sales-invoice document is linked to
                # (a document of another invoice with the same Subject is never reused).
                select=["Account", "Type", "FinancialTransactionEntryID"],
                keys={"Subject": norm_case},
                row_id="ID",
                prefetch_threshold=self.settings.prefetch_threshold,
            ),
        )

    @property
    def document_files(self) -> Finder:
        """The files on each document, by Document: a file already there is not sent again."""
        return self._finder(
            "document_files",
            lambda: Finder(
                self.client,
                self.division,
                name="document files",
                lookup_path="documents/DocumentAttachments",
                prefetch_path=None,
                select=["FileName"],
                keys={"Document": norm_guid},
                row_id="ID",
                prefetch_threshold=self.settings.prefetch_threshold,
            ),
        )

    # -- writes --------------------------------------------------------------------------------

    def create(
        self,
        path: str,
        body: Mapping[str, Any] | StreamedBody,
        find_existing: Callable[[], dict[str, Any] | None],
    ) -> dict[str, Any]:
        """POST once, idempotently: if the outcome is unknown, look it up before sending again.

        The client never retries a POST blindly (a retried POST that had landed would create a
        duplicate). When the answer is lost (dropped connection) or Exact fails without saying
        why (a 500 with no message of its own), `find_existing` asks Exact by the record's
        idempotency key; only if nothing is there is the POST sent again, after the client's
        backoff, at most the client's `max_tries` times in all. A 500 that carries Exact's
        message (e.g. an unknown reference) is Exact's answer about the record: raised at once.
        """
        policy = self.client.policy
        tries = 0

        def attempt() -> dict[str, Any]:
            nonlocal tries
            tries += 1
            try:
                return self.client.post(self.division, path, body)
            except WriteOutcomeUnknown as exc:
                lost: WriteOutcomeUnknown | ApiError = exc
            except ApiError as exc:
                if not is_transient_500(exc):
                    raise  # Exact's verdict on the record (400, or a 500 with its message)
                lost = exc
            existing = find_existing()
            if existing is not None:
                logger.info(
                    "POST %s had landed after all (attempt %d): not sending it again", path, tries
                )
                return existing
            raise NotLanded(lost)

        def announce(failure: Transient, tries: int, wait: float) -> None:
            logger.info(
                "POST %s did not land (attempt %d: %s): sending it again in %.2f s",
                path,
                tries,
                failure.cause,
                wait,
            )

        try:
            return policy.run(attempt, announce)
        except NotLanded as exc:
            if isinstance(exc.lost, ApiError):
                raise kept_failing(exc.lost, "POST", policy.max_tries) from None
            raise exc.lost from None

    def put(self, path: str, body: dict[str, Any]) -> None:
        """PUT is idempotent (same body, same result), so the client's retries are enough."""
        try:
            self.client.put(self.division, path, body)
        except ApiError as exc:
            if is_transient_500(exc):
                raise kept_failing(exc, "PUT", self.client.policy.max_tries) from None
            raise

    def delete(self, path: str) -> None:
        """DELETE is idempotent too: retried by the client; a 404 after a lost answer means done."""
        try:
            self.client.delete(self.division, path)
        except ApiError as exc:
            if exc.status != 404:
                raise

    # -- outcomes ------------------------------------------------------------------------------

    def count(self, stream: str, outcome: str) -> None:
        self.summary.count(stream, outcome)

    def guard(
        self, stream: str, key: str | None, record: dict[str, Any], write: Callable[[], str]
    ) -> bool:
        """Run one record's `write` (which returns its outcome); turn its failure into a reject.

        Returns False when the record was rejected. Errors about the run rather than the record
        (expired grant, daily limit, missing scope, Exact unreachable) stop the load at once.
        """
        try:
            outcome = write()
        except RecordRejected as exc:
            self.reject(
                Reject(
                    stream, key, exc.reason, record, exc.field, exc.exact_message, exc.exact_status
                )
            )
            return False
        except ApiError as exc:
            if exc.status not in RECORD_STATUSES or is_transient_500(exc):
                raise  # about the run (limits, scopes, Exact failing), not this record
            self.reject(
                Reject(
                    stream,
                    key,
                    f"Exact refused the write ({exc.status} on {exc.endpoint})",
                    record,
                    None,
                    exc.detail,
                    exc.status,
                )
            )
            return False
        except WriteOutcomeUnknown as exc:
            # Still unknown after looking up and re-sending: the record's own problem to report.
            # (A TransportError, Exact unreachable, is the run's problem and propagates.)
            self.reject(Reject(stream, key, str(exc), record))
            return False
        self.count(stream, outcome)
        return True

    def reject(self, reject: Reject) -> None:
        """Record a reject; under `on_error: fail` the load stops right after recording it."""
        self.rejects.write(reject)
        self.count(reject.stream, "rejected")
        logger.warning("rejected %s", reject.describe())
        if self.settings.on_error == "fail":
            raise LoadStopped(reject, self.rejects.path)

    def verify_connection(self) -> None:
        """A run that needed no call still proves its settings work (token, division): this is
        what `meltano config test` relies on."""
        if self._client is None:
            _ = self.division  # current/Me, and the division's check

    def has_deferred(self) -> bool:
        return bool(self.invoices or self.lines or self.attachments)

    def finish(self) -> None:
        """Log and write the summary once, whether the run succeeded or stopped."""
        if self.finished:
            return
        self.finished = True
        if self._client is not None:
            self.summary.api_calls = sum(self._client.usage.values())
        self.summary.log(logger)
        if self.settings.summary_file:
            self.summary.write(self.settings.summary_file)
        self.rejects.close()
        if self._write_lock is not None:
            self._write_lock.close()


__all__ = ["Deferred", "ExactError", "Load"]
