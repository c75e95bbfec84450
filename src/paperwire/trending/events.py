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

from paperwire.models import LocalCount
from paperwire.store.base import SignalRow

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
        for pid in ids:
            if pid not in index:
                index[pid] = len(known)
                known.append(pid)
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
    rows: Sequence[SignalRow], since: float, papers: PaperIds, first_stars_cap: float
) -> tuple[Events, Latest, np.ndarray]:
    """Events from observations in (paper, source, time) order, as ``SignalStore.signal_rows(since)`` gives
    them (a series' row before ``since`` is its baseline, not a first observation); also each Hugging Face
    series' latest state, and the time of every observation (for where the data thins out)."""
    n = len(rows)
    if n == 0:
        return (
            Events.empty(),
            Latest(*(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0))),
            np.zeros(0),
        )
    pid, src, observed, upvotes, stars, listed = zip(*rows, strict=True)
    pid_a = np.array(pid, dtype=object)
    src_a = np.array(src, dtype=object)
    new_paper = np.ones(n, dtype=bool)
    new_paper[1:] = pid_a[1:] != pid_a[:-1]
    first = new_paper.copy()  # a series' first row
    first[1:] |= src_a[1:] != src_a[:-1]
    paper = papers.codes(list(pid_a[new_paper]))[np.cumsum(new_paper) - 1]
    t = seconds(observed)
    up = np.array(upvotes, dtype=np.float64)
    st = np.array(stars, dtype=np.float64)  # None -> NaN
    fresh = first & (t >= since)  # a first observation ever (a baseline's own first is before the window)

    when = t.copy()
    idx = np.flatnonzero(fresh)
    if len(idx):
        ends = _day_ends([listed[i] for i in idx])
        when[idx] = np.minimum(t[idx], ends)

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
    last &= src_a == HF_SOURCE
    return events, Latest(paper[last], up[last], st[last], t[last]), t[t >= since]


def local_events(counts: Sequence[LocalCount], papers: PaperIds) -> Events:
    """Events from daily local counts: at noon (UTC) of their day."""
    if not counts:
        return Events.empty()
    noon = {d: _noon(d) for d in {c.day for c in counts}}
    return Events(
        papers.codes([c.paper_id for c in counts]),
        np.fromiter((noon[c.day] for c in counts), dtype=np.float64, count=len(counts)),
        np.fromiter((LOCAL_KINDS.get(c.kind, -1) for c in counts), dtype=np.int64, count=len(counts)),
        np.fromiter((c.n for c in counts), dtype=np.float64, count=len(counts)),
    ).known_kinds()


def local_totals(totals: Sequence[tuple[str, str, int]], papers: PaperIds) -> Events:
    """All-time local counts (``SignalStore.local_totals``) as events of no particular time (t = 0)."""
    return Events(
        papers.codes([p for p, _, _ in totals]),
        np.zeros(len(totals)),
        np.fromiter((LOCAL_KINDS.get(k, -1) for _, k, _ in totals), dtype=np.int64, count=len(totals)),
        np.fromiter((v for _, _, v in totals), dtype=np.float64, count=len(totals)),
    ).known_kinds()


def seconds(stamps: Sequence[str]) -> np.ndarray:
    """ISO 8601 times as Unix seconds (naive ones taken as UTC); each distinct text is parsed once."""
    parsed = {s: _unix(s) for s in set(stamps)}
    return np.fromiter(map(parsed.__getitem__, stamps), dtype=np.float64, count=len(stamps))


def _unix(stamp: str) -> float:
    t = datetime.fromisoformat(stamp)
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


def _day_ends(days: Sequence[str | None]) -> np.ndarray:
    """The end (next midnight, UTC) of each ISO day; +inf where there is none."""
    ends = {d: _noon(date.fromisoformat(d)) + DAY / 2 for d in set(days) if d}
    return np.array([ends[d] if d else np.inf for d in days], dtype=np.float64)


def _noon(d: date) -> float:
    return datetime.combine(d, time(12), UTC).timestamp()


def day_start(d: date) -> datetime:
    """Midnight (UTC) starting ``d``."""
    return datetime.combine(d, time(0), UTC)


def day_end(d: date) -> datetime:
    """Midnight (UTC) ending ``d``."""
    return day_start(d) + timedelta(days=1)
