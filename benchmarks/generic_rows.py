"""How fast the sandbox generates a catalogue table: `python -m benchmarks.generic_rows [ROWS]`.

Generates ROWS (default a million) rows of a few catalogue tables of different widths in one
division (references point at that division's scale-1 tables) and stores them in a `Table`, as
a first read of the endpoint would. Prints CPU seconds of this process (not wall clock, which
depends on what else runs on the machine) and the load average.
"""

from __future__ import annotations

import os
import random
import sys
import time

from exactonline_sandbox import generic_rows
from exactonline_sandbox.resources import GENERIC_TABLES
from exactonline_sandbox.store import Company
from exactonline_sandbox.table import Table

TABLES = ("Schedule", "Address", "Employee")


def main(rows: int = 1_000_000) -> None:
    company = Company(seed=1, scale=1, divisions=1)
    div = company._divisions[company.division_codes[0]]
    assert div.seed is not None
    print(f"load average {os.getloadavg()[0]:.1f}")
    for name in TABLES:
        spec = GENERIC_TABLES[name]
        user, tables = div.seed.user, div.tables
        warm = generic_rows.RowContext(spec, div.code, random.Random(name), 10, user, tables)
        generic_rows.generate(warm, 1)  # the referenced tables are generated here, not below
        ctx = generic_rows.RowContext(spec, div.code, random.Random(name), rows, user, tables)
        start = time.process_time()
        keys, records = generic_rows.generate(ctx, 1)
        made = time.process_time()
        Table(spec.key).load_records(keys, records, 1)
        stored = time.process_time()
        print(
            f"{name}: {len(spec.fields)} fields, {rows:,} rows: generated in {made - start:.2f} "
            f"CPU s, stored in {stored - made:.2f} CPU s"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
