"""The embedded default store: one SQLite file, WAL, every write in BEGIN IMMEDIATE (docs/reliability.md S1-S4).

One writer at a time is SQLite's own rule: a write transaction takes the database's write lock before it
reads, so change sequences are allocated and committed in order (S4) and two writers never deadlock (S2).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np

from paperwire.errors import StoreBusyError, StoreError
from paperwire.store.migrations import Dialect
from paperwire.store.sql import SQLStore


class SQLiteStore(SQLStore):
    """Store backed by one SQLite file; safe for several processes at once."""

    dialect: Dialect = "sqlite"
    _SCHEMA_TABLE_EXISTS = (
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    )
    _NOW = "SELECT (julianday('now') - 2440587.5) * 86400.0"
    _OBSERVED_SECONDS = "unixepoch(observed_at)" if sqlite3.sqlite_version_info >= (3, 38) else "observed_at"

    def __init__(self, path: str | Path, busy_timeout: float = 30.0, migrate: bool = True) -> None:
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self.busy_timeout = busy_timeout  # seconds a write waits for another writer before StoreBusyError
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # one connection per thread: WAL lets readers run side by side; writers queue on BEGIN IMMEDIATE
        self._local = threading.local()
        self._all_conns: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        if migrate:
            self._migrate()

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = None
            try:
                # autocommit mode: we open every transaction ourselves, with BEGIN IMMEDIATE for writes
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA foreign_keys = ON")
            except sqlite3.Error as exc:
                if conn is not None:
                    conn.close()
                if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
                    raise self._error(exc) from exc
                raise StoreError(f"cannot open database {self.path}: {exc}") from exc
            self._local.conn = conn
            with self._all_lock:
                self._all_conns.append(conn)
        return conn

    # -- what SQLStore asks of a backend --------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Cursor]:
        try:
            yield self.conn.cursor()
        except sqlite3.OperationalError as exc:
            raise self._error(exc) from exc

    @contextmanager
    def _write(self, *, changes_papers: bool = False) -> Iterator[sqlite3.Cursor]:
        """One write transaction, taken before reading: SQLite's single writer also orders seq (S2, S4)."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._error(exc) from exc
        try:
            yield self.conn.cursor()
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.Error):  # a constraint, a full disk, a lock: ours, never sqlite3's
                raise self._error(exc) from exc
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._rollback()
                raise self._error(exc) from exc

    def _refused(self, exc: Exception) -> bool:
        return isinstance(exc, sqlite3.InterfaceError | sqlite3.DataError)

    def _vector_param(self, v: np.ndarray) -> object:
        return v.astype(np.float32, copy=False).tobytes()

    def _vector_value(self, v: object) -> np.ndarray:
        return np.frombuffer(v, dtype=np.float32).copy()  # type: ignore[call-overload,no-any-return]

    def _stack_vectors(self, stored: list[Any], dim: int) -> np.ndarray:
        """float32 bytes as one matrix: a single copy of one joined buffer."""
        return np.frombuffer(b"".join(stored), dtype=np.float32).reshape(len(stored), dim).copy()

    # -- plumbing -----------------------------------------------------------------------------

    def _rollback(self) -> None:
        # SQLite may have rolled back by itself (an I/O error, a full disk): never hide the real error
        with suppress(sqlite3.Error):
            self.conn.execute("ROLLBACK")

    def _error(self, exc: sqlite3.Error) -> StoreError:
        """SQLite's error as ours: busy or locked is transient (StoreBusyError), the rest a StoreError."""
        if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
            return StoreBusyError(
                f"the database {self.path} stayed locked ({exc}) for the {self.busy_timeout:g} s it waits; "
                "nothing was changed, try again"
            )
        return StoreError(f"database error in {self.path}: {exc}")

    def release_thread(self) -> None:
        """Close the calling thread's connection (a thread about to end: each thread opens its own)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        with self._all_lock:
            if conn in self._all_conns:
                self._all_conns.remove(conn)
        conn.close()

    def close(self) -> None:
        """Release every thread's connection."""
        with self._all_lock:
            for conn in self._all_conns:
                conn.close()
            self._all_conns.clear()
        self._local = threading.local()

    def integrity_ok(self) -> bool:
        """SQLite's own integrity check passes."""
        return bool(self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite gave up waiting for a lock (SQLITE_BUSY / SQLITE_LOCKED): transient."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)
