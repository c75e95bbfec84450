"""What happened when: the store's observations and local counts as arrays of events (pure, vectorised).

An event is (paper, time, kind, n): n upvotes gained on Hugging Face, stars gained by the paper's repository,
views, upvotes and saves here. Observations are snapshots of running totals, so an event is the difference
between two consecutive observations of a series (one paper, one source). What a series' *first* observation
counts as (README "Trending"):

- upvotes: all of them (Hugging Face upvotes start at zero when a paper is listed), gained at the observation
  or, when it came after the end of the paper's listing day (a list fetched late), at that day's end: a list
  caught up months later must not trend today;
- stars: at most ``first_stars_cap`` (the repository's stars before we saw it may be years old: a famous
  repository first seen with 80,000 stars must not swamp the list), at the same moment; so does the first star
  count of a series whose earlier observations had none (a repository linked later).

Local counts are daily; their events fall at noon (UTC) of their day. A negative count (an upvote withdrawn)
is a negative event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from paperwire.store import LocalColumns, SignalColumns

KINDS = ("hf_upvote", "star", "view", "local_upvote", "save")
HF_UPVOTE, STAR, VIEW, LOCAL_UPVOTE, SAVE = range(len(KINDS))
LOCAL_KINDS = {"view": VIEW, "upvote": LOCAL_UPVOTE, "save": SAVE}
HF_SOURCE = "hf-daily"
DAY = 86400.0


class PaperIds:
    """The papers a recomputation knows, each given a dense index (the position in its arrays)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.ids: list[str] = []

    def __len__(self) -> int:
        return len(self.ids)

    def codes(self, ids: Sequence[str]) -> np.ndarray:
        """The index of each id (new ids are added)."""
        index, known = self.index, self.ids
        new = [pid for pid in dict.fromkeys(ids) if pid not in index]
        index.update(zip(new, range(len(known), len(known) + len(new)), strict=True))
        known.extend(new)
        return np.fromiter(map(index.__getitem__, ids), dtype=np.int64, count=len(ids))


@dataclass
class Events:
    """Events as parallel arrays, one element each."""

    paper: np.ndarray  # int64 index into PaperIds
    t: np.ndarray  # float64 Unix seconds
    kind: np.ndarray  # int64 index into KINDS
    n: np.ndarray  # float64; negative: taken back

    @staticmethod
    def empty() -> Events:
        """No events."""
        return Events(np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64), np.zeros(0))

    @staticmethod
    def concat(parts: Sequence[Events]) -> Events:
        """All of ``parts`` in one."""
        return Events(
            np.concatenate([p.paper for p in parts]),
            np.concatenate([p.t for p in parts]),
            np.concatenate([p.kind for p in parts]),
            np.concatenate([p.n for p in parts]),
        )

    def __len__(self) -> int:
        return len(self.n)

    def known_kinds(self) -> Events:
        """Without events of kinds this version does not know (kind -1)."""
        keep = self.kind >= 0
        if keep.all():
            return self
        return Events(self.paper[keep], self.t[keep], self.kind[keep], self.n[keep])


@dataclass
class Latest:
    """Each Hugging Face series' last observation: the paper's current upvotes and stars."""

    paper: np.ndarray  # int64
    upvotes: np.ndarray  # float64
    stars: np.ndarray  # float64, NaN: no repository (or no count) at the last observation
    t: np.ndarray  # float64 Unix seconds of that observation


def observation_events(
    cols: SignalColumns, since: float, papers: PaperIds, first_stars_cap: float
) -> tuple[Events, Latest, np.ndarray]:
    """Events from observations as ``SignalStore.signal_columns(since)`` gives them (a series' observation
    before ``since`` is its baseline, not a first observation); also each Hugging Face series' latest state,
    and the time of every observation at or after ``since`` (for where the data thins out)."""
    n = len(cols.paper)
    if n == 0:
        none = np.zeros(0)
        return Events.empty(), Latest(np.zeros(0, np.int64), none, none, none), none
    code = papers.codes(cols.papers)[cols.paper]
    # by paper, source, time: one argsort of a key made of the three (lexsort's three passes cost twice that)
    span = int(cols.observed.max() - cols.observed.min()) + 1
    key = (code * len(cols.sources) + cols.source) * span + (cols.observed - cols.observed.min())
    order = np.argsort(key)  # the key is unique: (paper, source, time) is the primary key
    paper, src = code[order], cols.source[order]
    t = cols.observed[order].astype(np.float64)
    up = cols.upvotes[order].astype(np.float64)
    st = cols.stars[order].astype(np.float64)
    st[st < 0] = np.nan
    listed = cols.listed_before[order]
    first = np.ones(n, dtype=bool)  # a series' first row
    first[1:] = (paper[1:] != paper[:-1]) | (src[1:] != src[:-1])
    fresh = first & (t >= since)  # a first observation ever (a baseline's own first is before the window)

    when = t.copy()
    late = fresh & (listed >= 0)
    when[late] = np.minimum(t[late], (listed[late] + 1) * DAY)  # by the end of its listing day

    d_up = np.zeros(n)
    d_up[1:] = up[1:] - up[:-1]
    d_up[first] = 0.0
    d_up[fresh] = up[fresh]

    # stars: gained since the series' last observation that had a count
    ar = np.arange(n)
    start = np.maximum.accumulate(np.where(first, ar, 0))
    known = np.maximum.accumulate(np.where(np.isnan(st), -1, ar))
    before = np.full(n, -1)
    before[1:] = known[:-1]
    has_before = before >= start
    seen = ~np.isnan(st)
    d_st = np.zeros(n)
    both = seen & has_before
    d_st[both] = st[both] - st[before[both]]
    first_stars = seen & ~has_before & (fresh | ~first)
    d_st[first_stars] = np.minimum(st[first_stars], first_stars_cap)

    ups = np.flatnonzero(d_up)
    gained = np.flatnonzero(d_st)
    events = Events(
        np.concatenate([paper[ups], paper[gained]]),
        np.concatenate([when[ups], when[gained]]),
        np.concatenate([np.full(len(ups), HF_UPVOTE), np.full(len(gained), STAR)]),
        np.concatenate([d_up[ups], d_st[gained]]),
    )
    last = np.ones(n, dtype=bool)
    last[:-1] = first[1:]
    last &= src == (cols.sources.index(HF_SOURCE) if HF_SOURCE in cols.sources else -1)
    return events, Latest(paper[last], up[last], st[last], t[last]), t[t >= since]


def local_events(cols: LocalColumns, papers: PaperIds) -> Events:
    """Events from daily local counts: at noon (UTC) of their day."""
    kinds = np.array([LOCAL_KINDS.get(k, -1) for k in cols.kinds], dtype=np.int64)
    return Events(
        papers.codes(cols.papers)[cols.paper] if len(cols.paper) else np.zeros(0, np.int64),
        (cols.day + 0.5) * DAY,
        kinds[cols.kind] if len(cols.kind) else np.zeros(0, np.int64),
        cols.n.astype(np.float64),
    ).known_kinds()


def local_totals(totals: Sequence[tuple[str, str, int]], papers: PaperIds) -> Events:
    """Summed local counts (``SignalStore.local_totals``) as events of no particular time (t = 0)."""
    return Events(
        papers.codes([p for p, _, _ in totals]),
        np.zeros(len(totals)),
        np.fromiter((LOCAL_KINDS.get(k, -1) for _, k, _ in totals), dtype=np.int64, count=len(totals)),
        np.fromiter((v for _, _, v in totals), dtype=np.float64, count=len(totals)),
    ).known_kinds()


def day_start(d: date) -> datetime:
    """Midnight (UTC) starting ``d``."""
    return datetime.combine(d, time(0), UTC)


def day_end(d: date) -> datetime:
    """Midnight (UTC) ending ``d``."""
    return day_start(d) + timedelta(days=1)
