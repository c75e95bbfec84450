"""Shared fixtures: real SQLite files in tmp dirs, a deterministic test embedder, real paper records."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from paperwire.config import Settings
from paperwire.ingest import sample_dir
from paperwire.models import Paper
from paperwire.search.hybrid import SearchEngine
from paperwire.sources.snapshot import parse_record
from paperwire.store.sqlite import SQLiteStore
from tests.embedders import HashEmbedder

SAMPLE = sample_dir() / "sample-papers.jsonl.gz"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for an empty home in a temp dir (no demo sample, no network)."""
    return Settings(
        home=tmp_path / "home",
        load_sample=False,
        request_interval=0,  # allowed for hosts other than arXiv's own: recorded answers replayed locally
        oai_endpoint="https://oaipmh.arxiv-replay.test/oai",
        api_endpoint="https://export.arxiv-replay.test/api/query",
    )


@pytest.fixture
def store(settings: Settings) -> Iterator[SQLiteStore]:
    """A real SQLite store file."""
    s = SQLiteStore(settings.home / "paperwire.db")
    yield s
    s.close()


@pytest.fixture
def embedder() -> HashEmbedder:
    """A tiny deterministic embedder (no model)."""
    return HashEmbedder()


def real_papers(n: int = 500) -> list[Paper]:
    """The first ``n`` real papers of the shipped sample."""
    out = []
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        for line in fh:
            out.append(parse_record(json.loads(line)))
            if len(out) >= n:
                break
    return out


@contextmanager
def engine_over(home: Path, papers: list[Paper]) -> Iterator[SearchEngine]:
    """A search engine over ``papers`` in a real store under ``home``, vectors from the hash embedder."""
    from paperwire.ingest import embed_pending

    store = SQLiteStore(home / "paperwire.db")
    store.upsert_papers(papers)
    emb = HashEmbedder()
    embed_pending(store, emb)
    eng = SearchEngine(Settings(home=home, load_sample=False), store, emb)
    eng.refresh()
    try:
        yield eng
    finally:
        store.close()


def make_paper(pid: str = "2501.00001", **kw: object) -> Paper:
    """A paper with sensible defaults."""
    base: dict[str, object] = {
        "id": pid,
        "title": "A study of things",
        "abstract": "We study things and report results.",
        "authors": ("Ada Lovelace", "Alan Turing"),
        "categories": ("cs.LG", "cs.AI"),
        "announced": date(2025, 1, 2),
        "sources": ("test",),
    }
    base.update(kw)
    return Paper(**base)  # type: ignore[arg-type]
