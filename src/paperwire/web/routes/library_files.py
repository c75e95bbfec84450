"""The library as files: export it (BibTeX, CSL JSON, RIS) and import one (the same, a Zotero export, or a
list of arXiv ids), each entry matched to a paper; what matches nothing is listed with the reason."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from paperwire.errors import LibraryFormatError, QueryError
from paperwire.library.formats import EXTENSIONS, MEDIA_TYPES, export_library, read_library
from paperwire.library.match import FETCH_BATCH, fetcher, match_entries
from paperwire.web.routes.library import MAX_TAG, MAX_TAGS, parse_tags
from paperwire.web.routes.pages import render
from paperwire.web.sessions import UserDep
from paperwire.web.site import SiteDep

router = APIRouter(include_in_schema=False)

MAX_UPLOAD = 20 * 1024 * 1024  # a 10,000-entry BibTeX file with abstracts is about 15 MB
BY_SUFFIX = {"bib": "bibtex", "json": "csl", "ris": "ris"}


@router.get("/library/export.{suffix}")
def export(site: SiteDep, user: UserDep, suffix: Literal["bib", "json", "ris"]) -> Response:
    fmt = BY_SUFFIX[suffix]
    items = site.pw.store.library(user.id)
    papers = site.pw.store.get_papers([i.paper_id for i in items])
    ordered = [papers[i.paper_id] for i in items if i.paper_id in papers]
    body = export_library(
        ordered,
        fmt,  # type: ignore[arg-type]
        tags={i.paper_id: i.tags for i in items if i.tags},
        notes={i.paper_id: i.note for i in items if i.note},
    )
    name = f"paperwire-library{EXTENSIONS[fmt]}"
    return Response(
        body,
        media_type=MEDIA_TYPES[fmt],
        headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
    )


@router.get("/library/import")
def import_form(request: Request, site: SiteDep, user: UserDep) -> Response:
    return render(site, request, "library_import.html", report=None, error=None, added=0)


@router.post("/library/import")
async def import_file(
    request: Request,
    site: SiteDep,
    user: UserDep,
    file: Annotated[UploadFile, File()],
    tags: Annotated[str, Form(max_length=800)] = "",
) -> Response:
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return render(
            site, request, "library_import.html", 413, report=None, added=0,
            error=f"that file is over {MAX_UPLOAD // (1024 * 1024)} MB: split it, or import it in parts",
        )  # fmt: skip
    try:
        extra = parse_tags(tags)
        entries = read_library(data, filename=file.filename)
    except (LibraryFormatError, QueryError) as exc:
        return render(site, request, "library_import.html", 400, report=None, added=0, error=str(exc))
    store = site.pw.store
    engine = site.pw.engine
    engine.refresh_keyword()  # titles match through the keyword index: bring it up to the store
    # arXiv ids the store lacks are fetched from arXiv (3 s a request, 100 ids each): one request's worth
    # inside a page request; more are listed as not fetched
    wanted = list(dict.fromkeys(e.arxiv_id for e in entries if e.arxiv_id))
    missing = len(wanted) - len(store.get_papers(wanted)) if wanted else 0
    fetch = fetcher(site.settings) if 0 < missing <= FETCH_BATCH else None
    report = match_entries(entries, store, engine.keyword, fetch=fetch)
    by_paper: dict[str, tuple[list[str], str]] = {}
    for m in report.matched:
        got = by_paper.setdefault(m.paper_id, (list(extra), ""))  # the tags asked for first: never cut off
        got[0].extend(t.replace("\x00", "") for t in m.entry.tags)
        if m.entry.note and not got[1]:
            by_paper[m.paper_id] = (got[0], m.entry.note.replace("\x00", "")[:5000])
    added = store.save_many(
        user.id,
        [(pid, parse_tags([x[:MAX_TAG] for x in t][:MAX_TAGS]), note) for pid, (t, note) in by_paper.items()],
    )
    return render(site, request, "library_import.html", report=report, error=None, added=added)
