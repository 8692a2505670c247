"""Secrets: no client secret, token or code in any output, and private files stay private.

Runs every command a user runs (auth status, tap, target with a reject, runs that fail on a bad
secret or a bad URL) with DEBUG logging and short-lived tokens, so many tokens are issued and
logged paths are exercised; then scans every line of every output for the app secrets, every
refresh and access token the token store ever held, and the mistyped secret. The token store and
the throttle file must be mode 0600.
"""

from __future__ import annotations

import stat
from pathlib import Path

from exactonline_api.client import throttle_path
from exactonline_sandbox.harness import Sandbox
from reliability.result import ScenarioResult
from reliability.size import Size
from reliability.workspace import Workspace, singer_lines

WRONG_SECRET = "wrong-secret-0f9e8d7c6b5a"


def run(size: Size, root: Path) -> ScenarioResult:
    result = ScenarioResult(
        "Secrets in output and file modes",
        "DEBUG logging; token lifetime 2 s (many tokens issued); auth status, tap, target with "
        "a reject, a mistyped client secret, an unreachable base URL",
    )
    flags = {"token_lifetime": 2, "refresh_window": 1, "token_daily_limit": 0}
    with Sandbox(scale=0.05, divisions=1, access_log=False, **flags) as sb:
        ws = Workspace(sb, root, env={"LOGLEVEL": "DEBUG"})
        try:
            grant = ws.grant()
            division = grant["divisions"][0]
            store = root / "private" / "tokens.json"
            tap = ws.config(grant, store, divisions=[division])
            config_file = root / "auth-config.json"
            config_file.write_text(__import__("json").dumps(tap), encoding="utf-8")
            status = ws.run_auth("status", "--config", str(config_file))
            result.check(status.returncode == 0, f"auth status exit {status.returncode}")
            # Each run starts after the last token expired on Exact's clock, so each one is
            # issued a new token however fast it runs (the scan needs several to look for).
            expire = flags["token_lifetime"] + 1
            for _ in range(max(2, len(size.seeds))):
                sb.advance_clock(expire)
                out = ws.run_tap(tap)
                result.runs += 1
                result.check(out.returncode == 0, f"tap exit {out.returncode}")
            result.check("DEBUG" in out.stderr, "DEBUG logging did not take effect")
            target = ws.config(grant, store, division=division, on_error="skip")
            load = [
                {
                    "type": "SCHEMA",
                    "stream": "customers",
                    "key_properties": [],
                    "schema": {"type": "object", "properties": {}},
                },
                {"type": "RECORD", "stream": "customers", "record": {"Code": "SEC1", "Name": "x"}},
                {"type": "RECORD", "stream": "customers", "record": {"Code": "SEC2", "Name": 7}},
            ]
            sb.advance_clock(expire)
            written = ws.run_target(target, singer_lines(load))
            result.runs += 1
            result.check(written.returncode == 0 and len(written.rejects) == 1, "target run")
            status = ws.run_auth("status", "--config", str(config_file))
            result.runs += 2
            # a mistyped secret: refused, and the typed value is not echoed
            ws.secrets.add(WRONG_SECRET)
            wrong = ws.run_tap(
                {
                    **tap,
                    "client_secret": WRONG_SECRET,
                    "token_store_path": str(root / "other" / "tokens.json"),
                }
            )
            result.runs += 1
            result.check(wrong.returncode != 0, "a wrong client secret was accepted")
            unreachable = ws.run_target(
                {**target, "base_url": "http://127.0.0.1:9"}, singer_lines(load)
            )
            result.runs += 1
            result.check(unreachable.returncode != 0, "an unreachable Exact was not an error")
            for path in (store, throttle_path(store)):
                result.checked += 1
                mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else None
                result.check(mode == 0o600, f"{path.name} mode {mode and oct(mode)}")
            stats = sb.stats()
            issued = ws.watcher.refresh_tokens - {grant["refresh_token"]}
            result.check(stats["token_calls"] >= 3, "too few tokens issued to be a test")
            result.check(
                len(issued) >= stats["token_calls"] - sum(stats["token_errors"].values()),
                "the token watcher missed issued tokens",
            )
            ws.close()
            result.figures.update(
                {
                    "secrets scanned for": len(ws.all_secrets()),
                    "output lines scanned": sum(t.count("\n") for t in ws.outputs),
                    "token calls": stats["token_calls"],
                }
            )
        finally:
            ws.close()
        result.secret_hits = ws.secret_hits()
    return result
