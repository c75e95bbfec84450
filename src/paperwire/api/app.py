"""The JSON API (FastAPI): search, papers, similar papers, status. ``create_app(settings)`` builds it."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from paperwire.app_context import Paperwire, open_paperwire
from paperwire.config import Settings
from paperwire.embed import Embedder, get_embedder
from paperwire.errors import NotFoundError, PaperwireError, QueryError
from paperwire.serialize import hit_json, paper_json, results_json, status_json

log = logging.getLogger("paperwire.api")


def _catch_up(settings: Settings, pw: Paperwire, embedder: Embedder | None, stop: threading.Event) -> None:
    """Embed papers that have no vector yet, in the background, with a connection of its own."""
    from paperwire.ingest import embed_pending
    from paperwire.store import open_store

    store = open_store(settings)
    try:
        if not store.count_pending_embeddings(pw.engine.model_name):
            return
        emb = embedder or get_embedder(settings)
        while not stop.is_set() and embed_pending(store, emb, limit=256):
            pw.engine.refresh()
    except PaperwireError as exc:  # the API still answers keyword search
        log.warning("background embedding stopped: %s", exc)
    finally:
        store.close()


def create_app(
    settings: Settings, embedder: Embedder | None = None, background_embed: bool = True
) -> FastAPI:
    """The API for one paperwire home; opens the store (and the demo sample on first run) at startup."""
    state: dict[str, Any] = {}
    lock = threading.Lock()  # one store connection: requests take turns (searches take milliseconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pw = open_paperwire(settings, embedder)
        state["pw"] = pw
        stop = threading.Event()
        worker = None
        if background_embed:
            worker = threading.Thread(target=_catch_up, args=(settings, pw, embedder, stop), daemon=True)
            worker.start()
        yield
        stop.set()
        if worker is not None:
            worker.join(timeout=30)
        pw.close()

    app = FastAPI(
        title="paperwire",
        version="0.1.0",
        description="Self-hosted arXiv discovery: hybrid keyword + semantic search.",
        lifespan=lifespan,
    )

    def pw() -> Paperwire:
        p: Paperwire = state["pw"]
        return p

    @app.exception_handler(PaperwireError)
    async def _paperwire_error(request: Request, exc: PaperwireError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFoundError) else 400 if isinstance(exc, QueryError) else 500
        message = str(exc) if status < 500 else "internal error"
        if status >= 500:
            log.exception("error answering %s", request.url.path, exc_info=exc)
        return JSONResponse({"status": status, "error": message}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "query")
        return JSONResponse(
            {"status": 422, "error": f"{where}: {first.get('msg', 'invalid value')}"}, status_code=422
        )

    @app.get("/api", summary="What this API offers")
    def index() -> dict[str, Any]:
        return {
            "endpoints": [
                "/api/search",
                "/api/papers/{id}",
                "/api/papers/{id}/similar",
                "/api/status",
                "/docs",
            ],
        }

    @app.get("/api/search", summary="Hybrid search with the query language and filters")
    def search(
        q: Annotated[str, Query(min_length=1, max_length=1000, description="Query language text.")],
        mode: Literal["keyword", "semantic", "hybrid"] = "hybrid",
        category: Annotated[list[str] | None, Query(max_length=20)] = None,
        author: Annotated[list[str] | None, Query(max_length=20)] = None,
        after: date | None = None,
        before: date | None = None,
        sort: Literal["relevance", "date"] = "relevance",
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        page: Annotated[int, Query(ge=1, le=1000)] = 1,
    ) -> dict[str, Any]:
        with lock:
            res = pw().engine.search(
                q,
                mode=mode,
                categories=category,
                authors=author,
                after=after,
                before=before,
                sort=sort,
                limit=min(limit, settings.max_page_size),
                offset=(page - 1) * limit,
            )
            return results_json(res)

    @app.get("/api/papers/{paper_id:path}/similar", summary="Nearest papers by embedding")
    def similar(paper_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
        with lock:
            return {"paper": paper_id, "hits": [hit_json(h) for h in pw().engine.similar(paper_id, limit)]}

    @app.get("/api/papers/{paper_id:path}", summary="One paper by arXiv id")
    def paper(paper_id: str) -> dict[str, Any]:
        from paperwire.sources.arxiv_ids import parse_arxiv_ref

        pid = parse_arxiv_ref(paper_id)[0]
        with lock:
            p = pw().store.get_paper(pid)
        if p is None:
            raise NotFoundError(f"arXiv {pid} is not in this paperwire")
        return paper_json(p)

    @app.get("/api/status", summary="Corpus size, newest paper, model, harvest state")
    def status() -> dict[str, Any]:
        with lock:
            return status_json(pw())

    return app
