"""`paperwire db migrate` and `paperwire db copy` end to end: real subprocesses, a real SQLite home holding the
demo sample, real PostgreSQL databases (tests/pg.py)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest

from paperwire.ingest import load_sample
from paperwire.store import open_url
from paperwire.store.accounts import ACCOUNT_TABLES
from paperwire.store.migrations import LATEST
from paperwire.store.schema import schema_status
from tests import pg
from tests.conftest import make_paper


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PAPERWIRE_DATABASE_URL"}
    env.update(PAPERWIRE_HOME=str(home), PAPERWIRE_LOAD_SAMPLE="0")
    return subprocess.run(
        [sys.executable, "-m", "paperwire", *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose SQLite store holds the demo sample: papers, vectors, upvote records."""
    h = tmp_path_factory.mktemp("db-home")
    store = open_url(f"sqlite:///{h / 'paperwire.db'}")
    load_sample(store)
    store.close()
    return h


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A bare PostgreSQL database (never migrated)."""
    url = pg.create_database(empty=True)
    yield url
    pg.drop_database(url)


def with_password(url: str) -> str:
    """``url`` with a password (the test server trusts local connections, so any will do)."""
    return url.replace("postgres:@", "postgres:s3cret@")


def test_migrate_shows_what_is_pending_and_applies_it(tmp_path: Path, pg_url: str) -> None:
    r = run(tmp_path, "db", "migrate", "--url", with_password(pg_url), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert f"schema     version 0, latest {LATEST}" in r.stdout
    assert "pending    1  papers, embeddings, signals, checkpoints" in r.stdout
    assert "nothing applied" in r.stdout
    assert "postgres:***@" in r.stdout and "s3cret" not in r.stdout + r.stderr  # never the password
    bare = open_url(pg_url, migrate=False)
    assert schema_status(bare).version == 0  # a look migrates nothing
    bare.close()
    r = run(tmp_path, "db", "migrate", "--url", pg_url)
    assert r.returncode == 0, r.stderr
    assert "applied    1  papers, embeddings, signals, checkpoints" in r.stdout
    assert f"schema     version {LATEST}: up to date" in r.stdout
    r = run(tmp_path, "db", "migrate", "--url", pg_url)
    assert r.returncode == 0, r.stderr
    assert "rows       papers 0, signals 0" in r.stdout and "up to date: nothing to apply" in r.stdout
    assert "applied" not in r.stdout


def test_migrate_dry_run_on_a_new_home_creates_nothing(tmp_path: Path) -> None:
    r = run(tmp_path, "db", "migrate", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "(no file yet)" in r.stdout and "pending    1" in r.stdout
    assert not (tmp_path / "paperwire.db").exists()


def test_migrate_shows_the_row_counts(home: Path) -> None:
    r = run(home, "db", "migrate")
    assert r.returncode == 0, r.stderr
    assert "rows       papers 4451, embeddings all-MiniLM-L6-v2 4451, signals " in r.stdout


def test_copy_to_postgresql_and_back(home: Path, pg_url: str, tmp_path: Path) -> None:
    r = run(home, "db", "copy", "--to", pg_url, "--batch", "1000")
    assert r.returncode == 0, r.stderr
    assert "papers" in r.stdout and "4,451 copied" in r.stdout
    table = [line.split() for line in r.stdout.splitlines() if line.endswith(" ok")]
    assert [row[0] for row in table] == [
        "papers",
        "embeddings",
        "signals",
        "local",
        *ACCOUNT_TABLES,
        "checkpoints",
    ]
    assert table[0][1:3] == ["4,451", "4,451"]
    assert "verified: the target equals the source" in r.stdout
    # a finished copy, rerun, copies nothing and checks again
    r = run(home, "db", "copy", "--to", pg_url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(" 0 copied") == 6 and "verified" in r.stdout  # papers ... accounts, checkpoints
    # and back, from PostgreSQL into a new SQLite file
    back = tmp_path / "back.db"
    r = run(home, "db", "copy", "--from", with_password(pg_url), "--to", f"sqlite:///{back}")
    assert r.returncode == 0, r.stderr
    assert "4,451 copied" in r.stdout and "verified" in r.stdout
    assert "s3cret" not in r.stdout + r.stderr
    with closing(sqlite3.connect(back)) as db:  # the copy's positions are named by the URL, less its user
        names = [n for (n,) in db.execute("SELECT name FROM checkpoints WHERE name LIKE 'copy:%'")]
    assert names and all(n.startswith("copy:postgresql:///pw_") and "s3cret" not in n for n in names)
    # a difference in the target: named, and a failure
    target = open_url(pg_url)
    p = target.get_paper(target.paper_digests("", 1)[0][0])
    assert p is not None
    target.upsert_papers([replace(p, version=p.version + 1, title="Tampered with")])
    target.close()
    r = run(home, "db", "copy", "--to", pg_url)
    assert r.returncode == 1
    assert "DIFFERS" in r.stdout
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("error: the copy differs from its source: papers: 4451 rows in the source")
    assert f"{p.id} differs" in lines[-1] and "Traceback" not in r.stderr


def test_copy_refuses_the_store_itself_and_a_foreign_target(home: Path, pg_url: str) -> None:
    r = run(home, "db", "copy", "--to", f"sqlite:///{home / 'paperwire.db'}")
    assert r.returncode == 2 and "same database" in r.stderr
    other = open_url(pg_url)
    other.upsert_papers([make_paper()])
    other.close()
    r = run(home, "db", "copy", "--to", pg_url)
    assert r.returncode == 2
    assert "already holds 1 papers" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_help_names_the_options(tmp_path: Path) -> None:
    r = run(tmp_path, "db", "copy", "--help")
    assert r.returncode == 0
    for option in ("--to", "--from", "--batch", "--restart"):
        assert option in r.stdout
    r = run(tmp_path, "db", "migrate", "--help")
    assert r.returncode == 0 and "--dry-run" in r.stdout and "--url" in r.stdout
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "`paperwire db migrate [--url URL] [--dry-run]`" in readme
    assert "`paperwire db copy --to URL [--from URL] [--batch N] [--restart]`" in readme
