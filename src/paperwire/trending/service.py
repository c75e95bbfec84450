"""Trending as a service: one per process, a cached snapshot, lists and popularity for every surface.

The snapshot is recomputed by :meth:`Trending.refresh` (the background job calls it each turn; it does the
work only when the store's signals stamp changed or the reference time moved), never on a request, except the
very first one of a process. Lists are assembled from it with a few reads (the page's papers, their latest
observations) and kept until the next snapshot.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np

from paperwire.config import Settings
from paperwire.errors import QueryError
from paperwire.models import Paper, Signal
from paperwire.search.query import parse_query
from paperwire.store import Store
from paperwire.trending import daily
from paperwire.trending.events import DAY, HF_UPVOTE, LOCAL_UPVOTE, SAVE, STAR, VIEW
from paperwire.trending.lists import SORTS, WINDOWS, TrendingEntry, TrendingList
from paperwire.trending.reasons import reasons
from paperwire.trending.snapshot import Snapshot, build, reference

REFERENCE_STEP = timedelta(minutes=10)  # how far "now" moves before windows are recomputed
PAGES_KEPT = 256  # assembled pages kept per snapshot
MAX_LIMIT = 1000


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Trending:
    """Trending lists and popularity over one store; thread-safe, one per process."""

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], datetime] = _utcnow) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self._lock = threading.Lock()  # one recomputation at a time
        self._snapshot: Snapshot | None = None
        self._pages: OrderedDict[tuple[object, ...], TrendingList] = OrderedDict()
        self._pages_lock = threading.Lock()

    # -- the snapshot -------------------------------------------------------------------------

    def refresh(self, force: bool = False, min_interval: float = 0.0) -> bool:
        """Recompute if the signals stamp changed or the reference time moved (or ``force``), but not within
        ``min_interval`` seconds of the last recomputation; returns whether it did."""
        with self._lock:
            now = self.clock()
            current = self._snapshot
            if (
                not force
                and current is not None
                and 0 <= (now - current.ref.now).total_seconds() < min_interval
            ):
                return False  # (a clock set back is no reason to wait)
            stamp = self.store.signals_stamp()
            if not force and current is not None and current.stamp == stamp:
                ref = reference(now, self.store.newest_signals(), self.settings.trending_stale_days)
                if (ref.clock_past_data, ref.newest_data) == (
                    current.ref.clock_past_data,
                    current.ref.newest_data,
                ) and abs(ref.at - current.ref.at) < REFERENCE_STEP:
                    return False
            snap = build(self.store, self.settings, now, stamp)
            with self._pages_lock:
                self._snapshot = snap
                self._pages.clear()
            return True

    def snapshot(self) -> Snapshot:
        """The current snapshot (computed now if there is none yet: the first request of a process)."""
        snap = self._snapshot
        if snap is None:
            self.refresh()
            snap = self._snapshot
            assert snap is not None
        return snap

    # -- lists --------------------------------------------------------------------------------

    def list(
        self,
        window: str = "week",
        category: str | None = None,
        sort: str | None = None,
        limit: int = 50,
        offset: int = 0,
        day: date | None = None,
    ) -> TrendingList:
        """One page of a trending list; QueryError on a window, sort or category that does not exist."""
        if window not in WINDOWS:
            raise QueryError(f"unknown window {window!r}: use {', '.join(WINDOWS)}")
        sort = sort or SORTS[window][0]
        if sort not in SORTS[window]:
            raise QueryError(f"unknown sort {sort!r} for {window}: use {', '.join(SORTS[window])}")
        if category is not None and category.strip():
            category = parse_query("", categories=[category]).categories[0]
        else:
            category = None
        if day is not None and window != "today":
            raise QueryError("a day picks a daily list: it goes with the today window")
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            raise QueryError(f"limit must be 1 to {MAX_LIMIT} and offset at least 0")
        snap = self.snapshot()
        key = (window, category, sort, limit, offset, day)
        with self._pages_lock:
            page = self._pages.get(key)
            if page is not None and self._snapshot is snap:
                self._pages.move_to_end(key)
                return page
        if window == "today":
            page = self._today(snap, category, sort, limit, offset, day)
        else:
            page = self._ranked(snap, window, category, sort, limit, offset)
        with self._pages_lock:
            if self._snapshot is snap:
                self._pages[key] = page
                while len(self._pages) > PAGES_KEPT:
                    self._pages.popitem(last=False)
        return page

    def _ranked(
        self, snap: Snapshot, window: str, category: str | None, sort: str, limit: int, offset: int
    ) -> TrendingList:
        order = snap.ranking(window, sort)
        if category is not None:
            order = order[snap.in_category(category)[order]]
        ids = [snap.ids[i] for i in order[offset : offset + limit]]
        papers = self.store.get_papers(ids) if ids else {}
        signals = self.store.latest_signals(ids) if ids else {}
        entries = []
        for rank, pid in enumerate(ids, start=offset + 1):
            if pid in papers:  # a paper deleted since the snapshot is left out
                entries.append(self._entry(snap, window, pid, papers[pid], signals.get(pid), rank))
        return self._page(snap, window, category, sort, None, entries, len(order))

    def _today(
        self, snap: Snapshot, category: str | None, sort: str, limit: int, offset: int, day: date | None
    ) -> TrendingList:
        day = day or daily.list_day(snap.listed_days, snap.last_day)
        signals = self.store.daily_list(day) if day is not None else []
        papers = self.store.get_papers([s.paper_id for s in signals]) if signals else {}
        if category is not None:
            papers = {pid: p for pid, p in papers.items() if category in p.categories}
        week = snap.windows["week"]
        at = snap.index
        score = {s.paper_id: float(week.score[at[s.paper_id]]) for s in signals if s.paper_id in at}
        ordered = daily.order(signals, papers, sort, score)
        entries = [
            self._entry(snap, "today", s.paper_id, papers[s.paper_id], s, rank, day)
            for rank, s in enumerate(ordered[offset : offset + limit], start=offset + 1)
        ]
        return self._page(snap, "today", category, sort, day, entries, len(ordered))

    def _page(
        self,
        snap: Snapshot,
        window: str,
        category: str | None,
        sort: str,
        day: date | None,
        entries: Sequence[TrendingEntry],
        total: int,
    ) -> TrendingList:
        return TrendingList(
            window=window,
            category=category,
            sort=sort,
            as_of=snap.as_of,
            clock_past_data=snap.ref.clock_past_data,
            newest_data=snap.ref.newest_data,
            day=day,
            entries=[*entries],
            total=total,
        )

    def _entry(
        self,
        snap: Snapshot,
        window: str,
        pid: str,
        paper: Paper,
        signal: Signal | None,
        rank: int,
        day: date | None = None,
    ) -> TrendingEntry:
        i = snap.index.get(pid)
        upvotes = signal.upvotes if signal is not None else _int(snap.latest_upvotes, i)
        stars = (
            signal.github_stars
            if signal is not None and signal.github_stars is not None
            else _int(snap.latest_stars, i)
        )
        if window == "all":
            views, local_upvotes, saves = (_count(snap.totals[k], i) for k in (VIEW, LOCAL_UPVOTE, SAVE))
            score = float(snap.all_time[i]) if i is not None else 0.0
            gained, stars_gained, over = upvotes or 0, None, None
        else:
            w = snap.windows["week" if window == "today" else window]
            views, local_upvotes, saves = (_count(w.gained[k], i) for k in (VIEW, LOCAL_UPVOTE, SAVE))
            score = float(w.score[i]) if i is not None else 0.0
            gained = _count(w.gained[HF_UPVOTE], i)
            stars_gained = _count(w.gained[STAR], i) if stars is not None else None
            first = w.first_upvote[i] if i is not None else math.inf
            over = (snap.as_of.timestamp() - first) / DAY if math.isfinite(first) else None
        return TrendingEntry(
            paper=paper,
            rank=rank,
            score=round(score, 6),
            reasons=reasons(
                window,
                upvotes=upvotes,
                upvotes_gained=gained,
                gained_over_days=over,
                stars=stars,
                stars_gained=stars_gained,
                views=views,
                local_upvotes=local_upvotes,
                saves=saves,
                day=day,
            ),
            upvotes=upvotes,
            upvotes_gained=gained,
            stars=stars,
            stars_gained=stars_gained,
            signal=signal,
            views=views,
            local_upvotes=local_upvotes,
            saves=saves,
        )

    # -- search -------------------------------------------------------------------------------

    def popularity(self, paper_ids: Sequence[str]) -> dict[str, float]:
        """Each paper's all-time popularity points (>= 0; 0 for papers never signalled): Hugging Face upvotes
        and local upvotes, saves and views, weighted as the trending score weighs them, without decay."""
        snap = self.snapshot()
        out = {}
        for pid in paper_ids:
            i = snap.index.get(pid)
            out[pid] = float(snap.popularity[i]) if i is not None else 0.0
        return out


def _int(values: np.ndarray, i: int | None) -> int | None:
    if i is None or math.isnan(values[i]):
        return None
    return int(values[i])


def _count(values: np.ndarray, i: int | None) -> int:
    return 0 if i is None else round(float(values[i]))
