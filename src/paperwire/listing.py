"""The lists every surface shares (pages, API, feeds, the CLI; the digest next): one announcement day, one
author's papers, over the search engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from paperwire.app_context import Paperwire
from paperwire.errors import QueryError
from paperwire.models import SearchHit
from paperwire.search.hybrid import SearchResults
from paperwire.search.keyword import paper_date
from paperwire.search.query import parse_query
from paperwire.sources.hf_daily import hf_order_key

DaySort = Literal["announced", "upvotes"]
DAY_SORTS: tuple[DaySort, ...] = ("announced", "upvotes")


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


def daily(
    pw: Paperwire,
    day: date | None,
    category: str | None,
    limit: int = 50,
    offset: int = 0,
    sort: str = "announced",
) -> Day:
    """The papers of ``day`` (default: the latest day with papers), optionally of one category, in
    announcement order or by upvotes (``sort``)."""
    if sort not in DAY_SORTS:
        raise QueryError(f"unknown sort {sort!r}: use announced or upvotes")
    cats = [category] if category else None
    latest = _newest(pw, cats)
    day = day or latest
    if day is None:
        return Day(None, None, None, None, None)
    if sort == "upvotes":
        res = _by_upvotes(pw, cats, day, limit, offset)
    else:
        res = pw.engine.search(
            "", categories=cats, after=day, before=day, sort="date", limit=limit, offset=offset
        )
    # the first and last days a date can hold (0001-01-01, 9999-12-31) have no day before or after them
    previous = _newest(pw, cats, before=day - timedelta(days=1)) if day > date.min else None
    nxt = _oldest_after(pw, cats, day + timedelta(days=1)) if day < date.max else None
    return Day(day, latest, res, previous, nxt)


def _by_upvotes(pw: Paperwire, cats: list[str] | None, day: date, limit: int, offset: int) -> SearchResults:
    """One page of the day by upvotes: the day's ids in announcement order (ids only, from the keyword
    index), their latest observations in one read, a sort, then only that page's papers are read."""
    if limit < 1 or offset < 0:
        raise QueryError("limit must be at least 1 and offset at least 0")
    q = parse_query("", categories=cats, after=day, before=day)
    index = pw.engine.keyword
    first, total = index.search(q, limit=1, by_date=True)
    every = index.search(q, limit=total, by_date=True)[0] if total > 1 else first
    ids = [h.paper_id for h in every]
    signals = pw.store.latest_signals(ids) if ids else {}
    # Hugging Face's order (trending's "today" uses the same key), then the papers never listed there
    listed = sorted((i for i in ids if i in signals), key=lambda i: hf_order_key(signals[i]))
    order = listed + [i for i in ids if i not in signals]
    page = order[offset : offset + limit]
    papers = pw.store.get_papers(page) if page else {}
    hits = []
    for rank, pid in enumerate(page, start=offset + 1):
        if pid in papers:
            hit = SearchHit(papers[pid], 0.0, keyword_rank=rank)
            hit.attach(signals.get(pid))
            hits.append(hit)
    return SearchResults(q, "keyword", hits, total, offset, limit)


def by_author(pw: Paperwire, name: str, limit: int = 20, offset: int = 0) -> SearchResults:
    """An author's papers, newest first (the author filter of the query language)."""
    return pw.engine.search("", authors=[name], sort="date", limit=limit, offset=offset)
