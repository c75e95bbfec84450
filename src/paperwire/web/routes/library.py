"""Upvotes and the personal library: forms for the pages, and the same under /api/ for scripts (A3, A4).

Every write names the signed-in user; another account's library is never reachable (no route takes a user
id). A paper must be in the store to be upvoted or saved.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from paperwire.errors import NotFoundError, QueryError
from paperwire.models import LibraryItem, User
from paperwire.search.keyword import paper_date
from paperwire.search.query import parse_query
from paperwire.sources.arxiv_ids import parse_arxiv_ref
from paperwire.web.routes.pages import render
from paperwire.web.sessions import UserDep
from paperwire.web.site import Site, SiteDep

router = APIRouter()

MAX_TAGS = 20
MAX_TAG = 40
MAX_NOTE = 5000
LIBRARY_PAGE = 50


def known_paper(site: Site, paper_id: str) -> str:
    """The base id of a paper in the store, or NotFoundError."""
    try:
        pid = parse_arxiv_ref(paper_id)[0]
    except QueryError:
        raise NotFoundError(f"no paper {paper_id[:40]!r} here") from None
    if site.pw.store.get_paper(pid) is None:
        raise NotFoundError(f"no paper {pid} here")
    return pid


def parse_tags(raw: str | list[str]) -> list[str]:
    """Tags from a form ("a, b c") or a list: trimmed, lower case, inner spaces as dashes; bounded."""
    parts = raw.split(",") if isinstance(raw, str) else raw
    tags = list(dict.fromkeys("-".join(t.strip().lower().split()) for t in parts if t.strip()))
    if len(tags) > MAX_TAGS:
        raise QueryError(f"at most {MAX_TAGS} tags on a paper")
    if any(len(t) > MAX_TAG for t in tags):
        raise QueryError(f"a tag is at most {MAX_TAG} characters")
    return tags


def _back(pid: str) -> Response:
    return RedirectResponse(f"/paper/{pid}", status_code=303)


# -- forms ------------------------------------------------------------------------------------------


@router.post("/paper/{paper_id:path}/upvote", include_in_schema=False)
def upvote_form(
    site: SiteDep, user: UserDep, paper_id: str, on: Annotated[str, Form(max_length=1)] = "1"
) -> Response:
    pid = known_paper(site, paper_id)
    site.pw.store.set_upvote(user.id, pid, on == "1")
    return _back(pid)


@router.post("/paper/{paper_id:path}/save", include_in_schema=False)
def save_form(
    site: SiteDep,
    user: UserDep,
    paper_id: str,
    tags: Annotated[str, Form(max_length=MAX_TAGS * (MAX_TAG + 2))] = "",
    note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
) -> Response:
    pid = known_paper(site, paper_id)
    site.pw.store.save_to_library(user.id, pid, tags=parse_tags(tags), note=note.strip())
    return _back(pid)


@router.post("/paper/{paper_id:path}/unsave", include_in_schema=False)
def unsave_form(site: SiteDep, user: UserDep, paper_id: str) -> Response:
    pid = known_paper(site, paper_id)
    site.pw.store.remove_from_library(user.id, pid)
    return _back(pid)


@router.post("/paper/{paper_id:path}/read", include_in_schema=False)
def read_form(
    site: SiteDep,
    user: UserDep,
    paper_id: str,
    read: Annotated[str, Form(max_length=1)] = "1",
    back: Annotated[str, Form(max_length=10)] = "paper",
) -> Response:
    pid = known_paper(site, paper_id)
    if not site.pw.store.saved(user.id, [pid]):
        raise NotFoundError(f"{pid} is not in your library")
    site.pw.store.save_to_library(user.id, pid, read=read == "1")
    return RedirectResponse("/library", status_code=303) if back == "library" else _back(pid)


@router.get("/library", include_in_schema=False)
def library_page(
    request: Request,
    site: SiteDep,
    user: UserDep,
    tag: Annotated[str | None, Query(max_length=MAX_TAG)] = None,
    read: Literal["", "read", "unread"] = "",
    q: Annotated[str, Query(max_length=1000)] = "",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> Response:
    items, note = filtered_library(site, user, tag or None, read, q)
    start = (page - 1) * LIBRARY_PAGE
    shown = items[start : start + LIBRARY_PAGE]
    papers = site.pw.store.get_papers([i.paper_id for i in shown])
    rows = [(i, papers[i.paper_id], paper_date(papers[i.paper_id])) for i in shown if i.paper_id in papers]
    return render(
        site,
        request,
        "library.html",
        rows=rows,
        total=len(items),
        tags=site.pw.store.library_tags(user.id),
        form={"tag": tag or "", "read": read, "q": q},
        note=note,
        page=page,
        more=start + LIBRARY_PAGE < len(items),
    )


def filtered_library(
    site: Site, user: User, tag: str | None, read: str, q: str
) -> tuple[list[LibraryItem], str | None]:
    """The user's library with a tag, read state and query (the search's query language, limited to the
    library, matched by words: semantic neighbours would list every paper): the items in the search's order when
    there is a query, else newest saved first. Searched among the library's papers only, however common the
    words are in the whole corpus."""
    store = site.pw.store
    items = store.library(user.id, tag=tag, read=None if not read else read == "read")
    if not q.strip() or not items:
        return items, None
    by_id = {i.paper_id: i for i in items}
    engine = site.pw.engine
    engine.ready(vectors=False)
    hits, _ = engine.keyword.search(parse_query(q), limit=len(items), within=list(by_id))
    ranked = [by_id[h.paper_id] for h in hits if h.paper_id in by_id]
    return ranked, f"{len(ranked)} of your {len(items)} papers match"


# -- JSON API ---------------------------------------------------------------------------------------


class LibraryUpdate(BaseModel):
    """What a PUT to /api/library/{id} may set (absent fields stay as they are)."""

    tags: list[Annotated[str, Field(max_length=MAX_TAG)]] | None = Field(None, max_length=MAX_TAGS)
    note: str | None = Field(None, max_length=MAX_NOTE)
    read: bool | None = None


def item_json(i: LibraryItem) -> dict[str, Any]:
    """A library entry in the API."""
    return {
        "id": i.paper_id,
        "saved_at": i.saved_at.isoformat(),
        "tags": list(i.tags),
        "note": i.note,
        "read": i.read_at is not None,
    }


@router.get("/api/me", summary="The signed-in account (401 without a session)")
def api_me(site: SiteDep, user: UserDep) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.shown_name, "admin": user.is_admin}


@router.get("/api/library", summary="My library (tag / read filters)")
def api_library(
    site: SiteDep,
    user: UserDep,
    tag: Annotated[str | None, Query(max_length=MAX_TAG)] = None,
    read: bool | None = None,
) -> dict[str, Any]:
    items = site.pw.store.library(user.id, tag=tag, read=read)
    return {"total": len(items), "items": [item_json(i) for i in items]}


@router.put(
    "/api/library/{paper_id:path}", summary="Save a paper to my library, or update its tags, note, read"
)
def api_save(site: SiteDep, user: UserDep, paper_id: str, body: LibraryUpdate) -> dict[str, Any]:
    pid = known_paper(site, paper_id)
    tags = parse_tags(body.tags) if body.tags is not None else None
    site.pw.store.save_to_library(user.id, pid, tags=tags, note=body.note, read=body.read)
    return item_json(site.pw.store.library(user.id, paper_ids=[pid])[0])


@router.delete("/api/library/{paper_id:path}", summary="Remove a paper from my library")
def api_unsave(site: SiteDep, user: UserDep, paper_id: str) -> dict[str, Any]:
    pid = known_paper(site, paper_id)
    if not site.pw.store.remove_from_library(user.id, pid):
        raise NotFoundError(f"{pid} is not in your library")
    return {"id": pid, "saved": False}


@router.post("/api/papers/{paper_id:path}/upvote", summary="Upvote a paper (one per account)")
def api_upvote(site: SiteDep, user: UserDep, paper_id: str) -> dict[str, Any]:
    pid = known_paper(site, paper_id)
    site.pw.store.set_upvote(user.id, pid, True)
    return {"id": pid, "upvoted": True, "upvotes": site.pw.store.upvote_counts([pid]).get(pid, 0)}


@router.delete("/api/papers/{paper_id:path}/upvote", summary="Withdraw my upvote")
def api_unvote(site: SiteDep, user: UserDep, paper_id: str) -> dict[str, Any]:
    pid = known_paper(site, paper_id)
    site.pw.store.set_upvote(user.id, pid, False)
    return {"id": pid, "upvoted": False, "upvotes": site.pw.store.upvote_counts([pid]).get(pid, 0)}
