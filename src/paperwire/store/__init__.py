"""Persistence: the store protocols (store/base.py) and their backends, SQLite and PostgreSQL.

Nothing outside this package constructs a backend: :func:`open_store` reads the URL from the settings.
"""

from __future__ import annotations

from paperwire.config import Settings
from paperwire.errors import ConfigError
from paperwire.store.base import (
    CheckpointStore,
    EmbeddingStore,
    EmbeddingTask,
    JobRun,
    JobStore,
    PaperStore,
    SignalRow,
    SignalStore,
    Store,
    UpsertResult,
    VectorBatch,
    VectorCursor,
)
from paperwire.store.columns import LocalColumns, SignalColumns

SCHEMES = ("sqlite:///PATH", "postgresql://USER:PASSWORD@HOST:PORT/DATABASE")


def open_url(url: str, *, migrate: bool = True, busy_timeout: float = 30.0, pool_size: int = 10) -> Store:
    """Open the store at ``url``; ``migrate``: bring its schema up to date first (the default)."""
    if url.startswith("sqlite:///"):
        from paperwire.store.sqlite import SQLiteStore

        return SQLiteStore(url.removeprefix("sqlite:///"), busy_timeout=busy_timeout, migrate=migrate)
    if url.startswith(("postgresql://", "postgres://")):
        from paperwire.store.postgres import PostgresStore

        return PostgresStore(url, lock_timeout=busy_timeout, migrate=migrate, pool_size=pool_size)
    raise ConfigError(f"unsupported database URL {url.split(':', 1)[0]!r}: use {' or '.join(SCHEMES)}")


def open_store(settings: Settings, *, migrate: bool = True) -> Store:
    """Open (and, unless told not to, migrate) the store named by the settings' database URL."""
    return open_url(settings.db_url, migrate=migrate, pool_size=settings.database_pool_size)


__all__ = [
    "CheckpointStore",
    "EmbeddingStore",
    "EmbeddingTask",
    "JobRun",
    "JobStore",
    "LocalColumns",
    "PaperStore",
    "SignalColumns",
    "SignalRow",
    "SignalStore",
    "Store",
    "UpsertResult",
    "VectorBatch",
    "VectorCursor",
    "open_store",
    "open_url",
]
