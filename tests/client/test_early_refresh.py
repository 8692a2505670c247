"""A refused early refresh, in both readings: the client keeps its current access token.

The facts file says Exact refuses a refresh before the token's last 30 s with 401 `Access Token
not expired`; several public clients expect 400 `Rate limit exceeded: access_token not expired`.
The sandbox serves either (`--early-refresh-answer`); the client must read both the same way.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest


@pytest.mark.parametrize(
    ("answer", "status"), [("401", 401), ("400", 400)], ids=["facts-401", "rate-limit-400"]
)
def test_a_refused_early_refresh_keeps_the_current_token_and_is_not_retried(
    sandbox_factory: Any, make_client: Any, tmp_path: Path, answer: str, status: int
) -> None:
    sb = sandbox_factory(early_refresh_answer=answer, divisions=1, scale=0.02)
    grant = sb.grant()
    store = tmp_path / "tokens.json"
    client = make_client(sb, grant, store=store)
    division = grant["divisions"][0]
    client.me()
    issued = json.loads(store.read_text())
    # Our estimate says "refresh now" (say, another machine's clock runs ahead); Exact's does not.
    store.write_text(json.dumps({**issued, "refresh_after": time.time() - 1}))
    calls = sb.stats()["token_calls"]

    assert client.get(division, "crm/Accounts", {"$select": "ID", "$top": 1})
    stats = sb.stats()
    assert stats["token_calls"] - calls == 1, "one refresh was tried"
    assert stats["token_errors"]["Access Token not expired"] == 1, f"refused with {status}"
    kept = json.loads(store.read_text())
    assert kept["access_token"] == issued["access_token"]
    assert kept["refresh_token"] == issued["refresh_token"], "nothing rotated"
    assert kept["refresh_after"] == kept["expires_at"], "no new try before the token expires"

    client.me()
    assert sb.stats()["token_calls"] - calls == 1, "the refusal is not repeated"
    assert client.tokens.refreshes == 1
