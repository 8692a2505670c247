"""Where the OAuth grant lives between runs and how processes share it.

Exact rotates the refresh token on every refresh and kills the old one, so a tap and a target running
at the same time (or eight tap processes) must share ONE copy of the grant, change it only under a
lock, and persist the new refresh token before anything else happens. Connectors that keep the token
in their config, a log line or a per-process file lose the grant; this module is the fix.

`TokenStore` is the plug-in point: anything with `lock()`, `load()` and `save()`. This module holds
the file store (the default, one machine); `pg_store` holds the PostgreSQL store that runs spread
over machines share (`token_store_url`).
A store shared by writers also offers `DivisionWriteLocks.division_write_lock(division)`: two
target runs writing the same division at once would each look a record up, find nothing, and both
create it, so writers of one division take turns through the store they share.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from exactonline_api.config_check import kind_of
from exactonline_api.errors import ConfigError
from exactonline_api.file_lock import file_lock
from exactonline_api.redact import register_secret

FORMAT_VERSION = 1
HISTORY_SIZE = 1000


def fingerprint(refresh_token: str) -> str:
    """A one-way fingerprint of a refresh token: tells tokens apart without storing them twice."""
    return "sha256:" + hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()[:32]


@dataclass
class TokenState:
    """The shared OAuth state of one app and user.

    Times are epoch seconds (wall clock, shared by all processes on the machine).
    `expires_at` is deliberately early (measured from when the token request was SENT) so no call
    goes out with a dead token; `refresh_after` is deliberately late (measured from when the answer
    ARRIVED, minus Exact's refresh window) so no refresh is attempted that Exact would refuse.
    `history` holds fingerprints of every refresh token this store has held, so an unchanged
    `refresh_token` setting is recognised as old and never overwrites a newer rotated token.
    """

    client_id: str
    base_url: str
    refresh_token: str
    access_token: str | None = None
    expires_at: float = 0.0
    refresh_after: float = 0.0
    lifetime: float | None = None
    seed_fingerprint: str | None = None
    history: list[str] = field(default_factory=list)
    source: str = "setting"
    updated_at: float = 0.0
    refreshes: int = 0

    def __repr__(self) -> str:  # never print the tokens
        return (
            f"TokenState(client_id={self.client_id!r}, base_url={self.base_url!r}, "
            f"expires_at={self.expires_at:.3f}, refresh_after={self.refresh_after:.3f}, "
            f"refreshes={self.refreshes})"
        )

    def remember(self, refresh_token: str) -> None:
        fp = fingerprint(refresh_token)
        if fp not in self.history:
            self.history.append(fp)
            del self.history[:-HISTORY_SIZE]

    def has_held(self, refresh_token: str) -> bool:
        fp = fingerprint(refresh_token)
        return fp == self.seed_fingerprint or fp in self.history

    def to_json(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: Any) -> TokenState:
        """The state in a store's JSON; ValueError (never quoting a token) when it is not one."""
        if not isinstance(data, dict):
            raise ValueError(f"it holds {kind_of(data)}, not a JSON object")
        # Masked before any check can fail, whatever their type: the file may be hand-edited.
        register_secret(data.get("refresh_token"))
        register_secret(data.get("access_token"))
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"unsupported token store version {data.get('version')!r}")
        for key, required in (("refresh_token", True), ("access_token", False)):
            token = data.get(key)
            if not isinstance(token, str) and (required or token is not None):
                raise ValueError(f"its {key} is {kind_of(token)}, not a string")
        state = cls(
            client_id=str(data["client_id"]),
            base_url=str(data["base_url"]),
            refresh_token=data["refresh_token"],
            access_token=data.get("access_token"),
            expires_at=float(data.get("expires_at") or 0.0),
            refresh_after=float(data.get("refresh_after") or 0.0),
            lifetime=None if data.get("lifetime") is None else float(data["lifetime"]),
            seed_fingerprint=data.get("seed_fingerprint"),
            history=[str(h) for h in data.get("history") or []],
            source=str(data.get("source") or "setting"),
            updated_at=float(data.get("updated_at") or 0.0),
            refreshes=int(data.get("refreshes") or 0),
        )
        if not state.refresh_token:
            raise ValueError("token store holds no refresh token")
        register_secret(state.refresh_token)
        register_secret(state.access_token)
        return state


def beside_store(token_store_path: Path, kind: str) -> Path:
    """A file kept per grant next to its token store: `tokens-x.json` -> `tokens-x.<kind>.json`."""
    name = token_store_path.name
    stem = name[: -len(".json")] if name.endswith(".json") else name
    return token_store_path.with_name(f"{stem}.{kind}.json")


@runtime_checkable
class TokenStore(Protocol):
    """Shared storage for one app's `TokenState`, with a lock that spans processes (and machines).

    Contract for implementations:
    - `lock()` is a context manager giving exclusive access to the grant across every process that
      uses the same store (file: `file_lock`; PostgreSQL: an advisory lock, `pg_store`). It must be released when its holder dies. It need not be re-entrant.
    - `load()` returns the latest saved state, or None when nothing was saved yet. It may be called
      without the lock (a cheap freshness check) and must never return a half-written state.
    - `save(state)` is called only while holding `lock()`; it must be atomic and durable when it
      returns (the new refresh token is the only copy of the grant: Exact has already killed the
      old one).
    - `describe()` says where the state lives, for `exactonline-auth status` (never a secret).
    """

    def lock(self) -> contextlib.AbstractContextManager[None]: ...

    def load(self) -> TokenState | None: ...

    def save(self, state: TokenState) -> None: ...

    def describe(self) -> str: ...


@runtime_checkable
class DivisionWriteLocks(Protocol):
    """A store that also lets writers of one division take turns, across processes (and machines).

    Contract: `division_write_lock(division, on_wait)` is a context manager held for a whole write
    phase; a second holder blocks until the first leaves (or dies: the lock must be released with
    its holder). If it has to wait, it first calls `on_wait(holder)` with a description of who
    holds the lock (process, host, since when; never a secret). The file store locks a file
    beside the grant; the PostgreSQL store takes an advisory lock keyed by client and division.
    """

    def division_write_lock(
        self, division: int, on_wait: Callable[[str], None] | None = None
    ) -> contextlib.AbstractContextManager[None]: ...


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace `path` with `data` so readers see the old or the new content, never a mix.

    Temp file in the same directory (mode 0600), fsync, rename over the target, fsync the directory;
    `durable=False` skips the fsyncs for state that may be lost (the target's row counts).
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if durable:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def remove_stale_temps(path: Path) -> None:
    """Delete temp files left by writers that died mid-write (call only while holding the lock)."""
    for stale in path.parent.glob(f".{path.name}.tmp-*"):
        with contextlib.suppress(OSError):
            stale.unlink()


class FileTokenStore:
    """The default store: a JSON file (0600) plus a `.lock` file beside it.

    Format (version 1): `{"version", "client_id", "base_url", "refresh_token", "access_token",
    "expires_at", "refresh_after", "lifetime", "seed_fingerprint", "history", "source",
    "updated_at", "refreshes"}`.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._cache_key: tuple[int, int, int] | None = None
        self._cache: TokenState | None = None

    def describe(self) -> str:
        return f"file {self.path}"

    def lock(self) -> contextlib.AbstractContextManager[None]:
        return file_lock(self.lock_path)

    def division_lock_path(self, division: int) -> Path:
        """`tokens-x.json` -> `tokens-x.division-<n>.writer.json`: holds who writes, while locked."""
        return beside_store(self.path, f"division-{int(division)}.writer")

    @contextlib.contextmanager
    def division_write_lock(
        self, division: int, on_wait: Callable[[str], None] | None = None
    ) -> Iterator[None]:
        """`flock` on a file beside the store for the whole write phase; the file names the holder
        while it is held, so a waiting run can say whom it waits for."""
        path = self.division_lock_path(division)

        def busy() -> None:
            if on_wait is not None:
                try:
                    holder = path.read_text(encoding="utf-8").strip()
                except OSError:
                    holder = ""
                on_wait(holder or "a process that has not said who it is yet")

        with file_lock(path, on_busy=busy):
            since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
            me = f"pid {os.getpid()} on {socket.gethostname()}, writing since {since}"
            path.write_text(me + "\n", encoding="utf-8")  # same inode: the flock stays
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    path.write_text("", encoding="utf-8")

    def load(self) -> TokenState | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key == self._cache_key and self._cache is not None:
            return self._cache
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            state = TokenState.from_json(json.loads(raw))
        except (ValueError, KeyError, TypeError) as exc:
            why = f"it has no {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
            raise ConfigError(
                "token_store_path",
                f"{self.path} is not a valid token store ({why}); remove it and run "
                "`exactonline-auth login`",
            ) from None
        self._cache_key, self._cache = key, state
        return state

    def save(self, state: TokenState) -> None:
        state.updated_at = time.time()
        data = json.dumps(state.to_json(), indent=1, sort_keys=True).encode("utf-8")
        remove_stale_temps(self.path)
        atomic_write(self.path, data, durable=True)
        self._cache_key, self._cache = None, None
