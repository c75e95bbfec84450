"""Comments on a paper's page (A6): plain text with links and inline math, escaped; edit and delete one's own;
admins hide any; a per-account hourly limit. Another account's comment ids find nothing (404)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Path
from fastapi.responses import RedirectResponse, Response

from paperwire.errors import NotFoundError, QueryError, RateLimitedError
from paperwire.web.routes.library import known_paper
from paperwire.web.sessions import UserDep
from paperwire.web.site import SiteDep

router = APIRouter(include_in_schema=False)

MAX_ID = 2**63 - 1  # the databases' integer range: a larger id is no row's (404), never an overflow (500)
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]

MAX_COMMENT = 5000


def clean_body(body: str) -> str:
    """A comment as kept: trimmed, not empty, bounded (the form's limit is only the browser's word)."""
    text = body.replace("\r\n", "\n").strip()
    if not text:
        raise QueryError("an empty comment: write something first")
    if len(text) > MAX_COMMENT:
        raise QueryError(f"a comment is at most {MAX_COMMENT:,} characters")
    return text


@router.post("/paper/{paper_id:path}/comments")
def add(
    site: SiteDep, user: UserDep, paper_id: str, body: Annotated[str, Form(max_length=MAX_COMMENT * 2)]
) -> Response:
    pid = known_paper(site, paper_id)
    text = clean_body(body)
    store = site.pw.store
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    if store.count_comments_since(user.id, hour_ago) >= site.settings.comments_per_hour:
        raise RateLimitedError(
            f"you wrote {site.settings.comments_per_hour} comments in the last hour: the next one in a while",
            600,
        )
    cid = store.add_comment(user.id, pid, text)
    return RedirectResponse(f"/paper/{pid}#comment-{cid}", status_code=303)


def _own(site: SiteDep, user_id: int, comment_id: RowId) -> str:
    """The paper of the user's own comment, or 404 (another's comment is as good as missing: A3)."""
    c = site.pw.store.get_comment(comment_id)
    if c is None or c.user_id != user_id:
        raise NotFoundError("no such comment of yours")
    return c.paper_id


@router.post("/comments/{comment_id}/edit")
def edit(
    site: SiteDep, user: UserDep, comment_id: RowId, body: Annotated[str, Form(max_length=MAX_COMMENT * 2)]
) -> Response:
    pid = _own(site, user.id, comment_id)
    site.pw.store.edit_comment(user.id, comment_id, clean_body(body))
    return RedirectResponse(f"/paper/{pid}#comment-{comment_id}", status_code=303)


@router.post("/comments/{comment_id}/delete")
def delete(site: SiteDep, user: UserDep, comment_id: RowId) -> Response:
    pid = _own(site, user.id, comment_id)
    site.pw.store.delete_comment(user.id, comment_id)
    return RedirectResponse(f"/paper/{pid}#comments-h", status_code=303)


@router.post("/comments/{comment_id}/hide")
def hide(
    site: SiteDep, user: UserDep, comment_id: RowId, hidden: Annotated[str, Form(max_length=1)] = "1"
) -> Response:
    c = site.pw.store.get_comment(comment_id)
    if c is None or not user.is_admin:
        raise NotFoundError("no such comment")
    site.pw.store.hide_comment(user.id, comment_id, hidden == "1")
    return RedirectResponse(f"/paper/{c.paper_id}#comment-{comment_id}", status_code=303)
