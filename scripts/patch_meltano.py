"""Mend Meltano's loader configuration test, which fails for every loader (Meltano 4.1 to 4.4.1).

`meltano config <loader> test` pipes a test stream into the loader, waits for it to exit, and then,
in a `finally`, terminates the process it has already waited for. asyncio answers with
`ProcessLookupError`, so the command prints a traceback and exits 1 even when the loader accepted
the data (target-duckdb fails the same way). The fix is one guard: only terminate a process that
is still running. This script applies it to the Meltano installed next to this interpreter.

It is idempotent and conservative: it changes the file only when it finds the exact unguarded
lines, and leaves any other version of Meltano (an upstream fix, a different layout) untouched.
`make install` runs it; `--check` reports without writing.

    python scripts/patch_meltano.py [--check]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

BUGGY = """        finally:
            process.terminate()
            await process.wait()
"""
MENDED = """        finally:
            if process.returncode is None:  # patched by scripts/patch_meltano.py
                process.terminate()
            await process.wait()
"""


def service_file() -> Path | None:
    """Where the installed Meltano keeps its plugin test services (None: Meltano not installed)."""
    spec = importlib.util.find_spec("meltano.core.plugin_test_service")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report only; exit 1 if unpatched")
    args = parser.parse_args(argv)

    path = service_file()
    if path is None:
        print("patch_meltano: Meltano is not installed here; nothing to do")
        return 0
    text = path.read_text(encoding="utf-8")
    if MENDED in text:
        print(f"patch_meltano: already mended: {path}")
        return 0
    if text.count(BUGGY) != 1:
        print(f"patch_meltano: the unguarded terminate is not in {path}; left as it is")
        return 0
    if args.check:
        print(f"patch_meltano: needs mending: {path}")
        return 1
    path.write_text(text.replace(BUGGY, MENDED), encoding="utf-8")
    print(f"patch_meltano: mended the loader configuration test in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
