"""RSS feeds: the latest day (/feed.xml), a category's newest papers (/feed/cs.CV.xml), any search."""

from __future__ import annotations

from datetime import date
from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from paperwire.errors import QueryError
from paperwire.listing import DaySort, daily
from paperwire.models import Paper
from paperwire.search.query import parse_date_option
from paperwire.web.error_pages import error_response
from paperwire.web.feeds import rss
from paperwire.web.site import Site, SiteDep

router = APIRouter(include_in_schema=False)

FEED_SIZE = 50
RSS_TYPE = "application/rss+xml; charset=utf-8"


def _feed(
    site: Site, request: Request, title: str, page: str, description: str, papers: list[Paper]
) -> Response:
    query = request.url.query
    this = site.absolute(request, request.url.path + (f"?{query}" if query else ""))
    body = rss(title, site.absolute(request, page), this, description, papers, site.absolute(request, ""))
    return Response(body, media_type=RSS_TYPE)


def _bad(site: Site, request: Request, exc: QueryError) -> Response:
    return error_response(site, request, 400, f"bad feed request: {exc}", title="Not a feed")


@router.get("/feed.xml", name="feed")
def latest_day(request: Request, site: SiteDep, sort: DaySort = "announced") -> Response:
    d = daily(site.pw, None, None, limit=200, sort=sort)
    papers = [h.paper for h in d.results.hits] if d.results else []
    when = f" of {d.day.isoformat()}" if d.day else ""
    upvoted = sort == "upvotes"
    return _feed(
        site,
        request,
        "paperwire: latest papers" + (", most upvoted first" if upvoted else ""),
        "/?sort=upvotes" if upvoted else "/",
        f"The arXiv announcement{when} in this paperwire"
        + (", most upvoted on Hugging Face first." if upvoted else "."),
        papers,
    )


@router.get("/feed/{category}.xml", name="category_feed")
def category(request: Request, site: SiteDep, category: str) -> Response:
    try:
        res = site.pw.engine.search("", categories=[category], before=date.max, sort="date", limit=FEED_SIZE)
    except QueryError as exc:
        return _bad(site, request, exc)
    cat = res.query.categories[0] if res.query.categories else category
    page = "/?" + urlencode({"category": cat})
    return _feed(
        site,
        request,
        f"paperwire: {cat}",
        page,
        f"The newest {cat} papers in this paperwire.",
        [h.paper for h in res.hits],
    )


@router.get("/search/feed.xml", name="search_feed")
def search(
    request: Request,
    site: SiteDep,
    q: str = "",
    category: str | None = None,
    author: str | None = None,
    after: str | None = None,
    before: str | None = None,
    mode: Literal["hybrid", "keyword", "semantic"] = "hybrid",
) -> Response:
    try:
        res = site.pw.engine.search(
            q,
            mode=mode,
            categories=[category] if category else None,
            authors=[author] if author else None,
            after=parse_date_option(after),
            before=parse_date_option(before, end=True),
            sort="date",
            limit=FEED_SIZE,
        )
    except QueryError as exc:
        return _bad(site, request, exc)
    params = {
        k: v
        for k, v in (
            ("q", q),
            ("category", category),
            ("author", author),
            ("after", after),
            ("before", before),
        )
        if v
    }
    page = "/search?" + urlencode({**params, "sort": "date"})
    return _feed(
        site,
        request,
        f"paperwire search: {q or 'filters'}",
        page,
        "The newest papers matching a paperwire search.",
        [h.paper for h in res.hits],
    )
