"""Where a database stands with the migrations, and applying them on request (`paperwire db migrate`).

Opening a store for a look never migrates it (``open_url(url, migrate=False)``); :func:`apply_migrations`
opens it the ordinary way, which is what brings a backend up to date (PostgreSQL's pgvector included).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from paperwire.errors import MigrationError, StoreBusyError, StoreError
from paperwire.store import Store, open_url
from paperwire.store.migrations import LATEST, MIGRATIONS
from paperwire.store.sql import SQLStore


@dataclass(frozen=True)
class SchemaStatus:
    """A database's schema version against the latest this paperwire knows."""

    version: int
    latest: int
    pending: list[tuple[int, str]]  # (version, description) not yet applied, oldest first

    @property
    def too_new(self) -> bool:
        """The database was migrated by a newer paperwire than this one."""
        return self.version > self.latest


def schema_status(store: Store) -> SchemaStatus:
    """The store's schema version and the migrations it lacks (a bare database is version 0)."""
    try:
        version = store.schema_version()
    except StoreBusyError:
        raise
    except StoreError:
        if _has_schema_table(store):
            raise
        version = 0  # never migrated: no schema_version table yet
    pending = [(v, d) for v, d, _ in MIGRATIONS if v > version]
    return SchemaStatus(version, LATEST, pending)


def apply_migrations(url: str) -> SchemaStatus:
    """Migrate the database at ``url`` to the latest schema; its status afterwards."""
    store = open_url(url, migrate=True)
    try:
        after = schema_status(store)
    finally:
        store.close()
    if after.too_new:
        raise MigrationError(
            f"{store.url} has schema version {after.version}, newer than this paperwire's {LATEST}: "
            "upgrade paperwire"
        )
    return after


def table_counts(store: Store) -> dict[str, int]:
    """Rows per data table: papers, embeddings of each model, signals, local counts."""
    counts = {"papers": store.count_papers()}
    for model in embedding_models(store):
        counts[f"embeddings {model}"] = store.count_embeddings(model)
    counts["signals"] = store.count_signals()
    counts["local counts"] = len(store.local_counts())
    return counts


def embedding_models(store: Store) -> list[str]:
    """The models with vectors stored."""
    return store.embedding_models()


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (None for other databases)."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _has_schema_table(store: Store) -> bool:
    # Store.schema_version() raises on a database never migrated; tell that from a real failure
    if not isinstance(store, SQLStore):
        return True
    if store.dialect == "sqlite":
        sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    else:
        sql = "SELECT CASE WHEN to_regclass('schema_version') IS NULL THEN 0 ELSE 1 END"
    return bool(store._all(sql)[0][0])
