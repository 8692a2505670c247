"""Divisions that lack a module: `--missing-modules 2=payroll,manufacturing;123456=hrm`.

A real company has only the modules it pays for (payroll, manufacturing, HRM, projects...), and
an app may lack a scope: Exact then answers 403 with its error JSON on every endpoint of that
module (facts file, sections 6 and 7), which counts against the error limit like any 403.

The spec is `;`-separated `DIVISION=MODULE[,MODULE...]` items. DIVISION is a division code
(`123456`) or `#N`, the N-th division of the sandbox (1-based, so a test can name one before it
knows the generated codes). A module is the lower-case URL prefix of a resource
(catalogue.module_of): `payroll` takes `payroll/Employees`, `bulk/Payroll/...` and
`sync/Payroll/...` alike; `financial` would take `read/financial/...` as well.
"""

from __future__ import annotations

from collections.abc import Sequence

from exactonline_sandbox.catalogue import module_of


class ModuleSpecError(ValueError):
    """A `--missing-modules` value that cannot be read; the message says which part."""


def forbidden_message(module: str, division: int) -> str:
    """The 403's message text (Exact's own wording for this case is not recorded)."""
    return f"Forbidden: module '{module}' is not available in division {division}."


class MissingModules:
    """Which modules each division lacks."""

    def __init__(self, lacking: dict[int, frozenset[str]] | None = None) -> None:
        self.lacking = lacking or {}

    @classmethod
    def parse(cls, spec: str, division_codes: Sequence[int]) -> MissingModules:
        """Read a spec (see the module docstring); raises ModuleSpecError naming the bad part."""
        lacking: dict[int, set[str]] = {}
        for item in (p.strip() for p in (spec or "").split(";")):
            if not item:
                continue
            who, sep, what = item.partition("=")
            who = who.strip()
            modules = {m.strip().lower() for m in what.split(",") if m.strip()}
            if not sep or not modules:
                raise ModuleSpecError(f"{item!r}: expected DIVISION=MODULE[,MODULE...]")
            if who.startswith("#") and who[1:].isdigit():
                n = int(who[1:])
                if not 1 <= n <= len(division_codes):
                    raise ModuleSpecError(
                        f"{item!r}: there is no division #{n} (the sandbox has "
                        f"{len(division_codes)})"
                    )
                code = division_codes[n - 1]
            elif who.isdigit() and int(who) in division_codes:
                code = int(who)
            else:
                raise ModuleSpecError(
                    f"{item!r}: {who!r} is neither a division of the sandbox "
                    f"({', '.join(map(str, division_codes))}) nor #N"
                )
            lacking.setdefault(code, set()).update(modules)
        return cls({code: frozenset(mods) for code, mods in lacking.items()})

    def lacks(self, division: int, path: str) -> str | None:
        """The module `path` belongs to when `division` lacks it, else None."""
        mods = self.lacking.get(division)
        if not mods:
            return None
        module = module_of(path)
        return module if module in mods else None


__all__ = ["MissingModules", "ModuleSpecError", "forbidden_message"]
