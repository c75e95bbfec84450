"""Accounts in the store: users, sign-in nonces, sessions, upvotes, libraries, collections, comments, feedback.

``AccountStore`` is the protocol; ``AccountSQL`` its SQL, shared by both backends (mixed into SQLStore). Every
read and write of a user's data names the user: another account's ids find nothing (A3). Secrets (sign-in
nonces, session ids) are stored hashed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from typing import Any, Protocol

from paperwire.errors import QueryError
from paperwire.models import Collection, Comment, LibraryItem, User

USER_COLUMNS = "id, email, name, status, is_admin, created_at, last_sign_in"
_SESSION_USER_COLUMNS = ", ".join(f"u.{c.strip()}" for c in USER_COLUMNS.split(","))
COLLECTION_COLUMNS = "id, user_id, name, public, share_token, created_at"
COMMENT_COLUMNS = "c.id, c.paper_id, c.user_id, u.name, c.body, c.created_at, c.edited_at, c.hidden_at"
MAX_TAGS = 20  # tags on one saved paper (the page's form takes as many)
# a user's rows in every table that holds them, deleted with the account (A5)
USER_TABLES = ("sessions", "upvotes", "library", "library_tags", "comments", "feedback")
# every accounts table with its columns (the first ones its key), in the order a copy writes them
ACCOUNT_TABLES: dict[str, tuple[str, ...]] = {
    "users": ("id", "email", "name", "status", "is_admin", "created_at", "last_sign_in"),
    "sign_in_tokens": ("nonce_hash", "email", "created_at", "expires_at", "used_at"),
    "sessions": ("id_hash", "user_id", "created_at", "last_seen"),
    "upvotes": ("user_id", "paper_id", "created_at"),
    "library": ("user_id", "paper_id", "saved_at", "note", "read_at"),
    "library_tags": ("user_id", "paper_id", "tag"),
    "collections": ("id", "user_id", "name", "public", "share_token", "created_at"),
    "collection_items": ("collection_id", "paper_id", "added_at"),
    "comments": ("id", "paper_id", "user_id", "body", "created_at", "edited_at", "hidden_at", "hidden_by"),
    "feedback": ("user_id", "paper_id", "kind", "created_at"),
    # the digest's (store/digests.py): subscribers, their ledger, the papers they were sent
    "subscribers": (
        "id",
        "email",
        "user_id",
        "status",
        "prefs",
        "token_version",
        "created_at",
        "confirmed_at",
        "status_at",
        "last_due",
        "reason",
    ),
    "deliveries": (
        "subscriber_id",
        "digest_date",
        "status",
        "holder",
        "lease_until",
        "attempts",
        "next_attempt",
        "message_id",
        "covers",
        "entries",
        "error",
        "claimed_at",
        "finished_at",
    ),
    "sent_papers": ("subscriber_id", "paper_id", "digest_date"),
}
_KEYS = {
    "users": ("id",),
    "sign_in_tokens": ("nonce_hash",),
    "sessions": ("id_hash",),
    "upvotes": ("user_id", "paper_id"),
    "library": ("user_id", "paper_id"),
    "library_tags": ("user_id", "paper_id", "tag"),
    "collections": ("id",),
    "collection_items": ("collection_id", "paper_id"),
    "comments": ("id",),
    "feedback": ("user_id", "paper_id"),
    "subscribers": ("id",),
    "deliveries": ("subscriber_id", "digest_date"),
    "sent_papers": ("subscriber_id", "paper_id"),
}
_IDENTITY = ("users", "collections", "comments", "subscribers")  # ids the database allocates


class AccountStore(Protocol):
    """Users and everything they own (every method names the user whose rows it reads or writes)."""

    def account_rows(self, table: str) -> list[tuple[Any, ...]]:
        """Every row of an accounts table, in key order, as stored (for copies and their checks)."""

    def put_account_rows(self, table: str, rows: Sequence[Sequence[Any]]) -> int:
        """Write rows of an accounts table as they are, ids included; rows already there are kept (a rerun
        writes nothing new). Returns how many were new."""

    def get_user(self, user_id: int) -> User | None:
        """A user by id."""

    def user_by_email(self, email: str) -> User | None:
        """A user by address (compared in lower case)."""

    def list_users(self) -> list[User]:
        """Every user, oldest first."""

    def add_user(self, email: str, status: str, is_admin: bool = False) -> User:
        """Create a user (the address lower-cased); an existing one is returned unchanged."""

    def set_user(
        self,
        user_id: int,
        *,
        status: str | None = None,
        is_admin: bool | None = None,
        name: str | None = None,
    ) -> None:
        """Change a user's status, admin flag or shown name; a disabled user's sessions end."""

    def delete_user(self, user_id: int) -> None:
        """Delete a user and every row tied to them, their unused sign-in links included, in one transaction;
        their upvotes and saves leave the trending counts (today's, so the totals come out right)."""

    def add_sign_in_nonce(self, nonce_hash: str, email: str, expires_at: datetime) -> None:
        """Record an issued sign-in link (its nonce, hashed)."""

    def use_sign_in_nonce(self, nonce_hash: str, now: datetime) -> str | None:
        """Spend a sign-in link once: its address, or None when unknown, already used or expired (two clicks at
        once: one wins, the UPDATE is the claim)."""

    def count_sign_in_nonces(self, email: str, since: datetime) -> int:
        """Links issued to ``email`` since ``since``."""

    def add_session(self, id_hash: str, user_id: int, now: datetime) -> None:
        """Record a new session; the user's sign-in time moves."""

    def session_user(self, id_hash: str, idle_after: datetime, now: datetime) -> User | None:
        """The active user of a session last seen after ``idle_after``; an idle one is dropped. The session's
        last_seen moves at most once an hour (a page view is not a write)."""

    def delete_sessions(self, user_id: int, id_hash: str | None = None) -> int:
        """End one session of the user, or (None) every one: sign out everywhere."""

    def count_sessions(self, user_id: int) -> int:
        """The user's sessions."""

    def set_upvote(self, user_id: int, paper_id: str, on: bool) -> bool:
        """Upvote (or withdraw); returns whether anything changed. The local counts trending reads move with
        it, in the same transaction."""

    def upvote_counts(self, paper_ids: Sequence[str]) -> dict[str, int]:
        """Upvotes by this install's users, per paper (papers with none are absent)."""

    def upvoted(self, user_id: int, paper_ids: Sequence[str] | None = None) -> set[str]:
        """Which of these papers (all, with None) the user upvoted."""

    def save_to_library(
        self,
        user_id: int,
        paper_id: str,
        *,
        tags: Sequence[str] | None = None,
        note: str | None = None,
        read: bool | None = None,
    ) -> bool:
        """Save a paper (or update a saved one: tags replace the old ones, a note replaces the old one;
        None leaves each as it is). Returns whether it was newly saved."""

    def save_many(self, user_id: int, items: Sequence[tuple[str, Sequence[str], str]]) -> int:
        """Save many (paper id, tags, note) at once (an import): papers already saved keep what they have and
        gain the tags; returns how many were new."""

    def remove_from_library(self, user_id: int, paper_id: str) -> bool:
        """Unsave a paper (its tags and note go with it); returns whether it was saved."""

    def library(
        self,
        user_id: int,
        *,
        tag: str | None = None,
        read: bool | None = None,
        paper_ids: Sequence[str] | None = None,
    ) -> list[LibraryItem]:
        """The user's saved papers, newest saved first, optionally with a tag, read or unread, or among ids."""

    def library_tags(self, user_id: int) -> list[tuple[str, int]]:
        """The user's tags with how many papers carry each, most used first."""

    def saved(self, user_id: int, paper_ids: Sequence[str]) -> set[str]:
        """Which of these papers the user saved."""

    def set_feedback(self, user_id: int, paper_id: str, kind: str | None) -> None:
        """Mark a paper dismissed or "more like this" for the user (None: forget the mark)."""

    def feedback(self, user_id: int) -> dict[str, str]:
        """The user's marks: paper id -> dismissed | more."""

    def libraries_of(self, user_ids: Sequence[int]) -> dict[int, tuple[list[str], dict[str, str]]]:
        """Several users' saved paper ids (newest saved first) and marks, in two queries (a digest pass reads
        those of a batch of subscribers at once); every id a key."""

    def add_collection(self, user_id: int, name: str, public: bool, share_token: str) -> Collection:
        """A new named list of the user's."""

    def collections(self, user_id: int) -> list[Collection]:
        """The user's collections, oldest first."""

    def get_collection(self, user_id: int, collection_id: int) -> Collection | None:
        """One of the user's collections (another user's: None)."""

    def collection_by_token(self, share_token: str) -> Collection | None:
        """A collection by its share link's token."""

    def update_collection(
        self, user_id: int, collection_id: int, *, name: str | None = None, public: bool | None = None
    ) -> bool:
        """Rename or publish/unpublish the user's collection; False when it is not theirs."""

    def delete_collection(self, user_id: int, collection_id: int) -> bool:
        """Delete the user's collection; False when it is not theirs."""

    def set_in_collection(self, user_id: int, collection_id: int, paper_id: str, present: bool) -> bool:
        """Add a paper to (or take it out of) the user's collection; False when the collection is not theirs."""

    def collection_papers(self, collection_id: int) -> list[str]:
        """The paper ids of a collection, most recently added first (callers check whose it is)."""

    def add_comment(self, user_id: int, paper_id: str, body: str) -> int:
        """A new comment on a paper; returns its id."""

    def comments(self, paper_id: str, *, with_hidden: bool = False) -> list[Comment]:
        """A paper's comments, oldest first (hidden ones only for admins)."""

    def get_comment(self, comment_id: int) -> Comment | None:
        """One comment by id."""

    def user_comments(self, user_id: int) -> list[Comment]:
        """Everything the user wrote, oldest first."""

    def edit_comment(self, user_id: int, comment_id: int, body: str) -> bool:
        """Change the user's own comment; False when it is not theirs (or is gone)."""

    def delete_comment(self, user_id: int, comment_id: int) -> bool:
        """Delete the user's own comment; False when it is not theirs."""

    def hide_comment(self, admin_id: int, comment_id: int, hidden: bool) -> bool:
        """Hide (or show again) any comment: the callers check that ``admin_id`` is an admin."""

    def count_comments_since(self, user_id: int, since: datetime) -> int:
        """How many comments the user wrote since ``since`` (their rate limit)."""


def _text(*values: str | None) -> None:
    """Refuse text a database cannot hold alike: PostgreSQL's text has no NUL character, SQLite's does; one
    rule for both (W8: a clear 400, never a 500 on one backend only)."""
    for v in values:
        if v is not None and "\x00" in v:
            raise QueryError("text must not contain NUL characters")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _user(row: Sequence[Any]) -> User:
    return User(
        id=int(row[0]),
        email=str(row[1]),
        name=str(row[2] or ""),
        status=str(row[3]),
        is_admin=bool(row[4]),
        created_at=datetime.fromisoformat(str(row[5])),
        last_sign_in=datetime.fromisoformat(str(row[6])) if row[6] else None,
    )


def _dt(v: Any) -> datetime | None:
    return datetime.fromisoformat(str(v)) if v else None


class AccountSQL:
    """The accounts' SQL over SQLStore's helpers (``_all``, ``_one``, ``_write``, ``_q``)."""

    dialect: str

    def _all(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _one(self, sql: str, params: Sequence[object] = ()) -> tuple[Any, ...] | None:
        raise NotImplementedError

    def _write(self, *, changes_papers: bool = False) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _q(self, sql: str) -> str:
        raise NotImplementedError

    def _set_checkpoint(self, c: Any, name: str, value: str | None) -> None:
        raise NotImplementedError

    # -- copies (paperwire db copy) --------------------------------------------------------------

    def account_rows(self, table: str) -> list[tuple[Any, ...]]:
        """Every row of an accounts table, in key order, as stored (for copies and their checks)."""
        cols = ACCOUNT_TABLES[table]
        return self._all(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {', '.join(_KEYS[table])}")

    def put_account_rows(self, table: str, rows: Sequence[Sequence[Any]]) -> int:
        """Write rows of an accounts table as they are, ids included; rows already there are kept (a rerun
        writes nothing new). Returns how many were new."""
        if not rows:
            return 0
        cols = ACCOUNT_TABLES[table]
        override = " OVERRIDING SYSTEM VALUE" if self.dialect == "postgresql" and table in _IDENTITY else ""
        sql = (
            f"INSERT INTO {table} ({', '.join(cols)}){override} VALUES ({', '.join('?' * len(cols))}) "
            f"ON CONFLICT ({', '.join(_KEYS[table])}) DO NOTHING"
        )
        new = 0
        with self._write() as c:
            for row in rows:
                c.execute(self._q(sql), tuple(row))
                new += max(0, int(c.rowcount))
            if (
                self.dialect == "postgresql" and table in _IDENTITY
            ):  # the next allocated id follows the copied
                c.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
                )
        return new

    # -- users ---------------------------------------------------------------------------------

    def get_user(self, user_id: int) -> User | None:
        """A user by id."""
        row = self._one(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (user_id,))
        return _user(row) if row else None

    def user_by_email(self, email: str) -> User | None:
        """A user by address (compared in lower case)."""
        _text(email)
        row = self._one(f"SELECT {USER_COLUMNS} FROM users WHERE email = ?", (email.strip().lower(),))
        return _user(row) if row else None

    def list_users(self) -> list[User]:
        """Every user, oldest first."""
        return [_user(r) for r in self._all(f"SELECT {USER_COLUMNS} FROM users ORDER BY id")]

    def add_user(self, email: str, status: str, is_admin: bool = False) -> User:
        """Create a user (the address lower-cased); an existing one is returned unchanged."""
        email = email.strip().lower()
        _text(email)
        with self._write() as c:
            c.execute(
                self._q(
                    "INSERT INTO users (email, status, is_admin, created_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (email) DO NOTHING"
                ),
                (email, status, int(is_admin), _now()),
            )
        user = self.user_by_email(email)
        assert user is not None
        return user

    def set_user(
        self,
        user_id: int,
        *,
        status: str | None = None,
        is_admin: bool | None = None,
        name: str | None = None,
    ) -> None:
        """Change a user's status, admin flag or shown name; a disabled user's sessions end."""
        _text(status, name)
        with self._write() as c:
            if name is not None:
                c.execute(self._q("UPDATE users SET name = ? WHERE id = ?"), (name, user_id))
            if status is not None:
                c.execute(self._q("UPDATE users SET status = ? WHERE id = ?"), (status, user_id))
                if status == "disabled":
                    c.execute(self._q("DELETE FROM sessions WHERE user_id = ?"), (user_id,))
            if is_admin is not None:
                c.execute(self._q("UPDATE users SET is_admin = ? WHERE id = ?"), (int(is_admin), user_id))

    def delete_user(self, user_id: int) -> None:
        """Delete a user and every row tied to them, their unused sign-in links included, in one transaction;
        their upvotes and saves leave the trending counts (today's, so the totals come out right)."""
        today = datetime.now(UTC).date()
        with self._write() as c:
            c.execute(self._q("SELECT email FROM users WHERE id = ?"), (user_id,))
            row = c.fetchone()
            if row is None:
                return
            for table, kind in (("upvotes", "upvote"), ("library", "save")):
                c.execute(self._q(f"SELECT paper_id FROM {table} WHERE user_id = ?"), (user_id,))
                for (paper_id,) in c.fetchall():
                    self._count(c, str(paper_id), kind, today, -1)
            c.execute(self._q("DELETE FROM sign_in_tokens WHERE email = ?"), (str(row[0]),))
            c.execute(
                self._q(
                    "DELETE FROM collection_items WHERE collection_id IN "
                    "(SELECT id FROM collections WHERE user_id = ?)"
                ),
                (user_id,),
            )
            c.execute(self._q("DELETE FROM collections WHERE user_id = ?"), (user_id,))
            for table in USER_TABLES:
                c.execute(self._q(f"DELETE FROM {table} WHERE user_id = ?"), (user_id,))
            c.execute(self._q("DELETE FROM users WHERE id = ?"), (user_id,))

    # -- sign-in links and sessions ------------------------------------------------------------

    def add_sign_in_nonce(self, nonce_hash: str, email: str, expires_at: datetime) -> None:
        """Record an issued sign-in link (its nonce, hashed)."""
        with self._write() as c:
            c.execute(
                self._q(
                    "INSERT INTO sign_in_tokens (nonce_hash, email, created_at, expires_at) VALUES (?, ?, ?, ?)"
                ),
                (nonce_hash, email.lower(), _now(), expires_at.isoformat(timespec="seconds")),
            )
            # links long expired are of no use to anyone: forget them as new ones come
            c.execute(
                self._q("DELETE FROM sign_in_tokens WHERE expires_at < ?"),
                (datetime.fromtimestamp(expires_at.timestamp() - 7 * 86400, UTC).isoformat(),),
            )

    def use_sign_in_nonce(self, nonce_hash: str, now: datetime) -> str | None:
        """Spend a sign-in link once: its address, or None when unknown, already used or expired (two clicks at
        once: one wins, the UPDATE is the claim)."""
        stamp = now.isoformat(timespec="seconds")
        with self._write() as c:
            c.execute(
                self._q(
                    "UPDATE sign_in_tokens SET used_at = ? "
                    "WHERE nonce_hash = ? AND used_at IS NULL AND expires_at > ?"
                ),
                (stamp, nonce_hash, stamp),
            )
            if c.rowcount != 1:
                return None
            c.execute(self._q("SELECT email FROM sign_in_tokens WHERE nonce_hash = ?"), (nonce_hash,))
            return str(c.fetchone()[0])

    def count_sign_in_nonces(self, email: str, since: datetime) -> int:
        """Links issued to ``email`` since ``since``."""
        row = self._one(
            "SELECT COUNT(*) FROM sign_in_tokens WHERE email = ? AND created_at >= ?",
            (email.lower(), since.isoformat(timespec="seconds")),
        )
        return int(row[0]) if row else 0

    def add_session(self, id_hash: str, user_id: int, now: datetime) -> None:
        """Record a new session; the user's sign-in time moves."""
        stamp = now.isoformat(timespec="seconds")
        with self._write() as c:
            c.execute(
                self._q("INSERT INTO sessions (id_hash, user_id, created_at, last_seen) VALUES (?, ?, ?, ?)"),
                (id_hash, user_id, stamp, stamp),
            )
            c.execute(self._q("UPDATE users SET last_sign_in = ? WHERE id = ?"), (stamp, user_id))

    def session_user(self, id_hash: str, idle_after: datetime, now: datetime) -> User | None:
        """The active user of a session last seen after ``idle_after``; an idle one is dropped. The session's
        last_seen moves at most once an hour (a page view is not a write)."""
        row = self._one(
            f"SELECT {_SESSION_USER_COLUMNS}, s.last_seen FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?",
            (id_hash,),
        )
        if row is None:
            return None
        seen = datetime.fromisoformat(str(row[7]))
        if seen <= idle_after:
            self._run("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))
            return None
        user = _user(row[:7])
        if user.status != "active":
            return None
        if (now - seen).total_seconds() > 3600:
            self._run(
                "UPDATE sessions SET last_seen = ? WHERE id_hash = ?",
                (now.isoformat(timespec="seconds"), id_hash),
            )
        return user

    def delete_sessions(self, user_id: int, id_hash: str | None = None) -> int:
        """End one session of the user, or (None) every one: sign out everywhere."""
        if id_hash is None:
            return self._run("DELETE FROM sessions WHERE user_id = ?", (user_id,))
        return self._run("DELETE FROM sessions WHERE user_id = ? AND id_hash = ?", (user_id, id_hash))

    def count_sessions(self, user_id: int) -> int:
        """The user's sessions."""
        row = self._one("SELECT COUNT(*) FROM sessions WHERE user_id = ?", (user_id,))
        return int(row[0]) if row else 0

    def _count(self, c: Any, paper_id: str, kind: str, day: date, n: int) -> None:
        """Move a local count in the caller's transaction, and the signals stamp trending's caches compare."""
        from paperwire.store.sql import SIGNALS_STAMP  # at call time: sql.py imports this module

        c.execute(
            self._q(
                "INSERT INTO local_counts (paper_id, kind, day, n) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (paper_id, kind, day) DO UPDATE SET n = local_counts.n + excluded.n"
            ),
            (paper_id, kind, day.isoformat(), n),
        )
        self._set_checkpoint(c, SIGNALS_STAMP, uuid.uuid4().hex)

    def _run(self, sql: str, params: Sequence[object]) -> int:
        with self._write() as c:
            c.execute(self._q(sql), params)
            return int(c.rowcount)

    # -- upvotes ---------------------------------------------------------------------------------

    def set_upvote(self, user_id: int, paper_id: str, on: bool) -> bool:
        """Upvote (or withdraw); returns whether anything changed. The local counts trending reads move with
        it, in the same transaction."""
        today = datetime.now(UTC).date()
        with self._write() as c:
            if on:
                c.execute(
                    self._q(
                        "INSERT INTO upvotes (user_id, paper_id, created_at) VALUES (?, ?, ?) "
                        "ON CONFLICT (user_id, paper_id) DO NOTHING"
                    ),
                    (user_id, paper_id, _now()),
                )
            else:
                c.execute(
                    self._q("DELETE FROM upvotes WHERE user_id = ? AND paper_id = ?"), (user_id, paper_id)
                )
            changed = bool(c.rowcount == 1)
            if changed:
                self._count(c, paper_id, "upvote", today, 1 if on else -1)
        return changed

    def upvote_counts(self, paper_ids: Sequence[str]) -> dict[str, int]:
        """Upvotes by this install's users, per paper (papers with none are absent)."""
        if not paper_ids:
            return {}
        marks = ",".join("?" * len(paper_ids))
        rows = self._all(
            f"SELECT paper_id, COUNT(*) FROM upvotes WHERE paper_id IN ({marks}) GROUP BY paper_id",
            list(paper_ids),
        )
        return {str(p): int(n) for p, n in rows}

    def upvoted(self, user_id: int, paper_ids: Sequence[str] | None = None) -> set[str]:
        """Which of these papers (all, with None) the user upvoted."""
        if paper_ids is None:
            rows = self._all("SELECT paper_id FROM upvotes WHERE user_id = ?", (user_id,))
        elif not paper_ids:
            return set()
        else:
            marks = ",".join("?" * len(paper_ids))
            rows = self._all(
                f"SELECT paper_id FROM upvotes WHERE user_id = ? AND paper_id IN ({marks})",
                [user_id, *paper_ids],
            )
        return {str(r[0]) for r in rows}

    # -- library ---------------------------------------------------------------------------------

    def save_to_library(
        self,
        user_id: int,
        paper_id: str,
        *,
        tags: Sequence[str] | None = None,
        note: str | None = None,
        read: bool | None = None,
    ) -> bool:
        """Save a paper (or update a saved one: tags replace the old ones, a note replaces the old one;
        None leaves each as it is). Returns whether it was newly saved."""
        _text(note, *(tags or ()))
        now = _now()
        with self._write() as c:
            c.execute(
                self._q(
                    "INSERT INTO library (user_id, paper_id, saved_at, note) VALUES (?, ?, ?, '') "
                    "ON CONFLICT (user_id, paper_id) DO NOTHING"
                ),
                (user_id, paper_id, now),
            )
            new = bool(c.rowcount == 1)
            if note is not None:
                c.execute(
                    self._q("UPDATE library SET note = ? WHERE user_id = ? AND paper_id = ?"),
                    (note, user_id, paper_id),
                )
            if read is not None:
                c.execute(
                    self._q("UPDATE library SET read_at = ? WHERE user_id = ? AND paper_id = ?"),
                    (now if read else None, user_id, paper_id),
                )
            if tags is not None:
                c.execute(
                    self._q("DELETE FROM library_tags WHERE user_id = ? AND paper_id = ?"),
                    (user_id, paper_id),
                )
                c.executemany(
                    self._q("INSERT INTO library_tags (user_id, paper_id, tag) VALUES (?, ?, ?)"),
                    [(user_id, paper_id, t) for t in dict.fromkeys(tags)],
                )
            if new:
                self._count(c, paper_id, "save", datetime.now(UTC).date(), 1)
        return new

    def save_many(self, user_id: int, items: Sequence[tuple[str, Sequence[str], str]]) -> int:
        """Save many (paper id, tags, note) at once (an import): papers already saved keep what they have and
        gain the tags; returns how many were new."""
        for _, tags, note in items:
            _text(note, *tags)
        now = _now()
        today = datetime.now(UTC).date()
        new = 0
        with self._write() as c:
            for paper_id, tags, note in items:
                c.execute(
                    self._q(
                        "INSERT INTO library (user_id, paper_id, saved_at, note) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (user_id, paper_id) DO NOTHING"
                    ),
                    (user_id, paper_id, now, note),
                )
                if c.rowcount == 1:
                    new += 1
                    self._count(c, paper_id, "save", today, 1)
                c.execute(
                    self._q("SELECT tag FROM library_tags WHERE user_id = ? AND paper_id = ?"),
                    (user_id, paper_id),
                )
                have = {str(r[0]) for r in c.fetchall()}
                room = max(0, MAX_TAGS - len(have))  # a paper keeps at most MAX_TAGS, however many imports
                tags = [t for t in dict.fromkeys(tags) if t not in have][:room]
                c.executemany(
                    self._q(
                        "INSERT INTO library_tags (user_id, paper_id, tag) VALUES (?, ?, ?) "
                        "ON CONFLICT (user_id, paper_id, tag) DO NOTHING"
                    ),
                    [(user_id, paper_id, t) for t in dict.fromkeys(tags)],
                )
        return new

    def remove_from_library(self, user_id: int, paper_id: str) -> bool:
        """Unsave a paper (its tags and note go with it); returns whether it was saved."""
        with self._write() as c:
            c.execute(self._q("DELETE FROM library WHERE user_id = ? AND paper_id = ?"), (user_id, paper_id))
            gone = bool(c.rowcount == 1)
            c.execute(
                self._q("DELETE FROM library_tags WHERE user_id = ? AND paper_id = ?"), (user_id, paper_id)
            )
            if gone:
                self._count(c, paper_id, "save", datetime.now(UTC).date(), -1)
        return gone

    def library(
        self,
        user_id: int,
        *,
        tag: str | None = None,
        read: bool | None = None,
        paper_ids: Sequence[str] | None = None,
    ) -> list[LibraryItem]:
        """The user's saved papers, newest saved first, optionally with a tag, read or unread, or among ids."""
        _text(tag)
        sql = "SELECT l.paper_id, l.saved_at, l.note, l.read_at FROM library l WHERE l.user_id = ?"
        params: list[object] = [user_id]
        if tag is not None:
            sql += " AND EXISTS (SELECT 1 FROM library_tags t WHERE t.user_id = l.user_id AND "
            sql += "t.paper_id = l.paper_id AND t.tag = ?)"
            params.append(tag)
        if read is not None:
            sql += " AND l.read_at IS NOT NULL" if read else " AND l.read_at IS NULL"
        if paper_ids is not None:
            if not paper_ids:
                return []
            sql += f" AND l.paper_id IN ({','.join('?' * len(paper_ids))})"
            params.extend(paper_ids)
        rows = self._all(sql + " ORDER BY l.saved_at DESC, l.paper_id", params)
        tags: dict[str, list[str]] = {}
        tag_sql = "SELECT paper_id, tag FROM library_tags WHERE user_id = ?"
        tag_params: list[object] = [user_id]
        if paper_ids is not None:  # a paper page asks about one paper: read its tags, not the library's
            tag_sql += f" AND paper_id IN ({','.join('?' * len(paper_ids))})"
            tag_params.extend(paper_ids)
        for pid, t in self._all(tag_sql + " ORDER BY tag", tag_params):
            tags.setdefault(str(pid), []).append(str(t))
        return [
            LibraryItem(
                paper_id=str(r[0]),
                saved_at=datetime.fromisoformat(str(r[1])),
                note=str(r[2] or ""),
                read_at=_dt(r[3]),
                tags=tuple(tags.get(str(r[0]), ())),
            )
            for r in rows
        ]

    def library_tags(self, user_id: int) -> list[tuple[str, int]]:
        """The user's tags with how many papers carry each, most used first."""
        rows = self._all(
            "SELECT tag, COUNT(*) FROM library_tags WHERE user_id = ? GROUP BY tag ORDER BY COUNT(*) DESC, tag",
            (user_id,),
        )
        return [(str(t), int(n)) for t, n in rows]

    def saved(self, user_id: int, paper_ids: Sequence[str]) -> set[str]:
        """Which of these papers the user saved."""
        if not paper_ids:
            return set()
        marks = ",".join("?" * len(paper_ids))
        rows = self._all(
            f"SELECT paper_id FROM library WHERE user_id = ? AND paper_id IN ({marks})", [user_id, *paper_ids]
        )
        return {str(r[0]) for r in rows}

    # -- recommendations' feedback -------------------------------------------------------------

    def set_feedback(self, user_id: int, paper_id: str, kind: str | None) -> None:
        """Mark a paper dismissed or "more like this" for the user (None: forget the mark)."""
        with self._write() as c:
            c.execute(self._q("DELETE FROM feedback WHERE user_id = ? AND paper_id = ?"), (user_id, paper_id))
            if kind is not None:
                c.execute(
                    self._q("INSERT INTO feedback (user_id, paper_id, kind, created_at) VALUES (?, ?, ?, ?)"),
                    (user_id, paper_id, kind, _now()),
                )

    def feedback(self, user_id: int) -> dict[str, str]:
        """The user's marks: paper id -> dismissed | more."""
        rows = self._all("SELECT paper_id, kind FROM feedback WHERE user_id = ?", (user_id,))
        return {str(p): str(k) for p, k in rows}

    def libraries_of(self, user_ids: Sequence[int]) -> dict[int, tuple[list[str], dict[str, str]]]:
        """Several users' saved paper ids (newest saved first) and marks, in two queries (a digest pass reads
        those of a batch of subscribers at once); every id a key."""
        ids = sorted(set(user_ids))
        out: dict[int, tuple[list[str], dict[str, str]]] = {i: ([], {}) for i in ids}
        if not ids:
            return out
        marks = ", ".join("?" * len(ids))
        for uid, pid in self._all(
            f"SELECT user_id, paper_id FROM library WHERE user_id IN ({marks}) ORDER BY saved_at DESC, paper_id",
            ids,
        ):
            out[int(uid)][0].append(str(pid))
        for uid, pid, kind in self._all(
            f"SELECT user_id, paper_id, kind FROM feedback WHERE user_id IN ({marks})", ids
        ):
            out[int(uid)][1][str(pid)] = str(kind)
        return out

    # -- collections -----------------------------------------------------------------------------

    def add_collection(self, user_id: int, name: str, public: bool, share_token: str) -> Collection:
        """A new named list of the user's."""
        _text(name, share_token)
        with self._write() as c:
            c.execute(
                self._q(
                    "INSERT INTO collections (user_id, name, public, share_token, created_at) VALUES (?, ?, ?, ?, ?)"
                ),
                (user_id, name, int(public), share_token, _now()),
            )
        got = self.collection_by_token(share_token)
        assert got is not None
        return got

    def collections(self, user_id: int) -> list[Collection]:
        """The user's collections, oldest first."""
        rows = self._all(
            f"SELECT {COLLECTION_COLUMNS} FROM collections WHERE user_id = ? ORDER BY id", (user_id,)
        )
        return [_collection(r) for r in rows]

    def get_collection(self, user_id: int, collection_id: int) -> Collection | None:
        """One of the user's collections (another user's: None)."""
        row = self._one(
            f"SELECT {COLLECTION_COLUMNS} FROM collections WHERE id = ? AND user_id = ?",
            (collection_id, user_id),
        )
        return _collection(row) if row else None

    def collection_by_token(self, share_token: str) -> Collection | None:
        """A collection by its share link's token."""
        _text(share_token)
        row = self._one(f"SELECT {COLLECTION_COLUMNS} FROM collections WHERE share_token = ?", (share_token,))
        return _collection(row) if row else None

    def update_collection(
        self, user_id: int, collection_id: int, *, name: str | None = None, public: bool | None = None
    ) -> bool:
        """Rename or publish/unpublish the user's collection; False when it is not theirs."""
        _text(name)
        with self._write() as c:
            c.execute(
                self._q("SELECT 1 FROM collections WHERE id = ? AND user_id = ?"), (collection_id, user_id)
            )
            if c.fetchone() is None:
                return False
            if name is not None:
                c.execute(self._q("UPDATE collections SET name = ? WHERE id = ?"), (name, collection_id))
            if public is not None:
                c.execute(
                    self._q("UPDATE collections SET public = ? WHERE id = ?"), (int(public), collection_id)
                )
        return True

    def delete_collection(self, user_id: int, collection_id: int) -> bool:
        """Delete the user's collection; False when it is not theirs."""
        with self._write() as c:
            c.execute(
                self._q("DELETE FROM collections WHERE id = ? AND user_id = ?"), (collection_id, user_id)
            )
            if c.rowcount != 1:
                return False
            c.execute(self._q("DELETE FROM collection_items WHERE collection_id = ?"), (collection_id,))
        return True

    def set_in_collection(self, user_id: int, collection_id: int, paper_id: str, present: bool) -> bool:
        """Add a paper to (or take it out of) the user's collection; False when the collection is not theirs."""
        with self._write() as c:
            c.execute(
                self._q("SELECT 1 FROM collections WHERE id = ? AND user_id = ?"), (collection_id, user_id)
            )
            if c.fetchone() is None:
                return False
            if present:
                c.execute(
                    self._q(
                        "INSERT INTO collection_items (collection_id, paper_id, added_at) VALUES (?, ?, ?) "
                        "ON CONFLICT (collection_id, paper_id) DO NOTHING"
                    ),
                    (collection_id, paper_id, _now()),
                )
            else:
                c.execute(
                    self._q("DELETE FROM collection_items WHERE collection_id = ? AND paper_id = ?"),
                    (collection_id, paper_id),
                )
        return True

    def collection_papers(self, collection_id: int) -> list[str]:
        """The paper ids of a collection, most recently added first (callers check whose it is)."""
        rows = self._all(
            "SELECT paper_id FROM collection_items WHERE collection_id = ? ORDER BY added_at DESC, paper_id",
            (collection_id,),
        )
        return [str(r[0]) for r in rows]

    # -- comments --------------------------------------------------------------------------------

    def add_comment(self, user_id: int, paper_id: str, body: str) -> int:
        """A new comment on a paper; returns its id."""
        _text(body)
        with self._write() as c:
            c.execute(
                self._q("INSERT INTO comments (paper_id, user_id, body, created_at) VALUES (?, ?, ?, ?)"),
                (paper_id, user_id, body, _now()),
            )
            c.execute(
                self._q("SELECT MAX(id) FROM comments WHERE user_id = ? AND paper_id = ?"),
                (user_id, paper_id),
            )
            return int(c.fetchone()[0])

    def comments(self, paper_id: str, *, with_hidden: bool = False) -> list[Comment]:
        """A paper's comments, oldest first (hidden ones only for admins)."""
        sql = (
            f"SELECT {COMMENT_COLUMNS} FROM comments c JOIN users u ON u.id = c.user_id WHERE c.paper_id = ?"
        )
        if not with_hidden:
            sql += " AND c.hidden_at IS NULL"
        return [_comment(r) for r in self._all(sql + " ORDER BY c.created_at, c.id", (paper_id,))]

    def get_comment(self, comment_id: int) -> Comment | None:
        """One comment by id."""
        row = self._one(
            f"SELECT {COMMENT_COLUMNS} FROM comments c JOIN users u ON u.id = c.user_id WHERE c.id = ?",
            (comment_id,),
        )
        return _comment(row) if row else None

    def user_comments(self, user_id: int) -> list[Comment]:
        """Everything the user wrote, oldest first."""
        rows = self._all(
            f"SELECT {COMMENT_COLUMNS} FROM comments c JOIN users u ON u.id = c.user_id WHERE c.user_id = ? "
            "ORDER BY c.created_at, c.id",
            (user_id,),
        )
        return [_comment(r) for r in rows]

    def edit_comment(self, user_id: int, comment_id: int, body: str) -> bool:
        """Change the user's own comment; False when it is not theirs (or is gone)."""
        _text(body)
        return (
            self._run(
                "UPDATE comments SET body = ?, edited_at = ? WHERE id = ? AND user_id = ?",
                (body, _now(), comment_id, user_id),
            )
            == 1
        )

    def delete_comment(self, user_id: int, comment_id: int) -> bool:
        """Delete the user's own comment; False when it is not theirs."""
        return self._run("DELETE FROM comments WHERE id = ? AND user_id = ?", (comment_id, user_id)) == 1

    def hide_comment(self, admin_id: int, comment_id: int, hidden: bool) -> bool:
        """Hide (or show again) any comment: the callers check that ``admin_id`` is an admin."""
        if hidden:
            return (
                self._run(
                    "UPDATE comments SET hidden_at = ?, hidden_by = ? WHERE id = ?",
                    (_now(), admin_id, comment_id),
                )
                == 1
            )
        return (
            self._run("UPDATE comments SET hidden_at = NULL, hidden_by = NULL WHERE id = ?", (comment_id,))
            == 1
        )

    def count_comments_since(self, user_id: int, since: datetime) -> int:
        """How many comments the user wrote since ``since`` (their rate limit)."""
        row = self._one(
            "SELECT COUNT(*) FROM comments WHERE user_id = ? AND created_at >= ?",
            (user_id, since.isoformat(timespec="seconds")),
        )
        return int(row[0]) if row else 0


def _collection(row: Sequence[Any]) -> Collection:
    return Collection(
        id=int(row[0]),
        user_id=int(row[1]),
        name=str(row[2]),
        public=bool(row[3]),
        share_token=str(row[4]),
        created_at=datetime.fromisoformat(str(row[5])),
    )


def _comment(row: Sequence[Any]) -> Comment:
    return Comment(
        id=int(row[0]),
        paper_id=str(row[1]),
        user_id=int(row[2]),
        author=str(row[3]),
        body=str(row[4]),
        created_at=datetime.fromisoformat(str(row[5])),
        edited_at=_dt(row[6]),
        hidden=row[7] is not None,
    )
