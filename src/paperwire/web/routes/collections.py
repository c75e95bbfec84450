"""Collections: named lists of papers; a public one is readable by anyone with its share link, a private one by
its owner only (A3: another account's collection id answers 404)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from paperwire.errors import NotFoundError, QueryError
from paperwire.models import Collection
from paperwire.search.keyword import paper_date
from paperwire.web.routes.library import known_paper
from paperwire.web.routes.pages import render
from paperwire.web.sessions import UserDep, current_user
from paperwire.web.site import Site, SiteDep

router = APIRouter(include_in_schema=False)

MAX_ID = 2**63 - 1  # the databases' integer range: a larger id is no row's (404), never an overflow (500)
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]

MAX_NAME = 100
MAX_COLLECTIONS = 200


def clean_name(name: str) -> str:
    """A collection's name as kept: one line, trimmed, not empty."""
    text = " ".join(name.split())
    if not text:
        raise QueryError("a collection needs a name")
    return text[:MAX_NAME]


def _mine(site: Site, user_id: int, collection_id: RowId) -> Collection:
    got = site.pw.store.get_collection(user_id, collection_id)
    if got is None:
        raise NotFoundError("no such collection of yours")
    return got


def _page(site: Site, request: Request, c: Collection, owner: bool) -> Response:
    ids = site.pw.store.collection_papers(c.id)
    papers = site.pw.store.get_papers(ids)
    rows = [(papers[i], paper_date(papers[i])) for i in ids if i in papers]
    share = site.absolute(request, f"/c/{c.share_token}") if c.public else None
    return render(site, request, "collection.html", c=c, rows=rows, owner=owner, share=share)


@router.get("/collections")
def collections(request: Request, site: SiteDep, user: UserDep) -> Response:
    return render(site, request, "collections.html", collections=site.pw.store.collections(user.id))


@router.post("/collections")
def create(
    site: SiteDep,
    user: UserDep,
    name: Annotated[str, Form(max_length=MAX_NAME * 2)],
    public: Annotated[str, Form(max_length=1)] = "0",
    paper_id: Annotated[str | None, Form(max_length=100)] = None,
) -> Response:
    store = site.pw.store
    if len(store.collections(user.id)) >= MAX_COLLECTIONS:
        raise QueryError(f"at most {MAX_COLLECTIONS} collections an account")
    c = store.add_collection(user.id, clean_name(name), public == "1", secrets.token_urlsafe(16))
    if paper_id:
        store.set_in_collection(user.id, c.id, known_paper(site, paper_id), True)
    return RedirectResponse(f"/collections/{c.id}", status_code=303)


@router.post("/collections/add")
def add_from_paper(
    site: SiteDep,
    user: UserDep,
    collection: Annotated[int, Form(ge=1, le=MAX_ID)],
    paper_id: Annotated[str, Form(max_length=100)],
) -> Response:
    _mine(site, user.id, collection)
    pid = known_paper(site, paper_id)
    site.pw.store.set_in_collection(user.id, collection, pid, True)
    return RedirectResponse(f"/paper/{pid}", status_code=303)


@router.get("/collections/{collection_id}")
def collection(request: Request, site: SiteDep, user: UserDep, collection_id: RowId) -> Response:
    return _page(site, request, _mine(site, user.id, collection_id), owner=True)


@router.post("/collections/{collection_id}/papers")
def set_paper(
    site: SiteDep,
    user: UserDep,
    collection_id: RowId,
    paper_id: Annotated[str, Form(max_length=100)],
    present: Annotated[str, Form(max_length=1)] = "1",
) -> Response:
    _mine(site, user.id, collection_id)
    pid = known_paper(site, paper_id)
    site.pw.store.set_in_collection(user.id, collection_id, pid, present == "1")
    return RedirectResponse(f"/collections/{collection_id}", status_code=303)


@router.post("/collections/{collection_id}/settings")
def settings(
    site: SiteDep,
    user: UserDep,
    collection_id: RowId,
    name: Annotated[str, Form(max_length=MAX_NAME * 2)],
    public: Annotated[str, Form(max_length=1)] = "0",
) -> Response:
    _mine(site, user.id, collection_id)
    site.pw.store.update_collection(user.id, collection_id, name=clean_name(name), public=public == "1")
    return RedirectResponse(f"/collections/{collection_id}", status_code=303)


@router.post("/collections/{collection_id}/delete")
def delete(site: SiteDep, user: UserDep, collection_id: RowId) -> Response:
    if not site.pw.store.delete_collection(user.id, collection_id):
        raise NotFoundError("no such collection of yours")
    return RedirectResponse("/collections", status_code=303)


@router.get("/c/{token}")
def shared(request: Request, site: SiteDep, token: str) -> Response:
    c = site.pw.store.collection_by_token(token) if 10 <= len(token) <= 64 else None
    me = current_user(request)
    if c is None or not (c.public or (me is not None and me.id == c.user_id)):
        raise NotFoundError("no such collection")
    return _page(site, request, c, owner=me is not None and me.id == c.user_id)
