"""Popularity signals into the store: Hugging Face daily lists (fetched, or read from files) and the papers they
name.

Every observation is stored at once, whether or not its paper is in the store (observations are history and
need no paper to be kept). The papers the store lacks wait in a queue (``papers_missing_for_signals``) that
:func:`fetch_missing_papers` works off through the arXiv API, a hundred ids a request; an OAI-PMH harvest that
brings them in empties it as well. A paper the fetch cannot bring (arXiv is down, or has no such id yet) stays
queued for the next run: never dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from paperwire.config import Settings
from paperwire.errors import SourceError
from paperwire.sources.arxiv_api import MAX_IDS_PER_REQUEST, fetch_papers
from paperwire.sources.arxiv_ids import looks_like_arxiv_ref
from paperwire.sources.hf_daily import BadItem, DailyList, fetch_daily_list, read_file
from paperwire.sources.http import PoliteClient
from paperwire.store.base import Store

log = logging.getLogger(__name__)

MAX_REPORTED = 1000  # bad items kept with their reasons; past that only counted
QUEUE_ALL = 10**7  # "every queued paper" for papers_missing_for_signals


@dataclass
class SignalReport:
    """What one ingest of daily lists did."""

    lists: int = 0  # daily lists stored (a day with no papers on it counts too)
    observations: int = 0
    papers_new: int = 0  # papers the arXiv API brought into the store
    not_on_arxiv: list[str] = field(default_factory=list)  # asked for, not answered: still queued
    refused: list[str] = field(default_factory=list)  # answered, but broke a record rule: still queued
    queued: int = 0  # observed papers the store still lacks, after the fetch
    fetch_error: str | None = None  # why fetching the missing papers stopped, if it did
    damage: str | None = None  # why reading a file stopped early, if it did
    bad: list[BadItem] = field(default_factory=list)  # the first MAX_REPORTED
    skipped: int = 0  # every bad item, reported or not

    def skip(self, items: Sequence[BadItem]) -> None:
        """Count bad items, keeping their reasons while there is room."""
        self.skipped += len(items)
        self.bad.extend(items[: max(0, MAX_REPORTED - len(self.bad))])

    def summary(self) -> str:
        """One line for humans."""
        return (
            f"{self.observations} observations stored from {self.lists} daily lists; {self.papers_new} papers new "
            f"to the store (fetched from the arXiv API), {self.queued} still queued; "
            f"{self.skipped} bad records skipped"
        )


def store_list(store: Store, daily: DailyList, report: SignalReport) -> None:
    """Record one list's observations (history: a later fetch adds points, it never overwrites them)."""
    report.observations += store.upsert_signals(daily.signals)
    report.lists += 1
    report.skip(daily.bad)


def ingest_days(
    store: Store,
    settings: Settings,
    days: Sequence[date],
    *,
    report: SignalReport | None = None,
    transport: httpx.BaseTransport | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_day: Callable[[date], None] | None = None,
) -> SignalReport:
    """Fetch the daily lists of ``days`` from Hugging Face and store each as it comes (a failure keeps the
    days before it)."""
    report = report or SignalReport()
    previous: datetime | None = None
    with hf_client(settings, transport) as client:
        for day in days:
            daily = dated_after(fetch_daily_list(client, settings, day, now), previous)
            store_list(store, daily, report)
            previous = daily.observed_at
            if on_day is not None:
                on_day(day)
    return report


def dated_after(daily: DailyList, previous: datetime | None) -> DailyList:
    """``daily``, dated a second after ``previous`` if it is not later: two lists fetched within one second
    (a paper may be on both) stay two points of history, not one that the second overwrites."""
    if previous is None or daily.observed_at > previous:
        return daily
    at = previous + timedelta(seconds=1)
    signals = [replace(s, observed_at=at) for s in daily.signals]
    return replace(daily, observed_at=at, signals=signals)


def ingest_signal_file(store: Store, path: Path, day: date | None = None) -> SignalReport:
    """Store the lists of a file (a saved API answer, or JSON lines of items; hf_daily.read_file); a file that
    breaks off keeps what came before the damage, and ``report.damage`` says where it broke."""
    report = SignalReport()
    got = read_file(path, day)
    report.skip(got.unplaced)
    for daily in got.lists:
        store_list(store, daily, report)
    report.damage = got.damage
    return report


def fetch_missing_papers(
    store: Store,
    settings: Settings,
    report: SignalReport,
    *,
    limit: int = QUEUE_ALL,
    transport: httpx.BaseTransport | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> SignalReport:
    """Fetch queued papers (observed, not in the store) from the arXiv API, a request per hundred, each
    hundred stored as it comes; on a failure the rest stay queued and ``report.fetch_error`` says why."""
    queue = [pid for pid in store.papers_missing_for_signals(limit) if looks_like_arxiv_ref(pid)]
    done = 0
    if queue:
        with PoliteClient(settings, transport=transport) as client:
            for start in range(0, len(queue), MAX_IDS_PER_REQUEST):
                chunk = queue[start : start + MAX_IDS_PER_REQUEST]
                try:
                    got = fetch_papers(client, settings, chunk)
                except SourceError as exc:
                    report.fetch_error = str(exc)
                    log.info("fetching %d queued papers from arXiv: %s", len(queue) - done, exc)
                    break
                report.papers_new += store.upsert_papers(got.papers).inserted
                report.not_on_arxiv.extend(got.missing)
                report.refused.extend(got.refused)
                done += len(chunk)
                if on_progress is not None:
                    on_progress(done, len(queue))
    report.queued = len(store.papers_missing_for_signals(QUEUE_ALL))
    return report


def hf_client(settings: Settings, transport: httpx.BaseTransport | None = None) -> PoliteClient:
    """A polite client for Hugging Face: one connection, paced by hf_request_interval apart from arXiv."""
    return PoliteClient(
        settings, transport=transport, upstream="huggingface", interval=settings.hf_request_interval
    )
