"""The persistence protocol every backend implements, and its small result types."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np

from paperwire.models import Paper, Signal


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
class EmbeddingTask:
    """A paper whose embedding is missing or stale for the current model."""

    paper_id: str
    text: str
    text_hash: str


class Store(Protocol):
    """Papers, their embeddings, popularity signals and harvest checkpoints."""

    def close(self) -> None:
        """Release the connection."""

    def upsert_papers(self, papers: Sequence[Paper]) -> UpsertResult:
        """Insert or update papers in one transaction; newer versions win, re-ingest changes nothing."""

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

    def pending_embeddings(self, model: str, limit: int) -> list[EmbeddingTask]:
        """Papers with no embedding for ``model`` or one of stale text."""

    def count_pending_embeddings(self, model: str) -> int:
        """How many papers need (re-)embedding for ``model``."""

    def save_embeddings(self, model: str, items: Sequence[tuple[str, str]], vectors: np.ndarray) -> None:
        """Store vectors (rows of float32) for (paper_id, text_hash) items in one transaction."""

    def load_embeddings(self, model: str) -> tuple[list[str], np.ndarray]:
        """All ids and vectors of ``model`` (normalised float32 rows)."""

    def get_embedding(self, model: str, paper_id: str) -> np.ndarray | None:
        """One paper's vector for ``model``."""

    def embedding_dim(self, model: str) -> int | None:
        """The recorded dimension of ``model``'s vectors, if any are stored."""

    def iter_facets(self) -> Iterator[tuple[str, date | None, list[str]]]:
        """(id, filter date, categories) of every paper: what vector search filters on."""

    def latest_announced(self) -> date | None:
        """The newest announcement date in the store."""

    def count_embeddings(self, model: str) -> int:
        """How many papers have an embedding for ``model``."""

    def upsert_signals(self, signals: Iterable[Signal]) -> int:
        """Record popularity observations (idempotent per paper, source and day)."""

    def latest_upvotes(self, paper_ids: Sequence[str], source: str = "hf-daily") -> dict[str, int]:
        """Each paper's upvotes at its latest observation from ``source`` (papers never seen are absent)."""

    def get_checkpoint(self, name: str) -> str | None:
        """A saved harvest checkpoint."""

    def set_checkpoint(self, name: str, value: str | None) -> None:
        """Save (or clear, with None) a harvest checkpoint."""

    def upsert_papers_with_checkpoint(
        self, papers: Sequence[Paper], name: str, value: str | None
    ) -> UpsertResult:
        """Upsert papers and move a checkpoint in the same transaction (harvest pages)."""
