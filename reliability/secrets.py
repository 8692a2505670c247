"""Collect every secret a scenario's commands could leak, and scan their output for them.

The sandbox keeps no list of the tokens it issued, so `TokenWatcher` polls each token store file
(the connector persists every new token before it uses it) and keeps every access and refresh
token it ever saw there. A scenario checks that it saw as many refresh tokens as the sandbox
counted token calls, so a watcher that missed tokens makes the scenario fail instead of passing
silently.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path

POLL_SECONDS = 0.005


def tokens_in(store: Path) -> set[str]:
    """The access and refresh token in a token store file now (none if absent or mid-write)."""
    try:
        data = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {v for v in (data.get("access_token"), data.get("refresh_token")) if v}


class TokenWatcher:
    """Polls token store files in a thread; `tokens` holds every token seen in any of them."""

    def __init__(self) -> None:
        self.stores: list[Path] = []
        self.tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._lock = threading.Lock()

    def watch(self, store: Path) -> Path:
        with self._lock:
            if store not in self.stores:
                self.stores.append(store)
        return store

    def start(self) -> TokenWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.poll()

    def poll(self) -> None:
        with self._lock:
            stores = list(self.stores)
        for store in stores:
            try:
                data = json.loads(store.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            for name in ("access_token", "refresh_token"):
                value = data.get(name)
                if value:
                    self.tokens.add(value)
                    if name == "refresh_token":
                        self.refresh_tokens.add(value)

    def _loop(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.poll()


def count_hits(texts: Iterable[str], secrets: Iterable[str]) -> int:
    """How many (secret, text) pairs leak; never returns or prints the secret itself."""
    blobs = list(texts)
    return sum(1 for secret in set(secrets) if secret for blob in blobs if secret in blob)
