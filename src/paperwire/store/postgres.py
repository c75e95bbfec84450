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
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psycopg
from psycopg_pool import ConnectionPool

from paperwire.errors import StoreBusyError, StoreError
from paperwire.store import columns
from paperwire.store.migrations import Dialect
from paperwire.store.sql import SQLStore, _ts

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

    def signal_columns(self, since: datetime | None = None) -> columns.SignalColumns:
        """What ``signal_rows(since)`` holds, as numpy columns in no particular order. The server packs each
        source's window into one row of a few values (the paper ids joined by newlines, the times end to end,
        the numbers as big-endian int64s), so no Python object is made per observation but a paper id."""
        t = _ts(since) if since is not None else None
        # the window's rows, as SQLStore.signal_columns reads them
        cols = "paper_id, observed_at, upvotes, github_stars, listed_on"
        window = f"SELECT {cols} FROM signals WHERE source = %s" + (
            ""
            if t is None
            else f" AND observed_at >= %s UNION ALL SELECT {cols} FROM (SELECT *, ROW_NUMBER() OVER "
            "(PARTITION BY paper_id ORDER BY observed_at DESC) AS rn FROM signals WHERE source = %s "
            "AND observed_at < %s) AS before_window WHERE rn = 1"
        )
        packed = (
            "SELECT count(*), string_agg(paper_id, E'\\n'), string_agg(textsend(observed_at), ''), "
            "string_agg(int8send(upvotes) || int8send(COALESCE(github_stars, -1)) || int8send(CASE WHEN "
            "listed_on < substr(observed_at, 1, 10) COLLATE \"C\" THEN (listed_on::date - DATE '1970-01-01')::int8 "
            f"ELSE -1::int8 END), '') FROM ({window}) AS w"
        )
        try:
            with self._pool.connection() as conn, conn.transaction():
                cur = conn.cursor(binary=True)
                # one snapshot for every source; one worker, so every aggregate takes the rows in one order
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cur.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                sources = [str(r[0]) for r in cur.execute("SELECT DISTINCT source FROM signals").fetchall()]
                got = [cur.execute(packed, (s,) if t is None else (s, t, s, t)).fetchone() for s in sources]
        except psycopg.Error as exc:
            raise self._error(exc) from exc
        pid: list[str] = []
        parts: list[tuple[str, int]] = []
        observed, numbers = [], []
        for source, row in zip(sources, got, strict=True):
            if row is None or not row[0]:
                continue
            n = int(row[0])
            ids = str(row[1]).split("\n")
            seconds = columns.stored_seconds(bytes(row[2]), n)
            if len(ids) != n or seconds is None or len(row[3]) != 24 * n:  # an id with a newline, a time
                return super().signal_columns(since)  # written otherwise: read as rows
            pid.extend(ids)
            parts.append((source, n))
            observed.append(seconds)
            numbers.append(np.frombuffer(bytes(row[3]), ">i8").reshape(n, 3))
        if not parts:
            return columns.SignalColumns([], [], *(np.zeros(0, np.int64) for _ in range(6)))
        papers, paper = columns.factorize(pid)
        nums = np.concatenate(numbers).astype(np.int64)
        return columns.SignalColumns(
            papers,
            [s for s, _ in parts],
            paper,
            np.concatenate([np.full(n, k, dtype=np.int64) for k, (_, n) in enumerate(parts)]),
            np.concatenate(observed),
            *(np.ascontiguousarray(nums[:, i]) for i in range(3)),
        )

    def local_columns(self, since: date | None = None) -> columns.LocalColumns:
        """What ``local_counts(since)`` holds, as numpy columns in no particular order, packed by the server
        into one row as ``signal_columns`` reads observations."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                cur = conn.cursor(binary=True)
                cur.execute("SET LOCAL max_parallel_workers_per_gather = 0")  # the aggregates in one order
                row = cur.execute(
                    "SELECT count(*), string_agg(paper_id, E'\\n'), string_agg(kind, E'\\n'), "
                    "string_agg(int8send((day::date - DATE '1970-01-01')::int8) || int8send(n), '') "
                    "FROM local_counts WHERE day >= %s",
                    ((since or date.min).isoformat(),),
                ).fetchone()
        except psycopg.Error as exc:
            raise self._error(exc) from exc
        if row is None or not row[0]:
            return columns.local_columns([])
        n = int(row[0])
        pid, kind = str(row[1]).split("\n"), str(row[2]).split("\n")
        if len(pid) != n or len(kind) != n or len(row[3]) != 16 * n:  # an id or kind with a newline
            return super().local_columns(since)
        nums = np.frombuffer(bytes(row[3]), ">i8").reshape(n, 2).astype(np.int64)
        papers, paper = columns.factorize(pid)
        kinds, kind_codes = columns.factorize(kind)
        return columns.LocalColumns(
            papers,
            kinds,
            paper,
            kind_codes,
            np.ascontiguousarray(nums[:, 0]),
            np.ascontiguousarray(nums[:, 1]),
        )

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
