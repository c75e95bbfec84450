"""Versioned schema migrations, each applied in its own transaction.

The SQL is kept to what both SQLite and PostgreSQL run (TEXT/INTEGER/REAL, ISO dates as text,
``ON CONFLICT ... DO UPDATE``); a backend may map ``BLOB`` to ``BYTEA``.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "papers, embeddings, signals, checkpoints",
        [
            """CREATE TABLE papers (
                id TEXT PRIMARY KEY,
                version INTEGER NOT NULL,
                title TEXT NOT NULL,
                abstract TEXT NOT NULL,
                authors TEXT NOT NULL,          -- JSON array, in order
                categories TEXT NOT NULL,       -- JSON array, primary first
                primary_category TEXT,
                published TEXT,                 -- YYYY-MM-DD, first submission
                updated TEXT,
                announced TEXT,                 -- first listing / announcement
                comment TEXT,
                journal_ref TEXT,
                doi TEXT,
                license TEXT,
                sources TEXT NOT NULL,          -- JSON array
                content_hash TEXT NOT NULL,
                text_hash TEXT NOT NULL,
                seq INTEGER NOT NULL,           -- change sequence, for incremental indexing
                ingested_at TEXT NOT NULL
            )""",
            "CREATE INDEX papers_seq ON papers (seq)",
            "CREATE INDEX papers_announced ON papers (announced)",
            "CREATE INDEX papers_primary ON papers (primary_category, announced)",
            """CREATE TABLE embeddings (
                paper_id TEXT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
                model TEXT NOT NULL,
                dim INTEGER NOT NULL,
                text_hash TEXT NOT NULL,
                vector BLOB NOT NULL,           -- float32, L2-normalised
                PRIMARY KEY (paper_id, model)
            )""",
            "CREATE INDEX embeddings_model ON embeddings (model)",
            """CREATE TABLE signals (
                paper_id TEXT NOT NULL,
                source TEXT NOT NULL,
                observed_on TEXT NOT NULL,
                upvotes INTEGER NOT NULL DEFAULT 0,
                comments INTEGER NOT NULL DEFAULT 0,
                github_repo TEXT,
                github_stars INTEGER,
                PRIMARY KEY (paper_id, source, observed_on)
            )""",
            """CREATE TABLE checkpoints (
                name TEXT PRIMARY KEY,
                value TEXT,
                updated_at TEXT NOT NULL
            )""",
        ],
    ),
]
