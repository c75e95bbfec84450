"""One recomputation of trending: where the windows end, what the store says, every paper's standing.

Reads (a few statements, whatever the size): the stamp and the newest data, the observations of the last month
with each series' baseline (``signal_rows``), the month's local counts, all-time local totals, the listed days,
and the categories of every paper met (``paper_categories``). Everything else is numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from paperwire.config import Settings
from paperwire.store import Store
from paperwire.trending.events import (
    DAY,
    HF_UPVOTE,
    KINDS,
    LOCAL_UPVOTE,
    SAVE,
    STAR,
    VIEW,
    Events,
    PaperIds,
    day_end,
    local_events,
    local_totals,
    observation_events,
)
from paperwire.trending.score import WindowStats, rank, weights, window_stats

SPANS = {"week": 7.0, "month": 30.0}  # days each decayed window looks back
THIN_SHARE = 0.25  # a day with less than this share of a busy day's observations is thin (see _settle)


@dataclass(frozen=True)
class Reference:
    """Where the windows end: now, or the newest data when the clock is past it."""

    now: datetime
    at: datetime  # before _settle: now, or the newest observation
    clock_past_data: bool
    newest_data: datetime | None


def reference(now: datetime, newest: tuple[datetime | None, date | None], stale_days: float) -> Reference:
    """Now, unless the newest data (Hugging Face observations, else local counts) is older than
    ``stale_days``: then the newest data."""
    observed, local_day = newest
    latest = observed or (day_end(local_day) if local_day else None)
    if latest is None or now - latest <= timedelta(days=stale_days):
        return Reference(now, now, False, latest)
    return Reference(now, latest, True, latest)


@dataclass
class Snapshot:
    """Every paper's standing at one reference time; immutable once built (readers share it)."""

    stamp: str
    ref: Reference
    as_of: datetime  # where the windows end
    last_day: date  # the latest daily list "today" may show: as_of's day (when settled, the day ending there)
    ids: list[str]
    index: dict[str, int]
    in_store: np.ndarray  # bool: the paper is in the store (lists show only those)
    categories: list[tuple[str, ...]]
    latest_upvotes: np.ndarray  # float, NaN: never on Hugging Face
    latest_stars: np.ndarray  # float, NaN: no repository count
    totals: np.ndarray  # [kind, paper] all-time local counts (VIEW, LOCAL_UPVOTE, SAVE rows)
    windows: dict[str, WindowStats]
    listed_days: list[date]
    popularity: np.ndarray  # all-time points (>= 0)
    all_time: np.ndarray  # Hugging Face upvotes + local upvotes: the "all" window
    id_rank: np.ndarray  # each id's position in id order (ties: newer ids first)
    min_points: float
    _rankings: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    _category_masks: dict[str, np.ndarray] = field(default_factory=dict)

    def ranking(self, window: str, sort: str) -> np.ndarray:
        """Indices of the papers listed in ``window`` (not "today") by ``sort``, best first."""
        key = (window, sort)
        got = self._rankings.get(key)
        if got is None:
            got = self._rankings[key] = self._rank(window, sort)
        return got

    def _rank(self, window: str, sort: str) -> np.ndarray:
        newer = self.id_rank.astype(np.float64)
        upvotes = np.nan_to_num(self.latest_upvotes)
        if window == "all":
            eligible = self.in_store & (self.all_time > 0)
            order = rank(self.all_time, upvotes, newer)
        else:
            w = self.windows[window]
            eligible = self.in_store & (w.points >= self.min_points) & (w.score > 0)
            if sort == "upvotes":
                eligible &= w.gained[HF_UPVOTE] > 0
                order = rank(w.gained[HF_UPVOTE], w.score, newer)
            elif sort == "stars":
                eligible &= w.gained[STAR] > 0
                order = rank(w.gained[STAR], w.score, newer)
            else:
                order = rank(w.score, w.points, upvotes, newer)
        listed: np.ndarray = order[eligible[order]]
        return listed

    def in_category(self, category: str) -> np.ndarray:
        """Bool per paper: it has ``category`` (any of its categories)."""
        got = self._category_masks.get(category)
        if got is None:
            got = np.fromiter((category in c for c in self.categories), dtype=bool, count=len(self.ids))
            self._category_masks[category] = got
        return got


def build(store: Store, settings: Settings, now: datetime, stamp: str | None = None) -> Snapshot:
    """Recompute trending from the store as of ``now``."""
    stamp = store.signals_stamp() if stamp is None else stamp  # read first: later writes change it
    ref = reference(now, store.newest_signals(), settings.trending_stale_days)
    # past the data, look back a second month: where it thins out (_settle) may be up to a month earlier
    lookback = SPANS["month"] * (2 if ref.clock_past_data else 1)
    since = ref.at - timedelta(days=lookback)
    papers = PaperIds()
    observed, latest, times = observation_events(
        store.signal_columns(since), since.timestamp(), papers, float(settings.trending_first_stars_cap)
    )
    as_of = _settle(ref, times) if ref.clock_past_data else ref.at
    if as_of < ref.at:  # observations after the settled end are not in its windows (local counts are: below)
        keep = observed.t <= as_of.timestamp()
        observed = Events(observed.paper[keep], observed.t[keep], observed.kind[keep], observed.n[keep])
    first_day = (as_of - timedelta(days=SPANS["month"])).date()
    local = local_events(store.local_columns(first_day), papers)
    before = local_totals(store.local_totals(before=first_day), papers)  # all time: these and the month's
    events = Events.concat([observed, local])
    n = len(papers)

    found = store.paper_categories(papers.ids)
    in_store = np.fromiter((pid in found for pid in papers.ids), dtype=bool, count=n)
    categories = [found.get(pid, ()) for pid in papers.ids]

    latest_upvotes = np.full(n, np.nan)
    latest_upvotes[latest.paper] = latest.upvotes
    latest_stars = np.full(n, np.nan)
    latest_stars[latest.paper] = latest.stars
    totals = np.zeros((len(KINDS), n))
    for part in (before, local):
        np.add.at(totals, (part.kind, part.paper), part.n)

    w = weights(settings)
    t_ref = as_of.timestamp()
    half_lives = {"week": settings.trending_week_half_life, "month": settings.trending_month_half_life}
    windows = {
        name: window_stats(events, n, t_ref, span, half_lives[name], w) for name, span in SPANS.items()
    }
    hf_upvotes = np.nan_to_num(latest_upvotes)
    popularity = np.maximum(
        w[HF_UPVOTE] * hf_upvotes
        + w[LOCAL_UPVOTE] * totals[LOCAL_UPVOTE]
        + w[SAVE] * totals[SAVE]
        + w[VIEW] * totals[VIEW],
        0.0,
    )
    id_rank = np.empty(n, dtype=np.int64)
    id_rank[np.argsort(np.array(papers.ids, dtype=str), kind="stable")] = np.arange(n)
    return Snapshot(
        stamp=stamp,
        ref=ref,
        as_of=as_of,
        last_day=(as_of - timedelta(days=1)).date() if as_of < ref.at else as_of.date(),
        ids=papers.ids,
        index=papers.index,
        in_store=in_store,
        categories=categories,
        latest_upvotes=latest_upvotes,
        latest_stars=latest_stars,
        totals=totals,
        windows=windows,
        listed_days=store.listed_days(),
        popularity=popularity,
        all_time=hf_upvotes + totals[LOCAL_UPVOTE],
        id_rank=id_rank,
        min_points=settings.trending_min_points,
    )


def _settle(ref: Reference, times: np.ndarray) -> datetime:
    """Past the data, the windows end at the newest observation, unless the last days before it are thin:
    observed on fewer than a quarter of the observations of the month's busy days (the 90th percentile of its
    days' counts). The demo sample's last lists hold one paper each, weeks apart, which would leave the week
    all but empty; there the windows end with the last day that is not thin."""
    newest = ref.at.timestamp()
    recent = times[times > newest - SPANS["month"] * DAY]
    if not len(recent):
        return ref.at
    days, counts = np.unique(np.floor(recent / DAY).astype(np.int64), return_counts=True)
    full = days[counts >= THIN_SHARE * np.percentile(counts, 90)]
    end = (int(full[-1]) + 1) * DAY
    return ref.at if end > newest else datetime.fromtimestamp(end, UTC)
