"""The lists every surface shares (pages, API, feeds, the CLI; the digest next): one announcement day, one
author's papers, over the search engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from paperwire.app_context import Paperwire
from paperwire.search.hybrid import SearchResults
from paperwire.search.keyword import paper_date


@dataclass
class Day:
    """One announcement day's papers (a page of them) and the days around it."""

    day: date | None  # None: the store is empty (or nothing in this category)
    latest: date | None
    results: SearchResults | None
    previous: date | None
    next: date | None


def _newest(pw: Paperwire, categories: list[str] | None, before: date | None = None) -> date | None:
    # a date bound makes "no words" a valid query: everything, newest first
    res = pw.engine.search("", categories=categories, before=before or date.max, sort="date", limit=1)
    return paper_date(res.hits[0].paper) if res.hits else None


def _oldest_after(pw: Paperwire, categories: list[str] | None, after: date) -> date | None:
    first = pw.engine.search("", categories=categories, after=after, sort="date", limit=1)
    if not first.total:
        return None
    last = pw.engine.search(
        "", categories=categories, after=after, sort="date", limit=1, offset=first.total - 1
    )
    return paper_date(last.hits[0].paper) if last.hits else None


def daily(pw: Paperwire, day: date | None, category: str | None, limit: int = 50, offset: int = 0) -> Day:
    """The papers of ``day`` (default: the latest day with papers), optionally of one category."""
    cats = [category] if category else None
    latest = _newest(pw, cats)
    day = day or latest
    if day is None:
        return Day(None, None, None, None, None)
    res = pw.engine.search(
        "", categories=cats, after=day, before=day, sort="date", limit=limit, offset=offset
    )
    # the first and last days a date can hold (0001-01-01, 9999-12-31) have no day before or after them
    previous = _newest(pw, cats, before=day - timedelta(days=1)) if day > date.min else None
    nxt = _oldest_after(pw, cats, day + timedelta(days=1)) if day < date.max else None
    return Day(day, latest, res, previous, nxt)


def by_author(pw: Paperwire, name: str, limit: int = 20, offset: int = 0) -> SearchResults:
    """An author's papers, newest first (the author filter of the query language)."""
    return pw.engine.search("", authors=[name], sort="date", limit=limit, offset=offset)
