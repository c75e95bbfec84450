"""The web app: server-rendered pages, feeds and the JSON API in one FastAPI app. ``create_app(settings)``."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from paperwire import __version__
from paperwire.app_context import Paperwire, open_paperwire
from paperwire.config import Settings
from paperwire.embed import Embedder
from paperwire.errors import PaperwireError, RateLimitedError, SignInRequired
from paperwire.web.admission import AdmissionMiddleware
from paperwire.web.csrf import CsrfMiddleware
from paperwire.web.error_pages import error_response, internal_error
from paperwire.web.head import HeadMiddleware
from paperwire.web.limits import BodyLimitMiddleware
from paperwire.web.routes import (
    accounts,
    api,
    collections,
    comments,
    digest,
    feeds,
    for_you,
    library,
    library_files,
    pages,
    trending,
)
from paperwire.web.routes import recommend as recommend_routes
from paperwire.web.routes.library_files import MAX_UPLOAD
from paperwire.web.security import HostPolicy, SecurityMiddleware, TokenBucket, allowed_hosts
from paperwire.web.sessions import COOKIE
from paperwire.web.site import STATIC, Site
from paperwire.web.views import flush_views

log = logging.getLogger("paperwire.web")


def _background(settings: Settings, pw: Paperwire, embedder: Embedder | None, stop: threading.Event) -> None:
    """The server's background jobs, on a store connection of their own (paperwire/jobs).

    Always: bring this server's indexes up to what any process wrote. With ``jobs_in_process`` (the
    default) also the shared jobs, such as embedding new papers; turn that off when workers run them.
    """
    from paperwire.jobs import Runner, runner_name
    from paperwire.jobs.builtin import RefreshIndexJob, shared_jobs
    from paperwire.jobs.trending import TrendingJob
    from paperwire.store import open_store

    store = open_store(settings)
    name = runner_name()
    jobs = shared_jobs(settings, store, name, embedder) if settings.jobs_in_process else []
    jobs.append(RefreshIndexJob(pw.engine, settings.refresh_interval))
    jobs.append(
        TrendingJob(pw.trending, settings.refresh_interval, settings.trending_recompute_interval)
    )  # recomputed here, not on requests
    if (
        settings.jobs_in_process
    ):  # digests due go out from here (else from `paperwire worker --digests` or cron)
        from paperwire.jobs.digest import DigestJob

        jobs.append(DigestJob(pw, name))
    try:
        Runner(store, jobs, name=name).run_forever(stop)
    finally:
        store.close()


def _come_back(request: Request) -> str:
    """Where to return after signing in: the page asked for; for a form posted when the session had ended,
    the page the form was on (when it is this site's), else the home page."""
    if request.method in ("GET", "HEAD"):
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    referer = urlsplit(request.headers.get("referer") or "")
    if referer.netloc and referer.netloc == request.headers.get("host") and referer.path.startswith("/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return "/"


def create_app(
    settings: Settings, embedder: Embedder | None = None, background_embed: bool = True
) -> FastAPI:
    """The site for one paperwire home; opens the store (and the demo sample on first run) at startup.

    ``background_embed``: run the background jobs in a thread (_background); tests that want a still
    store turn it off.
    """
    site = Site(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pw = open_paperwire(settings, embedder, serving=True)
        if len(pw.engine.vectors):  # the model loads now, not in the first search
            pw.engine.embedder.embed_query("warm up")
        site.attach(pw)
        stop = threading.Event()
        worker = None
        if background_embed:
            worker = threading.Thread(
                target=_background, args=(settings, pw, embedder, stop), daemon=True, name="paperwire-jobs"
            )
            worker.start()
        views_stop = threading.Event()
        views = None
        if settings.count_views:  # counted views reach the store from here, never from the page request
            views = threading.Thread(
                target=flush_views,
                args=(site.views, pw.store, settings.views_flush_interval, views_stop),
                daemon=True,
                name="paperwire-views",
            )
            views.start()
        yield
        stop.set()
        views_stop.set()
        if views is not None:
            views.join(timeout=30)  # its last flush, before the store closes
        if worker is not None:
            worker.join(timeout=30)
        site.attach(None)
        pw.close()

    app = FastAPI(
        title="paperwire",
        version=__version__,
        description="Self-hosted arXiv discovery: hybrid keyword + semantic search.",
        lifespan=lifespan,
        docs_url=None,  # our own /docs page: Swagger UI served from /static, no CDN, no inline script
        redoc_url=None,
        redirect_slashes=False,  # Starlette's would name the request's host: ours are relative (_http_error)
    )
    app.state.site = site

    def refuse(request: Request, status: int, message: str, headers: Mapping[str, str]) -> Response:
        return error_response(site, request, status, message, headers=headers)

    app.add_middleware(AdmissionMiddleware, limit=settings.web_threads_in_force)
    app.add_middleware(BodyLimitMiddleware, limits={"/library/import": MAX_UPLOAD}, refuse=refuse)
    app.add_middleware(CsrfMiddleware, key=lambda: site.signin.key, cookie_name=COOKIE, refuse=refuse)
    app.add_middleware(
        SecurityMiddleware,
        limiter=TokenBucket(settings.rate_limit_per_minute, settings.rate_limit_burst),
        hosts=HostPolicy(allowed_hosts(settings)),
        refuse=refuse,
    )
    app.add_middleware(HeadMiddleware)  # outermost: every answer to a HEAD, refusals included, loses its body
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(api.router)
    app.include_router(feeds.router)
    app.include_router(pages.router)
    app.include_router(trending.router)
    app.include_router(recommend_routes.router)
    app.include_router(accounts.router)
    app.include_router(library.router)
    app.include_router(library_files.router)
    app.include_router(comments.router)
    app.include_router(collections.router)
    app.include_router(for_you.router)
    app.include_router(digest.router)

    @app.exception_handler(PaperwireError)
    async def _paperwire_error(request: Request, exc: PaperwireError) -> Response:
        status = exc.http_status  # each error class says its own (errors.py)
        headers: dict[str, str] = {}
        if isinstance(exc, SignInRequired) and not request.url.path.startswith("/api/"):
            return RedirectResponse(f"/sign-in?next={quote(_come_back(request))}", status_code=303)
        if isinstance(exc, RateLimitedError):
            message = str(exc)
            headers["Retry-After"] = str(exc.retry_after)
        elif exc.retry_after is not None:  # transient: say so, and when to come back
            message = "paperwire is busy right now; try again in a few seconds"
            headers["Retry-After"] = str(exc.retry_after)
        else:
            message = str(exc) if status < 500 else "internal error"
        if status >= 500:
            log.exception("error answering %s", request.url.path, exc_info=exc)
        title = {
            404: "Not found",
            400: "That did not work",
            401: "Sign in first",
            429: "Slow down",
            503: "Busy",
        }.get(status)
        return error_response(site, request, status, message, title=title, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "query")
        message = f"{where}: {first.get('msg', 'invalid value')}"
        return error_response(site, request, 422, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code < 400:
            return Response(status_code=exc.status_code, headers=exc.headers)
        path: str = request.scope["path"]  # decoded
        if exc.status_code == 404 and path.endswith("/") and path.strip("/\\"):
            # /about/ -> /about, as a relative link: one slash, then no slash or backslash, and the rest
            # percent-encoded (a tab would vanish in the browser), so never //another.site
            where = "/" + quote(path.strip("/\\"), safe="/:@!$&'()*+,;=")
            query = request.url.query
            return RedirectResponse(where + (f"?{query}" if query else ""), status_code=307)
        headers = dict(exc.headers or {})
        allow = [m.strip() for m in headers.get("Allow", "").split(",") if m.strip()]
        if "GET" in allow and "HEAD" not in allow:  # HeadMiddleware answers HEAD wherever GET works
            headers["Allow"] = ", ".join([*allow, "HEAD"])
        return error_response(site, request, exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception) -> Response:
        # Starlette's outermost layer calls this, logs the exception and re-raises it to the server
        return internal_error(site, request)

    return app
