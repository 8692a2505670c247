"""Copy the Exact Online catalogue (../shared/exact-entities.json, exact-methods.json) into the package.

The shared catalogue is the single source of field names and types; this script copies the
whole catalogue into `exactonline_api/entities.json`, which ships with the package (a user who
installs from PyPI has no `../shared/`). `tests/test_entities_catalogue.py` checks the copy is
still identical to the source.

Run: python scripts/extract_entities.py [path/to/exact-entities.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "exact-entities.json"
TARGET = ROOT / "exactonline_api" / "entities.json"

METHODS_SOURCE_NAME = "exact-methods.json"
METHODS_TARGET = ROOT / "exactonline_api" / "methods.json"


def extract(source: Path) -> dict:
    """Every documented resource: the sandbox serves them all and the tap's streams come from it."""
    return json.loads(source.read_text(encoding="utf-8"))


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    subset = extract(source)
    TARGET.write_text(json.dumps(subset, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(subset)} resources to {TARGET.relative_to(ROOT)}")
    methods = json.loads((source.parent / METHODS_SOURCE_NAME).read_text(encoding="utf-8"))
    METHODS_TARGET.write_text(json.dumps(methods, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote the methods of {len(methods)} resources to {METHODS_TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
