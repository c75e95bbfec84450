"""Sending the digests that are due, each exactly once (RELIABILITY M1, M5, M6).

For every active subscriber, ``schedule.digest_due`` says whether a digest is due and which announcements it
covers; the delivery ledger is claimed for (subscriber, digest date) before anything is composed, the mail
carries a deterministic Message-ID, and the ledger row is finished after the mail server accepted it (with the
papers sent, so no version of them comes again). A 5xx bounce suppresses the address; a 4xx is retried with
backoff, then suppressed after ``MAX_ATTEMPTS``. Two senders at once, a rerun, or a runner back from downtime
send nothing twice: the claim decides. A digest whose newest listing the harvest has not brought yet waits (up
to ``digest_wait_hours``) rather than go out short.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from paperwire.app_context import Paperwire
from paperwire.digest.compose import Digest, DigestPrefs, compose_digest
from paperwire.digest.links import DigestTokens
from paperwire.digest.render import DigestLinks, RenderedDigest, render_digest
from paperwire.digest.schedule import DueDigest, calendar_of, digest_due
from paperwire.errors import (
    DigestPrefsError,
    MailDeferred,
    MailError,
    MailRejected,
    PaperwireError,
    QueryError,
)
from paperwire.mail import Mail, Mailer, mask_address
from paperwire.models import Finish, Paper, Subscriber
from paperwire.recommend import LibraryError, WindowRecommender
from paperwire.search.hybrid import Mode, Sort
from paperwire.store import Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # a 4xx this many times: the address is suppressed (M6)
LEASE = timedelta(minutes=10)  # a claim a crashed sender left is taken over after this
PER_SECTION = 30  # candidates read per watch / category before composing
# papers of the covered days kept in memory during a pass (a week of all of arXiv: ~15,000)
LISTING_READ = 20_000
CLAIM_BATCH = 16  # digests claimed in one transaction, then composed and sent one by one (a sender that dies
# mid-batch leaves up to this many claims for the next sender to take over after the lease)
LEDGER_PENDING = 8  # digests sent whose records may wait for the ledger's writer (see LedgerWriter)
SHARED_FOR = timedelta(days=1)  # searches kept for the other senders of a pass are forgotten after this


def backoff(attempts: int) -> timedelta:
    """How long a deferred digest waits before its next try: 5 min, 15 min, 45 min, ... at most 6 h."""
    return min(timedelta(minutes=5 * 3 ** max(0, attempts - 1)), timedelta(hours=6))


def prefs_of(sub: Subscriber) -> DigestPrefs:
    """A subscriber's preferences (the defaults where the stored JSON cannot be read)."""
    try:
        raw = json.loads(sub.prefs)
        raw["watches"] = tuple(raw.get("watches", ()))
        raw["categories"] = tuple(raw.get("categories", ()))
        return DigestPrefs(**raw)
    except (ValueError, TypeError, DigestPrefsError):
        log.warning("subscriber %d: unreadable preferences, the defaults are used", sub.id)
        return DigestPrefs()


def prefs_json(prefs: DigestPrefs) -> str:
    """Preferences as the store keeps them."""
    data = asdict(prefs)
    data["watches"] = list(prefs.watches)
    data["categories"] = list(prefs.categories)
    return json.dumps(data, sort_keys=True)


def message_id(sub: Subscriber, digest_date: date, domain: str) -> str:
    """The digest's Message-ID: the same for every try of it, so a receiver can drop a copy (M5)."""
    return f"<digest-{sub.id}-{digest_date.isoformat()}@{domain}>"


class LedgerWriter:
    """Records the digests a sender has sent from a thread of its own, those waiting together in one transaction:
    the sender composes and sends the next digest while the database commits (on PostgreSQL a durable commit
    takes milliseconds; several senders at once queue on it).

    Exactly-once (M5) keeps its shape: a digest is claimed before it is sent and recorded after the mail server
    took it; a sender that dies between the two leaves its claim to be taken over after the lease, and at most
    ``max_pending`` digests sent and not yet recorded (those being recorded included; it was one). A failed
    write stops the pass: ``put`` and ``close`` raise it."""

    def __init__(self, store: Store, holder: str, max_pending: int = LEDGER_PENDING) -> None:
        self.store, self.holder, self.max_pending = store, holder, max_pending
        self._cv = threading.Condition()
        self._pending: list[Finish] = []
        self._writing = 0  # how many the thread is recording now
        self._closed = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="paperwire-digest-ledger")
        self._thread.start()

    def put(self, finish: Finish) -> None:
        """Record ``finish`` soon (waits while ``max_pending`` are unwritten)."""
        with self._cv:
            while len(self._pending) + self._writing >= self.max_pending and self._error is None:
                self._cv.wait()
            self._raise()
            self._pending.append(finish)
            self._cv.notify_all()

    def close(self, *, quiet: bool = False) -> None:
        """Write what waits, then stop the thread; raises a failed write unless ``quiet`` (a pass already failing:
        what was sent is still recorded when the database lets it)."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        self._thread.join()
        if not quiet:
            with self._cv:
                self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            while True:
                with self._cv:
                    while not self._pending and not self._closed:
                        self._cv.wait()
                    if not self._pending:
                        return
                    batch, self._pending = self._pending, []
                    self._writing = len(batch)
                try:
                    self.store.finish_deliveries(batch, self.holder)
                except BaseException as exc:
                    log.error("recording %d digests sent failed: %s", len(batch), exc)
                    with self._cv:
                        self._error = exc
                        self._writing = 0
                        self._cv.notify_all()
                    return
                with self._cv:
                    self._writing = 0
                    self._cv.notify_all()
        finally:
            self.store.release_thread()


def keep_watch_vectors(pw: Paperwire, watches: Sequence[str], now: datetime) -> dict[str, np.ndarray]:
    """The vectors of these watches: kept in the store already (by an earlier pass, or when the subscriber saved
    them), else embedded now in one batch and kept, so a watch is embedded once, not every day. Empty where
    search is by keyword only (no vector is needed)."""
    engine = pw.engine
    engine.ready(vectors=True)
    if not watches or not len(engine.vectors):
        return {}
    got = pw.store.query_vectors(engine.model_name, watches)
    missing = [w for w in dict.fromkeys(watches) if w not in got]
    if missing:
        made = engine.embed_queries(missing)
        pw.store.put_query_vectors(engine.model_name, made, now)
        got.update(made)
    return got


@dataclass
class DigestRun:
    """What one pass over the subscribers did."""

    sent: int = 0
    skipped: int = 0  # nothing new for them: recorded, no mail
    deferred: int = 0
    bounced: int = 0
    failed: int = 0
    waiting: int = 0  # due, but the harvest has not brought the listing yet
    taken: int = 0  # claimed by another sender (or done already)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """The counts, for the job record."""
        return {k: v for k, v in asdict(self).items() if isinstance(v, int)}


class DigestSender:
    """Composes and sends the digests due, through one mailer, for one paperwire."""

    def __init__(
        self,
        pw: Paperwire,
        mailer: Mailer,
        base_url: str,
        *,
        holder: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pw = pw
        self.store = pw.store
        self.settings = pw.settings
        self.mailer = mailer
        self.base_url = base_url.rstrip("/")
        self.holder = holder or f"{socket.gethostname()}:{id(self)}"
        self.clock = clock
        self.tokens = DigestTokens(pw.settings)
        self.calendar = calendar_of(pw.settings.arxiv_holidays)
        self.domain = (base_url.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0]) or "paperwire.localhost"
        self._searches: dict[tuple[str, date, date], list[Paper]] = {}
        self._watch_vectors: dict[str, np.ndarray] = {}
        self._recommenders: dict[tuple[date, date], WindowRecommender] = {}
        self._listings: dict[tuple[date, date], dict[str, Paper]] = {}
        self._passing = False  # inside send_due: the pass-wide reads pay off
        self._index_state: str | None = None  # what the searches of this pass ran on (shared results' keys)
        self._fresh: dict[tuple[str, date, date], list[Paper]] = {}  # searched here, not yet kept for others
        self._ledger: LedgerWriter | None = None  # records the digests sent, during a pass
        self._sent: dict[int, set[str]] = {}  # papers sent before, read for a batch of claimed digests
        self._libraries: dict[
            int, tuple[list[str], dict[str, str]]
        ] = {}  # the batch's users' libraries, marks

    # -- one pass ----------------------------------------------------------------------------------

    def send_due(self, now: datetime | None = None) -> DigestRun:
        """Send every digest due at ``now`` that no sender has sent; safe to run anywhere, any number of times.
        ``now`` (default: the clock) decides which digests are due and what they cover; the ledger's claims,
        leases and retries always run on the clock."""
        now = now or self.clock()
        run = DigestRun()
        newest = self.store.latest_announced()
        wait = timedelta(hours=self.settings.digest_wait_hours)
        self._searches.clear()
        todo: list[tuple[Subscriber, DigestPrefs, DueDigest, date | None]] = []
        watched: set[str] = set()  # every active subscriber's watches, due or not
        for sub in self.store.subscribers("active"):
            prefs = prefs_of(sub)
            watched.update(prefs.watches)
            due = digest_due(
                sub.last_due, now, prefs.hour, prefs.timezone, prefs.frequency, weekday=prefs.weekday,
                calendar=self.calendar,
            )  # fmt: skip
            if due is None or (due.quiet and not prefs.send_empty):
                continue  # nothing due, or a quiet window: the next digest covers it and says so
            listing = due.awaits_listing
            if listing is not None and (newest is None or newest < listing) and now - due.due < wait:
                run.waiting += 1
                continue
            late = listing is not None and (newest is None or newest < listing)
            todo.append((sub, prefs, due, listing if late else None))
        # senders running at once (app servers, cron beside a server) start at different places in the list:
        # each claims its own stretch instead of all reaching for the same claims in step; subscribers with the
        # same watches are neighbours, so a stretch holds fewer distinct watches to search
        todo.sort(key=lambda item: (sorted(item[1].watches), item[0].id))
        start = random.randrange(len(todo)) if todo else 0
        todo = todo[start:] + todo[:start]
        self._passing, self._fresh = True, {}
        self._ledger = LedgerWriter(self.store, self.holder) if todo else None
        try:
            for i in range(0, len(todo), CLAIM_BATCH):
                chunk = todo[i : i + CLAIM_BATCH]
                ids = {
                    sub.id: message_id(sub, due.digest_date, self.domain) for sub, _, due, _ in chunk
                }  # fmt: skip
                # the ledger runs on the sender's clock, whatever day ``now`` says (a back-dated `digest send --date`
                # must not make claims whose lease is over already for a sender beside it on the real clock)
                t = self.clock()
                won = self.store.claim_deliveries(
                    [(sub.id, due.digest_date, ids[sub.id]) for sub, _, due, _ in chunk],
                    self.holder,
                    t + LEASE,
                    t,
                )
                run.taken += len(chunk) - len(won)
                mine = [item for item in chunk if item[0].id in won]
                # the watches of the digests this sender has claimed, embedded together (batched: several times
                # faster than one by one as each search would); subscribers sharing a watch share its vector
                try:
                    self._embed_watches([w for _, prefs, _, _ in mine for w in prefs.watches])
                except Exception:  # each search then embeds its own watch: slower, never a digest lost
                    log.exception("embedding the watches of %d digests failed", len(mine))
                # what the batch's digests read from the store, in a few queries rather than a few per digest
                self._sent = self.store.sent_papers_of([sub.id for sub, _, _, _ in mine])
                users = [
                    sub.user_id for sub, prefs, _, _ in mine if prefs.for_you and sub.user_id is not None
                ]
                self._libraries = self.store.libraries_of(users) if users else {}
                self._share_in(mine)
                for sub, prefs, due, missing in mine:
                    self._deliver(sub, prefs, due, self.clock(), run, ids[sub.id], missing=missing)
                self._sent, self._libraries = {}, {}
                self._share_out()
            if self._ledger is not None:
                self._ledger.close()  # every digest sent is recorded before the pass says it is done
        except BaseException:
            if self._ledger is not None:
                self._ledger.close(quiet=True)  # what was sent is recorded still, if the database lets it
            raise
        finally:  # whatever happened, nothing of this pass outlives it
            self._ledger = None
            self._passing, self._index_state, self._fresh = False, None, {}
            self._sent, self._libraries = {}, {}
            self._watch_vectors.clear()
            self._recommenders.clear()
            self._listings.clear()
        try:
            self.store.prune_query_vectors(self.pw.engine.model_name, watched)
            self.store.prune_watch_results(self.clock() - SHARED_FOR)
        except PaperwireError as exc:  # housekeeping: the next pass tries again
            log.warning("forgetting unwatched watches' vectors or old searches failed: %s", exc)
        if run.waiting:
            have = f"the newest here is of {newest.isoformat()}" if newest else "none is here yet"
            run.notes.append(f"{run.waiting} digests wait for arXiv's next listing to be harvested ({have})")
        return run

    def _deliver(
        self,
        sub: Subscriber,
        prefs: DigestPrefs,
        due: DueDigest,
        now: datetime,
        run: DigestRun,
        mid: str,
        missing: date | None,
    ) -> None:
        """Compose, send and record one digest this sender has claimed."""
        covers = ",".join(d.isoformat() for d in due.covers)
        try:
            digest = self.compose(sub, prefs, due)
            if digest.empty and not prefs.send_empty:
                self.store.finish_delivery(
                    sub.id, due.digest_date, self.holder, "skipped", now, due=due.due, covers=covers
                )
                run.skipped += 1
                return
            links = self.links(sub)  # once: the body's unsubscribe link is the header's (M1)
            rendered = render_digest(digest, links)
            self.mailer.send(self._mail(sub, rendered, mid, links.unsubscribe_url))
        except MailRejected as exc:  # 5xx: the address is gone; never again (M6)
            self.store.finish_delivery(
                sub.id, due.digest_date, self.holder, "bounced", now, covers=covers, error=str(exc)
            )
            self.store.set_subscriber_status(sub.id, "suppressed", now, reason=f"bounced: {exc}"[:300])
            run.bounced += 1
            return
        except (MailDeferred, MailError, PaperwireError, QueryError) as exc:
            self._defer(sub, due, now, run, covers, exc)
            return
        except Exception as exc:  # a bug composing one digest must not stop the others
            log.exception("digest for subscriber %d failed", sub.id)
            self._defer(sub, due, now, run, covers, exc)
            return
        sent = Finish(sub.id, due.digest_date, "sent", now, due.due, tuple(digest.paper_ids), covers)
        if self._ledger is not None:
            self._ledger.put(sent)  # recorded by the ledger's thread while the next digest is composed
        else:
            self.store.finish_deliveries([sent], self.holder)
        run.sent += 1
        log.info(
            "digest %s sent to %s (%d papers)",
            due.digest_date,
            mask_address(sub.email),
            len(digest.paper_ids),
        )
        if missing is not None:
            run.notes.append(f"digest {due.digest_date} went out without arXiv's listing of {missing}")

    def _defer(
        self, sub: Subscriber, due: DueDigest, now: datetime, run: DigestRun, covers: str, exc: Exception
    ) -> None:
        got = self.store.get_delivery(sub.id, due.digest_date)
        attempts = got.attempts if got else 1
        error = f"{type(exc).__name__}: {exc}"[:500]
        if attempts >= MAX_ATTEMPTS:
            self.store.finish_delivery(
                sub.id, due.digest_date, self.holder, "failed", now, covers=covers, error=error
            )
            if isinstance(exc, MailDeferred):
                self.store.set_subscriber_status(
                    sub.id, "suppressed", now, reason=f"deferred {attempts} times: {exc}"[:300]
                )
            run.failed += 1
        else:
            self.store.finish_delivery(
                sub.id, due.digest_date, self.holder, "deferred", now, covers=covers, error=error,
                next_attempt=now + backoff(attempts),
            )  # fmt: skip
            run.deferred += 1

    # -- one digest --------------------------------------------------------------------------------

    def preview(self, sub: Subscriber, now: datetime | None = None) -> tuple[DueDigest, RenderedDigest]:
        """The digest ``sub`` gets next (as of ``now``), or the one they got last when none is due yet: composed
        and rendered, never sent or recorded (`paperwire digest preview`, the site's preview)."""
        now = now or self.clock()
        prefs = prefs_of(sub)
        due = digest_due(
            sub.last_due, now, prefs.hour, prefs.timezone, prefs.frequency, weekday=prefs.weekday,
            calendar=self.calendar,
        )  # fmt: skip
        if due is None:
            due = digest_due(
                None,
                now,
                prefs.hour,
                prefs.timezone,
                prefs.frequency,
                weekday=prefs.weekday,
                calendar=self.calendar,
            )
        assert due is not None  # with no previous digest one is always due
        return due, render_digest(self.compose(sub, prefs, due), self.links(sub))

    def compose(self, sub: Subscriber, prefs: DigestPrefs, due: DueDigest) -> Digest:
        """The digest ``sub`` gets for ``due``: what was announced on the days it covers."""
        covers = due.covers
        if not covers:
            return compose_digest(
                prefs, [], watch_hits={}, category_papers=[], trending=[], for_you=[], already_sent=(),
                address=sub.email,
            )  # fmt: skip
        first, last = covers[0], covers[-1]
        watch_hits = {w: self._watch(w, first, last) for w in prefs.watches}
        category_papers: list[Paper] = []
        if prefs.categories:
            key = ("\x00cat:" + ",".join(sorted(prefs.categories)), first, last)  # shared within a pass
            got = self._searches.get(key)
            if got is None:
                got = self._search("", first, last, categories=list(prefs.categories), sort="date")
                self._searches[key] = got
                if self._passing:
                    self._fresh[key] = got
            category_papers = got
        trending: list[tuple[Paper, list[str]]] = []
        if prefs.trending_n:
            window = "today" if prefs.frequency == "daily" else "week"
            page = self.pw.trending.list(window=window, limit=min(50, max(prefs.trending_n, 1)))
            trending = [(e.paper, list(e.reasons)) for e in page.entries]
        for_you: list[tuple[Paper, list[str]]] = []
        if prefs.for_you and sub.user_id is not None:
            for_you = self._for_you(sub.user_id, first, last)
        return compose_digest(
            prefs,
            covers,
            max_entries=self.settings.digest_max_entries,
            watch_hits=watch_hits,
            category_papers=category_papers,
            trending=trending,
            for_you=for_you,
            already_sent=self._already_sent(sub.id),
            address=sub.email,
        )

    def _already_sent(self, subscriber_id: int) -> set[str]:
        got = self._sent.get(subscriber_id)
        return got if got is not None else self.store.sent_paper_ids(subscriber_id)

    def _embed_watches(self, watches: list[str]) -> None:
        new = [w for w in dict.fromkeys(watches) if w not in self._watch_vectors]
        if new:
            self._watch_vectors.update(keep_watch_vectors(self.pw, new, self.clock()))

    def _watch(self, query: str, first: date, last: date) -> list[Paper]:
        key = (query, first, last)  # subscribers with one watch share its search within a pass
        got = self._searches.get(key)
        if got is None:
            try:
                got = self._search(query, first, last)
            except QueryError as exc:
                log.warning("watch %r cannot run: %s", query, exc)
                got = []
            self._searches[key] = got
            if self._passing:  # kept for the pass's other senders
                self._fresh[key] = got
        return got

    # -- searches shared by the senders of a pass ----------------------------------------------------

    def _shared_key(self, key: tuple[str, date, date]) -> str:
        """Where a search is kept for the other senders: the state of the indexes it ran on (so a sender whose
        indexes differ, or a later pass after a harvest, searches anew), the days covered and the search."""
        if self._index_state is None:
            engine, s = self.pw.engine, self.settings
            state = (
                engine.model_name, engine.synced, self.store.signals_stamp(), s.fusion, s.convex_alpha,
                s.keyword_weight, s.semantic_weight, s.rrf_k, s.fusion_depth, s.popularity_lift, PER_SECTION,
            )  # fmt: skip
            self._index_state = repr(state)
        text = "\x00".join((self._index_state, key[1].isoformat(), key[2].isoformat(), key[0]))
        return hashlib.sha256(text.encode()).hexdigest()[:40]

    def _share_in(self, batch: list[tuple[Subscriber, DigestPrefs, DueDigest, date | None]]) -> None:
        """The searches this batch of digests needs that another sender of the pass ran already: read in one
        query (several senders at once search each watch about once between them, not once each)."""
        wanted: dict[str, tuple[str, date, date]] = {}
        for _, prefs, due, _ in batch:
            if not due.covers:
                continue
            first, last = due.covers[0], due.covers[-1]
            keys = [(w, first, last) for w in prefs.watches]
            if prefs.categories:
                keys.append(("\x00cat:" + ",".join(sorted(prefs.categories)), first, last))
            for key in keys:
                if key not in self._searches:
                    wanted[self._shared_key(key)] = key
        if not wanted:
            return
        try:
            got = self.store.watch_results(list(wanted))
        except PaperwireError as exc:  # each search runs here instead: slower, nothing lost
            log.warning("reading the pass's shared searches failed: %s", exc)
            return
        found = {wanted[shared]: (self._listing(*wanted[shared][1:]), ids) for shared, ids in got.items()}
        missing = {i for listing, ids in found.values() for i in ids if i not in listing}
        extra = self.store.get_papers(sorted(missing)) if missing else {}
        for key, (listing, ids) in found.items():
            self._searches[key] = [p for i in ids if (p := listing.get(i) or extra.get(i)) is not None]

    def _share_out(self) -> None:
        """Keep the searches this sender ran for the other senders of the pass."""
        if not self._fresh:
            return
        fresh = {self._shared_key(k): [p.id for p in v] for k, v in self._fresh.items()}
        self._fresh = {}
        try:
            self.store.put_watch_results(fresh, self.clock())
        except PaperwireError as exc:
            log.warning("keeping the pass's searches for the other senders failed: %s", exc)

    def _search(
        self,
        text: str,
        first: date,
        last: date,
        categories: list[str] | None = None,
        sort: Sort = "relevance",
    ) -> list[Paper]:
        engine = self.pw.engine
        mode: Mode = "hybrid" if text.strip() and len(engine.vectors) else "keyword"
        res = engine.search(
            text,
            mode=mode,
            categories=categories,
            after=first,
            before=last,
            sort=sort,
            limit=PER_SECTION,
            explain=False,
            query_vector=self._watch_vectors.get(text),
            # within a pass the covered days' papers are read once for every watch; a lone preview reads its hits
            papers=self._listing(first, last) if text.strip() and self._passing else None,
        )
        return [h.paper for h in res.hits]

    def _listing(self, first: date, last: date) -> dict[str, Paper]:
        """The papers announced on the days a digest covers, read once a pass: every watch's hits are among them
        (those past ``LISTING_READ`` are read from the store as they come)."""
        got = self._listings.get((first, last))
        if got is None:
            res = self.pw.engine.search(
                "", mode="keyword", after=first, before=last, sort="date", limit=LISTING_READ, explain=False
            )
            got = self._listings[(first, last)] = {h.paper.id: h.paper for h in res.hits}
        return got

    def _for_you(self, user_id: int, first: date, last: date) -> list[tuple[Paper, list[str]]]:
        got = self._libraries.get(user_id)
        if got is None:
            got = ([i.paper_id for i in self.store.library(user_id)], self.store.feedback(user_id))
        library, marks = got
        if not library:
            return []
        try:
            # one per window and pass: its candidates and the classifier's background serve every library
            wr = self._recommenders.get((first, last))
            if wr is None:
                wr = self._recommenders[(first, last)] = WindowRecommender(self.pw, first, last)
            recs = wr.recommend(
                library,
                limit=PER_SECTION,
                exclude=library + [p for p, k in marks.items() if k == "dismissed"],
                more_like=[p for p, k in marks.items() if k == "more"],
            )
        except LibraryError:
            return []
        titles = self.store.get_papers(list({b for r in recs for b in r.because}))
        return [
            (
                r.paper,
                [f"like {titles[b].title}" for b in r.because[:2] if b in titles] or ["matches your library"],
            )
            for r in recs
        ]

    # -- the mail ----------------------------------------------------------------------------------

    def links(self, sub: Subscriber) -> DigestLinks:
        """The links a subscriber's digest carries: paperwire's pages, manage, one-click unsubscribe."""
        return DigestLinks(
            base_url=self.base_url,
            manage_url=f"{self.base_url}/digest/manage?token={self.tokens.manage(sub)}",
            unsubscribe_url=f"{self.base_url}/digest/unsubscribe/{self.tokens.unsubscribe(sub)}",
        )

    def _mail(self, sub: Subscriber, rendered: RenderedDigest, mid: str, unsubscribe: str) -> Mail:
        return Mail(
            to=sub.email,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            message_id=mid,
            headers={
                "List-Unsubscribe": f"<{unsubscribe}>",  # RFC 8058 one-click (M1)
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                "List-Id": f"paperwire digest <digest.{self.domain}>",
            },
        )
