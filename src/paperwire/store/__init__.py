"""Persistence: the Store protocol and its backends (SQLite now; PostgreSQL beside it later)."""

from __future__ import annotations

from paperwire.config import Settings
from paperwire.errors import ConfigError
from paperwire.store.base import Store, UpsertResult


def open_store(settings: Settings) -> Store:
    """Open (creating and migrating) the store named by ``settings.db_url``."""
    url = settings.db_url
    if url.startswith("sqlite:///"):
        from paperwire.store.sqlite import SQLiteStore

        return SQLiteStore(url.removeprefix("sqlite:///"))
    raise ConfigError(f"unsupported database URL {url!r}: only sqlite:///PATH is supported so far")


__all__ = ["Store", "UpsertResult", "open_store"]
