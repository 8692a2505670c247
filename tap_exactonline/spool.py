"""Shared reads: two streams fed by one endpoint read it once per run.

payments and receivables both come from sync/Cashflow/PaymentTerms; sales_invoices and
sales_invoice_lines both from sync/SalesInvoice/SalesInvoices. Every call counts against a daily
budget of 5,000 per division, so the first of the pair to run reads the endpoint (from the lower
of the two bookmarks, selecting both streams' fields) and spools the sibling's rows, page by page
with each page's checkpoint; the sibling then replays them instead of calling Exact. Each stream
keeps its own bookmark, so either may be selected alone.

Spooled pages are held in memory while the run's spools together stay under `MEMORY_BYTES`, and
go to a temporary file beyond that: writing them to a file cost the tap more CPU (the kernel's
page-cache copies) than encoding them, and a run's spools are usually far smaller; the limit
keeps a large company's run from holding them all in memory.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import orjson

from tap_exactonline.reading import Page

MEMORY_BYTES = 256 * 1024 * 1024
"""Spooled bytes a run keeps in memory, all spools together; beyond it spools go to files."""


class MemoryBudget:
    """Bytes of spooled pages held in memory by one run's spools."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> bool:
        """Reserve `size` bytes; False (nothing reserved) when that would pass the limit."""
        if self.used + size > self.limit:
            return False
        self.used += size
        return True

    def give_back(self, size: int) -> None:
        self.used -= size


class Spool:
    """The pages one stream will replay for one division (JSON lines, in memory or on disk)."""

    def __init__(self, path: Path, budget: MemoryBudget) -> None:
        self.path = path
        self._budget = budget
        self._memory: deque[bytes] | None = deque()
        self._held = 0
        self._file: IO[bytes] | None = None
        self.pages = 0
        self.complete = False
        self._closed = False

    def write(self, page: Page) -> None:
        assert not self._closed, "spool already closed"
        line = {"rows": page.rows, "checkpoint": page.checkpoint, "final": page.final}
        data = orjson.dumps(line)
        if self._memory is not None and self._budget.take(len(data)):
            self._memory.append(data)
            self._held += len(data)
        else:
            if self._file is None:
                self._file = self.path.open("wb")
                for held in self._memory or ():
                    self._file.write(held + b"\n")
                self._release()
                self._memory = None
            self._file.write(data + b"\n")
        self.pages += 1

    def close(self, *, complete: bool) -> None:
        """Stop writing; `complete` False means the read broke off (e.g. the daily limit)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._closed = True
        self.complete = complete

    def discard(self) -> None:
        """Drop what was spooled (a run that ends before the replay)."""
        self.close(complete=False)
        self._release()
        self._memory = None

    def _release(self) -> None:
        self._budget.give_back(self._held)
        self._held = 0

    def replay(self) -> Iterator[Page]:
        """The spooled pages in order, each with the checkpoint it had when read."""
        try:
            if self._memory is not None:
                while self._memory:
                    data = orjson.loads(self._memory.popleft())
                    yield Page(
                        rows=data["rows"], checkpoint=data["checkpoint"], final=data["final"]
                    )
                return
            with self.path.open("rb") as handle:
                for line in handle:
                    data = orjson.loads(line)
                    yield Page(
                        rows=data["rows"], checkpoint=data["checkpoint"], final=data["final"]
                    )
        finally:
            self._release()
            self._memory = None
            self.path.unlink(missing_ok=True)


class SharedReads:
    """Per run: which (stream, division) pairs have read or been served, and their spools."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._spools: dict[tuple[str, int], Spool] = {}
        self._served: set[tuple[str, int]] = set()
        self._budget = MemoryBudget(MEMORY_BYTES)

    def served(self, stream: str, division: int) -> bool:
        """True once `stream` has had its rows for `division` in this run (read or replayed)."""
        return (stream, division) in self._served

    def mark_served(self, stream: str, division: int) -> None:
        self._served.add((stream, division))

    def open_spool(self, stream: str, division: int) -> Spool:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="tap-exactonline-spool-"))
        spool = Spool(self._dir / f"{stream}-{division}.jsonl", self._budget)
        self._spools[(stream, division)] = spool
        return spool

    def take_spool(self, stream: str, division: int) -> Spool | None:
        """The spool a sibling wrote for `stream`, handed over once."""
        return self._spools.pop((stream, division), None)

    def close(self) -> None:
        """Remove every spool file (a run that ends early leaves unreplayed spools)."""
        for spool in self._spools.values():
            spool.discard()
        self._spools.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
