"""Versioned schema migrations: one history for every backend, each step applied in its own transaction.

The SQL is what both SQLite and PostgreSQL run (TEXT/INTEGER, ISO dates as text, ``ON CONFLICT ... DO
UPDATE``); the few types that differ are written as tokens that :func:`statements` fills in per dialect.
"""

from __future__ import annotations

from typing import Literal

Dialect = Literal["sqlite", "postgresql"]

_TYPES: dict[Dialect, dict[str, str]] = {
    "sqlite": {
        "{VECTOR}": "BLOB",  # float32 bytes
        "{BYTES}": "BLOB",
        "{BIGINT}": "INTEGER",
        "{FLOAT}": "REAL",
        "{SERIAL}": "INTEGER PRIMARY KEY AUTOINCREMENT",
    },
    "postgresql": {
        "{VECTOR}": "vector",  # pgvector; rows of one model share its dimension
        "{BYTES}": "BYTEA",
        "{BIGINT}": "BIGINT",
        "{FLOAT}": "DOUBLE PRECISION",
        "{SERIAL}": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    },
}

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
                seq {BIGINT} NOT NULL,          -- change sequence, for incremental indexing
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
                vector {VECTOR} NOT NULL,       -- float32, L2-normalised
                PRIMARY KEY (paper_id, model)
            )""",
            "CREATE INDEX embeddings_model ON embeddings (model)",
            """CREATE TABLE signals (
                paper_id TEXT NOT NULL,
                source TEXT NOT NULL,
                observed_on TEXT NOT NULL,
                upvotes {BIGINT} NOT NULL DEFAULT 0,
                comments {BIGINT} NOT NULL DEFAULT 0,
                github_repo TEXT,
                github_stars {BIGINT},
                PRIMARY KEY (paper_id, source, observed_on)
            )""",
            """CREATE TABLE checkpoints (
                name TEXT PRIMARY KEY,
                value TEXT,
                updated_at TEXT NOT NULL
            )""",
        ],
    ),
    (
        2,
        "job runs and work claims",
        [
            """CREATE TABLE job_runs (
                id {SERIAL},
                job TEXT NOT NULL,
                runner TEXT NOT NULL,           -- host:pid:nonce of the process that ran it
                started_at TEXT NOT NULL,
                finished_at TEXT,
                outcome TEXT NOT NULL,          -- running | ok | failed | abandoned
                counts TEXT NOT NULL,           -- JSON object of what it did
                error TEXT
            )""",
            "CREATE INDEX job_runs_job ON job_runs (job, id)",
            """CREATE TABLE claims (
                scope TEXT NOT NULL,            -- e.g. embed:MODEL
                key TEXT NOT NULL,              -- e.g. a paper id
                holder TEXT NOT NULL,
                expires_at {FLOAT} NOT NULL,    -- Unix time the lease runs out
                PRIMARY KEY (scope, key)
            )""",
            "CREATE INDEX claims_holder ON claims (holder)",
        ],
    ),
    (
        3,
        "signals keep each observation's time (history, never overwritten); local daily counts",
        [
            """CREATE TABLE signal_history (
                paper_id TEXT NOT NULL,
                source TEXT NOT NULL,
                observed_at TEXT NOT NULL,      -- ISO 8601 UTC
                upvotes {BIGINT} NOT NULL DEFAULT 0,
                comments {BIGINT} NOT NULL DEFAULT 0,
                github_repo TEXT,
                github_stars {BIGINT},
                project_page TEXT,
                listed_on TEXT,                 -- the daily list it was on (ISO day)
                listed_at TEXT,                 -- when it was put on that list
                PRIMARY KEY (paper_id, source, observed_at)
            )""",
            # a day's observation becomes one at that day's start (UTC) on the list of that day
            "INSERT INTO signal_history (paper_id, source, observed_at, upvotes, comments, github_repo, "
            "github_stars, listed_on) SELECT paper_id, source, observed_on || 'T00:00:00+00:00', upvotes, "
            "comments, github_repo, github_stars, observed_on FROM signals",
            "DROP TABLE signals",
            "ALTER TABLE signal_history RENAME TO signals",
            "CREATE INDEX signals_listed ON signals (source, listed_on)",
            "CREATE INDEX signals_observed ON signals (observed_at)",
            """CREATE TABLE local_counts (
                paper_id TEXT NOT NULL,
                kind TEXT NOT NULL,             -- view | upvote | save
                day TEXT NOT NULL,              -- ISO day (UTC)
                n {BIGINT} NOT NULL,
                PRIMARY KEY (paper_id, kind, day)
            )""",
            "CREATE INDEX local_counts_day ON local_counts (day)",
        ],
    ),
    (
        4,
        "a change sequence per embedding: indexes read only the vectors saved since they last looked",
        [
            # 0 for vectors saved before: an index reads those in its first full load, never as changes
            "ALTER TABLE embeddings ADD COLUMN seq {BIGINT} NOT NULL DEFAULT 0",
            "CREATE INDEX embeddings_seq ON embeddings (model, seq, paper_id)",
            "DROP INDEX embeddings_model",  # the new index starts with the model: the planner must take it
            # the papers' change feed pages by (seq, id): an index on both, not a sort of the rest each page
            "CREATE INDEX papers_seq_id ON papers (seq, id)",
            "DROP INDEX papers_seq",
        ],
    ),
    (
        5,
        "accounts: users, sign-in tokens, sessions, upvotes, libraries, collections, comments, feedback",
        [
            """CREATE TABLE users (
                id {SERIAL},
                email TEXT NOT NULL UNIQUE,     -- lower case; never shown to other users
                name TEXT NOT NULL DEFAULT '',  -- what others see (empty: "member N")
                status TEXT NOT NULL,           -- invited | active | disabled
                is_admin INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                last_sign_in TEXT
            )""",
            # a sign-in link's nonce, stored hashed: single use (used_at), revocable, expiring
            """CREATE TABLE sign_in_tokens (
                nonce_hash TEXT PRIMARY KEY,
                email TEXT NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                used_at TEXT
            )""",
            "CREATE INDEX sign_in_tokens_email ON sign_in_tokens (email, created_at)",
            """CREATE TABLE sessions (
                id_hash TEXT PRIMARY KEY,       -- the cookie's value, hashed: a leaked table signs nobody in
                user_id {BIGINT} NOT NULL,
                created_at TEXT NOT NULL,
                last_seen TEXT NOT NULL
            )""",
            "CREATE INDEX sessions_user ON sessions (user_id)",
            """CREATE TABLE upvotes (
                user_id {BIGINT} NOT NULL,
                paper_id TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (user_id, paper_id)
            )""",
            "CREATE INDEX upvotes_paper ON upvotes (paper_id)",
            """CREATE TABLE library (
                user_id {BIGINT} NOT NULL,
                paper_id TEXT NOT NULL,
                saved_at TEXT NOT NULL,
                note TEXT NOT NULL DEFAULT '',
                read_at TEXT,
                PRIMARY KEY (user_id, paper_id)
            )""",
            """CREATE TABLE library_tags (
                user_id {BIGINT} NOT NULL,
                paper_id TEXT NOT NULL,
                tag TEXT NOT NULL,
                PRIMARY KEY (user_id, paper_id, tag)
            )""",
            "CREATE INDEX library_tags_tag ON library_tags (user_id, tag)",
            """CREATE TABLE collections (
                id {SERIAL},
                user_id {BIGINT} NOT NULL,
                name TEXT NOT NULL,
                public INTEGER NOT NULL DEFAULT 0,
                share_token TEXT NOT NULL UNIQUE,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX collections_user ON collections (user_id)",
            """CREATE TABLE collection_items (
                collection_id {BIGINT} NOT NULL,
                paper_id TEXT NOT NULL,
                added_at TEXT NOT NULL,
                PRIMARY KEY (collection_id, paper_id)
            )""",
            """CREATE TABLE comments (
                id {SERIAL},
                paper_id TEXT NOT NULL,
                user_id {BIGINT} NOT NULL,
                body TEXT NOT NULL,
                created_at TEXT NOT NULL,
                edited_at TEXT,
                hidden_at TEXT,
                hidden_by {BIGINT}
            )""",
            "CREATE INDEX comments_paper ON comments (paper_id, created_at)",
            "CREATE INDEX comments_user ON comments (user_id)",
            # recommendations' steering: dismissed (never again) or more (more like this)
            """CREATE TABLE feedback (
                user_id {BIGINT} NOT NULL,
                paper_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (user_id, paper_id)
            )""",
            # library imports match entries by DOI (DOIs are case-insensitive)
            "CREATE INDEX papers_doi ON papers (lower(doi))",
        ],
    ),
    (
        6,
        "the daily digest: subscribers, the delivery ledger, papers sent",
        [
            """CREATE TABLE subscribers (
                id {SERIAL},
                email TEXT NOT NULL UNIQUE,     -- lower case
                user_id {BIGINT},               -- the account it belongs to, if any ("for you" needs one)
                status TEXT NOT NULL,           -- pending | active | unsubscribed | suppressed
                prefs TEXT NOT NULL,            -- JSON: watches, categories, trending_n, frequency, hour, ...
                token_version INTEGER NOT NULL DEFAULT 1,  -- bumped to revoke every link mailed before
                created_at TEXT NOT NULL,
                confirmed_at TEXT,
                status_at TEXT NOT NULL,        -- when the status last changed
                last_due TEXT,                  -- the delivery moment the last digest was for (its window's end)
                reason TEXT                     -- why suppressed (a bounce), unsubscribed (one-click, page)
            )""",
            # one row per (subscriber, digest date), claimed before sending (M5): exactly once
            """CREATE TABLE deliveries (
                subscriber_id {BIGINT} NOT NULL,
                digest_date TEXT NOT NULL,
                status TEXT NOT NULL,           -- claimed | sent | skipped | deferred | bounced | failed
                holder TEXT,
                lease_until TEXT,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt TEXT,
                message_id TEXT NOT NULL,
                covers TEXT NOT NULL DEFAULT '',
                entries INTEGER NOT NULL DEFAULT 0,
                error TEXT,
                claimed_at TEXT NOT NULL,
                finished_at TEXT,
                PRIMARY KEY (subscriber_id, digest_date)
            )""",
            "CREATE INDEX deliveries_status ON deliveries (status, digest_date)",
            # every paper a subscriber was sent (base ids): never again, whatever version (issue 12)
            """CREATE TABLE sent_papers (
                subscriber_id {BIGINT} NOT NULL,
                paper_id TEXT NOT NULL,
                digest_date TEXT NOT NULL,
                PRIMARY KEY (subscriber_id, paper_id)
            )""",
        ],
    ),
    (
        7,
        "the digest's watches embedded once: their query vectors, per model",
        [
            """CREATE TABLE query_vectors (
                model TEXT NOT NULL,
                query TEXT NOT NULL,            -- a watch, as the subscriber wrote it
                vector {BYTES} NOT NULL,        -- float32
                made_at TEXT NOT NULL,
                PRIMARY KEY (model, query)
            )""",
        ],
    ),
    (
        8,
        "the digest's watch results, shared by the senders of a pass",
        [
            """CREATE TABLE watch_results (
                key TEXT PRIMARY KEY,           -- a hash of the index's state, the days covered and the search
                paper_ids TEXT NOT NULL,        -- its hits, best first, one per line
                made_at TEXT NOT NULL
            )""",
            "CREATE INDEX watch_results_made ON watch_results (made_at)",
        ],
    ),
]

LATEST = MIGRATIONS[-1][0]


def statements(dialect: Dialect, sql: list[str]) -> list[str]:
    """A migration's statements for one dialect."""
    out = []
    for s in sql:
        for token, value in _TYPES[dialect].items():
            s = s.replace(token, value)
        out.append(s)
    return out
