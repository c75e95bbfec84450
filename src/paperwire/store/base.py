"""The persistence protocols, one per data area, and their small result types.

A backend (store/sqlite.py, store/postgres.py) implements :class:`Store`, the union of the areas; code that
needs one area asks for that protocol. The contract every backend keeps is tests/store/, run on each; the
rules about *what* is stored (which version wins, how a batch's duplicates combine) live in store/merge.py,
not in a backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple, Protocol

import numpy as np

from paperwire.models import LocalCount, Paper, Signal
from paperwire.store.accounts import AccountStore
from paperwire.store.columns import LocalColumns, SignalColumns
from paperwire.store.digests import DigestStore


@dataclass
class UpsertResult:
    """What one upsert batch did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0  # same content, or an older version than the one stored

    def __iadd__(self, other: UpsertResult) -> UpsertResult:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


@dataclass(frozen=True)
class VectorCursor:
    """How far an index has read a model's vectors: the change sequences of vectors and of papers it has seen.

    Every later change has a higher sequence than any visible now (S4), so reading past a cursor sees each
    change once."""

    vectors: int
    papers: int


@dataclass
class VectorBatch:
    """Some rows of a model's vectors as an index reads them, with what it filters on."""

    ids: list[str]
    vectors: np.ndarray  # (k, dim) float32, L2-normalised
    current: np.ndarray  # bool (k,): False where the vector is of an older text (the index drops it)
    dates: list[str | None]  # each paper's filter date, ISO: announced, else published, else updated
    categories: list[tuple[str, ...]]

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class EmbeddingTask:
    """A paper whose embedding is missing or stale for the current model."""

    paper_id: str
    text: str
    text_hash: str


@dataclass(frozen=True)
class JobRun:
    """One recorded run of a background job."""

    id: int
    job: str
    runner: str
    started: datetime
    finished: datetime | None
    outcome: str  # running | ok | failed | abandoned (its runner died)
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None


class PaperStore(Protocol):
    """Papers and their change feed.

    The change feed's guarantee (docs/reliability.md S4): every committed change to a paper gives it a
    change sequence ``seq`` higher than any seq visible before that commit, so a reader that has seen
    everything up to ``seq = N`` and asks for ``iter_papers(after_seq=N)`` later sees each change committed
    since exactly once (a paper changed twice shows once, in its newest state), whatever order concurrent
    writers commit in.
    """

    def upsert_papers(self, papers: Sequence[Paper]) -> UpsertResult:
        """Insert or update papers in one transaction; newer versions win, re-ingest changes nothing."""

    def upsert_papers_with_checkpoint(
        self, papers: Sequence[Paper], name: str, value: str | None
    ) -> UpsertResult:
        """Upsert papers and move a checkpoint in the same transaction (harvest pages)."""

    def get_paper(self, paper_id: str) -> Paper | None:
        """One paper by base id."""

    def get_papers(self, paper_ids: Sequence[str]) -> dict[str, Paper]:
        """Papers by base id (missing ids are absent from the result)."""

    def count_papers(self) -> int:
        """How many papers the store holds."""

    def iter_papers(self, after_seq: int = 0, batch: int = 2000) -> Iterator[tuple[int, Paper]]:
        """Papers changed after change-sequence ``after_seq``, with their sequence, oldest change first."""

    def max_seq(self) -> int:
        """The latest change sequence."""

    def latest_announced(self) -> date | None:
        """The newest announcement date in the store."""

    def paper_digests(self, after_id: str = "", batch: int = 5000) -> list[tuple[str, str, int]]:
        """(id, content hash, version) of the papers after ``after_id`` in id order: for copies and checks."""

    def paper_categories(self, paper_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Each paper's categories by id, for many ids at once (missing ids are absent)."""

    def papers_by_doi(self, dois: Sequence[str]) -> dict[str, str]:
        """Paper ids by DOI, compared case-insensitively: lowercased DOI -> paper id (unknown DOIs absent)."""


class EmbeddingStore(Protocol):
    """Vectors per (paper, model), and who is embedding what right now."""

    def pending_embeddings(self, model: str, limit: int) -> list[EmbeddingTask]:
        """Papers with no embedding for ``model`` or one of stale text."""

    def claim_embeddings(self, model: str, limit: int, holder: str, lease_s: float) -> list[EmbeddingTask]:
        """Like pending_embeddings, but each task is leased to ``holder`` for ``lease_s`` seconds: two
        processes asking at once never get the same paper (a lease that ran out is taken over)."""

    def release_claims(self, holder: str) -> None:
        """Give back every lease ``holder`` holds."""

    def count_pending_embeddings(self, model: str) -> int:
        """How many papers need (re-)embedding for ``model``."""

    def save_embeddings(self, model: str, items: Sequence[tuple[str, str]], vectors: np.ndarray) -> None:
        """Store vectors (rows of float32) for (paper_id, text_hash) items in one transaction."""

    def vector_cursor(self, model: str) -> VectorCursor:
        """The latest change sequences of ``model``'s vectors and of papers: where a reader that has read
        everything stands."""

    def iter_vectors(
        self, model: str, since: VectorCursor | None = None, batch: int = 10_000
    ) -> Iterator[VectorBatch]:
        """``model``'s vectors in batches (never all at once). ``since`` None: every current vector (a full
        load, stale ones left out). Otherwise what changed after ``since``: the vectors saved after it and
        the vectors of papers changed after it, each flagged stale when its paper's text moved on (a row may
        come twice)."""

    def get_embedding(self, model: str, paper_id: str) -> np.ndarray | None:
        """One paper's vector for ``model``."""

    def embedding_dim(self, model: str) -> int | None:
        """The recorded dimension of ``model``'s vectors, if any are stored."""

    def count_embeddings(self, model: str) -> int:
        """How many papers have an embedding for ``model``."""

    def vectors_stamp(self, model: str) -> str | None:
        """A value that changes whenever vectors of ``model`` are saved (cheap to poll)."""

    def embedding_models(self) -> list[str]:
        """The models that have vectors stored."""

    def iter_embeddings(
        self, model: str, after_id: str = "", batch: int = 2000
    ) -> list[tuple[str, str, np.ndarray]]:
        """(paper id, text hash, vector) of ``model`` after ``after_id`` in id order: for copies."""


class SignalStore(Protocol):
    """Popularity: observations from outside (Hugging Face upvotes, GitHub stars), each kept with its time, and
    this install's own signals (views, upvotes, saves) as daily counts without who gave them."""

    def upsert_signals(self, signals: Iterable[Signal]) -> int:
        """Record observations; the same (paper, source, time) again replaces that one point, others add."""

    def latest_signals(self, paper_ids: Sequence[str], source: str = "hf-daily") -> dict[str, Signal]:
        """Each paper's latest observation from ``source`` (papers never seen are absent)."""

    def latest_upvotes(self, paper_ids: Sequence[str], source: str = "hf-daily") -> dict[str, int]:
        """Each paper's upvotes at its latest observation from ``source`` (papers never seen are absent)."""

    def signal_history(self, paper_id: str) -> list[Signal]:
        """Every observation of one paper, oldest first."""

    def daily_list(self, day: date, source: str = "hf-daily") -> list[Signal]:
        """The papers on ``source``'s daily list of ``day``, each with its latest observation (any order)."""

    def listed_days(self, source: str = "hf-daily") -> list[date]:
        """The days with a daily list from ``source``, oldest first."""

    def signal_rows(self, since: datetime | None = None) -> list[SignalRow]:
        """Observations at or after ``since`` plus, per (paper, source), the last one before it (the baseline
        gains are measured from), ordered by paper, source, time: what trending reads."""

    def signal_columns(self, since: datetime | None = None) -> SignalColumns:
        """What ``signal_rows(since)`` holds, as numpy columns in no particular order (trending sorts them
        itself), listing days only where they are before the observation's: a million observations without
        an object per value past the driver's rows."""

    def papers_missing_for_signals(self, limit: int = 1000) -> list[str]:
        """Ids of observed papers that are not in the store (yet): the queue the fetch of missing papers
        works off."""

    def add_local_counts(self, counts: Iterable[LocalCount]) -> int:
        """Add to this install's daily counts (n may be negative: an upvote withdrawn)."""

    def put_local_counts(self, counts: Sequence[LocalCount]) -> int:
        """Set these daily counts to exactly their n (copies: a rerun writes the same values)."""

    def local_counts(self, since: date | None = None) -> list[LocalCount]:
        """Daily local counts on or after ``since``."""

    def local_columns(self, since: date | None = None) -> LocalColumns:
        """What ``local_counts(since)`` holds, as numpy columns in no particular order."""

    def local_totals(self, before: date | None = None) -> list[tuple[str, str, int]]:
        """(paper id, kind, n summed over all days, or the days before ``before``) of every paper and kind
        whose total is not 0."""

    def newest_signals(self) -> tuple[datetime | None, date | None]:
        """The newest observation's time and the newest local count's day (None where there are none)."""

    def signals_stamp(self) -> str:
        """Changes whenever an observation or local count is written (caches of trending compare it)."""

    def count_signals(self) -> int:
        """How many observations are stored."""

    def iter_signals(self) -> Iterator[Signal]:
        """Every observation in (paper, source, time) order (for copies)."""


class SignalRow(NamedTuple):
    """An observation as trending reads it (plain values, cheap to make a million of)."""

    paper_id: str
    source: str
    observed_at: str  # ISO 8601 UTC, e.g. 2026-08-20T06:00:00+00:00
    upvotes: int
    github_stars: int | None
    listed_on: str | None  # ISO day


class CheckpointStore(Protocol):
    """Named positions of resumable work (harvests, copies)."""

    def get_checkpoint(self, name: str) -> str | None:
        """A saved checkpoint."""

    def set_checkpoint(self, name: str, value: str | None) -> None:
        """Save (or clear, with None) a checkpoint."""

    def checkpoints(self) -> dict[str, str]:
        """Every saved checkpoint by name."""

    def store_id(self) -> str:
        """This database's identity (derived indexes remember which database they follow)."""


class JobStore(Protocol):
    """The record of background job runs (docs/reliability.md J1-J4)."""

    def start_job_run(self, job: str, runner: str) -> int:
        """Record that ``runner`` started ``job``; returns the run's id."""

    def finish_job_run(self, run_id: int, outcome: str, counts: dict[str, int], error: str | None) -> None:
        """Record how a run ended."""

    def last_job_runs(self) -> dict[str, JobRun]:
        """The latest run of each job."""

    def last_failures(self, limit: int = 10) -> list[JobRun]:
        """The latest failed runs, newest first."""

    def running_job_runs(self) -> list[JobRun]:
        """Runs recorded as started and not ended."""

    def abandon_job_runs(self, runner: str) -> int:
        """Mark ``runner``'s runs still open as abandoned (its process died); returns how many."""


class Store(
    PaperStore, EmbeddingStore, SignalStore, CheckpointStore, JobStore, AccountStore, DigestStore, Protocol
):
    """Every data area of one database."""

    url: str  # where it lives, without any password

    def close(self) -> None:
        """Release the connections."""

    def release_thread(self) -> None:
        """Let go of what the calling thread holds (its own connection, where a backend keeps one per thread):
        for a thread about to end."""

    def schema_version(self) -> int:
        """The highest migration applied."""
