"""The JSON API under /api/: search, papers, similar papers, the daily list, status (OpenAPI at /docs)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from paperwire.listing import DaySort, daily
from paperwire.serialize import day_json, paper_json, results_json, similar_json, status_json, trending_json
from paperwire.web.routes.trending import Category, Day, Sort, Window
from paperwire.web.site import SiteDep

router = APIRouter()


@router.get("/api", summary="What this API offers")
def index() -> dict[str, Any]:
    return {
        "endpoints": [
            "/api/search",
            "/api/papers/{id}",
            "/api/papers/{id}/similar",
            "/api/daily",
            "/api/trending",
            "/api/status",
            "/docs",
        ],
    }


@router.get("/api/search", summary="Hybrid search with the query language and filters")
def search(
    site: SiteDep,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="Query language text.")],
    mode: Literal["keyword", "semantic", "hybrid"] = "hybrid",
    category: Annotated[list[str] | None, Query(max_length=20)] = None,
    author: Annotated[list[str] | None, Query(max_length=20)] = None,
    after: date | None = None,
    before: date | None = None,
    sort: Literal["relevance", "date", "popular"] = "relevance",
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> JSONResponse:
    res = site.pw.engine.search(
        q,
        mode=mode,
        categories=category,
        authors=author,
        after=after,
        before=before,
        sort=sort,
        limit=min(limit, site.settings.max_page_size),
        offset=(page - 1) * limit,
    )
    # already plain JSON types: skip FastAPI's generic encoder (3 ms a page of results)
    return JSONResponse(results_json(res))


@router.get("/api/papers/{paper_id:path}/similar", summary="Nearest papers by embedding")
def similar(site: SiteDep, paper_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    return similar_json(paper_id, site.pw.engine.similar(paper_id, limit))


@router.get("/api/papers/{paper_id:path}", summary="One paper by arXiv id")
def paper(site: SiteDep, paper_id: str) -> dict[str, Any]:
    hit = site.pw.engine.paper(paper_id)
    return paper_json(hit.paper, hit.upvotes, hit.signal)


@router.get("/api/daily", summary="The papers of one announcement day (default: the latest)")
def daily_list(
    site: SiteDep,
    day: Annotated[date | None, Query(description="YYYY-MM-DD; default: the latest day.")] = None,
    category: Annotated[str | None, Query(max_length=40, description="Only this category.")] = None,
    sort: Annotated[
        DaySort,
        Query(
            description="announced: arXiv's announcement order; upvotes: Hugging Face's order (most upvotes "
            "first, papers never listed there after, in announcement order)."
        ),
    ] = "announced",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> dict[str, Any]:
    d = daily(
        site.pw,
        day,
        category or None,
        limit=min(limit, site.settings.max_page_size),
        offset=(page - 1) * limit,
        sort=sort,
    )
    return day_json(d, category or None, limit) | {"sort": sort}


@router.get("/api/trending", summary="What the community reads now: a trending list, each paper with why")
def trending(
    site: SiteDep,
    window: Window = "week",
    category: Category = None,
    sort: Sort = None,
    day: Day = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> Response:
    """A window (today: the latest Hugging Face daily list; week, month: a decayed trending score; all: most
    upvoted ever), optionally one category, in one of the window's sorts. ``clock_past_data`` true: the newest
    signals are older than the clock, and the windows end at them (``as_of``). 400 for a window, sort or
    category that does not exist."""
    limit = min(limit, site.settings.max_page_size)
    offset = (page - 1) * limit
    t = site.pw.trending.list(window, category or None, sort or None, limit=limit, offset=offset, day=day)
    key = ("api", t.window, t.category, t.sort, limit, offset, day)
    body = site.rendered.get(key, t)
    if body is None:  # once per list and snapshot (web/site.py RenderCache)
        body = bytes(JSONResponse(trending_json(t, offset, limit)).body)
        site.rendered.put(key, t, body)
    return Response(body, media_type="application/json")


@router.get("/api/status", summary="Corpus size, newest paper, model, harvest state")
def status(site: SiteDep) -> dict[str, Any]:
    return status_json(site.pw)
