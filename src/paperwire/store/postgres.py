"""The server store: PostgreSQL (14+) with pgvector, for many app servers and workers on one database.

Connections come from a bounded pool (psycopg 3 + psycopg_pool, autocommit; each write opens its own
transaction), so a server's many threads share ``pool_size`` connections and a dropped one is replaced
before use. Transactions that give papers new change sequences take one advisory lock first and hold it to
their commit, so sequences become visible in the order they were allocated: the change feed's guarantee
(S4) that SQLite gets from its single writer. Everything else runs side by side under READ COMMITTED.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psycopg
from psycopg_pool import ConnectionPool

from paperwire.errors import StoreBusyError, StoreError
from paperwire.store.migrations import Dialect
from paperwire.store.sql import SQLStore

_SEQ_LOCK = 0x70617065  # "pape": the advisory lock of the change feed (and of migrations, and claims)
_TRANSIENT = (
    psycopg.OperationalError,  # lost or refused connections; psycopg_pool.PoolTimeout too
    psycopg.errors.LockNotAvailable,
    psycopg.errors.SerializationFailure,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.QueryCanceled,
    psycopg.errors.AdminShutdown,
    psycopg.errors.CannotConnectNow,
    psycopg.errors.TooManyConnections,
)


_SECRET_PARAMS = ("password", "sslpassword", "passfile")


def redact(url: str) -> str:
    """A database URL without its password, in the user part or the query (what logs and status may show)."""
    parts = urlsplit(url)
    query = "&".join(
        f"{k}=***" if k.lower() in _SECRET_PARAMS else (f"{k}={v}" if sep else k)
        for k, sep, v in (p.partition("=") for p in parts.query.split("&") if p)
    )
    netloc = parts.netloc
    if parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        netloc = (f"{parts.username}:***@" if parts.username else ":***@") + host
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class PostgresStore(SQLStore):
    """Store backed by a PostgreSQL database with the pgvector extension."""

    dialect: Dialect = "postgresql"
    _SCHEMA_TABLE_EXISTS = "SELECT to_regclass('schema_version') IS NOT NULL"
    _NOW = "SELECT EXTRACT(EPOCH FROM clock_timestamp())"

    def __init__(
        self, url: str, lock_timeout: float = 30.0, migrate: bool = True, pool_size: int = 10
    ) -> None:
        self.url = redact(url)
        self.lock_timeout = lock_timeout  # seconds a statement (or a wait for a free connection) may take
        options = {
            "autocommit": True,
            "connect_timeout": 10,
            "options": f"-c lock_timeout={int(lock_timeout * 1000)}",
            "application_name": "paperwire",
        }
        try:  # one plain connection first: an unreachable server is a clear error at once, not a pool timeout
            with psycopg.connect(url, **options) as first:  # type: ignore[arg-type]
                present = first.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
                if migrate and not present:  # creating it needs rights an app role may lack: only once
                    with first.transaction():
                        first.execute("SELECT pg_advisory_xact_lock(%s)", (_SEQ_LOCK,))
                        first.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.OperationalError as exc:
            raise StoreBusyError(f"cannot reach the database {self.url}: {_first_line(exc)}") from exc
        except psycopg.Error as exc:
            raise self._error(exc, "cannot enable the pgvector extension (CREATE EXTENSION vector)") from exc
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            kwargs=options,
            configure=_register_vector,
            check=ConnectionPool.check_connection,  # a connection the server dropped is replaced, not used
            timeout=lock_timeout,
            name="paperwire",
            open=False,
        )
        self._pool.open(wait=False)
        if migrate:
            try:
                self._migrate()
            except BaseException:
                self._pool.close()
                raise

    # -- what SQLStore asks of a backend --------------------------------------------------------

    def _q(self, sql: str) -> str:
        return _pg(sql)

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        try:
            with self._pool.connection() as conn:
                yield conn.cursor(binary=True)
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    def _plain(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        # the text protocol: psycopg parses a million rows of text and numbers faster from it than from binary
        try:
            with self._pool.connection() as conn:
                cur = conn.cursor()
                cur.execute(self._q(sql), params)
                return list(cur.fetchall())
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    @contextmanager
    def _write(self, *, changes_papers: bool = False) -> Iterator[Any]:
        try:
            with self._pool.connection() as conn, conn.transaction():
                cur = conn.cursor()
                if changes_papers:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SEQ_LOCK,))
                yield cur
        except psycopg.Error as exc:
            if changes_papers and self._refused(exc):
                raise  # _upsert turns it into a RecordError
            raise self._error(exc) from exc

    def _refused(self, exc: Exception) -> bool:
        return isinstance(
            exc, psycopg.DataError | psycopg.IntegrityError | psycopg.errors.UntranslatableCharacter
        )

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
        if isinstance(exc, _TRANSIENT):
            return StoreBusyError(
                f"the database {self.url} is busy or unreachable ({_first_line(exc)}); try again"
            )
        return StoreError(f"{what} in {self.url}: {_first_line(exc)}")

    def close(self) -> None:
        """Close the pool's connections."""
        with suppress(Exception):
            self._pool.close()


def _register_vector(conn: psycopg.Connection[Any]) -> None:
    from pgvector.psycopg import register_vector

    with suppress(
        psycopg.ProgrammingError
    ):  # a database not yet migrated has no vector type: no vectors either
        register_vector(conn)


_PG_SQL: dict[str, str] = {}


def _pg(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (our statements hold no other ``?`` or ``%``)."""
    out = _PG_SQL.get(sql)
    if out is None:
        out = _PG_SQL[sql] = sql.replace("%", "%%").replace("?", "%s")
    return out


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
