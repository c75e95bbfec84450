"""Copying a store into another database (store/copy.py), on real SQLite files and real PostgreSQL databases:
exact both ways, resumable, a rerun changes nothing, and the check names what differs."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from paperwire.errors import ConfigError, StoreError
from paperwire.models import LocalCount, Signal
from paperwire.store import Store, open_url
from paperwire.store.accounts import ACCOUNT_TABLES
from paperwire.store.copy import copy_store, open_for_copy, source_key, verify_copy
from paperwire.store.migrations import LATEST
from paperwire.store.schema import apply_migrations, schema_status
from tests import pg
from tests.conftest import make_paper, real_papers

BATCH = 40


class Killed(Exception):
    """Stands for the process dying mid-copy."""


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A bare PostgreSQL database (never migrated: the copy migrates it)."""
    url = pg.create_database(empty=True)
    yield url
    pg.drop_database(url)


@pytest.fixture
def source_url(tmp_path: Path) -> str:
    """An SQLite store holding a bit of everything."""
    url = f"sqlite:///{tmp_path / 'source.db'}"
    store = open_url(url)
    fill(store)
    store.close()
    return url


def fill(store: Store) -> None:
    """Papers with history (later versions, several sources), two models' vectors (one stale), signals,
    a harvest checkpoint."""
    papers = real_papers(150)
    store.upsert_papers(papers)
    store.upsert_papers(
        [replace(p, version=p.version + 1, comment="v2: typos", sources=("arxiv-api",)) for p in papers[:10]]
    )
    # old-style ids: collations sort '/' and '-' differently, the copy and its check must not care
    store.upsert_papers([make_paper("hep-th/9901001"), make_paper("math/0501001", version=3, doi="10.1/x")])
    stored = store.get_papers([p.id for p in papers])
    rng = np.random.default_rng(7)
    ids = sorted(stored)
    vecs = rng.standard_normal((len(ids), 24)).astype(np.float32)
    store.save_embeddings("model-a", [(i, stored[i].text_hash) for i in ids], vecs)
    store.save_embeddings(
        "model-b", [(i, "stale-text") for i in ids[:30]], rng.random((30, 8), dtype=np.float32)
    )
    store.upsert_signals(
        Signal(
            pid,
            "hf-daily",
            datetime(2025, 1, 1 + d, tzinfo=UTC),
            upvotes=d * 3,
            github_repo="a/b" if d else None,
        )
        for pid in ids[:25]
        for d in range(3)
    )
    store.add_local_counts(
        LocalCount(pid, kind, date(2025, 1, 1), n)
        for pid in ids[:10]
        for kind, n in (("view", 4), ("save", 1))
    )
    store.set_checkpoint("oai:last-harvest", "2025-01-02T00:00:00Z")
    # accounts: every table holds a row or more (ids matter: a comment belongs to its user)
    ada = store.add_user("ada@example.org", "active", is_admin=True)
    bob = store.add_user("bob@example.org", "invited")
    store.add_sign_in_nonce("n" * 64, "ada@example.org", datetime(2030, 1, 1, tzinfo=UTC))
    store.add_session("s" * 64, ada.id, datetime(2025, 1, 1, tzinfo=UTC))
    store.set_upvote(ada.id, ids[0], True)
    store.save_to_library(ada.id, ids[1], tags=["graphs", "to-read"], note="a note", read=True)
    col = store.add_collection(ada.id, "Reading group", True, "share-token-0123456789")
    store.set_in_collection(ada.id, col.id, ids[2], True)
    store.add_comment(bob.id, ids[3], "a comment with $x$")
    store.set_feedback(ada.id, ids[4], "dismissed")
    sub = store.subscribe("reader@example.org", '{"trending_n": 5}', datetime(2025, 1, 1, tzinfo=UTC), ada.id)
    lease = datetime(2025, 1, 2, tzinfo=UTC)
    store.claim_delivery(sub.id, date(2025, 1, 2), "<d@x>", "h", lease, lease)
    store.finish_delivery(sub.id, date(2025, 1, 2), "h", "sent", lease, due=lease, paper_ids=[ids[5]])


def everything(store: Store) -> dict[str, Any]:
    """All a copy must carry, read through the Store API."""
    ids = [d[0] for d in store.paper_digests("", 100_000)]
    embeddings = {
        m: [(i, h, v.tolist()) for i, h, v in store.iter_embeddings(m, "", 100_000)]
        for m in store.embedding_models()  # type: ignore[attr-defined]
    }
    checkpoints = {c: store.get_checkpoint(c) for c in ("oai:last-harvest",)}
    return {
        "papers": store.get_papers(ids),
        "embeddings": embeddings,
        "signals": sorted(store.iter_signals(), key=repr),
        "local counts": store.local_counts(),
        "checkpoints": checkpoints,
        "accounts": {t: [tuple(str(v) for v in r) for r in store.account_rows(t)] for t in ACCOUNT_TABLES},
    }


def raw_state(store: Store) -> list[Any]:
    """What a rerun must leave untouched, down to change sequences and checkpoint times."""
    return [
        store.max_seq(),
        store._all("SELECT name, value, updated_at FROM checkpoints ORDER BY name"),  # type: ignore[attr-defined]
        store._all("SELECT id, seq, ingested_at FROM papers ORDER BY id"),  # type: ignore[attr-defined]
    ]


def test_sqlite_to_postgresql_and_back_is_exact(source_url: str, pg_url: str, tmp_path: Path) -> None:
    source, target = open_for_copy(source_url, pg_url)  # a bare database: migrated by the copy
    try:
        assert schema_status(target).version == LATEST
        report = copy_store(source, target, batch=BATCH)
        assert [(p.name, p.rows) for p in report.parts] == [
            ("papers", 152),
            ("embeddings model-a", 150),
            ("embeddings model-b", 30),
            ("signals", 75),
            ("local counts", 22),
            ("accounts", 15),
            ("checkpoints", 1),
        ]
        want = everything(source)
        assert everything(target) == want  # Paper equality: versions, sources, dates, all of it
        assert all(c.ok for c in verify_copy(source, target))
    finally:
        source.close()
        target.close()
    back_url = f"sqlite:///{tmp_path / 'back.db'}"
    source, back = open_for_copy(pg_url, back_url)
    try:
        copy_store(source, back, batch=BATCH)
        assert everything(back) == want
        checks = verify_copy(source, back)
        assert [c.name for c in checks] == [
            "papers",
            "embeddings model-a",
            "embeddings model-b",
            "signals",
            "local counts",
            *ACCOUNT_TABLES,
            "checkpoints",
        ]
        assert all(c.ok for c in checks)
        # a copy's own positions stay behind: the way back holds only the PostgreSQL copy's
        assert back.get_checkpoint(f"{source_key(source)}:papers") is not None
        assert not [n for n in back._all("SELECT name FROM checkpoints") if source_url in n[0]]  # type: ignore[attr-defined]
        # ids the copies wrote are not handed out again, on either database
        assert source.add_user("new@example.org", "active").id == 3
        assert back.add_user("new@example.org", "active").id == 3
    finally:
        source.close()
        back.close()


def test_a_killed_copy_continues_where_it_stopped(source_url: str, pg_url: str) -> None:
    source, target = open_for_copy(source_url, pg_url)
    key = source_key(source)
    ids = [d[0] for d in source.paper_digests("", 1000)]

    def die_at(part: str, at: int) -> Any:
        def note(p: str, done: int, total: int) -> None:
            if p == part and done == at:
                raise Killed

        return note

    try:
        with pytest.raises(Killed):  # dies after its second batch of papers
            copy_store(source, target, batch=BATCH, on_progress=die_at("papers", 2 * BATCH))
        assert target.count_papers() == 2 * BATCH
        assert target.get_checkpoint(f"{key}:papers") == ids[2 * BATCH - 1]
        with pytest.raises(Killed):  # the second run dies in the vectors
            copy_store(source, target, batch=BATCH, on_progress=die_at("embeddings model-a", BATCH))
        assert target.count_papers() == len(ids)
        assert target.count_embeddings("model-a") == BATCH
        report = copy_store(source, target, batch=BATCH)
        rows = {p.name: p.rows for p in report.parts}
        assert rows["papers"] == 0  # nothing copied twice
        assert rows["embeddings model-a"] == 150 - BATCH
        assert everything(target) == everything(source)
        assert all(c.ok for c in verify_copy(source, target))
    finally:
        source.close()
        target.close()


def test_rerunning_a_finished_copy_changes_nothing(source_url: str, pg_url: str) -> None:
    source, target = open_for_copy(source_url, pg_url)
    try:
        copy_store(source, target, batch=BATCH)
        before = raw_state(target)
        report = copy_store(source, target, batch=BATCH)
        assert all(p.rows == 0 for p in report.parts)
        assert raw_state(target) == before
        # --restart walks everything again and still writes nothing that is equal
        report = copy_store(source, target, batch=BATCH, restart=True)
        assert report.parts[0].rows == 152 and report.parts[0].note == "0 new, 0 updated, 152 unchanged"
        assert raw_state(target)[0] == before[0]  # no paper rewritten: no new change sequence
    finally:
        source.close()
        target.close()


def test_the_check_names_what_differs(source_url: str, pg_url: str) -> None:
    source, target = open_for_copy(source_url, pg_url)
    try:
        copy_store(source, target, batch=BATCH)
        ids = [d[0] for d in source.paper_digests("", 1000)]
        p = target.get_paper(ids[3])
        assert p is not None
        target.upsert_papers([replace(p, version=p.version + 1, title="Tampered with")])
        target.save_embeddings("model-a", [(ids[5], "x")], np.ones((1, 24), dtype=np.float32))
        target.upsert_signals([Signal(ids[0], "hf-daily", datetime(2026, 1, 1, tzinfo=UTC), upvotes=1)])
        target.set_checkpoint("oai:last-harvest", "2026-01-01T00:00:00Z")
        checks = {c.name: c for c in verify_copy(source, target)}
        assert checks["papers"].source_rows == checks["papers"].target_rows  # same count, other content
        assert not checks["papers"].ok and checks["papers"].examples == (f"{ids[3]} differs",)
        assert not checks["embeddings model-a"].ok and checks["embeddings model-a"].examples == (
            f"{ids[5]} differs",
        )
        assert checks["embeddings model-b"].ok
        assert checks["signals"].examples == (
            f"{ids[0]} hf-daily 2026-01-01T00:00:00+00:00 only in the target",
        )
        assert checks["checkpoints"].examples == ("oai:last-harvest differs",)
        assert "1 differ" in checks["papers"].describe() and ids[3] in checks["papers"].describe()
        # the source changed under a finished copy: a rerun's check says so, --restart brings it over
        q = source.get_paper(ids[7])
        assert q is not None
        source.upsert_papers([replace(q, version=q.version + 1, title="A newer version")])
        copy_store(source, target, batch=BATCH)
        assert {f"{ids[3]} differs", f"{ids[7]} differs"} == set(verify_copy(source, target)[0].examples)
        copy_store(source, target, batch=BATCH, restart=True)
        assert verify_copy(source, target)[0].examples == (f"{ids[3]} differs",)  # the target's newer v wins
        got = target.get_paper(ids[7])
        assert got is not None and got.title == "A newer version"
    finally:
        source.close()
        target.close()


def test_refuses_the_source_itself(source_url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="same database"):
        open_for_copy(source_url, source_url)
    (tmp_path / "alias.db").symlink_to(tmp_path / "source.db")
    with pytest.raises(ConfigError, match="same database"):
        open_for_copy(source_url, f"sqlite:///{tmp_path / 'alias.db'}")


def test_refuses_postgresql_onto_itself_under_another_url(pg_url: str) -> None:
    apply_migrations(pg_url)
    with pytest.raises(ConfigError, match="same database"):  # other parameters do not name another database
        open_for_copy(pg_url, pg_url + "&connect_timeout=9")
    other = pg_url.replace("/data", "/data/") if "/data" in pg_url else pg_url + "&port=5432"
    assert other != pg_url
    source, target = open_for_copy(pg_url, other)  # the URLs name the server differently, the data is one
    try:
        with pytest.raises(ConfigError, match="same database"):
            copy_store(source, target)
    finally:
        source.close()
        target.close()


def test_refuses_a_target_with_data_of_its_own(source_url: str, pg_url: str) -> None:
    other = open_url(pg_url)
    other.upsert_papers([make_paper()])
    other.close()
    source, target = open_for_copy(source_url, pg_url)
    try:
        with pytest.raises(ConfigError, match="already holds 1 papers"):
            copy_store(source, target)
        assert target.count_papers() == 1
    finally:
        source.close()
        target.close()


def test_refuses_a_source_that_is_missing_or_not_migrated(tmp_path: Path, pg_url: str) -> None:
    with pytest.raises(StoreError, match="no database to copy from"):
        open_for_copy(f"sqlite:///{tmp_path / 'nothing.db'}", pg_url)
    old = tmp_path / "old.db"
    sqlite3.connect(old).close()
    with pytest.raises(StoreError, match=r"schema version 0.*paperwire db migrate"):
        open_for_copy(f"sqlite:///{old}", pg_url)


def test_schema_status_of_a_bare_database_and_migrating_it(pg_url: str) -> None:
    bare = open_url(pg_url, migrate=False)
    try:
        status = schema_status(bare)
        assert status.version == 0 and [v for v, _ in status.pending] == list(range(1, LATEST + 1))
    finally:
        bare.close()
    after = apply_migrations(pg_url)
    assert (after.version, after.pending) == (LATEST, [])


def test_the_check_sees_a_difference_in_sources_alone(source_url: str, pg_url: str) -> None:
    """The content hash leaves sources out; the check compares every field as read back."""
    source, target = open_for_copy(source_url, pg_url)
    try:
        copy_store(source, target, batch=BATCH)
        pid = source.paper_digests("", 1)[0][0]
        p = target.get_paper(pid)
        assert p is not None
        target.upsert_papers([replace(p, sources=(*p.sources, "somewhere-else"))])
        checks = {c.name: c for c in verify_copy(source, target)}
        assert checks["papers"].examples == (f"{pid} differs",)
    finally:
        source.close()
        target.close()


def test_a_resumed_copy_of_signals_misses_none_the_source_gained_meanwhile(
    source_url: str, pg_url: str
) -> None:
    source, target = open_for_copy(source_url, pg_url)

    def die_in_signals(p: str, done: int, total: int) -> None:
        if p == "signals" and done == BATCH:
            raise Killed

    try:
        with pytest.raises(Killed):
            copy_store(source, target, batch=BATCH, on_progress=die_in_signals)
        # a signal that sorts before the saved position arrives at the source
        first = source.paper_digests("", 1)[0][0]
        source.upsert_signals([Signal(first, "a-new-source", datetime(2020, 1, 1, tzinfo=UTC), upvotes=5)])
        copy_store(source, target, batch=BATCH)
        assert sorted(target.iter_signals(), key=repr) == sorted(source.iter_signals(), key=repr)
        assert all(c.ok for c in verify_copy(source, target))
    finally:
        source.close()
        target.close()
