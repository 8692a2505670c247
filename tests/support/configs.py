"""The settings a user would write for a sandbox grant: the one builder every test folder uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exactonline_api.retry import RetryPolicy
from exactonline_sandbox.harness import Sandbox

# Real waits would slow the suite; the jittered exponential shape is the same.
FAST_RETRY = RetryPolicy(max_tries=5, base_delay=0.01, max_delay=0.05)


def config_for(sb: Sandbox, grant: dict[str, Any], folder: Path, **extra: Any) -> dict[str, Any]:
    """Settings for `grant` on `sb`: the token store in `folder`, writes (the target's) to the
    grant's first division, then `extra` (added or overriding; None leaves a setting out, e.g.
    `division=None` for the tap, which has no such setting)."""
    config = {
        "client_id": grant["client_id"],
        "client_secret": grant["client_secret"],
        "refresh_token": grant["refresh_token"],
        "base_url": sb.url,
        "token_store_path": str(folder / "tokens.json"),
        "division": grant["divisions"][0],
        **extra,
    }
    return {name: value for name, value in config.items() if value is not None}
