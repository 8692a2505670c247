"""Expired credentials: a revoked grant and a refresh token past its 30 days.

Both must stop a run at once with the `exactonline-auth login` message and a non-zero exit,
without a retry loop on the token endpoint, without losing the state the run started from, and
without writing anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exactonline_sandbox.harness import Sandbox
from reliability.result import ScenarioResult
from reliability.size import Size
from reliability.workspace import TapOutput, Workspace, singer_lines

LOGIN_HINT = "exactonline-auth login"
DAY_SECONDS = 2  # the sandbox's "day": the refresh token lives 30 of them


def bookmarks(state: dict[str, Any] | None) -> dict[tuple[str, str], Any]:
    found: dict[tuple[str, str], Any] = {}
    for stream, entry in ((state or {}).get("bookmarks") or {}).items():
        for part in entry.get("partitions", []):
            found[(stream, str(part.get("context")))] = part.get("replication_key_value")
    return found


def check_stopped(
    result: ScenarioResult, case: str, sb: Sandbox, before: dict[str, Any], out: TapOutput | Any
) -> None:
    after = sb.stats()
    token_calls = after["token_calls"] - before["token_calls"]
    api_calls = after["api_calls"] - before["api_calls"]
    result.runs += 1
    result.figures[f"{case}: token calls, API calls"] = f"{token_calls}, {api_calls}"
    result.check(out.returncode != 0, f"{case}: exit status 0")
    result.check(LOGIN_HINT in out.stderr, f"{case}: no `{LOGIN_HINT}` message")
    result.check(token_calls <= 1, f"{case}: {token_calls} token calls (retry loop)")
    result.check(api_calls <= 1, f"{case}: {api_calls} API calls after the grant was gone")


def run(size: Size, root: Path) -> ScenarioResult:
    result = ScenarioResult(
        "Expired credentials",
        f"grant revoked in the sandbox; refresh token expired (clock advanced past 30 days of "
        f"{DAY_SECONDS} s); tap and target run on each",
    )
    flags = {"day_seconds": DAY_SECONDS, "token_daily_limit": 0}
    with Sandbox(scale=0.02, divisions=1, access_log=False, **flags) as sb:
        ws = Workspace(sb, root)
        try:
            for case in ("revoked grant", "expired refresh token"):
                grant = ws.grant()
                division = grant["divisions"][0]
                store = root / f"{case.replace(' ', '-')}-tokens.json"
                tap = ws.config(grant, store, divisions=[division])
                first = ws.run_tap(tap, streams=["customers", "items"])
                result.runs += 1
                result.check(first.returncode == 0, f"{case}: first run exit {first.returncode}")
                kept = first.state
                if case == "revoked grant":
                    sb.revoke(grant["client_id"])
                else:
                    sb.advance_clock(31 * DAY_SECONDS + 700)  # past the refresh token and token
                before = sb.stats()
                out = ws.run_tap(tap, streams=["customers", "items"], state=kept)
                check_stopped(result, f"{case}, tap", sb, before, out)
                if case == "expired refresh token":
                    refused = sb.stats()["token_errors"].get("refresh token expired", 0)
                    result.check(refused == 1, f"{case}: the sandbox refused {refused} refreshes")
                result.check(out.records() == [], f"{case}: records emitted without a grant")
                if out.state is not None:
                    result.check(
                        bookmarks(out.state) == bookmarks(kept), f"{case}: state moved or lost"
                    )
                result.check(store.exists(), f"{case}: token store removed")
                codes = {r["Code"] for r in sb.rows(division, "crm/Accounts")}
                before = sb.stats()
                load = [
                    {
                        "type": "SCHEMA",
                        "stream": "customers",
                        "key_properties": [],
                        "schema": {"type": "object", "properties": {}},
                    },
                    {
                        "type": "RECORD",
                        "stream": "customers",
                        "record": {"Code": "EXPIRED1", "Name": "Nooit geschreven"},
                    },
                ]
                target = ws.config(grant, store, division=division)
                written = ws.run_target(target, singer_lines(load))
                check_stopped(result, f"{case}, target", sb, before, written)
                result.check(
                    {r["Code"] for r in sb.rows(division, "crm/Accounts")} == codes,
                    f"{case}: the target wrote without a grant",
                )
                result.checked += 1
        finally:
            ws.close()
        result.secret_hits = ws.secret_hits()
    return result
