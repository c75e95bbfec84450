"""The trending page and its RSS feeds: a window (today, this week, this month, all time), a category, a sort.

The lists come from ``pw.trending`` (trending/service.py, a snapshot the background job keeps fresh); this
module only shapes them for a page or a feed. The JSON form is /api/trending (routes/api.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape

from paperwire.errors import QueryError
from paperwire.trending import SORTS, WINDOWS, TrendingList
from paperwire.web.error_pages import error_response
from paperwire.web.feeds import rss
from paperwire.web.render import popularity, snippet
from paperwire.web.routes.feeds import RSS_TYPE
from paperwire.web.routes.pages import COMMON_CATEGORIES, MAX_PAGE, Card, error_page, page_links
from paperwire.web.site import Site, SiteDep

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
FEED_SIZE = 50
WINDOW_NAMES = {"today": "Today", "week": "This week", "month": "This month", "all": "All time"}
SORT_NAMES = {
    "upvotes": "Most upvoted",
    "announced": "Announcement order",
    "score": "Trending score",
    "stars": "Most stars gained",
}
SORT_HELP = {
    ("today", "upvotes"): "Hugging Face's order of the day's list: most upvotes first",
    ("today", "announced"): "arXiv's announcement order",
    ("today", "score"): "the week's trending score",
    ("week", "upvotes"): "most Hugging Face upvotes gained this week",
    ("month", "upvotes"): "most Hugging Face upvotes gained this month",
    ("week", "stars"): "most GitHub stars gained this week",
    ("month", "stars"): "most GitHub stars gained this month",
    ("all", "upvotes"): "most upvotes ever, on Hugging Face and here",
}

Window = Annotated[
    str, Query(max_length=20, description="today (the latest Hugging Face daily list), week, month or all.")
]
Category = Annotated[str | None, Query(max_length=40, description="Only this arXiv category, e.g. cs.CV.")]
Sort = Annotated[
    str | None,
    Query(
        max_length=20,
        description="today: upvotes (Hugging Face's order, the default), announced or score; week and month: "
        "score (the default), upvotes or stars (most gained in the window); all: upvotes.",
    ),
]
Day = Annotated[date | None, Query(description="today only: the Hugging Face daily list of this day.")]


@dataclass
class TrendCard(Card):
    """A card on a trending list: the paper, its rank and why it is there."""

    rank: int = 0
    reasons: list[str] | None = None


def title_of(t: TrendingList) -> str:
    """The list's name, as the page heading and the feed title say it."""
    where = f" in {t.category}" if t.category else ""
    if t.window == "today":
        return f"Trending today{where}" + (f": Hugging Face's list of {t.day:%d %B %Y}" if t.day else "")
    return (
        f"Trending {WINDOW_NAMES[t.window].lower()}{where}" if t.window != "all" else f"Most upvoted{where}"
    )


def trending_url(base: str, window: str, category: str | None, sort: str | None, **more: Any) -> str:
    """``base`` with the list's parameters (defaults left out)."""
    params = {"window": window, "category": category or None}
    if sort and sort != SORTS[window][0]:
        params["sort"] = sort
    params.update(more)
    query = urlencode({k: v for k, v in params.items() if v})
    return base + (f"?{query}" if query else "")


def _cards(t: TrendingList) -> list[TrendCard]:
    return [
        TrendCard(
            paper=e.paper,
            title=escape(e.paper.title),
            snippet=escape(snippet(e.paper.abstract)),
            when=e.paper.announced or e.paper.published,
            upvotes=e.upvotes,
            pop=popularity(e.signal),
            rank=e.rank,
            reasons=e.reasons,
        )
        for e in t.entries
    ]


def _category(category: str | None) -> str | None:
    return category.strip() if category and category.strip() else None


@router.get("/trending", name="trending")
def trending_page(
    request: Request,
    site: SiteDep,
    window: Window = "week",
    category: Category = None,
    sort: Sort = None,
    day: Day = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    cat = _category(category)
    try:
        t = site.pw.trending.list(
            window, cat, sort or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, day=day
        )
    except QueryError as exc:
        return error_page(site, request, 400, "That list does not exist", str(exc))
    key = ("page", t.window, t.category, t.sort, page, day)
    body = site.rendered.get(key, t)
    if body is None:  # once per list and snapshot: the list object stays the same until the next one
        body = _page(site, t, page, day)
        site.rendered.put(key, t, body)
    return HTMLResponse(body)


def _page(site: Site, t: TrendingList, page: int, day: date | None) -> bytes:
    cat = t.category  # as the list understood it (cs.cv -> cs.CV)
    here = {"window": t.window, "category": cat, "sort": t.sort if t.sort != SORTS[t.window][0] else None}
    if day is not None:
        here["day"] = day.isoformat()
    html = site.templates.get_template("trending.html").render(
        t=t,
        title=title_of(t),
        cards=_cards(t),
        category=cat or "",
        categories=COMMON_CATEGORIES,
        windows=[(w, WINDOW_NAMES[w], trending_url("/trending", w, cat, None)) for w in WINDOWS],
        sorts=[
            (s, SORT_NAMES[s], SORT_HELP.get((t.window, s), ""), trending_url("/trending", t.window, cat, s))
            for s in SORTS[t.window]
        ],
        all_categories=trending_url("/trending", t.window, None, t.sort),
        longer=None if t.window in ("month", "all") else trending_url("/trending", "month", cat, None),
        pages=page_links("/trending", here, page, t.total, PAGE_SIZE, drop=()),
        feed_url=trending_url("/trending/feed.xml", t.window, cat, t.sort),
    )
    return html.encode()


@router.get("/trending/feed.xml", name="trending_feed")
def trending_feed(
    request: Request,
    site: SiteDep,
    window: Window = "week",
    category: Category = None,
    sort: Sort = None,
) -> Response:
    try:
        t = site.pw.trending.list(window, _category(category), sort or None, limit=FEED_SIZE)
    except QueryError as exc:
        return _bad(site, request, exc)
    page = trending_url("/trending", t.window, t.category, t.sort)
    this = site.absolute(request, request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    notes = {e.paper.id: "; ".join(e.reasons) for e in t.entries if e.reasons}
    name = title_of(t)
    name = name[0].lower() + name[1:]
    body = rss(
        f"paperwire: {name}",
        site.absolute(request, page),
        this,
        f"What the community reads now in this paperwire: {name}, {SORT_NAMES[t.sort].lower()} first.",
        [e.paper for e in t.entries],
        site.absolute(request, ""),
        notes=notes,
    )
    return Response(body, media_type=RSS_TYPE)


def _bad(site: Site, request: Request, exc: QueryError) -> Response:
    return error_response(site, request, 400, f"bad feed request: {exc}", title="Not a feed")
