"""Local page views, counted without keeping who viewed: one of trending's local signals.

What counts: a GET of a paper page that answers 200, from what looks like a person's browser. Bots (by
User-Agent, and any request without one), prefetch and prerender requests (``Sec-Purpose``/``Purpose``), HEAD
and error pages do not. One viewer reloading one paper counts once a day: the counter remembers a keyed hash
(BLAKE2b, 128 bits) of (client address, User-Agent, paper id) under a random key made at start and replaced
every UTC day, in this process's memory only; the key is never written anywhere, so yesterday's hashes cannot
be linked to anybody, even by whoever reads the memory. Counts wait in memory and a thread adds them to the
store's daily counts (paper, "view", day, n) every few seconds and at shutdown: a page view never waits on a
database write, and the database learns how many, never who.

Each server process dedupes on its own: behind a load balancer spreading one reader over several servers, a
reload may count once per server.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime

from starlette.requests import Request

from paperwire.models import LocalCount
from paperwire.store import Store

log = logging.getLogger("paperwire.web.views")

# User-Agents of crawlers, link previewers, monitors, headless browsers and HTTP libraries: not readers
BOT_AGENT = re.compile(
    r"bot|crawl|spider|slurp|preview|headless|curl|wget|python|httpx|aiohttp|requests|urllib|libwww|"
    r"go-http|java/|okhttp|axios|node-fetch|undici|scrapy|feedfetcher|facebookexternalhit|embedly|"
    r"monitor|uptime|pingdom|lighthouse|phantomjs|selenium|puppeteer|playwright|wappalyzer|archiver|"
    r"fetch|scan|check|http[-_]?client|^mozilla/\d\.\d$",
    re.IGNORECASE,
)
# a request a browser makes in advance, which nobody may ever look at
_PREFETCH = re.compile(r"prefetch|prerender|preview", re.IGNORECASE)
HEAD_MARK = "paperwire.head"  # set in the scope by HeadMiddleware: the request was a HEAD run as a GET
# (viewer, paper) pairs a day kept for dedupe (about 20 MB); past it they are forgotten and counting goes on
MAX_REMEMBERED = 200_000


def utc_today() -> date:
    """Today in UTC: the day views are counted on."""
    return datetime.now(UTC).date()


def is_reader(request: Request) -> bool:
    """Whether ``request`` looks like a person opening a page: a GET from a browser, not a bot, not a
    prefetch or prerender."""
    if request.method != "GET" or request.scope.get(HEAD_MARK):
        return False
    headers = request.headers
    agent = headers.get("user-agent", "").strip()
    if not agent or BOT_AGENT.search(agent):
        return False
    purpose = " ".join(headers.get(h, "") for h in ("sec-purpose", "purpose", "x-purpose", "x-moz"))
    return not _PREFETCH.search(purpose)


class ViewCounter:
    """Counts paper page views in memory (deduplicated per viewer, paper and day) until ``flush``."""

    def __init__(self, enabled: bool = True, today: Callable[[], date] = utc_today) -> None:
        self.enabled = enabled
        self._today = today
        self._lock = threading.Lock()
        self._day: date | None = None
        self._key = b""
        self._seen: set[bytes] = set()
        self._pending: Counter[tuple[str, date]] = Counter()

    def count(self, request: Request, paper_id: str) -> bool:
        """Count a view of ``paper_id`` unless it is not a reader's or this viewer saw it today; whether it
        counted."""
        if not self.enabled or not is_reader(request):
            return False
        address = request.client.host if request.client else ""
        agent = request.headers.get("user-agent", "")
        with self._lock:
            day = self._today()
            if day != self._day:  # a new day: a new key, and yesterday's hashes go
                self._day, self._key, self._seen = day, secrets.token_bytes(32), set()
            viewer = hashlib.blake2b(
                "\n".join((address, agent, paper_id)).encode("utf-8", "replace"),
                key=self._key,
                digest_size=16,
            ).digest()
            if viewer in self._seen:
                return False
            if len(self._seen) >= MAX_REMEMBERED:
                log.warning(
                    "views: %d viewers today; forgetting them (reloads may count again)", len(self._seen)
                )
                self._seen = set()
            self._seen.add(viewer)
            self._pending[(paper_id, day)] += 1
            return True

    @property
    def pending(self) -> int:
        """Views counted and not yet written."""
        with self._lock:
            return sum(self._pending.values())

    def flush(self, store: Store) -> int:
        """Add the counted views to the store's daily counts; returns how many. On a failed write they are
        kept for the next flush (and the error raised)."""
        with self._lock:
            batch, self._pending = self._pending, Counter()
        if not batch:
            return 0
        try:
            store.add_local_counts(LocalCount(pid, "view", day, n) for (pid, day), n in batch.items())
        except BaseException:
            with self._lock:
                self._pending.update(batch)
            raise
        return sum(batch.values())


def flush_views(counter: ViewCounter, store: Store, interval: float, stop: threading.Event) -> None:
    """Flush ``counter`` into ``store`` every ``interval`` seconds until ``stop``, then once more."""
    while not stop.wait(interval):
        try:
            counter.flush(store)
        except Exception:  # the database is away: the counts wait in memory for the next turn
            log.exception("views: could not write the view counts; retrying in %.0f s", interval)
    try:
        counter.flush(store)
    except Exception:
        log.exception("views: could not write the last view counts at shutdown; %d lost", counter.pending)
