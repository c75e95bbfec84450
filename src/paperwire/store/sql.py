"""The SQL both backends share: every query of every data area, written once.

A backend (store/sqlite.py, store/postgres.py) supplies connections and transactions, turns its driver's
errors into ours, and stores vectors in its own way; everything else is here. Statements use ``?``
placeholders; a backend whose driver wants another style rewrites them in :meth:`SQLStore._q`.
"""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from paperwire.errors import MigrationError, StoreBusyError, StoreError
from paperwire.models import LocalCount, Paper, Signal
from paperwire.store import columns
from paperwire.store.accounts import AccountSQL
from paperwire.store.base import EmbeddingTask, JobRun, SignalRow, UpsertResult, VectorBatch, VectorCursor
from paperwire.store.digests import DigestSQL
from paperwire.store.merge import dedupe, plan_upsert
from paperwire.store.migrations import LATEST, MIGRATIONS, Dialect, statements

_COLUMNS = (
    "id, version, title, abstract, authors, categories, published, updated, announced, "
    "comment, journal_ref, doi, license, sources"
)
_UPSERT = (
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
    "WHERE excluded.version >= papers.version"
)
_PENDING = (
    "FROM papers p LEFT JOIN embeddings e ON e.paper_id = p.id AND e.model = ? "
    "WHERE (e.paper_id IS NULL OR e.text_hash <> p.text_hash)"
)
# NULLs sort last in DESC on SQLite but first on PostgreSQL: undated papers are put last explicitly (NULLS
# LAST would need SQLite 3.30)
_NEWEST_FIRST = "ORDER BY p.announced IS NULL, p.announced DESC, p.id"
SIGNALS_STAMP = "signals:stamp"  # changes with every write of signals or local counts
_SIGNAL_COLUMNS = "paper_id, source, observed_at, upvotes, comments, github_repo, github_stars, project_page, listed_on, listed_at"
_LATEST_COLUMNS = ", ".join(f"s.{c}" for c in _SIGNAL_COLUMNS.split(", "))
STORE_ID = "store:id"  # the checkpoint that names this database (store_id)
JOB_RUNS_KEPT = 200  # runs kept per job; older ones are pruned as new ones finish


class SQLStore(AccountSQL, DigestSQL, ABC):
    """Every data area over a DB-API connection; subclasses bring the database."""

    dialect: Dialect
    url: str
    _SCHEMA_TABLE_EXISTS: str  # a query answering one row: whether the schema_version table exists
    _NOW: str  # a query answering the database's clock in Unix seconds (leases)
    # how signal_columns reads observed_at: Unix seconds where the database makes them cheaply, else as stored
    _OBSERVED_SECONDS = "observed_at"

    # -- what a backend supplies --------------------------------------------------------------

    @abstractmethod
    def _reading(self) -> AbstractContextManager[Any]:
        """A cursor for reads outside any transaction (each statement sees what was committed before it)."""

    @abstractmethod
    def _write(self, *, changes_papers: bool = False) -> AbstractContextManager[Any]:
        """One write transaction, yielding a cursor. ``changes_papers``: it allocates change sequences,
        so it must not commit out of sequence order with another such transaction (S4)."""

    @abstractmethod
    def _refused(self, exc: Exception) -> bool:
        """Whether ``exc`` is the database refusing a value (a record it cannot hold)."""

    @abstractmethod
    def _vector_param(self, v: np.ndarray) -> object:
        """A float32 row as this database stores it."""

    @abstractmethod
    def _vector_value(self, v: object) -> np.ndarray:
        """A stored vector as a float32 row."""

    @abstractmethod
    def close(self) -> None:
        """Release the connections."""

    def release_thread(self) -> None:
        """Let go of what the calling thread holds (nothing, unless the backend keeps a connection per thread)."""

    def _q(self, sql: str) -> str:
        return sql

    def _all(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._reading() as cur:
            cur.execute(self._q(sql), params)
            return list(cur.fetchall())

    def _plain(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Many rows of plain values (text, numbers), read as fast as the driver can (a million at once)."""
        return self._all(sql, params)

    def _one(self, sql: str, params: Sequence[object] = ()) -> tuple[Any, ...] | None:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    # -- schema -------------------------------------------------------------------------------

    def _migrate(self, target: int | None = None) -> list[int]:
        """Apply the migrations not yet applied (up to ``target``); returns the versions applied.

        A database already up to date is only read: an app role without CREATE rights opens it.
        """
        if self.schema_version() >= (LATEST if target is None else min(target, LATEST)):
            return []
        # under the migration lock: processes that start together on a bare PostgreSQL database would
        # otherwise race in CREATE TABLE IF NOT EXISTS (a duplicate key in pg_type for all but one)
        with self._write(changes_papers=True) as c:
            c.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                "description TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
        applied = []
        for version, description, sql in MIGRATIONS:
            if version <= self.schema_version() or (target is not None and version > target):
                continue
            try:
                with self._write(changes_papers=True) as c:  # one migrator at a time
                    # re-check inside the lock: another process may have migrated meanwhile
                    c.execute("SELECT MAX(version) FROM schema_version")
                    if (c.fetchone()[0] or 0) >= version:
                        continue
                    for s in statements(self.dialect, sql):
                        c.execute(s)
                    c.execute(
                        self._q(
                            "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)"
                        ),
                        (version, description, _now()),
                    )
                applied.append(version)
            except StoreBusyError:
                raise  # transient: nothing was applied, the next start tries again
            except Exception as exc:
                raise MigrationError(f"migration {version} ({description}) failed: {exc}") from exc
        return applied

    def schema_version(self) -> int:
        """The highest migration applied (0: a database never migrated)."""
        if not self._one(self._SCHEMA_TABLE_EXISTS)[0]:  # type: ignore[index]
            return 0
        row = self._one("SELECT MAX(version) FROM schema_version")
        return int(row[0] or 0) if row else 0

    # -- papers -------------------------------------------------------------------------------

    def upsert_papers(self, papers: Sequence[Paper]) -> UpsertResult:
        """Insert or update papers in one transaction; newer versions win, re-ingest changes nothing."""
        with self._write(changes_papers=True) as c:
            return self._upsert(c, papers)

    def upsert_papers_with_checkpoint(
        self, papers: Sequence[Paper], name: str, value: str | None
    ) -> UpsertResult:
        """Upsert papers and move a checkpoint in the same transaction (harvest pages)."""
        with self._write(changes_papers=True) as c:
            result = self._upsert(c, papers)
            self._set_checkpoint(c, name, value)
            return result

    def _upsert(self, c: Any, papers: Sequence[Paper]) -> UpsertResult:
        from paperwire.errors import RecordError

        try:
            if not papers:
                return UpsertResult()
            incoming = dedupe(papers)
            writes, result = plan_upsert(incoming, self._fetch(c, list(incoming)))
            if writes:
                # the transaction holds the change-sequence lock: no other one allocates until it commits
                c.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM papers")
                seq = int(c.fetchone()[0])
                now = _now()
                c.executemany(self._q(_UPSERT), [_to_row(p, seq, now) for p in writes])
            return result
        except (ValueError, TypeError, OverflowError) as exc:
            raise RecordError(f"the store refused a record: {exc}") from exc
        except Exception as exc:
            if self._refused(exc):
                # a record the database cannot hold (the sources check papers first; the last defence)
                raise RecordError(f"the store refused a record: {exc}") from exc
            raise

    def _fetch(self, c: Any, ids: Sequence[str]) -> dict[str, Paper]:
        out: dict[str, Paper] = {}
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            c.execute(self._q(f"SELECT {_COLUMNS} FROM papers WHERE id IN ({marks})"), chunk)
            for row in c.fetchall():
                p = _from_row(row)
                out[p.id] = p
        return out

    def get_paper(self, paper_id: str) -> Paper | None:
        """One paper by base id."""
        with self._reading() as c:
            return self._fetch(c, [paper_id]).get(paper_id)

    def get_papers(self, paper_ids: Sequence[str]) -> dict[str, Paper]:
        """Papers by base id (missing ids are absent from the result)."""
        with self._reading() as c:
            return self._fetch(c, paper_ids)

    def count_papers(self) -> int:
        """How many papers the store holds."""
        return int(self._all("SELECT COUNT(*) FROM papers")[0][0])

    def max_seq(self) -> int:
        """The latest change sequence."""
        return int(self._all("SELECT COALESCE(MAX(seq), 0) FROM papers")[0][0])

    def iter_papers(self, after_seq: int = 0, batch: int = 2000) -> Iterator[tuple[int, Paper]]:
        """Papers changed after ``after_seq``, with their sequence, in (seq, id) order."""
        rows = self._all(
            f"SELECT seq, {_COLUMNS} FROM papers WHERE seq > ? ORDER BY seq, id LIMIT ?", (after_seq, batch)
        )
        while rows:
            for row in rows:
                yield int(row[0]), _from_row(row[1:])
            last_seq, last_id = int(rows[-1][0]), str(rows[-1][1])
            rows = self._all(
                f"SELECT seq, {_COLUMNS} FROM papers WHERE (seq, id) > (?, ?) ORDER BY seq, id LIMIT ?",
                (last_seq, last_id, batch),
            )

    def latest_announced(self) -> date | None:
        """The newest announcement date in the store."""
        row = self._one("SELECT MAX(announced) FROM papers")
        return date.fromisoformat(row[0]) if row and row[0] else None

    def paper_digests(self, after_id: str = "", batch: int = 5000) -> list[tuple[str, str, int]]:
        """(id, content hash, version) of the papers after ``after_id`` in id order."""
        rows = self._all(
            "SELECT id, content_hash, version FROM papers WHERE id > ? ORDER BY id LIMIT ?", (after_id, batch)
        )
        return [(str(i), str(h), int(v)) for i, h, v in rows]

    def paper_categories(self, paper_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Each paper's categories by id, for many ids at once (missing ids are absent)."""
        out: dict[str, tuple[str, ...]] = {}
        wanted = set(paper_ids)
        if wanted and 4 * len(wanted) >= self.count_papers():  # most papers: reading them all is quicker
            rows = [r for r in self._plain("SELECT id, categories FROM papers") if r[0] in wanted]
            return dict(
                zip((str(r[0]) for r in rows), _categories_of([str(r[1]) for r in rows]), strict=True)
            )
        # one statement per 20,000 ids: they travel as one JSON array, not as a placeholder each (nor as a
        # PostgreSQL array, which psycopg quotes element by element)
        ids = (
            "(SELECT value FROM json_each(?))"
            if self.dialect == "sqlite"
            else "(SELECT jsonb_array_elements_text(?::jsonb))"
        )
        for chunk in _chunks(list(dict.fromkeys(paper_ids)), 20_000):
            rows = self._plain(f"SELECT id, categories FROM papers WHERE id IN {ids}", (json.dumps(chunk),))
            out.update(zip((str(r[0]) for r in rows), _categories_of([str(r[1]) for r in rows]), strict=True))
        return out

    def papers_by_doi(self, dois: Sequence[str]) -> dict[str, str]:
        """Paper ids by DOI, compared case-insensitively: lowercased DOI -> paper id (unknown DOIs absent)."""
        out: dict[str, str] = {}
        wanted = sorted({d.strip().lower() for d in dois if d and d.strip()})
        for chunk in _chunks(wanted, 500):  # lower(doi) is indexed (migration 5)
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT id, lower(doi) FROM papers WHERE lower(doi) IN ({marks}) ORDER BY id"
            for pid, doi in self._all(sql, chunk):
                out.setdefault(str(doi), str(pid))  # two papers, one DOI (an erratum): the first id
        return out

    # -- embeddings ---------------------------------------------------------------------------

    def pending_embeddings(self, model: str, limit: int) -> list[EmbeddingTask]:
        """Papers with no embedding for ``model`` or one of stale text, newest first (undated ones last)."""
        rows = self._all(
            f"SELECT p.id, p.title, p.abstract, p.text_hash {_PENDING} {_NEWEST_FIRST} LIMIT ?",
            (model, limit),
        )
        return [EmbeddingTask(r[0], f"{r[1]}. {r[2]}", r[3]) for r in rows]

    def claim_embeddings(self, model: str, limit: int, holder: str, lease_s: float) -> list[EmbeddingTask]:
        """Pending tasks leased to ``holder``: two claimers never get the same paper (J3)."""
        scope = f"embed:{model}"
        with self._write(changes_papers=True) as c:  # claimers queue behind each other
            c.execute(self._NOW)  # the database's clock: workers on other machines may disagree
            now = float(c.fetchone()[0])
            c.execute(self._q("DELETE FROM claims WHERE scope = ? AND expires_at < ?"), (scope, now))
            c.execute(
                self._q(
                    f"SELECT p.id, p.title, p.abstract, p.text_hash {_PENDING} AND NOT EXISTS "
                    "(SELECT 1 FROM claims k WHERE k.scope = ? AND k.key = p.id) "
                    f"{_NEWEST_FIRST} LIMIT ?"
                ),
                (model, scope, limit),
            )
            tasks = [EmbeddingTask(r[0], f"{r[1]}. {r[2]}", r[3]) for r in c.fetchall()]
            if tasks:
                c.executemany(
                    self._q("INSERT INTO claims (scope, key, holder, expires_at) VALUES (?, ?, ?, ?)"),
                    [(scope, t.paper_id, holder, now + lease_s) for t in tasks],
                )
        return tasks

    def release_claims(self, holder: str) -> None:
        """Give back every lease ``holder`` holds."""
        with self._write() as c:
            c.execute(self._q("DELETE FROM claims WHERE holder = ?"), (holder,))

    def count_pending_embeddings(self, model: str) -> int:
        """How many papers need (re-)embedding for ``model``."""
        return int(self._all(f"SELECT COUNT(*) {_PENDING}", (model,))[0][0])

    def save_embeddings(self, model: str, items: Sequence[tuple[str, str]], vectors: np.ndarray) -> None:
        """Store vectors for (paper_id, text_hash) items in one transaction."""
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(items) != len(vecs):
            raise StoreError("save_embeddings: items and vectors differ in length")
        dim = int(vecs.shape[1]) if vecs.ndim == 2 else 0
        if not items:
            return
        # under the change-sequence lock: a batch's sequence is above every one committed before it (S4)
        with self._write(changes_papers=True) as c:
            c.execute(self._q("SELECT dim FROM embeddings WHERE model = ? LIMIT 1"), (model,))
            recorded = c.fetchone()
            if recorded and int(recorded[0]) != dim:
                raise StoreError(f"model {model} has {recorded[0]}-d vectors stored, got {dim}-d")
            c.execute(self._q("SELECT COALESCE(MAX(seq), 0) + 1 FROM embeddings WHERE model = ?"), (model,))
            seq = int(c.fetchone()[0])
            c.executemany(
                self._q(
                    "INSERT INTO embeddings (paper_id, model, dim, text_hash, vector, seq) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (paper_id, model) DO UPDATE SET dim = excluded.dim, "
                    "text_hash = excluded.text_hash, vector = excluded.vector, seq = excluded.seq"
                ),
                [
                    (pid, model, dim, th, self._vector_param(vecs[i]), seq)
                    for i, (pid, th) in enumerate(items)
                ],
            )
            # a stamp that changes with every save: re-embedded rows keep the count the same
            self._set_checkpoint(c, f"vectors:{model}", uuid.uuid4().hex)

    def vectors_stamp(self, model: str) -> str | None:
        """A value that changes whenever vectors of ``model`` are saved (cheap to poll)."""
        return self.get_checkpoint(f"vectors:{model}")

    def vector_cursor(self, model: str) -> VectorCursor:
        """The latest change sequences of ``model``'s vectors and of papers."""
        row = self._all(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM embeddings WHERE model = ?), "
            "(SELECT COALESCE(MAX(seq), 0) FROM papers)",
            (model,),
        )[0]
        return VectorCursor(int(row[0]), int(row[1]))

    def iter_vectors(
        self, model: str, since: VectorCursor | None = None, batch: int = 10_000
    ) -> Iterator[VectorBatch]:
        """``model``'s vectors in batches of ``batch`` rows: all current ones, or what changed after ``since``.

        Each batch is one keyset-paged statement, so memory stays one batch deep at any corpus size."""
        cols = (
            "e.paper_id, e.vector, e.dim, CASE WHEN e.text_hash = p.text_hash THEN 1 ELSE 0 END, "
            "COALESCE(p.announced, p.published, p.updated), p.categories"
        )
        if since is None:  # a full load: every current vector, in the order of the (model, seq, id) index
            yield from self._vector_pages(
                f"SELECT {cols}, e.seq, e.paper_id FROM embeddings e JOIN papers p ON p.id = e.paper_id "
                "WHERE e.model = ? AND (e.seq, e.paper_id) > (?, ?) AND e.text_hash = p.text_hash "
                "ORDER BY e.seq, e.paper_id LIMIT ?",
                lambda last: (model, last[0], last[1], batch),
                (-1, ""),
            )
            return
        # vectors saved since, in (seq, id) order; then papers changed since that have a vector (their text
        # may have moved on: the vector is stale; or only their dates and categories changed)
        yield from self._vector_pages(
            f"SELECT {cols}, e.seq, e.paper_id FROM embeddings e JOIN papers p ON p.id = e.paper_id "
            "WHERE e.model = ? AND (e.seq, e.paper_id) > (?, ?) ORDER BY e.seq, e.paper_id LIMIT ?",
            lambda last: (model, last[0], last[1], batch),
            (since.vectors + 1, ""),  # (seq, id) > (N + 1, ""): every row of a later sequence
        )
        yield from self._vector_pages(
            # CROSS JOIN: papers drive (SQLite would otherwise walk every vector of the model, then sort)
            f"SELECT {cols}, p.seq, p.id FROM papers p CROSS JOIN embeddings e "
            "WHERE e.paper_id = p.id AND e.model = ? AND (p.seq, p.id) > (?, ?) ORDER BY p.seq, p.id LIMIT ?",
            lambda last: (model, last[0], last[1], batch),
            (since.papers + 1, ""),
        )

    def _vector_pages(self, sql: str, params: Any, start: tuple[Any, ...]) -> Iterator[VectorBatch]:
        """Keyset pages of a vector query whose last columns are its order key."""
        last = start
        width = len(start)
        while rows := self._all(sql, params(last)):
            yield VectorBatch(
                ids=[str(r[0]) for r in rows],
                vectors=self._stack_vectors([r[1] for r in rows], int(rows[0][2])),
                current=np.array([bool(r[3]) for r in rows], dtype=bool),
                dates=[str(r[4])[:10] if r[4] else None for r in rows],
                categories=_categories_of([str(r[5]) for r in rows]),
            )
            last = tuple(rows[-1][-width:])

    def _stack_vectors(self, stored: list[Any], dim: int) -> np.ndarray:
        """Stored vectors as the rows of one float32 matrix."""
        out = np.empty((len(stored), dim), dtype=np.float32)
        for i, v in enumerate(stored):
            out[i] = self._vector_value(v)
        return out

    def iter_embeddings(
        self, model: str, after_id: str = "", batch: int = 2000
    ) -> list[tuple[str, str, np.ndarray]]:
        """(paper id, text hash, vector) of ``model`` after ``after_id`` in id order."""
        rows = self._all(
            "SELECT paper_id, text_hash, vector FROM embeddings WHERE model = ? AND paper_id > ? "
            "ORDER BY paper_id LIMIT ?",
            (model, after_id, batch),
        )
        return [(str(r[0]), str(r[1]), self._vector_value(r[2])) for r in rows]

    def embedding_models(self) -> list[str]:
        """The models that have vectors stored."""
        return [str(r[0]) for r in self._all("SELECT DISTINCT model FROM embeddings ORDER BY model")]

    def get_embedding(self, model: str, paper_id: str) -> np.ndarray | None:
        """One paper's vector for ``model``."""
        row = self._one("SELECT vector FROM embeddings WHERE model = ? AND paper_id = ?", (model, paper_id))
        return None if row is None else self._vector_value(row[0])

    def embedding_dim(self, model: str) -> int | None:
        """The recorded dimension of ``model``'s vectors, if any are stored."""
        row = self._one("SELECT dim FROM embeddings WHERE model = ? LIMIT 1", (model,))
        return int(row[0]) if row else None

    def count_embeddings(self, model: str) -> int:
        """How many papers have an embedding for ``model``."""
        return int(self._all("SELECT COUNT(*) FROM embeddings WHERE model = ?", (model,))[0][0])

    # -- signals ------------------------------------------------------------------------------

    def upsert_signals(self, signals: Iterable[Signal]) -> int:
        """Record observations; the same (paper, source, time) again replaces that one point, others add."""
        rows = {
            (s.paper_id, s.source, _ts(s.observed_at)): (
                s.paper_id,
                s.source,
                _ts(s.observed_at),
                s.upvotes,
                s.comments,
                s.github_repo,
                s.github_stars,
                s.project_page,
                _iso(s.listed_on),
                _ts(s.listed_at) if s.listed_at else None,
            )
            for s in signals
        }  # one row per key: a batch naming a point twice keeps its last
        if not rows:
            return 0
        with self._write() as c:
            c.executemany(
                self._q(
                    f"INSERT INTO signals ({_SIGNAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (paper_id, source, observed_at) DO UPDATE SET upvotes = excluded.upvotes, "
                    "comments = excluded.comments, github_repo = excluded.github_repo, "
                    "github_stars = excluded.github_stars, project_page = excluded.project_page, "
                    "listed_on = excluded.listed_on, listed_at = excluded.listed_at"
                ),
                list(rows.values()),
            )
            self._set_checkpoint(c, SIGNALS_STAMP, uuid.uuid4().hex)
        return len(rows)

    def latest_signals(self, paper_ids: Sequence[str], source: str = "hf-daily") -> dict[str, Signal]:
        """Each paper's latest observation from ``source`` (papers never seen are absent)."""
        out: dict[str, Signal] = {}
        for chunk in _chunks(list(dict.fromkeys(paper_ids)), 500):
            marks = ",".join("?" * len(chunk))
            # each paper's latest time from the primary key alone, then that one row: not every row of a
            # paper's history checked against a subquery (150 -> 12 ms on PostgreSQL, 23 -> 6 ms on SQLite for
            # 25 papers of 400 observations each)
            rows = self._all(
                f"SELECT {_LATEST_COLUMNS} FROM signals s JOIN (SELECT paper_id AS pid, MAX(observed_at) AS "
                f"latest FROM signals WHERE source = ? AND paper_id IN ({marks}) GROUP BY paper_id) m "
                "ON s.paper_id = m.pid AND s.observed_at = m.latest WHERE s.source = ?",
                [source, *chunk, source],
            )
            out.update((str(r[0]), _signal(r)) for r in rows)
        return out

    def latest_upvotes(self, paper_ids: Sequence[str], source: str = "hf-daily") -> dict[str, int]:
        """Each paper's upvotes at its latest observation from ``source`` (papers never seen are absent)."""
        return {pid: s.upvotes for pid, s in self.latest_signals(paper_ids, source).items()}

    def signal_history(self, paper_id: str) -> list[Signal]:
        """Every observation of one paper, oldest first."""
        rows = self._all(
            f"SELECT {_SIGNAL_COLUMNS} FROM signals WHERE paper_id = ? ORDER BY observed_at, source",
            (paper_id,),
        )
        return [_signal(r) for r in rows]

    def daily_list(self, day: date, source: str = "hf-daily") -> list[Signal]:
        """The papers on ``source``'s daily list of ``day``, each with its latest observation (any order)."""
        ids = [
            str(r[0])
            for r in self._all(
                "SELECT DISTINCT paper_id FROM signals WHERE source = ? AND listed_on = ?",
                (source, day.isoformat()),
            )
        ]
        return list(self.latest_signals(ids, source).values())

    def listed_days(self, source: str = "hf-daily") -> list[date]:
        """The days with a daily list from ``source``, oldest first."""
        rows = self._all(
            "SELECT DISTINCT listed_on FROM signals WHERE source = ? AND listed_on IS NOT NULL ORDER BY listed_on",
            (source,),
        )
        return [date.fromisoformat(str(r[0])) for r in rows]

    def signal_rows(self, since: datetime | None = None) -> list[SignalRow]:
        """Observations at or after ``since`` plus, per (paper, source), the last one before it, ordered by paper,
        source, time: what trending reads."""
        cols = "paper_id, source, observed_at, upvotes, github_stars, listed_on"
        if since is None:
            rows = self._all(f"SELECT {cols} FROM signals ORDER BY paper_id, source, observed_at")
        else:
            t = _ts(since)
            rows = self._all(
                f"SELECT {cols} FROM signals WHERE observed_at >= ? UNION ALL "
                f"SELECT {cols} FROM (SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY paper_id, source "
                "ORDER BY observed_at DESC) AS rn FROM signals WHERE observed_at < ?) AS before_window "
                "WHERE rn = 1 ORDER BY paper_id, source, observed_at",
                (t, t),
            )
        return [SignalRow(*r) for r in rows]

    def signal_columns(self, since: datetime | None = None) -> columns.SignalColumns:
        """What ``signal_rows(since)`` holds, as numpy columns in no particular order."""
        # a listing day only where it is before the observation's (no text object for the others)
        cols = (
            f"paper_id, {self._OBSERVED_SECONDS}, upvotes, COALESCE(github_stars, -1), "
            "CASE WHEN listed_on < substr(observed_at, 1, 10) THEN listed_on END"
        )
        t = _ts(since) if since is not None else None
        scan, baselines = "", t is not None
        if self.dialect == "sqlite":
            # SQLite would walk an index and fetch each row from the table in its order: far slower than
            # reading the table straight through when most rows qualify (a unary + keeps an index out of a
            # plan); and it would scan the whole primary key for baselines when there is nothing before ``t``
            after, total = self._counts("signals", "observed_at", t)
            scan = "+" if 3 * after >= total else ""
            baselines = after < total
        parts = []
        for (source,) in self._all("SELECT DISTINCT source FROM signals"):  # no source per row: a query each
            if not baselines:
                rows = self._plain(
                    f"SELECT {cols} FROM signals WHERE {scan}source = ? AND {scan}observed_at >= ?",
                    (source, t or ""),
                )
            else:
                rows = self._plain(
                    f"SELECT {cols} FROM signals WHERE {scan}source = ? AND {scan}observed_at >= ? UNION ALL "
                    f"SELECT {cols} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY paper_id "
                    "ORDER BY observed_at DESC) AS rn FROM signals WHERE source = ? AND observed_at < ?) "
                    "AS before_window WHERE rn = 1",
                    (source, t, source, t),
                )
            parts.append((str(source), rows))
        return columns.signal_columns(parts)

    def _counts(self, table: str, column: str, value: str | None) -> tuple[int, int]:
        """How many of ``table``'s rows have ``column >= value`` (all when None), and how many it has (counts
        over indexes)."""
        after = self._one(f"SELECT COUNT(*) FROM {table} WHERE {column} >= ?", (value or "",))
        total = self._one(f"SELECT COUNT(*) FROM {table}")
        return int(after[0]) if after else 0, int(total[0]) if total else 0

    def papers_missing_for_signals(self, limit: int = 1000) -> list[str]:
        """Ids of observed papers that are not in the store (yet), oldest observation first."""
        rows = self._all(
            "SELECT s.paper_id FROM signals s LEFT JOIN papers p ON p.id = s.paper_id WHERE p.id IS NULL "
            "GROUP BY s.paper_id ORDER BY MIN(s.observed_at), s.paper_id LIMIT ?",
            (limit,),
        )
        return [str(r[0]) for r in rows]

    def add_local_counts(self, counts: Iterable[LocalCount]) -> int:
        """Add to this install's daily counts (n may be negative: an upvote withdrawn)."""
        merged: dict[tuple[str, str, str], int] = {}
        for lc in counts:
            key = (lc.paper_id, lc.kind, lc.day.isoformat())
            merged[key] = merged.get(key, 0) + lc.n
        rows = [
            (*k, n) for k, n in sorted(merged.items()) if n
        ]  # sorted: concurrent writers lock in one order
        return self._write_local_counts(rows, "local_counts.n + excluded.n")

    def put_local_counts(self, counts: Sequence[LocalCount]) -> int:
        """Set these daily counts to exactly their n (copies: a rerun writes the same values)."""
        return self._write_local_counts(
            [(lc.paper_id, lc.kind, lc.day.isoformat(), lc.n) for lc in counts], "excluded.n"
        )

    def _write_local_counts(self, rows: list[tuple[str, str, str, int]], new_n: str) -> int:
        if not rows:
            return 0
        with self._write() as c:
            c.executemany(
                self._q(
                    "INSERT INTO local_counts (paper_id, kind, day, n) VALUES (?, ?, ?, ?) "
                    f"ON CONFLICT (paper_id, kind, day) DO UPDATE SET n = {new_n}"
                ),
                rows,
            )
            self._set_checkpoint(c, SIGNALS_STAMP, uuid.uuid4().hex)
        return len(rows)

    def local_counts(self, since: date | None = None) -> list[LocalCount]:
        """Daily local counts on or after ``since`` (by paper, kind, day)."""
        rows = self._all(
            "SELECT paper_id, kind, day, n FROM local_counts WHERE day >= ? ORDER BY paper_id, kind, day",
            ((since or date.min).isoformat(),),
        )
        return [LocalCount(str(r[0]), str(r[1]), date.fromisoformat(str(r[2])), int(r[3])) for r in rows]

    def local_totals(self, before: date | None = None) -> list[tuple[str, str, int]]:
        """(paper id, kind, n summed over all days, or the days before ``before``) of every paper and kind
        whose total is not 0."""
        rows = self._all(
            "SELECT paper_id, kind, SUM(n) FROM local_counts WHERE day < ? GROUP BY paper_id, kind "
            "HAVING SUM(n) <> 0 ORDER BY paper_id, kind",
            ((before or date.max).isoformat(),),
        )
        return [(str(p), str(k), int(n)) for p, k, n in rows]

    def newest_signals(self) -> tuple[datetime | None, date | None]:
        """The newest observation's time and the newest local count's day (None where there are none)."""
        row = self._one("SELECT (SELECT MAX(observed_at) FROM signals), (SELECT MAX(day) FROM local_counts)")
        observed, day = row if row else (None, None)
        return (datetime.fromisoformat(str(observed)) if observed else None, _date(day))

    def local_columns(self, since: date | None = None) -> columns.LocalColumns:
        """What ``local_counts(since)`` holds, as numpy columns in no particular order."""
        day = (since or date.min).isoformat()
        # as signal_columns: straight through the table when most rows qualify
        after, total = self._counts("local_counts", "day", day) if self.dialect == "sqlite" else (0, 0)
        scan = "+" if 3 * after >= total > 0 else ""
        rows = self._plain(f"SELECT paper_id, kind, day, n FROM local_counts WHERE {scan}day >= ?", (day,))
        return columns.local_columns(rows)

    def signals_stamp(self) -> str:
        """Changes whenever an observation or local count is written (caches of trending compare it)."""
        return self.get_checkpoint(SIGNALS_STAMP) or ""

    def count_signals(self) -> int:
        """How many popularity observations are stored."""
        return int(self._all("SELECT COUNT(*) FROM signals")[0][0])

    def iter_signals(self) -> Iterator[Signal]:
        """Every observation, in (paper, source, time) order."""
        for r in self._all(f"SELECT {_SIGNAL_COLUMNS} FROM signals ORDER BY paper_id, source, observed_at"):
            yield _signal(r)

    # -- checkpoints --------------------------------------------------------------------------

    def get_checkpoint(self, name: str) -> str | None:
        """A saved checkpoint."""
        row = self._one("SELECT value FROM checkpoints WHERE name = ?", (name,))
        return None if row is None else row[0]

    def set_checkpoint(self, name: str, value: str | None) -> None:
        """Save (or clear, with None) a checkpoint."""
        with self._write() as c:
            self._set_checkpoint(c, name, value)

    def store_id(self) -> str:
        """This database's identity: a random id made the first time it is asked for, kept (never copied)."""
        sid = self.get_checkpoint(STORE_ID)
        if sid is None:
            with self._write() as c:
                c.execute(
                    self._q(
                        "INSERT INTO checkpoints (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
                    ),
                    (STORE_ID, uuid.uuid4().hex, _now()),
                )
            sid = self.get_checkpoint(STORE_ID)
        return str(sid)

    def checkpoints(self) -> dict[str, str]:
        """Every saved checkpoint by name."""
        return {
            str(n): str(v)
            for n, v in self._all("SELECT name, value FROM checkpoints WHERE value IS NOT NULL")
        }

    def _set_checkpoint(self, c: Any, name: str, value: str | None) -> None:
        if value is None:
            c.execute(self._q("DELETE FROM checkpoints WHERE name = ?"), (name,))
        else:
            c.execute(
                self._q(
                    "INSERT INTO checkpoints (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) "
                    "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
                ),
                (name, value, _now()),
            )

    # -- job runs -----------------------------------------------------------------------------

    def start_job_run(self, job: str, runner: str) -> int:
        """Record that ``runner`` started ``job``; returns the run's id."""
        with self._write() as c:
            c.execute(
                self._q(
                    "INSERT INTO job_runs (job, runner, started_at, outcome, counts) "
                    "VALUES (?, ?, ?, 'running', '{}') RETURNING id"
                ),
                (job, runner, _now()),
            )
            return int(c.fetchone()[0])

    def finish_job_run(self, run_id: int, outcome: str, counts: dict[str, int], error: str | None) -> None:
        """Record how a run ended, and prune the job's oldest runs."""
        with self._write() as c:
            c.execute(
                self._q(
                    "UPDATE job_runs SET finished_at = ?, outcome = ?, counts = ?, error = ? WHERE id = ?"
                ),
                (_now(), outcome, json.dumps(counts), error, run_id),
            )
            c.execute(
                self._q(
                    "DELETE FROM job_runs WHERE job = (SELECT job FROM job_runs WHERE id = ?) "
                    "AND outcome <> 'running' AND id < (SELECT MIN(id) FROM (SELECT id FROM job_runs "
                    "WHERE job = (SELECT job FROM job_runs WHERE id = ?) ORDER BY id DESC LIMIT ?) kept)"
                ),
                (run_id, run_id, JOB_RUNS_KEPT),
            )

    def last_job_runs(self) -> dict[str, JobRun]:
        """The latest run of each job."""
        rows = self._all(
            "SELECT id, job, runner, started_at, finished_at, outcome, counts, error FROM job_runs r "
            "WHERE id = (SELECT MAX(id) FROM job_runs t WHERE t.job = r.job) ORDER BY job"
        )
        return {str(r[1]): _job_run(r) for r in rows}

    def last_failures(self, limit: int = 10) -> list[JobRun]:
        """The latest failed (or abandoned) runs, newest first."""
        rows = self._all(
            "SELECT id, job, runner, started_at, finished_at, outcome, counts, error FROM job_runs "
            "WHERE outcome IN ('failed', 'abandoned') ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [_job_run(r) for r in rows]

    def running_job_runs(self) -> list[JobRun]:
        """Runs recorded as started and not ended."""
        rows = self._all(
            "SELECT id, job, runner, started_at, finished_at, outcome, counts, error FROM job_runs "
            "WHERE outcome = 'running' ORDER BY id"
        )
        return [_job_run(r) for r in rows]

    def abandon_job_runs(self, runner: str) -> int:
        """Mark ``runner``'s runs still open as abandoned; returns how many."""
        with self._write() as c:
            c.execute(
                self._q(
                    "UPDATE job_runs SET outcome = 'abandoned', finished_at = ?, "
                    "error = 'the runner stopped before the run ended' WHERE runner = ? AND outcome = 'running'"
                ),
                (_now(), runner),
            )
            return int(c.rowcount or 0)


def _job_run(r: Sequence[Any]) -> JobRun:
    return JobRun(
        id=int(r[0]),
        job=str(r[1]),
        runner=str(r[2]),
        started=datetime.fromisoformat(str(r[3])),
        finished=datetime.fromisoformat(str(r[4])) if r[4] else None,
        outcome=str(r[5]),
        counts={str(k): int(v) for k, v in json.loads(str(r[6] or "{}")).items()},
        error=r[7],
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


def _categories_of(stored: list[str]) -> list[tuple[str, ...]]:
    """Stored categories lists (as _to_row writes them: json.dumps of plain names), split without a JSON parse
    each when none holds an escape (a quote, a backslash, anything not ASCII)."""
    if all((s.startswith('["') and s.endswith('"]')) or s == "[]" for s in stored) and "\\" not in "".join(
        stored
    ):
        return [tuple(s[2:-2].split('", "')) if len(s) > 2 else () for s in stored]
    return [tuple(json.loads(s)) for s in stored]


def _date(v: object) -> date | None:
    return date.fromisoformat(str(v)) if v else None


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _chunks(items: list[str], n: int) -> Iterator[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _ts(t: datetime) -> str:
    """A moment as stored: ISO 8601 in UTC to the second (naive times are taken as UTC); sorts as text."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat(timespec="seconds")


def _signal(r: Sequence[Any]) -> Signal:
    return Signal(
        paper_id=str(r[0]),
        source=str(r[1]),
        observed_at=datetime.fromisoformat(str(r[2])),
        upvotes=int(r[3]),
        comments=int(r[4]),
        github_repo=r[5],
        github_stars=None if r[6] is None else int(r[6]),
        project_page=r[7],
        listed_on=_date(r[8]),
        listed_at=datetime.fromisoformat(str(r[9])) if r[9] else None,
    )
