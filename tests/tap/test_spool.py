"""A spool replays exactly the pages written to it, whether they stayed in memory or, past the
run's memory budget, went to a file; the memory it held is given back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tap_exactonline.reading import Page
from tap_exactonline.spool import MemoryBudget, Spool


def pages() -> list[Page]:
    rows = [{"ID": f"{n:04d}", "Timestamp": n, "Name": "x" * 100} for n in range(300)]
    out = [Page(rows=rows[i : i + 100], checkpoint=i + 99) for i in range(0, 300, 100)]
    return [*out, Page(rows=[], checkpoint=299, final=True)]


def replayed(spool: Spool) -> list[tuple[list[dict], int | None, bool]]:
    return [(p.rows, p.checkpoint, p.final) for p in spool.replay()]


@pytest.mark.parametrize("limit", [10**9, 15_000, 0])
def test_pages_replay_in_order_from_memory_or_file(tmp_path: Path, limit: int) -> None:
    budget = MemoryBudget(limit)
    spool = Spool(tmp_path / "s.jsonl", budget)
    written = pages()
    for page in written:
        spool.write(page)
    spool.close(complete=True)
    on_disk = (tmp_path / "s.jsonl").exists()
    assert on_disk == (limit < 10**9)
    assert (budget.used > 0) == (limit == 10**9)
    assert replayed(spool) == [(p.rows, p.checkpoint, p.final) for p in written]
    assert budget.used == 0
    assert not (tmp_path / "s.jsonl").exists()


def test_a_discarded_spool_gives_its_memory_back(tmp_path: Path) -> None:
    budget = MemoryBudget(10**9)
    spool = Spool(tmp_path / "s.jsonl", budget)
    spool.write(pages()[0])
    assert budget.used > 0
    spool.discard()
    assert budget.used == 0
