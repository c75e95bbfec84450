"""The server-rendered pages: the daily list, search, paper, author and about pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from markupsafe import Markup

from paperwire.errors import NotFoundError, QueryError
from paperwire.listing import DaySort, by_author, daily
from paperwire.models import Paper, SearchHit
from paperwire.search.hybrid import SearchResults
from paperwire.search.keyword import paper_date
from paperwire.search.query import MAX_QUERY_LENGTH, parse_date_option
from paperwire.serialize import reasons, status_json
from paperwire.sources.arxiv_ids import looks_like_arxiv_ref, parse_arxiv_ref
from paperwire.web.render import (
    Popularity,
    bibtex,
    doi_url,
    highlight,
    linkify,
    popularity,
    safe_url,
    snippet,
)
from paperwire.web.sessions import current_user
from paperwire.web.site import STATIC, Site, SiteDep

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 10
DAY_PAGE_SIZE = 50
AUTHOR_PAGE_SIZE = 20
MAX_PAGE = 1000
# offered in the category filters; any valid category can be typed
COMMON_CATEGORIES = (
    "cs.AI", "cs.CL", "cs.CV", "cs.LG", "cs.RO", "cs.IR", "cs.CR", "cs.SE", "cs.HC", "cs.NE",
    "stat.ML", "eess.IV", "eess.AS", "math.OC", "physics.comp-ph", "q-bio.QM",
)  # fmt: skip


@dataclass
class Card:
    """A paper as a list shows it: highlighted title, snippet, and why it matched."""

    paper: Paper
    title: Markup
    snippet: Markup
    when: date | None
    why: list[str] = field(default_factory=list)
    upvotes: int | None = None  # Hugging Face daily-papers upvotes, when it was listed there
    pop: Popularity | None = None  # its latest observation: repository, stars, project page, when seen


def _terms(site: Site, res: SearchResults | None) -> set[str]:
    if res is None:
        return set()
    return site.pw.engine.keyword.highlight_terms(res.query)  # what the index matched, no function words


def _cards(site: Site, hits: list[SearchHit], terms: set[str], explain: bool) -> list[Card]:
    analyze = site.pw.engine.keyword.word_terms
    return [
        Card(
            paper=h.paper,
            title=highlight(h.paper.title, terms, analyze),
            snippet=highlight(snippet(h.paper.abstract), terms, analyze),
            when=paper_date(h.paper),
            why=reasons(h) if explain else [],
            upvotes=h.upvotes,
            pop=popularity(h.signal),
        )
        for h in hits
    ]


def page_links(
    base: str,
    params: dict[str, Any],
    page: int,
    total: int,
    size: int,
    drop: tuple[str, ...] = ("relevance", "hybrid", "announced"),
) -> dict[str, Any]:
    """Previous/next links and a window of page numbers, keeping the other parameters (but empty ones and
    the defaults in ``drop``)."""
    last = max(1, min(MAX_PAGE, -(-total // size)))

    def url(n: int) -> str:
        kept = {k: v for k, v in params.items() if v not in (None, "", *drop)}
        if n > 1:
            kept["page"] = n
        return base + ("?" + urlencode(kept, doseq=True) if kept else "")

    window = range(max(1, page - 3), min(last, page + 3) + 1)
    return {
        "page": page,
        "last": last,
        "prev": url(page - 1) if page > 1 else None,
        "next": url(page + 1) if page < last else None,
        "numbers": [(n, url(n)) for n in window],
    }


def render(site: Site, request: Request, template: str, status: int = 200, **ctx: Any) -> Response:
    """A page from its template."""
    return site.templates.TemplateResponse(request, template, ctx, status_code=status)


def error_page(site: Site, request: Request, status: int, title: str, message: str, q: str = "") -> Response:
    """A helpful error page (never a traceback): what went wrong and a search form to try again."""
    return render(site, request, "error.html", status, title=title, message=message, q=q[:MAX_QUERY_LENGTH])


def _opt_str(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


# -- home: the daily list -----------------------------------------------------------------------


@router.get("/", name="home")
def home(
    request: Request,
    site: SiteDep,
    day: Annotated[str | None, Query(max_length=10)] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    sort: DaySort = "announced",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    cat = _opt_str(category)
    try:
        wanted = parse_date_option(day, end=False)
        d = daily(site.pw, wanted, cat, limit=DAY_PAGE_SIZE, offset=(page - 1) * DAY_PAGE_SIZE, sort=sort)
        cards = _cards(site, d.results.hits, set(), False) if d.results else []
    except QueryError as exc:
        return error_page(site, request, 400, "That filter did not work", str(exc))
    total = d.results.total if d.results else 0

    def url(day: date | None = None, category: str | None = cat, sort: str = sort) -> str:
        """The daily list of ``day`` (None: the latest), keeping the category and sort unless told."""
        kept = {"day": day.isoformat() if day else None, "category": category, "sort": sort}
        query = urlencode({k: v for k, v in kept.items() if v and v != "announced"})
        return "/" + (f"?{query}" if query else "")

    feed = {"sort": sort} if sort != "announced" else {}
    where = {"day": wanted.isoformat() if wanted else None, "category": cat, "sort": sort}
    return render(
        site,
        request,
        "home.html",
        d=d,
        cards=cards,
        total=total,
        category=cat or "",
        sort=sort,
        url=url,
        wanted=wanted,
        today=date.today(),
        categories=COMMON_CATEGORIES,
        pages=page_links("/", where, page, total, DAY_PAGE_SIZE),
        feed_url=f"/feed/{cat}.xml" if cat else "/feed.xml" + (f"?{urlencode(feed)}" if feed else ""),
    )


# -- search -------------------------------------------------------------------------------------


@router.get("/search", name="search")
def search(
    request: Request,
    site: SiteDep,
    q: str | None = None,
    category: str | None = None,
    author: str | None = None,
    after: str | None = None,
    before: str | None = None,
    sort: Literal["relevance", "date", "popular"] = "relevance",
    mode: Literal["hybrid", "keyword", "semantic"] = "hybrid",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    text = (q or "").strip()
    form = {
        "q": text[:MAX_QUERY_LENGTH],
        "category": _opt_str(category),
        "author": _opt_str(author),
        "after": _opt_str(after),
        "before": _opt_str(before),
        "sort": sort,
        "mode": mode,
    }
    if q is None and not any(form[k] for k in ("category", "author", "after", "before")):
        return render(site, request, "search.html", form=form, res=None, cards=[], pages=None, feed_url=None)
    if text and " " not in text and len(text) <= 200 and looks_like_arxiv_ref(text):
        return RedirectResponse(f"/paper/{parse_arxiv_ref(text)[0]}", status_code=303)
    try:
        res = site.pw.engine.search(
            text,
            mode=mode,
            categories=[form["category"]] if form["category"] else None,
            authors=[form["author"]] if form["author"] else None,
            after=parse_date_option(form["after"], end=False),
            before=parse_date_option(form["before"], end=True),
            sort=sort,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
        cards = _cards(site, res.hits, _terms(site, res), True)
    except QueryError as exc:
        return render(
            site, request, "search.html", 400, form=form, res=None, cards=[], pages=None, feed_url=None,
            error=str(exc),
        )  # fmt: skip
    params = {k: v for k, v in form.items() if v}
    pages = page_links("/search", params, page, res.total, PAGE_SIZE)
    feed_url = "/search/feed.xml?" + urlencode({k: v for k, v in params.items() if k != "sort"})
    return render(
        site, request, "search.html", form=form, res=res, cards=cards, pages=pages, feed_url=feed_url
    )


# -- paper and author pages ----------------------------------------------------------------------


@router.get("/paper/{paper_id:path}", name="paper")
def paper(request: Request, site: SiteDep, paper_id: str) -> Response:
    try:
        pid = parse_arxiv_ref(paper_id)[0]
    except QueryError as exc:
        return error_page(site, request, 400, "Not an arXiv id", str(exc))
    if pid != paper_id:
        return RedirectResponse(f"/paper/{pid}", status_code=301)
    hit = site.pw.engine.find_paper(pid)
    p = hit.paper if hit else None
    similar: list[SearchHit] = []
    cards: list[Card] = []
    embedded = False
    if p is not None:
        eng = site.pw.engine
        # only with a stored vector: never load the model inside a page request
        embedded = eng.vectors.vector(pid) is not None or (
            site.pw.store.get_embedding(eng.model_name, pid) is not None
        )
        if embedded:
            try:
                similar = eng.similar(pid, 6)
            except NotFoundError:
                similar = []
        cards = _cards(site, similar, set(), False)
    if p is None:
        return render(site, request, "not_found.html", 404, pid=pid)
    me = current_user(request)
    store = site.pw.store
    mine = store.library(me.id, paper_ids=[pid]) if me else []
    response = render(
        site,
        request,
        "paper.html",
        p=p,
        when=paper_date(p),
        similar=cards,
        embedded=embedded,
        bibtex=bibtex(p),
        abs_url=safe_url(p.abs_url),
        pdf_url=safe_url(p.pdf_url),
        doi_url=doi_url(p.doi),
        comment=linkify(p.comment) if p.comment else None,
        upvotes=hit.upvotes if hit else None,
        pop=popularity(hit.signal if hit else None),
        history=_history(site, pid),
        local_upvotes=store.upvote_counts([pid]).get(pid, 0),
        upvoted=bool(me) and pid in store.upvoted(me.id, [pid]),  # type: ignore[union-attr]
        saved=mine[0] if mine else None,
        comments=[(c, linkify(c.body)) for c in store.comments(pid, with_hidden=bool(me and me.is_admin))],
        collections=store.collections(me.id) if me else [],
    )
    site.views.count(request, pid)  # only a page that rendered: no error page counts
    return response


HISTORY_SHOWN = 30


def _history(site: Site, pid: str) -> list[Popularity]:
    """The paper's observations, newest first (the latest HISTORY_SHOWN), when there is more than one."""
    seen = site.pw.store.signal_history(pid)
    if len(seen) < 2:
        return []
    return [p for p in (popularity(s) for s in reversed(seen[-HISTORY_SHOWN:])) if p is not None]


@router.get("/author/{name:path}", name="author")
def author(
    request: Request,
    site: SiteDep,
    name: str,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    clean = " ".join(name.split())
    if not clean or len(clean) > 200:
        return error_page(site, request, 400, "Not an author name", "An author name has 1 to 200 characters.")
    try:
        res = by_author(site.pw, clean, limit=AUTHOR_PAGE_SIZE, offset=(page - 1) * AUTHOR_PAGE_SIZE)
        cards = _cards(site, res.hits, set(), False)
    except QueryError as exc:
        return error_page(site, request, 400, "Not an author name", str(exc))
    pages = page_links(request.url.path, {}, page, res.total, AUTHOR_PAGE_SIZE)
    return render(site, request, "author.html", name=clean, res=res, cards=cards, pages=pages)


@router.get("/favicon.ico")
def favicon() -> Response:
    # browsers ask for it on pages without a <link rel="icon">, such as a feed opened directly
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


@router.get("/about", name="about")
def about(request: Request, site: SiteDep) -> Response:
    st = status_json(site.pw)
    return render(site, request, "about.html", st=st, settings=site.settings)


@router.get("/docs", include_in_schema=False)
def api_docs(request: Request, site: SiteDep) -> Response:
    """Swagger UI over the OpenAPI schema, from vendored assets."""
    return render(site, request, "docs.html", openapi_url=request.app.openapi_url)
