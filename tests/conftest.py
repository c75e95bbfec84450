"""Shared fixtures: a real store, a deterministic test embedder, real paper records.

The store is a real SQLite file in a temp dir, or with ``PAPERWIRE_TEST_BACKEND=postgresql`` a database of
its own on a real PostgreSQL server (tests/pg.py): ``.ci/run`` runs the whole suite both ways. Tests of
what only one backend has are marked ``sqlite_only`` and left out of the PostgreSQL run.
"""

from __future__ import annotations

import gzip
import json
import os
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
from paperwire.store import Store, open_store, open_url
from tests import pg
from tests.embedders import HashEmbedder

SAMPLE = sample_dir() / "sample-papers.jsonl.gz"
BACKEND = os.environ.get("PAPERWIRE_TEST_BACKEND", "sqlite")
if BACKEND not in ("sqlite", "postgresql"):
    raise RuntimeError(f"PAPERWIRE_TEST_BACKEND={BACKEND!r}: use sqlite or postgresql")
# each test names its own database (settings, database_env); one from the shell must not leak into them
os.environ.pop("PAPERWIRE_DATABASE_URL", None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: about the SQLite file itself; not run on PostgreSQL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if BACKEND == "sqlite":
        return
    keep = [i for i in items if i.get_closest_marker("sqlite_only") is None]
    config.hook.pytest_deselected(items=[i for i in items if i not in keep])
    items[:] = keep


def pytest_sessionfinish(session: pytest.Session) -> None:
    pg.stop()


@contextmanager
def database(backend: str = BACKEND) -> Iterator[str | None]:
    """A fresh database URL for ``backend`` (None for SQLite: the home's own file), dropped afterwards."""
    if backend == "sqlite":
        yield None
        return
    url = pg.create_database()
    try:
        yield url
    finally:
        pg.drop_database(url)


def database_env(url: str | None) -> dict[str, str]:
    """What a `paperwire` subprocess's environment needs to use the database ``url`` (None: nothing, the
    home's own SQLite file)."""
    return {"PAPERWIRE_DATABASE_URL": url} if url else {}


@pytest.fixture
def database_url() -> Iterator[str | None]:
    """The database the test's settings name (see ``database``)."""
    with database() as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    """Settings for an empty home in a temp dir (no demo sample, no network)."""
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        load_sample=False,
        request_interval=0,  # allowed for hosts other than arXiv's own: recorded answers replayed locally
        oai_endpoint="https://oaipmh.arxiv-replay.test/oai",
        api_endpoint="https://export.arxiv-replay.test/api/query",
    )


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    """The settings' real store (SQLite file or PostgreSQL database)."""
    s = open_store(settings)
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

    with database() as url:
        settings = Settings(home=home, load_sample=False, database_url=url)
        store = open_store(settings)
        try:
            store.upsert_papers(papers)
            emb = HashEmbedder()
            embed_pending(store, emb)
            eng = SearchEngine(settings, store, emb)
            eng.refresh()
            yield eng
        finally:
            store.close()


def store_at(settings: Settings) -> Store:
    """Another connection to the settings' store (as a second process would open it)."""
    return open_url(settings.db_url)


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
