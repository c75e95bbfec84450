"""The embedded default store: one SQLite file, WAL, every write in BEGIN IMMEDIATE (docs/reliability.md S1-S3)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from paperwire.errors import MigrationError, RecordError, StoreBusyError, StoreError
from paperwire.models import Paper, Signal
from paperwire.store.base import EmbeddingTask, UpsertResult
from paperwire.store.migrations import MIGRATIONS

_COLUMNS = (
    "id, version, title, abstract, authors, categories, published, updated, announced, "
    "comment, journal_ref, doi, license, sources"
)


class SQLiteStore:
    """Store backed by one SQLite file; safe for several processes at once."""

    def __init__(self, path: str | Path, busy_timeout: float = 30.0) -> None:
        self.path = str(path)
        self.busy_timeout = busy_timeout  # seconds a write waits for another writer before StoreBusyError
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # one connection per thread: WAL lets readers run side by side; writers queue on BEGIN IMMEDIATE
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
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
                self._all.append(conn)
        return conn

    # -- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken before reading so two writers never deadlock (S2)."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._error(exc) from exc
        try:
            yield self.conn
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.OperationalError):
                raise self._error(exc) from exc
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._rollback()
                raise self._error(exc) from exc

    def _rollback(self) -> None:
        # SQLite may have rolled back by itself (an I/O error, a full disk): never hide the real error
        with suppress(sqlite3.Error):
            self.conn.execute("ROLLBACK")

    def _error(self, exc: sqlite3.OperationalError) -> StoreError:
        """SQLite's error as ours: busy or locked is transient (StoreBusyError), the rest a StoreError."""
        if _is_busy(exc):
            return StoreBusyError(
                f"the database {self.path} stayed locked ({exc}) for the {self.busy_timeout:g} s it waits; "
                "nothing was changed, try again"
            )
        return StoreError(f"database error in {self.path}: {exc}")

    def _migrate(self) -> None:
        with self._write() as c:
            c.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                "description TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
        current = self.schema_version()
        for version, description, statements in MIGRATIONS:
            if version <= current:
                continue
            try:
                with self._write() as c:
                    # re-check inside the lock: another process may have migrated meanwhile
                    row = c.execute("SELECT MAX(version) FROM schema_version").fetchone()
                    if (row[0] or 0) >= version:
                        continue
                    for sql in statements:
                        c.execute(sql)
                    c.execute(
                        "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                        (version, description, _now()),
                    )
            except StoreBusyError:
                raise  # transient: nothing was applied, the next start tries again
            except (sqlite3.Error, StoreError) as exc:
                raise MigrationError(f"migration {version} ({description}) failed: {exc}") from exc

    def schema_version(self) -> int:
        """The highest migration applied."""
        row = self.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def close(self) -> None:
        """Release every thread's connection."""
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    def integrity_ok(self) -> bool:
        """SQLite's own integrity check passes."""
        return bool(self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")

    # -- papers -------------------------------------------------------------------------------

    def upsert_papers(self, papers: Sequence[Paper]) -> UpsertResult:
        """Insert or update papers in one transaction; newer versions win, re-ingest changes nothing."""
        with self._write() as c:
            return self._upsert(c, papers)

    def upsert_papers_with_checkpoint(
        self, papers: Sequence[Paper], name: str, value: str | None
    ) -> UpsertResult:
        """Upsert papers and move a checkpoint in the same transaction (harvest pages)."""
        with self._write() as c:
            result = self._upsert(c, papers)
            self._set_checkpoint(c, name, value)
            return result

    def _upsert(self, c: sqlite3.Connection, papers: Sequence[Paper]) -> UpsertResult:
        try:
            return self._upsert_rows(c, papers)
        except (ValueError, TypeError, OverflowError, sqlite3.InterfaceError, sqlite3.DataError) as exc:
            # a record SQLite cannot hold (the sources check papers first; this is the last line of defence)
            raise RecordError(f"the store refused a record: {exc}") from exc

    def _upsert_rows(self, c: sqlite3.Connection, papers: Sequence[Paper]) -> UpsertResult:
        result = UpsertResult()
        if not papers:
            return result
        # the last record of a batch wins among duplicates, as if they came one after another
        incoming: dict[str, Paper] = {}
        for p in papers:
            prev = incoming.get(p.id)
            incoming[p.id] = p if prev is None else _combine(prev, p)
        existing = self._fetch(c, list(incoming))
        seq = int(c.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM papers").fetchone()[0])
        now = _now()
        rows = []
        for pid, new in incoming.items():
            old = existing.get(pid)
            merged = new if old is None else _combine(old, new)
            if (
                old is not None
                and merged.content_hash == old.content_hash
                and set(merged.sources) == set(old.sources)
            ):
                result.unchanged += 1
                continue
            if old is None:
                result.inserted += 1
            else:
                result.updated += 1
            rows.append(_to_row(merged, seq, now))
        if rows:
            c.executemany(
                f"INSERT INTO papers ({_COLUMNS}, primary_category, content_hash, text_hash, seq, "
                "ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET version = excluded.version, title = excluded.title, "
                "abstract = excluded.abstract, authors = excluded.authors, "
                "categories = excluded.categories, published = excluded.published, "
                "updated = excluded.updated, announced = excluded.announced, "
                "comment = excluded.comment, journal_ref = excluded.journal_ref, doi = excluded.doi, "
                "license = excluded.license, sources = excluded.sources, "
                "primary_category = excluded.primary_category, content_hash = excluded.content_hash, "
                "text_hash = excluded.text_hash, seq = excluded.seq, ingested_at = excluded.ingested_at "
                "WHERE excluded.version >= papers.version",
                rows,
            )
        return result

    def _fetch(self, c: sqlite3.Connection, ids: Sequence[str]) -> dict[str, Paper]:
        out: dict[str, Paper] = {}
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for row in c.execute(f"SELECT {_COLUMNS} FROM papers WHERE id IN ({marks})", chunk):
                p = _from_row(row)
                out[p.id] = p
        return out

    def get_paper(self, paper_id: str) -> Paper | None:
        """One paper by base id."""
        return self._fetch(self.conn, [paper_id]).get(paper_id)

    def get_papers(self, paper_ids: Sequence[str]) -> dict[str, Paper]:
        """Papers by base id (missing ids are absent from the result)."""
        return self._fetch(self.conn, paper_ids)

    def count_papers(self) -> int:
        """How many papers the store holds."""
        return int(self.conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0])

    def max_seq(self) -> int:
        """The latest change sequence."""
        return int(self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM papers").fetchone()[0])

    def iter_papers(self, after_seq: int = 0, batch: int = 2000) -> Iterator[tuple[int, Paper]]:
        """Papers changed after ``after_seq``, with their sequence, in (seq, id) order."""
        last: tuple[int, str] = (after_seq, "\U0010ffff")  # sorts after every id: rows of after_seq are done
        while True:
            rows = self.conn.execute(
                f"SELECT seq, {_COLUMNS} FROM papers WHERE seq > ? OR (seq = ? AND id > ?) "
                "ORDER BY seq, id LIMIT ?",
                (last[0], last[0], last[1], batch),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield int(row[0]), _from_row(row[1:])
            last = (int(rows[-1][0]), str(rows[-1][1]))

    def iter_facets(self) -> Iterator[tuple[str, date | None, list[str]]]:
        """(id, filter date, categories) of every paper: what vector search filters on."""
        for pid, d, cats in self.conn.execute(
            "SELECT id, COALESCE(announced, published, updated), categories FROM papers"
        ):
            yield str(pid), _date(d), list(json.loads(cats))

    def latest_announced(self) -> date | None:
        """The newest announcement date in the store."""
        row = self.conn.execute("SELECT MAX(announced) FROM papers").fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None

    # -- embeddings ---------------------------------------------------------------------------

    def pending_embeddings(self, model: str, limit: int) -> list[EmbeddingTask]:
        """Papers with no embedding for ``model`` or one of stale text, newest first."""
        rows = self.conn.execute(
            "SELECT p.id, p.title, p.abstract, p.text_hash FROM papers p "
            "LEFT JOIN embeddings e ON e.paper_id = p.id AND e.model = ? "
            "WHERE e.paper_id IS NULL OR e.text_hash <> p.text_hash "
            "ORDER BY p.announced DESC, p.id LIMIT ?",
            (model, limit),
        ).fetchall()
        return [EmbeddingTask(r[0], f"{r[1]}. {r[2]}", r[3]) for r in rows]

    def count_pending_embeddings(self, model: str) -> int:
        """How many papers need (re-)embedding for ``model``."""
        return int(
            self.conn.execute(
                "SELECT COUNT(*) FROM papers p LEFT JOIN embeddings e "
                "ON e.paper_id = p.id AND e.model = ? "
                "WHERE e.paper_id IS NULL OR e.text_hash <> p.text_hash",
                (model,),
            ).fetchone()[0]
        )

    def save_embeddings(self, model: str, items: Sequence[tuple[str, str]], vectors: np.ndarray) -> None:
        """Store vectors for (paper_id, text_hash) items in one transaction."""
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(items) != len(vecs):
            raise StoreError("save_embeddings: items and vectors differ in length")
        dim = int(vecs.shape[1]) if vecs.ndim == 2 else 0
        with self._write() as c:
            recorded = c.execute("SELECT dim FROM embeddings WHERE model = ? LIMIT 1", (model,)).fetchone()
            if recorded and int(recorded[0]) != dim:
                raise StoreError(f"model {model} has {recorded[0]}-d vectors stored, got {dim}-d")
            c.executemany(
                "INSERT INTO embeddings (paper_id, model, dim, text_hash, vector) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (paper_id, model) DO UPDATE SET dim = excluded.dim, "
                "text_hash = excluded.text_hash, vector = excluded.vector",
                [(pid, model, dim, th, vecs[i].tobytes()) for i, (pid, th) in enumerate(items)],
            )

    def load_embeddings(self, model: str) -> tuple[list[str], np.ndarray]:
        """All current ids and vectors of ``model`` (stale ones excluded), in id order."""
        rows = self.conn.execute(
            "SELECT e.paper_id, e.vector, e.dim FROM embeddings e JOIN papers p ON p.id = e.paper_id "
            "WHERE e.model = ? AND e.text_hash = p.text_hash ORDER BY e.paper_id",
            (model,),
        ).fetchall()
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        dim = int(rows[0][2])
        buf = b"".join(r[1] for r in rows)
        return [r[0] for r in rows], np.frombuffer(buf, dtype=np.float32).reshape(len(rows), dim).copy()

    def get_embedding(self, model: str, paper_id: str) -> np.ndarray | None:
        """One paper's vector for ``model``."""
        row = self.conn.execute(
            "SELECT vector FROM embeddings WHERE model = ? AND paper_id = ?", (model, paper_id)
        ).fetchone()
        return None if row is None else np.frombuffer(row[0], dtype=np.float32).copy()

    def embedding_dim(self, model: str) -> int | None:
        """The recorded dimension of ``model``'s vectors, if any are stored."""
        row = self.conn.execute("SELECT dim FROM embeddings WHERE model = ? LIMIT 1", (model,)).fetchone()
        return int(row[0]) if row else None

    def count_embeddings(self, model: str) -> int:
        """How many papers have an embedding for ``model``."""
        return int(
            self.conn.execute("SELECT COUNT(*) FROM embeddings WHERE model = ?", (model,)).fetchone()[0]
        )

    # -- signals and checkpoints --------------------------------------------------------------

    def upsert_signals(self, signals: Iterable[Signal]) -> int:
        """Record popularity observations (idempotent per paper, source and day)."""
        rows = [
            (
                s.paper_id,
                s.source,
                s.observed_on.isoformat(),
                s.upvotes,
                s.comments,
                s.github_repo,
                s.github_stars,
            )
            for s in signals
        ]
        with self._write() as c:
            c.executemany(
                "INSERT INTO signals (paper_id, source, observed_on, upvotes, comments, github_repo, "
                "github_stars) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (paper_id, source, observed_on) "
                "DO UPDATE SET upvotes = excluded.upvotes, comments = excluded.comments, "
                "github_repo = excluded.github_repo, github_stars = excluded.github_stars",
                rows,
            )
        return len(rows)

    def latest_upvotes(self, paper_ids: Sequence[str], source: str = "hf-daily") -> dict[str, int]:
        """Each paper's upvotes at its latest observation from ``source`` (papers never seen are absent)."""
        out: dict[str, int] = {}
        for chunk in _chunks(list(paper_ids), 500):
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT paper_id, upvotes FROM signals s WHERE source = ? AND paper_id IN ({marks}) "
                "AND observed_on = (SELECT MAX(observed_on) FROM signals t "
                "WHERE t.paper_id = s.paper_id AND t.source = s.source)",
                [source, *chunk],
            )
            out.update((str(pid), int(n)) for pid, n in rows)
        return out

    def count_signals(self) -> int:
        """How many popularity observations are stored."""
        return int(self.conn.execute("SELECT COUNT(*) FROM signals").fetchone()[0])

    def get_checkpoint(self, name: str) -> str | None:
        """A saved harvest checkpoint."""
        row = self.conn.execute("SELECT value FROM checkpoints WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    def set_checkpoint(self, name: str, value: str | None) -> None:
        """Save (or clear, with None) a harvest checkpoint."""
        with self._write() as c:
            self._set_checkpoint(c, name, value)

    def _set_checkpoint(self, c: sqlite3.Connection, name: str, value: str | None) -> None:
        if value is None:
            c.execute("DELETE FROM checkpoints WHERE name = ?", (name,))
        else:
            c.execute(
                "INSERT INTO checkpoints (name, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (name, value, _now()),
            )


def _combine(old: Paper, new: Paper) -> Paper:
    """The record to keep when ``new`` arrives for a stored ``old``: a newer version never loses (H5)."""
    if new.version < old.version:
        if new.updated and old.updated and new.updated > old.updated:
            # a source that does not tell versions (OAI-PMH "arXiv" format) but saw a later update
            return replace(new, version=old.version).merged_with(old)
        return old.merged_with(new) if _only_fills(old, new) else old
    return new.merged_with(old)


def _only_fills(old: Paper, new: Paper) -> bool:
    # an older version may still teach us an earlier announcement date or a missing field
    return bool(
        (new.announced and (old.announced is None or new.announced < old.announced))
        or (old.published is None and new.published)
    )


def _to_row(p: Paper, seq: int, now: str) -> tuple[object, ...]:
    return (
        p.id,
        p.version,
        p.title,
        p.abstract,
        json.dumps(list(p.authors), ensure_ascii=False),
        json.dumps(list(p.categories)),
        _iso(p.published),
        _iso(p.updated),
        _iso(p.announced),
        p.comment,
        p.journal_ref,
        p.doi,
        p.license,
        json.dumps(list(p.sources)),
        p.primary_category,
        p.content_hash,
        p.text_hash,
        seq,
        now,
    )


def _from_row(r: Sequence[object]) -> Paper:
    return Paper(
        id=str(r[0]),
        version=int(r[1]),  # type: ignore[call-overload]
        title=str(r[2]),
        abstract=str(r[3]),
        authors=tuple(json.loads(str(r[4]))),
        categories=tuple(json.loads(str(r[5]))),
        published=_date(r[6]),
        updated=_date(r[7]),
        announced=_date(r[8]),
        comment=r[9] if r[9] is None else str(r[9]),
        journal_ref=r[10] if r[10] is None else str(r[10]),
        doi=r[11] if r[11] is None else str(r[11]),
        license=r[12] if r[12] is None else str(r[12]),
        sources=tuple(json.loads(str(r[13]))),
    )


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite gave up waiting for a lock (SQLITE_BUSY / SQLITE_LOCKED): transient."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _date(v: object) -> date | None:
    return date.fromisoformat(str(v)) if v else None


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _chunks(items: list[str], n: int) -> Iterator[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
