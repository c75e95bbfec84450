"""The server store: PostgreSQL (14+) with pgvector, for many app servers and workers on one database.

Connections are one per thread (psycopg 3, autocommit; each write opens its own transaction). Transactions
that give papers new change sequences take one advisory lock first and hold it to their commit, so
sequences become visible in the order they were allocated: the change feed's guarantee (S4) that SQLite
gets from its single writer. Everything else runs side by side under READ COMMITTED.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from paperwire.errors import ConfigError, StoreBusyError, StoreError
from paperwire.store.migrations import Dialect
from paperwire.store.sql import SQLStore

_SEQ_LOCK = 0x70617065  # "pape": the advisory lock of the change feed (and of migrations, and claims)


def _require() -> Any:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a dependency
        raise ConfigError("PostgreSQL needs psycopg 3: pip install 'psycopg[binary]' pgvector") from exc
    return psycopg


def redact(url: str) -> str:
    """A database URL without its password (what logs, errors and status may show)."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


class PostgresStore(SQLStore):
    """Store backed by a PostgreSQL database with the pgvector extension."""

    dialect: Dialect = "postgresql"

    def __init__(self, url: str, lock_timeout: float = 30.0, migrate: bool = True) -> None:
        self._dsn = url
        self.url = redact(url)
        self.lock_timeout = lock_timeout  # seconds a statement waits for a lock before StoreBusyError
        self._local = threading.local()
        self._all_conns: list[Any] = []
        self._all_lock = threading.Lock()
        if migrate:
            self._ensure_vector()
            self._migrate()

    # -- connections --------------------------------------------------------------------------

    @property
    def conn(self) -> Any:
        """This thread's connection (opened on first use, and again after the server dropped it)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            psycopg = _require()
            try:
                conn = psycopg.connect(
                    self._dsn,
                    autocommit=True,
                    connect_timeout=10,
                    options=f"-c lock_timeout={int(self.lock_timeout * 1000)}",
                    application_name="paperwire",
                )
            except psycopg.Error as exc:
                raise StoreBusyError(f"cannot reach the database {self.url}: {_first_line(exc)}") from exc
            self._register_vector(conn)
            self._local.conn = conn
            with self._all_lock:
                self._all_conns.append(conn)
        return conn

    def _register_vector(self, conn: Any) -> None:
        from pgvector.psycopg import register_vector

        with suppress(Exception):  # before migration 1 the extension may not exist yet: _ensure_vector
            register_vector(conn)

    def _ensure_vector(self) -> None:
        psycopg = _require()
        try:
            with self.conn.transaction():
                self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SEQ_LOCK,))
                self.conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.Error as exc:
            raise self._error(exc, "cannot enable the pgvector extension (CREATE EXTENSION vector)") from exc
        self._register_vector(self.conn)

    # -- what SQLStore asks of a backend --------------------------------------------------------

    def _q(self, sql: str) -> str:
        return _pg(sql)

    def _cursor(self) -> Any:
        return self.conn.cursor()

    def _all(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        psycopg = _require()
        try:
            cur = self.conn.cursor(binary=True)
            cur.execute(self._q(sql), params)
            return list(cur.fetchall())
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    @contextmanager
    def _write(self, *, changes_papers: bool = False) -> Iterator[Any]:
        psycopg = _require()
        conn = self.conn
        try:
            with conn.transaction():
                cur = conn.cursor()
                if changes_papers:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SEQ_LOCK,))
                yield cur
        except psycopg.Error as exc:
            if changes_papers and self._refused(exc):
                raise  # _upsert turns it into a RecordError
            raise self._error(exc) from exc

    def _refused(self, exc: Exception) -> bool:
        psycopg = _require()
        return isinstance(exc, psycopg.DataError | psycopg.IntegrityError | psycopg.errors.UntranslatableCharacter)

    def _vector_param(self, v: np.ndarray) -> object:
        from pgvector import Vector

        return Vector(v.astype(np.float32, copy=False))

    def _vector_value(self, v: object) -> np.ndarray:
        if isinstance(v, np.ndarray):
            return v.astype(np.float32, copy=False)
        to_numpy = getattr(v, "to_numpy", None)
        if to_numpy is not None:
            return np.asarray(to_numpy(), dtype=np.float32)
        raise StoreError(f"unexpected vector value {type(v).__name__}")

    def _error(self, exc: Exception, what: str = "database error") -> StoreError:
        """psycopg's error as ours: lock waits, lost connections and shutdowns are transient."""
        psycopg = _require()
        transient = (
            psycopg.OperationalError,
            psycopg.errors.LockNotAvailable,
            psycopg.errors.SerializationFailure,
            psycopg.errors.DeadlockDetected,
            psycopg.errors.QueryCanceled,
            psycopg.errors.AdminShutdown,
            psycopg.errors.CannotConnectNow,
            psycopg.errors.TooManyConnections,
        )
        if isinstance(exc, transient):
            return StoreBusyError(f"the database {self.url} is busy or unreachable ({_first_line(exc)}); try again")
        return StoreError(f"{what} in {self.url}: {_first_line(exc)}")

    def close(self) -> None:
        """Release every thread's connection."""
        with self._all_lock:
            for conn in self._all_conns:
                with suppress(Exception):
                    conn.close()
            self._all_conns.clear()
        self._local = threading.local()


_PG_SQL: dict[str, str] = {}


def _pg(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (our statements hold no other ``?`` or ``%``)."""
    out = _PG_SQL.get(sql)
    if out is None:
        out = _PG_SQL[sql] = sql.replace("%", "%%").replace("?", "%s")
    return out


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
