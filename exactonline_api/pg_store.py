"""The grant, the call budget and the division write locks in PostgreSQL, for runs on many machines.

Production Meltano runs each job in a worker that is thrown away afterwards: a token store in a
file dies with the worker, and with it the refresh token Exact just rotated. With `token_store_url`
set, everything the file store keeps beside the grant lives in one PostgreSQL database instead, so
jobs on any number of machines share one grant, one call budget per division and one writer per
division:

- `exactonline_grants`: one row per grant, keyed by client id and `grant_user`, holding the same
  JSON document as the file store (`TokenState.to_json`). `lock()` is a session advisory lock
  (released by the server when its holder's connection dies); `save()` commits before it returns.
- `exactonline_throttle`: the throttle's shared document per app and Exact host, edited under
  `SELECT ... FOR UPDATE` (Exact counts calls per app and division).
- `exactonline_division_writers`: who holds a division's write lock (an advisory lock kept for
  the target's whole write phase), so a waiting run can say whom it waits for.

The tables are created on first use. Any database failure raises `TokenStoreUnavailable` naming the
store with its password masked; nothing ever falls back to a local file (that would fork the grant).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from exactonline_api.errors import ConfigError, TokenStoreUnavailable
from exactonline_api.settings import redacted_url
from exactonline_api.token_store import TokenState

CONNECT_TIMEOUT_SECONDS = 10
SCHEMA_LOCK = "exactonline schema"
SCHEMA = """
CREATE TABLE IF NOT EXISTS exactonline_grants (
    client_id text NOT NULL,
    grant_user text NOT NULL,
    state jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, grant_user)
);
CREATE TABLE IF NOT EXISTS exactonline_throttle (
    client_id text NOT NULL,
    base_url text NOT NULL,
    state jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (client_id, base_url)
);
CREATE TABLE IF NOT EXISTS exactonline_division_writers (
    client_id text NOT NULL,
    division bigint NOT NULL,
    holder text NOT NULL,
    PRIMARY KEY (client_id, division)
);
"""


def lock_key(*parts: object) -> int:
    """A signed 64-bit advisory lock key for the parts (one key space shared with other apps, so
    a hash, not a counter)."""
    digest = hashlib.sha256("\0".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def holder_text() -> str:
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    return f"pid {os.getpid()} on {socket.gethostname()}, writing since {since}"


class Database:
    """One connection to the store's database, reopened after a failure or a fork.

    Each user (grant, throttle) has its own, so a token refresh never waits behind the throttle's
    edits; psycopg serialises the statements of threads sharing one.
    """

    _ready: set[str] = set()  # URLs whose tables exist, per process
    _ready_lock = threading.Lock()

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.Connection[Any] | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"PostgreSQL {redacted_url(self.url)}"

    def fail(self, doing: str, exc: BaseException) -> TokenStoreUnavailable:
        """The error for a database failure: names the store (password masked), no traceback."""
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return TokenStoreUnavailable(
            f"the token store ({self.describe()}) could not {doing}: {cause} "
            "(nothing was written to a local file instead; the run stops)"
        )

    def connect(self) -> psycopg.Connection[Any]:
        """A new autocommit connection (the tables created first if this process has not yet)."""
        try:
            conn = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                application_name="exactonline-connector",
                keepalives=1,
                keepalives_idle=30,
                keepalives_interval=10,
                keepalives_count=3,
            )
        except psycopg.Error as exc:
            raise self.fail("be reached", exc) from None
        try:
            # The server side notices a dead holder (machine gone, network cut) within a minute,
            # so its locks are released, not kept for the OS default of two hours.
            conn.execute(
                "SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; "
                "SET tcp_keepalives_count = 3"
            )
        except psycopg.Error as exc:
            conn.close()
            raise self.fail("be used", exc) from None
        if self.url not in Database._ready:
            with Database._ready_lock:
                try:
                    with conn.transaction():
                        # concurrent CREATE TABLE IF NOT EXISTS can still collide: take turns
                        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(SCHEMA_LOCK),))
                        conn.execute(SCHEMA)
                except psycopg.Error as exc:
                    conn.close()
                    raise self.fail("create its tables", exc) from None
                Database._ready.add(self.url)
        return conn

    def connection(self) -> psycopg.Connection[Any]:
        with self._lock:
            conn = self._conn
            if conn is None or conn.closed or conn.broken or self._pid != os.getpid():
                self._conn = conn = self.connect()
                self._pid = os.getpid()
            return conn

    def execute(self, doing: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of one autocommit statement; `TokenStoreUnavailable` when the database fails."""
        conn = self.connection()
        try:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            raise self.fail(doing, exc) from None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None


class PostgresTokenStore:
    """The `TokenStore` and `DivisionWriteLocks` of one grant in a PostgreSQL database."""

    def __init__(self, url: str, client_id: str, grant_user: str = "default") -> None:
        self.db = Database(url)
        self.client_id = client_id
        self.grant_user = grant_user
        self._held: psycopg.Connection[Any] | None = None

    def describe(self) -> str:
        return f"{self.db.describe()} (grant {self.client_id}/{self.grant_user})"

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """A session advisory lock on the grant: the server drops it if this process dies."""
        conn = self.db.connection()
        key = lock_key("grant", self.client_id, self.grant_user)
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        except psycopg.Error as exc:
            raise self.db.fail("lock the grant", exc) from None
        self._held = conn
        try:
            yield
        finally:
            self._held = None
            with contextlib.suppress(psycopg.Error):  # a lost connection has dropped it already
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def load(self) -> TokenState | None:
        rows = self.db.execute(
            "read the grant",
            "SELECT state FROM exactonline_grants WHERE client_id = %s AND grant_user = %s",
            (self.client_id, self.grant_user),
        )
        if not rows:
            return None
        try:
            return TokenState.from_json(rows[0][0])
        except (ValueError, KeyError, TypeError) as exc:
            why = f"it has no {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
            raise ConfigError(
                "token_store_url",
                f"{self.describe()} holds no valid grant ({why}); delete its row and run "
                "`exactonline-auth login`",
            ) from None

    def save(self, state: TokenState) -> None:
        """Upsert the grant on the connection holding the lock; committed when this returns."""
        conn = self._held
        if conn is None:
            raise RuntimeError("PostgresTokenStore.save() called without holding lock()")
        state.updated_at = time.time()
        try:
            conn.execute(
                "INSERT INTO exactonline_grants (client_id, grant_user, state, updated_at) "
                "VALUES (%s, %s, %s, now()) ON CONFLICT (client_id, grant_user) "
                "DO UPDATE SET state = excluded.state, updated_at = now()",
                (self.client_id, self.grant_user, Jsonb(state.to_json())),
            )
        except psycopg.Error as exc:
            raise self.db.fail("save the grant", exc) from None

    @contextlib.contextmanager
    def division_write_lock(
        self, division: int, on_wait: Callable[[str], None] | None = None
    ) -> Iterator[None]:
        """An advisory lock per app and division on a connection of its own, held for the whole
        write phase; its row names the holder while it is held."""
        db = self.db
        conn = db.connect()
        key = lock_key("division writer", self.client_id, int(division))
        try:
            try:
                got = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                if not (got and got[0]):
                    holder = conn.execute(
                        "SELECT holder FROM exactonline_division_writers "
                        "WHERE client_id = %s AND division = %s",
                        (self.client_id, int(division)),
                    ).fetchone()
                    if on_wait is not None:
                        on_wait(holder[0] if holder else "a run that has not said who it is yet")
                    conn.execute("SELECT pg_advisory_lock(%s)", (key,))
                conn.execute(
                    "INSERT INTO exactonline_division_writers (client_id, division, holder) "
                    "VALUES (%s, %s, %s) ON CONFLICT (client_id, division) "
                    "DO UPDATE SET holder = excluded.holder",
                    (self.client_id, int(division), holder_text()),
                )
            except psycopg.Error as exc:
                raise db.fail(f"lock division {division} for writing", exc) from None
            try:
                yield
            finally:
                with contextlib.suppress(psycopg.Error):
                    conn.execute(
                        "DELETE FROM exactonline_division_writers "
                        "WHERE client_id = %s AND division = %s",
                        (self.client_id, int(division)),
                    )
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        finally:
            conn.close()


class PostgresSharedState:
    """The throttle's `SharedDocument` as one row per app and Exact host, edited under a row lock.

    Not fsynced per edit by design of the throttle (losing counters costs one re-learning call),
    but PostgreSQL commits each edit anyway; one edit is one short transaction.
    """

    def __init__(self, url: str, client_id: str, base_url: str) -> None:
        self.db = Database(url)
        self.key = (client_id, base_url)
        self._threads = threading.Lock()

    @contextlib.contextmanager
    def edit(self) -> Iterator[dict[str, Any]]:
        with self._threads:
            conn = self.db.connection()
            try:
                with conn.transaction():
                    data = self._locked_row(conn)
                    before = json.dumps(data, sort_keys=True)
                    yield data
                    if json.dumps(data, sort_keys=True) != before:
                        conn.execute(
                            "UPDATE exactonline_throttle SET state = %s "
                            "WHERE client_id = %s AND base_url = %s",
                            (Jsonb(data), *self.key),
                        )
            except psycopg.Error as exc:
                raise self.db.fail("share the call budget", exc) from None

    def _locked_row(self, conn: psycopg.Connection[Any]) -> dict[str, Any]:
        select = (
            "SELECT state FROM exactonline_throttle WHERE client_id = %s AND base_url = %s "
            "FOR UPDATE"
        )
        row = conn.execute(select, self.key).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO exactonline_throttle (client_id, base_url) VALUES (%s, %s) "
                "ON CONFLICT DO NOTHING",
                self.key,
            )
            row = conn.execute(select, self.key).fetchone()
        data = row[0] if row else {}
        return data if isinstance(data, dict) else {}

    def read(self) -> dict[str, Any]:
        rows = self.db.execute(
            "read the call budget",
            "SELECT state FROM exactonline_throttle WHERE client_id = %s AND base_url = %s",
            self.key,
        )
        data = rows[0][0] if rows else {}
        return data if isinstance(data, dict) else {}

    def close(self) -> None:
        self.db.close()
