"""(9) STATE size: what the streams' key memories (`live_keys`) cost in the tap's output.

Every stream with deletes keeps the keys it may still tombstone in its partition state, and
every STATE message carries the whole state. Measured here on the tap's own stdout: the bytes
of RECORD and STATE messages of a full sync, the size of its last state and of the memories in
it, then the same for a run with a few changes (`changes` contacts added, as another app would).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.connector import TAP_MODULE, Grant, _env, write_json
from exactonline_api.client import ExactClient
from exactonline_api.settings import ClientSettings
from exactonline_sandbox.harness import UNTHROTTLED, Sandbox
from tap_exactonline.key_memory import MEMORY_STATE_KEY


def _run(grant: Grant, workdir: Path, name: str, state: dict | None) -> dict[str, Any]:
    """One tap run: message bytes by type, STATE count, the last state and its memories."""
    cmd = [sys.executable, "-m", TAP_MODULE, "--config"]
    cmd.append(str(write_json(workdir / f"{name}-config.json", grant.config())))
    if state is not None:
        cmd += ["--state", str(write_json(workdir / f"{name}-state.json", state))]
    with open(workdir / f"{name}-stderr.log", "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=_env())
        assert proc.stdout is not None
        sizes = {"RECORD": 0, "STATE": 0}
        records = states = 0
        last = b"{}"
        for line in proc.stdout:
            if line.startswith(b'{"type":"RECORD"'):
                sizes["RECORD"] += len(line)
                records += 1
            elif line.startswith(b'{"type":"STATE"'):
                sizes["STATE"] += len(line)
                states += 1
                last = line
        if proc.wait() != 0:
            raise RuntimeError(f"tap run {name} failed: see {workdir / f'{name}-stderr.log'}")
    value = json.loads(last).get("value", {})
    memories = keys = 0
    for stream in value.get("bookmarks", {}).values():
        for partition in stream.get("partitions", []):
            text = partition.get(MEMORY_STATE_KEY)
            if isinstance(text, str):
                memories += len(text)
                keys += (len(text) - 2) * 3 // 4 // 16
    return {
        "records": records,
        "record_bytes": sizes["RECORD"],
        "state_bytes": sizes["STATE"],
        "state_messages": states,
        "last_state_bytes": len(last),
        "memory_bytes": memories,
        "remembered_keys": keys,
        "state": value,
    }


def run_state_size(workdir: Path, *, scale: float, changes: int = 10) -> dict[str, Any]:
    """A full sync of one division at `scale`, then a run after `changes` new contacts."""
    # bytes of state are measured here, not the limit (every stream exceeds 60 calls a minute)
    with Sandbox(scale=scale, divisions=1, minutely_limit=UNTHROTTLED) as sandbox:
        grant = Grant.create(sandbox, workdir, "state-size")
        full = _run(grant, workdir, "state-full", None)
        client = ExactClient(ClientSettings.from_config(grant.config()))
        owner = sandbox.rows(grant.division, "crm/Accounts")[0]["ID"]
        for i in range(changes):
            body = {"Account": owner, "LastName": f"Nieuw {i}"}
            client.post(grant.division, "crm/Contacts", body)
        incremental = _run(grant, workdir, "state-incremental", full.pop("state"))
        incremental.pop("state")
    return {"scale": scale, "changes": changes, "full": full, "incremental": incremental}


def state_size_lines(st: dict[str, Any] | None) -> list[str]:
    """Section 9: the STATE bytes next to the RECORD bytes, and what the key memories weigh."""
    if not st:
        return []

    def row(name: str, r: dict[str, Any]) -> str:
        # a share of a few records' bytes says nothing: only a full sync's is shown
        full = r["records"] >= 1000
        share = f"{r['state_bytes'] / r['record_bytes'] * 100:.1f}%" if full else "-"
        return (
            f"| {name} | {r['records']:,} | {r['record_bytes'] / 1e6:,.1f} | "
            f"{r['state_messages']} | {r['state_bytes'] / 1e6:,.1f} | {share} | "
            f"{r['last_state_bytes'] / 1e6:,.2f} | {r['remembered_keys']:,} | "
            f"{r['memory_bytes'] / max(r['remembered_keys'], 1):.1f} |"
        )

    return [
        "",
        "## 10. STATE size: the key memories",
        "",
        f"One division at scale {st['scale']:g}; every stream with deletes keeps the keys it may "
        "still tombstone (`live_keys`: 16-byte GUIDs, sorted, base64) in its partition state, "
        "and the state goes into the output at checkpoints (when the records since the last "
        "one weigh ten times the state, and at the end of the run). The second run follows "
        f"{st['changes']} new contacts."
        + (f" Measured {st['measured']}." if st.get("measured") else ""),
        "",
        "| run | records | RECORD MB | STATE messages | STATE MB | STATE / RECORD | last state "
        "MB | keys remembered | bytes a key |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        row("full sync", st["full"]),
        row("incremental", st["incremental"]),
        *(["", st["before"]] if st.get("before") else []),
    ]
