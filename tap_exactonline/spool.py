"""Shared reads: two streams fed by one endpoint read it once per run.

payments and receivables both come from sync/Cashflow/PaymentTerms; sales_invoices and
sales_invoice_lines both from sync/SalesInvoice/SalesInvoices. Every call counts against a daily
budget of 5,000 per division, so the first of the pair to run reads the endpoint (from the lower
of the two bookmarks, selecting both streams' fields) and spools the sibling's rows, page by page
with each page's checkpoint, to a temporary file; the sibling then replays the file instead of
calling Exact. Each stream keeps its own bookmark, so either may be selected alone.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import orjson

from tap_exactonline.reading import Page


class Spool:
    """The pages one stream will replay for one division (JSON lines on disk)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = path.open("wb")
        self.pages = 0
        self.complete = False

    def write(self, page: Page) -> None:
        assert self._file is not None, "spool already closed"
        line = {"rows": page.rows, "checkpoint": page.checkpoint, "final": page.final}
        self._file.write(orjson.dumps(line) + b"\n")
        self.pages += 1

    def close(self, *, complete: bool) -> None:
        """Stop writing; `complete` False means the read broke off (e.g. the daily limit)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self.complete = complete

    def replay(self) -> Iterator[Page]:
        """The spooled pages in order, each with the checkpoint it had when read."""
        with self.path.open("rb") as handle:
            for line in handle:
                data = orjson.loads(line)
                yield Page(rows=data["rows"], checkpoint=data["checkpoint"], final=data["final"])
        self.path.unlink(missing_ok=True)


class SharedReads:
    """Per run: which (stream, division) pairs have read or been served, and their spools."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._spools: dict[tuple[str, int], Spool] = {}
        self._served: set[tuple[str, int]] = set()

    def served(self, stream: str, division: int) -> bool:
        """True once `stream` has had its rows for `division` in this run (read or replayed)."""
        return (stream, division) in self._served

    def mark_served(self, stream: str, division: int) -> None:
        self._served.add((stream, division))

    def open_spool(self, stream: str, division: int) -> Spool:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="tap-exactonline-spool-"))
        spool = Spool(self._dir / f"{stream}-{division}.jsonl")
        self._spools[(stream, division)] = spool
        return spool

    def take_spool(self, stream: str, division: int) -> Spool | None:
        """The spool a sibling wrote for `stream`, handed over once."""
        return self._spools.pop((stream, division), None)

    def close(self) -> None:
        """Remove every spool file (a run that ends early leaves unreplayed spools)."""
        for spool in self._spools.values():
            spool.close(complete=False)
        self._spools.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
