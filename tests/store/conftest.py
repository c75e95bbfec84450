"""The store contract runs on every backend: each test here gets a real SQLite file and a real PostgreSQL
database (tests/pg.py), whatever ``PAPERWIRE_TEST_BACKEND`` says for the rest of the suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paperwire.store import Store, open_url
from tests.conftest import database

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty, migrated store on each backend."""
    with database(request.param) as url:
        yield url or f"sqlite:///{tmp_path / 'paperwire.db'}"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """The store at ``store_url``."""
    s = open_url(store_url)
    yield s
    s.close()
