""" "For you": new papers ranked by the signed-in reader's library (paperwire.recommend), with the saved papers
that make each relevant; "not interested" and "more like this" steer it; a tag is a stream of its own."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from paperwire.recommend import LibraryError, recommend
from paperwire.search.keyword import paper_date
from paperwire.web.routes.library import MAX_TAG, known_paper
from paperwire.web.routes.pages import render
from paperwire.web.sessions import UserDep
from paperwire.web.site import SiteDep

router = APIRouter(include_in_schema=False)

SHOWN = 20


@router.get("/for-you")
def for_you(
    request: Request,
    site: SiteDep,
    user: UserDep,
    tag: Annotated[str | None, Query(max_length=MAX_TAG)] = None,
) -> Response:
    store = site.pw.store
    items = store.library(user.id)
    stream = [i.paper_id for i in items if tag is None or tag in i.tags]
    marks = store.feedback(user.id)
    dismissed = [p for p, k in marks.items() if k == "dismissed"]
    more = [p for p, k in marks.items() if k == "more"]
    recs, problem = [], None
    if stream:
        try:
            recs = recommend(
                site.pw,
                stream,
                limit=SHOWN,
                exclude=[i.paper_id for i in items]
                + dismissed,  # saved ones never come back, whatever the stream
                more_like=more,
                less_like=dismissed,
            )
        except LibraryError as exc:
            problem = str(exc)
    because = store.get_papers(list({b for r in recs for b in r.because}))
    rows = [(r, paper_date(r.paper), [because[b] for b in r.because if b in because]) for r in recs]
    return render(
        site,
        request,
        "for_you.html",
        rows=rows,
        tag=tag or "",
        tags=store.library_tags(user.id),
        stream=len(stream),
        problem=problem,
    )


@router.post("/for-you/feedback")
def feedback(
    site: SiteDep,
    user: UserDep,
    paper_id: Annotated[str, Form(max_length=100)],
    kind: Annotated[Literal["dismissed", "more", "clear"], Form()],
    tag: Annotated[str, Form(max_length=MAX_TAG)] = "",
) -> Response:
    pid = known_paper(site, paper_id)
    site.pw.store.set_feedback(user.id, pid, None if kind == "clear" else kind)
    where = f"/for-you?{urlencode({'tag': tag})}" if tag else "/for-you"
    return RedirectResponse(where, status_code=303)
