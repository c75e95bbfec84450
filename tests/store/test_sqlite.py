"""What only the SQLite backend has: its file, pragmas, migration rollback on disk, its lock wait."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from paperwire.store.migrations import MIGRATIONS
from paperwire.store.sqlite import SQLiteStore

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "paperwire.db")


def test_new_store_is_configured_for_many_processes(store: SQLiteStore) -> None:
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
    from paperwire.store import sql as mod

    bad = [*MIGRATIONS, (99, "broken", ["CREATE TABLE half_done (x INTEGER)", "THIS IS NOT SQL"])]
    monkeypatch.setattr(mod, "MIGRATIONS", bad)
    with pytest.raises(MigrationError, match="migration 99"):
        SQLiteStore(tmp_path / "m.db")
    conn = sqlite3.connect(tmp_path / "m.db")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half_done" not in tables  # the whole migration was rolled back
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == MIGRATIONS[-1][0]


def test_a_store_of_the_first_schema_is_migrated_forward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A home made before job runs existed (schema 1) gains the new tables and keeps its papers."""
    from paperwire.store import sql as mod
    from tests.conftest import make_paper

    monkeypatch.setattr(mod, "MIGRATIONS", MIGRATIONS[:1])
    old = SQLiteStore(tmp_path / "old.db")
    old.upsert_papers([make_paper()])
    assert old.schema_version() == 1
    old.close()
    monkeypatch.setattr(mod, "MIGRATIONS", MIGRATIONS)
    new = SQLiteStore(tmp_path / "old.db")
    assert new.schema_version() == MIGRATIONS[-1][0]
    assert new.count_papers() == 1
    assert new.start_job_run("embed", "me") > 0


def test_a_locked_database_is_a_transient_store_error(tmp_path: Path) -> None:
    """Another writer holding the lock past the wait: StoreBusyError (503 / exit 75), nothing changed."""
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


def test_a_thread_about_to_end_lets_go_of_its_connection(store: SQLiteStore) -> None:
    import threading

    store.count_papers()  # this thread's connection
    before = len(store._all_conns)

    def work() -> None:
        assert store.count_papers() >= 0  # opens the thread's own connection
        store.release_thread()

    threads = [threading.Thread(target=work) for _ in range(5)]
    for t in threads:
        t.start()
        t.join()
    assert len(store._all_conns) == before  # none left open behind the threads
    store.release_thread()
    assert store.count_papers() >= 0  # a thread that let go opens a new one when it needs one
