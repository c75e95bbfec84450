"""/api/recommend: new papers for a library, without an account (paperwire.recommend does the work).

GET takes the library as arXiv ids (``id=...&id=...``); POST takes a library file as the request body
(BibTeX, CSL JSON, RIS or a list of ids; at most ``MAX_BODY`` bytes, 413 past it). POST changes nothing and
reads no cookie, so it needs no CSRF token (web/csrf.py exempts it). Both answer as
``paperwire recommend --json`` prints (recommend/service.py ``recommendations_json``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from paperwire.recommend.service import (
    MAX_LIMIT,
    base_ids,
    library_json,
    match_library,
    matched_ids,
    recommend,
    recommendations_json,
    window,
)
from paperwire.web.error_pages import error_response
from paperwire.web.site import Site, SiteDep

router = APIRouter()

MAX_BODY = 2 * 2**20  # a library file of 2 MB holds thousands of BibTeX entries
MAX_IDS = 1000  # ids in one GET (its address is capped at 8 KB anyway)

Since = Annotated[
    date | None, Query(description="First day of the window of new papers (default: a week before until).")
]
Until = Annotated[
    date | None, Query(description="Last day of the window (default: the newest day in the store).")
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="How many papers.")]
_DESCRIPTION = (
    "New papers (announced in the window) ranked by how well they match the library: a classifier trained on "
    "the library's embeddings against other papers, blended with similarity to the library's nearest papers. "
    "Each paper comes with `score` and `because` (the library papers that make it relevant, best first, at "
    "most 3). Library papers never come back; `library.unmatched` lists what was not found here and why."
)


@router.get("/api/recommend", summary="New papers for a library of arXiv ids", description=_DESCRIPTION)
def recommend_ids(
    site: SiteDep,
    id: Annotated[
        list[str],
        Query(min_length=1, max_length=MAX_IDS, description="The library: arXiv ids or links, repeated."),
    ],
    since: Since = None,
    until: Until = None,
    n: Limit = 20,
) -> JSONResponse:
    pw = site.pw
    ids = base_ids(id)  # QueryError (400) names an id that is none
    known = pw.store.get_papers(ids)
    library = {
        "entries": len(ids),
        "matched": len(known),
        "unmatched": [
            {
                "entry": i,
                "line": None,
                "reason": f"arXiv {i} is not in this paperwire",
                "code": "unknown-arxiv-id",
            }
            for i in ids
            if i not in known
        ],
    }
    return JSONResponse(_answer(site, [i for i in ids if i in known] or ids, since, until, n, library))


@router.post(
    "/api/recommend",
    summary="New papers for a library file (BibTeX, CSL JSON, RIS, ids); changes nothing: no CSRF token needed",
    description=_DESCRIPTION + f" The body is the file itself, at most {MAX_BODY // 2**20} MB (413 past it).",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                t: {"schema": {"type": "string"}}
                for t in ("application/x-bibtex", "application/vnd.citationstyles.csl+json", "text/plain")
            },
        }
    },
)
async def recommend_file(
    request: Request,
    site: SiteDep,
    since: Since = None,
    until: Until = None,
    n: Limit = 20,
    format: Annotated[
        Literal["bibtex", "csl", "ris", "ids"] | None,
        Query(description="The file's format (default: told from its content)."),
    ] = None,
) -> Response:
    too_large = f"the library file is larger than {MAX_BODY // 2**20} MB"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return error_response(site, request, 413, too_large)
    body = bytearray()
    async for chunk in request.stream():  # counted as it comes: a body without a length is capped too
        body += chunk
        if len(body) > MAX_BODY:
            return error_response(site, request, 413, too_large)
    if not body.strip():
        return error_response(
            site, request, 400, "the body is empty: send a BibTeX, CSL JSON or RIS file or ids"
        )

    def answer() -> dict[str, Any]:
        report = match_library(site.pw, bytes(body), fmt=format)
        return _answer(site, matched_ids(report), since, until, n, library_json(report))

    return JSONResponse(await run_in_threadpool(answer))


def _answer(
    site: Site, ids: list[str], since: date | None, until: date | None, n: int, library: dict[str, Any]
) -> dict[str, Any]:
    win = window(site.pw, since, until)
    recs = recommend(
        site.pw, ids, since=win.since, until=win.until, limit=min(n, site.settings.max_page_size)
    )
    return recommendations_json(site.pw, recs, win, library)
