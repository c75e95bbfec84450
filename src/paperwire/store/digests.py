"""The daily digest in the store: subscribers, the delivery ledger, and the papers each subscriber was sent.

``DigestSQL`` is mixed into SQLStore. The ledger holds one row per (subscriber, digest date), claimed before a
digest is sent and finished after the mail server accepts it (RELIABILITY M5): two senders, a rerun, or a runner
back from downtime never send a subscriber's digest twice. A claim is a lease: one abandoned by a crashed sender
is taken over when it runs out. Papers sent are kept by base id (any version: never again). Watches' vectors are
kept per model, so a watch is embedded once, not in every pass.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from typing import Any, Protocol, TypeVar

import numpy as np

from paperwire.models import Delivery, Finish, Subscriber

SUBSCRIBER_COLUMNS = (
    "id, email, status, prefs, token_version, created_at, status_at, user_id, confirmed_at, last_due, reason"
)
DELIVERY_COLUMNS = "subscriber_id, digest_date, status, attempts, message_id, covers, entries, error, next_attempt, finished_at"
FINAL = ("sent", "skipped", "bounced", "failed")  # a delivery in one of these is done for good
T = TypeVar("T")
_CHUNK = 500  # watches looked up in one statement
_ROWS = 200  # rows written by one statement (a multi-row INSERT: one execution, however many rows)


class DigestStore(Protocol):
    """Subscribers, the delivery ledger and the papers sent (RELIABILITY M4, M5)."""

    def subscribe(self, email: str, prefs: str, now: datetime, user_id: int | None = None) -> Subscriber:
        """A subscription asked for: a new address is pending (it confirms by mail); a pending one takes the
        new preferences; an unsubscribed one is pending again; an active or suppressed one is left as it is
        (the caller answers the same whatever happened: M8)."""

    def get_subscriber(self, subscriber_id: int) -> Subscriber | None:
        """A subscriber by id."""

    def subscriber_by_email(self, email: str) -> Subscriber | None:
        """A subscriber by (lower-case) address."""

    def subscribers(self, status: str | None = "active") -> list[Subscriber]:
        """Subscribers with a status (None: all), oldest first."""

    def set_subscriber_status(
        self, subscriber_id: int, status: str, now: datetime, reason: str | None = None
    ) -> bool:
        """Confirm (active), unsubscribe or suppress; returns whether the status changed. Leaving a status
        revokes every link mailed before (their token version no longer matches)."""

    def set_subscriber_prefs(self, subscriber_id: int, prefs: str) -> None:
        """Replace a subscriber's preferences (JSON)."""

    def claim_delivery(
        self,
        subscriber_id: int,
        digest_date: date,
        message_id: str,
        holder: str,
        lease_until: datetime,
        now: datetime,
    ) -> bool:
        """Claim a subscriber's digest of ``digest_date`` for ``holder``: True when this holder may send it
        (a new row; or a claim whose lease ran out; or a deferred one whose next attempt is due); False when
        it is done, or another holder's claim is alive."""

    def claim_deliveries(
        self,
        claims: Sequence[tuple[int, date, str]],
        holder: str,
        lease_until: datetime,
        now: datetime,
    ) -> set[int]:
        """Several claims (subscriber id, digest date, Message-ID) in one transaction, as ``claim_delivery``
        makes each; the subscriber ids this holder won."""

    def finish_delivery(
        self,
        subscriber_id: int,
        digest_date: date,
        holder: str,
        status: str,
        now: datetime,
        *,
        due: datetime | None = None,
        paper_ids: Sequence[str] = (),
        covers: str = "",
        error: str | None = None,
        next_attempt: datetime | None = None,
    ) -> bool:
        """Record how a claimed delivery ended, in one transaction: ``sent`` or ``skipped`` (nothing to send)
        moves the subscriber's last digest to ``due`` and (sent) remembers the papers; ``deferred`` waits for
        ``next_attempt``; ``bounced`` / ``failed`` are final. False when the claim is no longer this holder's
        (its lease ran out and another took it): nothing is written."""

    def finish_deliveries(self, finishes: Sequence[Finish], holder: str) -> list[bool]:
        """``finish_delivery`` for several claims of ``holder`` in one transaction (one commit); for each,
        whether it was written."""

    def get_delivery(self, subscriber_id: int, digest_date: date) -> Delivery | None:
        """One ledger row."""

    def deliveries(self, subscriber_id: int | None = None, since: date | None = None) -> list[Delivery]:
        """Ledger rows (of one subscriber, or all), on or after ``since``, oldest first."""

    def delivery_counts(self, since: date | None = None) -> dict[str, int]:
        """How many deliveries ended in each status on or after ``since``."""

    def subscriber_counts(self) -> dict[str, int]:
        """How many subscribers are in each status."""

    def sent_paper_ids(self, subscriber_id: int) -> set[str]:
        """Every paper (base id) the subscriber was ever sent."""

    def sent_papers_of(self, subscriber_ids: Collection[int]) -> dict[int, set[str]]:
        """``sent_paper_ids`` of several subscribers in one query (each id a key, an empty set when none)."""

    def query_vectors(self, model: str, queries: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors (float32) of these watches for ``model``: those embedded in an earlier pass."""

    def put_query_vectors(self, model: str, vectors: Mapping[str, np.ndarray], now: datetime) -> None:
        """Keep watches' vectors for ``model`` (one already kept stays as it is)."""

    def prune_query_vectors(self, model: str, keep: Collection[str]) -> int:
        """Forget the vectors of watches no subscriber has any more (an unsubscribed or deleted subscriber's
        watches leave no trace); how many went."""

    def watch_results(self, keys: Sequence[str]) -> dict[str, list[str]]:
        """Searches a digest sender ran and kept for the others (``put_watch_results``): key -> paper ids."""

    def put_watch_results(self, results: Mapping[str, Sequence[str]], now: datetime) -> None:
        """Keep searches' hits (paper ids, best first) under their keys for the other senders of a pass (a key
        kept already stays as it is)."""

    def prune_watch_results(self, before: datetime) -> int:
        """Forget the searches kept before ``before``; how many went."""


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _values(row: str, n: int) -> str:
    """``n`` rows of a multi-row VALUES list."""
    return ", ".join([row] * n)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds")


def _dt(v: Any) -> datetime | None:
    return datetime.fromisoformat(str(v)) if v else None


def _subscriber(r: Sequence[Any]) -> Subscriber:
    return Subscriber(
        id=int(r[0]),
        email=str(r[1]),
        status=str(r[2]),
        prefs=str(r[3]),
        token_version=int(r[4]),
        created_at=datetime.fromisoformat(str(r[5])),
        status_at=datetime.fromisoformat(str(r[6])),
        user_id=int(r[7]) if r[7] is not None else None,
        confirmed_at=_dt(r[8]),
        last_due=_dt(r[9]),
        reason=str(r[10]) if r[10] is not None else None,
    )


def _delivery(r: Sequence[Any]) -> Delivery:
    return Delivery(
        subscriber_id=int(r[0]),
        digest_date=date.fromisoformat(str(r[1])),
        status=str(r[2]),
        attempts=int(r[3]),
        message_id=str(r[4]),
        covers=str(r[5] or ""),
        entries=int(r[6] or 0),
        error=str(r[7]) if r[7] is not None else None,
        next_attempt=_dt(r[8]),
        finished_at=_dt(r[9]),
    )


class DigestSQL:
    """The digest's SQL over SQLStore's helpers (``_all``, ``_one``, ``_write``, ``_q``)."""

    def _all(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _one(self, sql: str, params: Sequence[object] = ()) -> tuple[Any, ...] | None:
        raise NotImplementedError

    def _write(self, *, changes_papers: bool = False) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _q(self, sql: str) -> str:
        raise NotImplementedError

    # -- subscribers -----------------------------------------------------------------------------

    def subscribe(self, email: str, prefs: str, now: datetime, user_id: int | None = None) -> Subscriber:
        """A subscription asked for: a new address is pending (it confirms by mail); a pending one takes the
        new preferences; an unsubscribed one is pending again; an active or suppressed one is left as it is
        (the caller answers the same whatever happened: M8)."""
        email = email.strip().lower()
        stamp = _iso(now)
        with self._write() as c:
            c.execute(
                self._q(
                    "INSERT INTO subscribers (email, user_id, status, prefs, created_at, status_at) "
                    "VALUES (?, ?, 'pending', ?, ?, ?) ON CONFLICT (email) DO NOTHING"
                ),
                (email, user_id, prefs, stamp, stamp),
            )
            if c.rowcount != 1:
                c.execute(
                    self._q(
                        "UPDATE subscribers SET status = 'pending', prefs = ?, status_at = ?, reason = NULL, "
                        "user_id = COALESCE(?, user_id) WHERE email = ? AND status IN ('pending', 'unsubscribed')"
                    ),
                    (prefs, stamp, user_id, email),
                )
        got = self.subscriber_by_email(email)
        assert got is not None
        return got

    def get_subscriber(self, subscriber_id: int) -> Subscriber | None:
        """A subscriber by id."""
        row = self._one(f"SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE id = ?", (subscriber_id,))
        return _subscriber(row) if row else None

    def subscriber_by_email(self, email: str) -> Subscriber | None:
        """A subscriber by (lower-case) address."""
        row = self._one(
            f"SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE email = ?", (email.strip().lower(),)
        )
        return _subscriber(row) if row else None

    def subscribers(self, status: str | None = "active") -> list[Subscriber]:
        """Subscribers with a status (None: all), oldest first."""
        if status is None:
            rows = self._all(f"SELECT {SUBSCRIBER_COLUMNS} FROM subscribers ORDER BY id")
        else:
            rows = self._all(
                f"SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE status = ? ORDER BY id", (status,)
            )
        return [_subscriber(r) for r in rows]

    def set_subscriber_status(
        self, subscriber_id: int, status: str, now: datetime, reason: str | None = None
    ) -> bool:
        """Confirm (active), unsubscribe or suppress; returns whether the status changed. Leaving a status
        revokes every link mailed before (their token version no longer matches)."""
        stamp = _iso(now)
        confirmed = ", confirmed_at = COALESCE(confirmed_at, ?)" if status == "active" else ""
        params: list[object] = [status, stamp, reason]
        if confirmed:
            params.append(stamp)
        params += [subscriber_id, status]
        with self._write() as c:
            c.execute(
                self._q(
                    f"UPDATE subscribers SET status = ?, status_at = ?, reason = ?{confirmed}, "
                    "token_version = token_version + 1 WHERE id = ? AND status <> ?"
                ),
                params,
            )
            return bool(c.rowcount == 1)

    def set_subscriber_prefs(self, subscriber_id: int, prefs: str) -> None:
        """Replace a subscriber's preferences (JSON)."""
        with self._write() as c:
            c.execute(self._q("UPDATE subscribers SET prefs = ? WHERE id = ?"), (prefs, subscriber_id))

    # -- the delivery ledger ---------------------------------------------------------------------

    def claim_delivery(
        self,
        subscriber_id: int,
        digest_date: date,
        message_id: str,
        holder: str,
        lease_until: datetime,
        now: datetime,
    ) -> bool:
        """Claim a subscriber's digest of ``digest_date`` for ``holder``: True when this holder may send it
        (a new row; or a claim whose lease ran out; or a deferred one whose next attempt is due); False when
        it is done, or another holder's claim is alive."""
        return subscriber_id in self.claim_deliveries(
            [(subscriber_id, digest_date, message_id)], holder, lease_until, now
        )

    def claim_deliveries(
        self,
        claims: Sequence[tuple[int, date, str]],
        holder: str,
        lease_until: datetime,
        now: datetime,
    ) -> set[int]:
        """Several claims (subscriber id, digest date, Message-ID) in one transaction, as ``claim_delivery``
        makes each; the subscriber ids this holder won."""
        stamp, lease = _iso(now), _iso(lease_until)
        # one lock order for every sender (two batches sharing rows never wait on each other in a ring)
        rows = sorted({(s, d.isoformat()): m for s, d, m in claims}.items())
        won: set[int] = set()
        with self._write() as c:
            for part in _chunks(rows, _ROWS):
                # one statement a batch: a new row is claimed; a row there is taken over only when its lease ran
                # out or its deferral is due (the WHERE of DO UPDATE); RETURNING names the rows this holder won
                c.execute(
                    self._q(
                        "INSERT INTO deliveries (subscriber_id, digest_date, status, holder, lease_until, "
                        "attempts, message_id, claimed_at) VALUES "
                        + _values("(?, ?, 'claimed', ?, ?, 1, ?, ?)", len(part))
                        + " ON CONFLICT (subscriber_id, digest_date) DO UPDATE SET status = 'claimed', "
                        "holder = excluded.holder, lease_until = excluded.lease_until, "
                        "attempts = deliveries.attempts + 1, claimed_at = excluded.claimed_at "
                        "WHERE (deliveries.status = 'claimed' AND deliveries.lease_until < ?) OR "
                        "(deliveries.status = 'deferred' AND deliveries.next_attempt <= ?) RETURNING subscriber_id"
                    ),
                    [v for (sid, day), mid in part for v in (sid, day, holder, lease, mid, stamp)]
                    + [stamp, stamp],
                )
                won.update(int(r[0]) for r in c.fetchall())
        return won
        with self._write() as c:
            for subscriber_id, digest_date, message_id in claims:
                day = digest_date.isoformat()
                c.execute(
                    self._q(
                        "INSERT INTO deliveries (subscriber_id, digest_date, status, holder, lease_until, "
                        "attempts, message_id, claimed_at) VALUES (?, ?, 'claimed', ?, ?, 1, ?, ?) "
                        "ON CONFLICT (subscriber_id, digest_date) DO NOTHING"
                    ),
                    (subscriber_id, day, holder, lease, message_id, stamp),
                )
                if c.rowcount != 1:
                    c.execute(
                        self._q(
                            "UPDATE deliveries SET status = 'claimed', holder = ?, lease_until = ?, "
                            "attempts = attempts + 1, claimed_at = ? WHERE subscriber_id = ? AND digest_date = ? "
                            "AND ((status = 'claimed' AND lease_until < ?) OR "
                            "(status = 'deferred' AND next_attempt <= ?))"
                        ),
                        (holder, lease, stamp, subscriber_id, day, stamp, stamp),
                    )
                if c.rowcount == 1:
                    won.add(subscriber_id)
        return won

    def finish_delivery(
        self,
        subscriber_id: int,
        digest_date: date,
        holder: str,
        status: str,
        now: datetime,
        *,
        due: datetime | None = None,
        paper_ids: Sequence[str] = (),
        covers: str = "",
        error: str | None = None,
        next_attempt: datetime | None = None,
    ) -> bool:
        """Record how a claimed delivery ended, in one transaction: ``sent`` or ``skipped`` (nothing to send)
        moves the subscriber's last digest to ``due`` and (sent) remembers the papers; ``deferred`` waits for
        ``next_attempt``; ``bounced`` / ``failed`` are final. False when the claim is no longer this holder's
        (its lease ran out and another took it): nothing is written."""
        f = Finish(
            subscriber_id, digest_date, status, now, due, tuple(paper_ids), covers, error, next_attempt
        )
        return self.finish_deliveries([f], holder)[0]

    def finish_deliveries(self, finishes: Sequence[Finish], holder: str) -> list[bool]:
        """``finish_delivery`` for several claims of ``holder`` in one transaction (one commit); for each,
        whether it was written."""
        done: dict[int, bool] = {}
        sent: list[tuple[int, str, str]] = []
        # rows locked in the claims' order (by subscriber, then date): a finish and another sender's claim batch
        # that reaches the same rows never wait on each other in a ring
        order = sorted(
            range(len(finishes)), key=lambda k: (finishes[k].subscriber_id, finishes[k].digest_date)
        )
        with self._write() as c:
            for k in order:
                f = finishes[k]
                c.execute(
                    self._q(
                        "UPDATE deliveries SET status = ?, error = ?, next_attempt = ?, covers = ?, entries = ?, "
                        "finished_at = ?, lease_until = NULL WHERE subscriber_id = ? AND digest_date = ? "
                        "AND holder = ? AND status = 'claimed'"
                    ),
                    (
                        f.status,
                        f.error,
                        _iso(f.next_attempt) if f.next_attempt else None,
                        f.covers,
                        len(f.paper_ids),
                        _iso(f.at),
                        f.subscriber_id,
                        f.digest_date.isoformat(),
                        holder,
                    ),
                )
                done[k] = c.rowcount == 1
                if c.rowcount != 1:
                    continue
                if f.status in ("sent", "skipped") and f.due is not None:
                    c.execute(
                        self._q(
                            "UPDATE subscribers SET last_due = ? WHERE id = ? AND (last_due IS NULL OR last_due < ?)"
                        ),
                        (_iso(f.due), f.subscriber_id, _iso(f.due)),
                    )
                if f.status == "sent":
                    day = f.digest_date.isoformat()
                    sent.extend((f.subscriber_id, p, day) for p in dict.fromkeys(f.paper_ids))
            # the papers of every digest here, in as few statements as rows allow: one execution, not one a paper
            self._insert_rows(
                c, "sent_papers (subscriber_id, paper_id, digest_date)", "(subscriber_id, paper_id)", sent
            )
        return [done[k] for k in range(len(finishes))]

    def _insert_rows(self, c: Any, into: str, key: str, rows: Sequence[tuple[object, ...]]) -> None:
        """``rows`` into ``into`` ("table (columns)") by multi-row INSERTs (one execution however many rows), a
        row whose ``key`` is there already left as it is."""
        for part in _chunks(rows, _ROWS):
            c.execute(
                self._q(
                    f"INSERT INTO {into} VALUES "
                    + _values("(" + ", ".join("?" * len(part[0])) + ")", len(part))
                    + f" ON CONFLICT {key} DO NOTHING"
                ),
                [v for row in part for v in row],
            )

    def get_delivery(self, subscriber_id: int, digest_date: date) -> Delivery | None:
        """One ledger row."""
        row = self._one(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE subscriber_id = ? AND digest_date = ?",
            (subscriber_id, digest_date.isoformat()),
        )
        return _delivery(row) if row else None

    def deliveries(self, subscriber_id: int | None = None, since: date | None = None) -> list[Delivery]:
        """Ledger rows (of one subscriber, or all), on or after ``since``, oldest first."""
        sql = f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE digest_date >= ?"
        params: list[object] = [(since or date.min).isoformat()]
        if subscriber_id is not None:
            sql += " AND subscriber_id = ?"
            params.append(subscriber_id)
        return [_delivery(r) for r in self._all(sql + " ORDER BY digest_date, subscriber_id", params)]

    def delivery_counts(self, since: date | None = None) -> dict[str, int]:
        """How many deliveries ended in each status on or after ``since``."""
        rows = self._all(
            "SELECT status, COUNT(*) FROM deliveries WHERE digest_date >= ? GROUP BY status",
            ((since or date.min).isoformat(),),
        )
        return {str(s): int(n) for s, n in rows}

    def subscriber_counts(self) -> dict[str, int]:
        """How many subscribers are in each status."""
        rows = self._all("SELECT status, COUNT(*) FROM subscribers GROUP BY status")
        return {str(s): int(n) for s, n in rows}

    def sent_paper_ids(self, subscriber_id: int) -> set[str]:
        """Every paper (base id) the subscriber was ever sent."""
        return self.sent_papers_of([subscriber_id])[subscriber_id]

    def sent_papers_of(self, subscriber_ids: Collection[int]) -> dict[int, set[str]]:
        """``sent_paper_ids`` of several subscribers in one query (each id a key, an empty set when none)."""
        ids = sorted(set(subscriber_ids))
        out: dict[int, set[str]] = {i: set() for i in ids}
        for part in _chunks(ids, _CHUNK):
            rows = self._all(
                "SELECT subscriber_id, paper_id FROM sent_papers "
                f"WHERE subscriber_id IN ({', '.join('?' * len(part))})",
                part,
            )
            for sid, pid in rows:
                out[int(sid)].add(str(pid))
        return out

    # -- the watches' vectors --------------------------------------------------------------------

    def query_vectors(self, model: str, queries: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors (float32) of these watches for ``model``: those embedded in an earlier pass."""
        out: dict[str, np.ndarray] = {}
        wanted = list(dict.fromkeys(queries))
        for part in _chunks(wanted, _CHUNK):
            rows = self._all(
                f"SELECT query, vector FROM query_vectors WHERE model = ? AND query IN ({', '.join('?' * len(part))})",
                (model, *part),
            )
            out.update((str(q), np.frombuffer(bytes(v), dtype=np.float32)) for q, v in rows)
        return out

    def put_query_vectors(self, model: str, vectors: Mapping[str, np.ndarray], now: datetime) -> None:
        """Keep watches' vectors for ``model`` (one already kept stays as it is)."""
        if not vectors:
            return
        stamp = _iso(now)
        with self._write() as c:
            c.executemany(
                self._q(
                    "INSERT INTO query_vectors (model, query, vector, made_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (model, query) DO NOTHING"
                ),
                [(model, q, np.asarray(v, dtype=np.float32).tobytes(), stamp) for q, v in vectors.items()],
            )

    def prune_query_vectors(self, model: str, keep: Collection[str]) -> int:
        """Forget the vectors of watches no subscriber has any more (an unsubscribed or deleted subscriber's
        watches leave no trace); how many went."""
        kept = set(keep)
        rows = self._all("SELECT query FROM query_vectors WHERE model = ?", (model,))
        gone = [str(r[0]) for r in rows if str(r[0]) not in kept]
        if gone:
            with self._write() as c:
                c.executemany(
                    self._q("DELETE FROM query_vectors WHERE model = ? AND query = ?"),
                    [(model, q) for q in gone],
                )
        return len(gone)

    # -- the watches' results, shared by a pass's senders ----------------------------------------------

    def watch_results(self, keys: Sequence[str]) -> dict[str, list[str]]:
        """Searches a digest sender ran and kept for the others (``put_watch_results``): key -> paper ids."""
        out: dict[str, list[str]] = {}
        wanted = list(dict.fromkeys(keys))
        for part in _chunks(wanted, _CHUNK):
            rows = self._all(
                f"SELECT key, paper_ids FROM watch_results WHERE key IN ({', '.join('?' * len(part))})", part
            )
            out.update((str(k), str(v).split("\n") if v else []) for k, v in rows)
        return out

    def put_watch_results(self, results: Mapping[str, Sequence[str]], now: datetime) -> None:
        """Keep searches' hits (paper ids, best first) under their keys for the other senders of a pass (a key
        kept already stays as it is)."""
        rows = [(k, "\n".join(ids)) for k, ids in sorted(results.items())]  # one lock order for every sender
        if not rows:
            return
        stamp = _iso(now)
        with self._write() as c:
            self._insert_rows(
                c, "watch_results (key, paper_ids, made_at)", "(key)", [(*r, stamp) for r in rows]
            )

    def prune_watch_results(self, before: datetime) -> int:
        """Forget the searches kept before ``before``; how many went."""
        with self._write() as c:
            c.execute(self._q("DELETE FROM watch_results WHERE made_at < ?"), (_iso(before),))
            return max(0, int(c.rowcount))
