"""The SQLite store: migrations, version rules, idempotence, embeddings, checkpoints, two writers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from paperwire.models import Signal
from paperwire.store.migrations import MIGRATIONS
from paperwire.store.sqlite import SQLiteStore
from tests.conftest import make_paper


def test_new_store_is_migrated_and_configured(store: SQLiteStore) -> None:
    assert store.schema_version() == max(v for v, _, _ in MIGRATIONS)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert store.integrity_ok()


def test_reopening_does_not_migrate_twice(store: SQLiteStore) -> None:
    again = SQLiteStore(store.path)
    rows = again.conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0]
    assert rows == len(MIGRATIONS)
    again.close()


def test_failed_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from paperwire.errors import MigrationError
    from paperwire.store import sqlite as mod

    bad = [*MIGRATIONS, (99, "broken", ["CREATE TABLE half_done (x INTEGER)", "THIS IS NOT SQL"])]
    monkeypatch.setattr(mod, "MIGRATIONS", bad)
    with pytest.raises(MigrationError, match="migration 99"):
        SQLiteStore(tmp_path / "m.db")
    conn = sqlite3.connect(tmp_path / "m.db")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half_done" not in tables  # the whole migration was rolled back
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == MIGRATIONS[-1][0]


def test_upsert_roundtrip_and_reingest_changes_nothing(store: SQLiteStore) -> None:
    p = make_paper(doi="10.1/x", comment="10 pages")
    r1 = store.upsert_papers([p])
    assert (r1.inserted, r1.updated, r1.unchanged) == (1, 0, 0)
    seq = store.max_seq()
    r2 = store.upsert_papers([p])
    assert (r2.inserted, r2.updated, r2.unchanged) == (0, 0, 1)
    assert store.max_seq() == seq  # nothing rewritten, so nothing to re-index
    got = store.get_paper(p.id)
    assert got == p


def test_newer_version_replaces_older_never_the_reverse(store: SQLiteStore) -> None:
    v1 = make_paper(version=1, title="Old title", announced=date(2025, 1, 2))
    v2 = make_paper(version=2, title="New title", announced=None, updated=date(2025, 3, 1))
    store.upsert_papers([v1])
    store.upsert_papers([v2])
    got = store.get_paper(v1.id)
    assert got is not None and got.version == 2 and got.title == "New title"
    assert got.announced == date(2025, 1, 2)  # kept from the older record
    store.upsert_papers([v1])  # an older version arrives late
    got = store.get_paper(v1.id)
    assert got is not None and got.version == 2 and got.title == "New title"


def test_duplicates_within_a_batch_keep_the_newest(store: SQLiteStore) -> None:
    store.upsert_papers([make_paper(version=3, title="three"), make_paper(version=2, title="two")])
    got = store.get_paper("2501.00001")
    assert got is not None and got.title == "three"


def test_iter_papers_is_incremental(store: SQLiteStore) -> None:
    store.upsert_papers([make_paper("2501.00001"), make_paper("2501.00002")])
    mark = store.max_seq()
    store.upsert_papers([make_paper("2501.00003")])
    later = [p.id for _, p in store.iter_papers(after_seq=mark)]
    assert later == ["2501.00003"]
    assert len(list(store.iter_papers(batch=1))) == 3


def test_embeddings_are_stale_when_text_changes(store: SQLiteStore) -> None:
    p = make_paper()
    store.upsert_papers([p])
    assert [t.paper_id for t in store.pending_embeddings("m", 10)] == [p.id]
    store.save_embeddings("m", [(p.id, p.text_hash)], np.ones((1, 4), np.float32) / 2)
    assert store.pending_embeddings("m", 10) == []
    assert store.count_pending_embeddings("other-model") == 1  # a model change re-embeds
    store.upsert_papers([make_paper(version=2, abstract="A different abstract entirely.")])
    assert store.count_pending_embeddings("m") == 1
    ids, _ = store.load_embeddings("m")
    assert ids == []  # the stale vector is never served


def test_embedding_dimension_is_enforced(store: SQLiteStore) -> None:
    from paperwire.errors import StoreError

    a, b = make_paper("2501.00001"), make_paper("2501.00002")
    store.upsert_papers([a, b])
    store.save_embeddings("m", [(a.id, a.text_hash)], np.ones((1, 4), np.float32))
    with pytest.raises(StoreError, match="4-d"):
        store.save_embeddings("m", [(b.id, b.text_hash)], np.ones((1, 8), np.float32))


def test_checkpoint_moves_with_its_batch(store: SQLiteStore) -> None:
    store.upsert_papers_with_checkpoint([make_paper()], "cp", "page-2")
    assert store.get_checkpoint("cp") == "page-2"
    store.set_checkpoint("cp", None)
    assert store.get_checkpoint("cp") is None


def test_signals_are_idempotent(store: SQLiteStore) -> None:
    s = Signal("2501.00001", "hf-daily", date(2025, 1, 3), upvotes=5)
    store.upsert_signals([s, s])
    store.upsert_signals([Signal("2501.00001", "hf-daily", date(2025, 1, 3), upvotes=9)])
    assert store.count_signals() == 1


def test_latest_upvotes_per_paper(store: SQLiteStore) -> None:
    store.upsert_signals(
        [
            Signal("2501.00001", "hf-daily", date(2025, 1, 3), upvotes=5),
            Signal("2501.00001", "hf-daily", date(2025, 1, 5), upvotes=17),
            Signal("2501.00001", "hf-daily", date(2025, 1, 4), upvotes=11),
            Signal("2501.00002", "github", date(2025, 1, 9), upvotes=99),
        ]
    )
    assert store.latest_upvotes(["2501.00001", "2501.00002", "2501.09999"]) == {"2501.00001": 17}
    assert store.latest_upvotes(["2501.00002"], source="github") == {"2501.00002": 99}
    assert store.latest_upvotes([]) == {}


_WRITER = """
import sys
from paperwire.models import Paper
from paperwire.store.sqlite import SQLiteStore
s = SQLiteStore(sys.argv[1])
start = int(sys.argv[2])
for i in range(start, start + 60):
    s.upsert_papers([Paper(id=f"2501.{i:05d}", title=f"paper {i}", abstract="a")])
s.close()
"""


def test_two_processes_write_at_once_without_locking_errors(tmp_path: Path) -> None:
    path = str(tmp_path / "two.db")
    SQLiteStore(path).close()
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, path, str(k * 1000)]) for k in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    s = SQLiteStore(path)
    assert s.count_papers() == 120
    assert s.integrity_ok()


def test_a_locked_database_is_a_transient_store_error(tmp_path: Path) -> None:
    """Another writer holding the lock past the wait: StoreBusyError (503 / exit 75), nothing changed."""
    import sqlite3

    from paperwire.errors import StoreBusyError

    store = SQLiteStore(tmp_path / "paperwire.db", busy_timeout=0.2)
    other = sqlite3.connect(tmp_path / "paperwire.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreBusyError, match="stayed locked") as info:
            store.set_checkpoint("x", "1")
        assert info.value.http_status == 503 and info.value.exit_code == 75 and info.value.retry_after
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.set_checkpoint("x", "1")  # free again: it works
    assert store.get_checkpoint("x") == "1"
    store.close()
