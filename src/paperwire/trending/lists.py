"""What a trending list is, as pages, the API, feeds and the CLI show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from paperwire.models import Paper, Signal

WINDOWS = ("today", "week", "month", "all")
# each window's sorts, its default first
SORTS: dict[str, tuple[str, ...]] = {
    "today": ("upvotes", "announced", "score"),  # upvotes: Hugging Face's own order of the day's list
    "week": ("score", "upvotes", "stars"),  # upvotes, stars: most gained in the window
    "month": ("score", "upvotes", "stars"),
    "all": ("upvotes",),  # Hugging Face upvotes + local upvotes, no decay
}


@dataclass(frozen=True)
class TrendingEntry:
    """One paper in a list, with why it is there."""

    paper: Paper
    rank: int  # 1 for the first of the whole list (offsets included)
    score: float  # the window's decayed score ("all": its upvotes; "today": the week's score)
    reasons: list[
        str
    ]  # e.g. "+42 upvotes in 2 days", "310 GitHub stars, +120 this week", "15 views here this week"
    upvotes: int | None  # latest Hugging Face count (None: never listed there)
    upvotes_gained: int  # Hugging Face upvotes gained in the window ("all": all of them)
    stars: int | None  # latest GitHub stars of its repository (None: none known)
    stars_gained: int | None  # stars gained in the window (None: no repository count, or "all")
    signal: Signal | None  # latest Hugging Face observation (repository, project page, observed_at)
    views: int  # in the window ("all": ever)
    local_upvotes: int
    saves: int


@dataclass
class TrendingList:
    """One page of a trending list and what it is relative to."""

    window: str
    category: str | None
    sort: str
    as_of: datetime  # the reference time the window ends at
    clock_past_data: bool  # the clock is past the newest data: windows end at the data's end (pages say so)
    newest_data: datetime | None  # the newest observation (None: no data at all)
    day: date | None  # "today": the date of the daily list shown
    entries: list[TrendingEntry]
    total: int  # papers in the whole list
