"""One hash of every generated row of the hand-made tables: `python -m benchmarks.generation_fingerprint`.

A speed-up of the seed generation must not change the data. This prints, per scale (0.05 and 2,
two divisions), a hash of every stored row (all fields, with its row version) of every table the
seed generates (masters, sales, the financial core, sync lines) and of every row of every
endpoint on them as the API serializes it; compare the output before and after a change.
"""

from __future__ import annotations

import hashlib
import sys

import orjson

from exactonline_sandbox.division import TABLE_KEYS
from exactonline_sandbox.resources import RESOURCES
from exactonline_sandbox.store import Company

SCALES = (0.05, 2.0)


def fingerprint(scale: float, divisions: int = 2) -> dict[str, str]:
    """Hash per table and per endpoint (the stored rows and the API's rows) at `scale`."""
    company = Company(seed=1, scale=scale, divisions=divisions)
    out: dict[str, hashlib._Hash] = {}
    for code in company.division_codes:
        div = company._divisions[code]
        for name in TABLE_KEYS:
            h = out.setdefault(f"table {name}", hashlib.sha256())
            for row in div.tables[name].since(0):
                h.update(orjson.dumps(list(row.items()), option=orjson.OPT_NON_STR_KEYS))
        for path, res in sorted(RESOURCES.items()):
            if res.table not in TABLE_KEYS:
                continue
            h = out.setdefault(f"endpoint {path}", hashlib.sha256())
            for row in company.rows(code, path):
                h.update(orjson.dumps(row, option=orjson.OPT_SORT_KEYS))
    return {name: h.hexdigest()[:16] for name, h in sorted(out.items())}


def main(scales: tuple[float, ...] = SCALES) -> None:
    for scale in scales:
        prints = fingerprint(scale)
        total = hashlib.sha256("".join(prints.values()).encode()).hexdigest()[:16]
        print(f"scale {scale}: {total}")
        for name, digest in prints.items():
            print(f"  {name}: {digest}")


if __name__ == "__main__":
    main(tuple(float(a) for a in sys.argv[1:]) or SCALES)
