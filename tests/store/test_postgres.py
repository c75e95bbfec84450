"""What only the PostgreSQL backend has: pgvector columns, lock waits and lost servers as StoreBusyError,
passwords kept out of what it shows."""

from __future__ import annotations

import contextlib

import numpy as np
import psycopg
import pytest

from paperwire.errors import StoreBusyError
from paperwire.store import open_url
from paperwire.store.postgres import PostgresStore, redact
from tests import pg
from tests.conftest import database, make_paper


@pytest.fixture
def url() -> object:
    with database("postgresql") as u:
        yield u


def test_vectors_live_in_a_pgvector_column(url: str) -> None:
    store = open_url(url)
    p = make_paper()
    store.upsert_papers([p])
    store.save_embeddings("m", [(p.id, p.text_hash)], np.array([[0.6, 0.8, 0.0]], np.float32))
    with psycopg.connect(url) as c:
        kind, text = c.execute("SELECT pg_typeof(vector)::text, vector::text FROM embeddings").fetchone()
    assert kind == "vector" and text == "[0.6,0.8,0]"
    store.close()


def test_a_lock_held_too_long_is_a_transient_error(url: str) -> None:
    store = PostgresStore(url, lock_timeout=0.3)
    store.upsert_papers([make_paper()])
    with psycopg.connect(url) as other:  # another writer sits on the paper's row
        other.execute("UPDATE papers SET title = 'held' WHERE id = '2501.00001'")
        with pytest.raises(StoreBusyError, match="busy or unreachable") as info:
            store.upsert_papers([make_paper(version=2, title="mine")])
        assert info.value.http_status == 503 and info.value.exit_code == 75
        other.rollback()
    store.upsert_papers([make_paper(version=2, title="mine")])  # free again: it works
    got = store.get_paper("2501.00001")
    assert got is not None and got.title == "mine"
    store.close()


def test_an_unreachable_server_is_a_transient_error(tmp_path: object) -> None:
    with pytest.raises(StoreBusyError, match="cannot reach") as info:
        open_url(f"postgresql://nobody@/paperwire?host={tmp_path}&connect_timeout=2")
    assert info.value.retry_after


def test_a_dropped_connection_is_reopened(url: str) -> None:
    store = open_url(url)
    store.upsert_papers([make_paper()])
    with psycopg.connect(pg.admin_url(), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (_dbname(url),),
        )
    with contextlib.suppress(StoreBusyError):  # this query may find the connection gone: transient
        assert store.count_papers() == 1  # or psycopg noticed the loss before sending
    assert store.count_papers() == 1  # the next one reconnects
    store.close()


def _dbname(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path.lstrip("/")


def test_passwords_never_show() -> None:
    assert (
        redact("postgresql://pw:s3cret@db.example.org:5432/paperwire")
        == "postgresql://pw:***@db.example.org:5432/paperwire"
    )
    assert redact("postgresql://pw@db/paperwire") == "postgresql://pw@db/paperwire"


_OPEN = """
import sys
from paperwire.store import open_url
s = open_url(sys.argv[1])
assert s.schema_version() > 0
s.close()
"""


def test_processes_starting_together_on_a_bare_database_all_open_it() -> None:
    """Four processes opening one empty database at once: one migrates, the others wait for it."""
    import subprocess
    import sys

    url = pg.create_database(empty=True)
    try:
        procs = [
            subprocess.Popen([sys.executable, "-c", _OPEN, url], stderr=subprocess.PIPE, text=True)
            for _ in range(4)
        ]
        results = [(p.communicate(timeout=120)[1], p.returncode) for p in procs]
        assert [rc for _, rc in results] == [0, 0, 0, 0], results
        with psycopg.connect(url) as c:
            assert c.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(
                __import__("paperwire.store.migrations", fromlist=["MIGRATIONS"]).MIGRATIONS
            )
    finally:
        pg.drop_database(url)


def test_many_threads_share_a_bounded_pool_of_connections(url: str) -> None:
    import threading

    store = PostgresStore(url, pool_size=3)
    store.upsert_papers([make_paper()])
    name = _dbname(url)
    peak = 0
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(300):
                assert store.get_paper("2501.00001") is not None
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(16)]
    for t in threads:
        t.start()
    with psycopg.connect(pg.admin_url(), autocommit=True) as admin:
        while any(t.is_alive() for t in threads):
            # clients only: an autovacuum or parallel worker on the database is the server's, not the pool's
            n = admin.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
                (name,),
            ).fetchone()[0]
            peak = max(peak, n)
    for t in threads:
        t.join()
    assert not errors
    assert 1 <= peak <= 3  # 16 threads, never more than the pool's 3 connections
    store.close()


def test_a_password_in_the_query_never_shows() -> None:
    shown = redact("postgresql://pw@db/paperwire?sslmode=require&password=s3cret&host=db2")
    assert "s3cret" not in shown and "password=***" in shown and "sslmode=require" in shown


def test_an_app_role_without_create_rights_opens_a_migrated_database(url: str) -> None:
    """Migrations need rights an app role may lack; opening an up-to-date database only reads."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS pw_app")
        admin.execute("CREATE ROLE pw_app LOGIN")
        admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        admin.execute("GRANT USAGE ON SCHEMA public TO pw_app")
        admin.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO pw_app")
        admin.execute("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO pw_app")
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    app_url = urlunsplit(
        (parts.scheme, "pw_app@" + parts.netloc.split("@", 1)[-1], parts.path, parts.query, "")
    )
    try:
        store = open_url(app_url)
        store.upsert_papers([make_paper()])
        assert store.count_papers() == 1 and store.schema_version() > 0
        store.close()
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("DROP OWNED BY pw_app")
            admin.execute("DROP ROLE pw_app")


def test_signal_columns_come_packed_from_the_server(url: str, monkeypatch: object) -> None:
    from datetime import UTC, date, datetime, timedelta

    from paperwire.models import LocalCount, Signal
    from paperwire.store.sql import SQLStore

    store = PostgresStore(url)
    t = datetime(2025, 1, 10, 12, 30, 5, tzinfo=UTC)
    store.upsert_signals(
        [Signal("2501.00001", "hf-daily", t - timedelta(days=k), upvotes=9 - k) for k in range(4)]
        + [Signal("2501.00002", "other", t, upvotes=1, github_stars=7)]
    )

    def text_path(*_: object) -> object:
        raise AssertionError("the packed read fell back to rows")

    monkeypatch.setattr(SQLStore, "signal_columns", text_path)  # type: ignore[attr-defined]
    monkeypatch.setattr(SQLStore, "local_columns", text_path)  # type: ignore[attr-defined]
    store.add_local_counts([LocalCount("2501.00001", "view", t.date(), 4)])
    local = store.local_columns()
    assert (local.papers, local.kinds, local.day.tolist(), local.n.tolist()) == (
        ["2501.00001"],
        ["view"],
        [(t.date() - date(1970, 1, 1)).days],
        [4],
    )
    cols = store.signal_columns(t - timedelta(days=1))
    got = sorted(
        (cols.papers[p], cols.sources[s], int(o), int(u), int(st))
        for p, s, o, u, st in zip(
            cols.paper, cols.source, cols.observed, cols.upvotes, cols.stars, strict=True
        )
    )
    ts = int(t.timestamp())
    assert got == [
        ("2501.00001", "hf-daily", ts - 2 * 86400, 7, -1),  # the baseline: the latest before the window
        ("2501.00001", "hf-daily", ts - 86400, 8, -1),
        ("2501.00001", "hf-daily", ts, 9, -1),
        ("2501.00002", "other", ts, 1, 7),
    ]
    assert cols.listed_before.tolist() == [-1] * 4
    store.close()
