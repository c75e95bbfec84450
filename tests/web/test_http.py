"""HTTP itself: HEAD on every page, in process."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

from paperwire.web.routes import api, feeds, pages

# one URL for every GET route the site has (test_every_get_route_is_listed keeps this true)
GET_URLS = {
    "/": "/",
    "/search": "/search?q=graph",
    "/paper/{paper_id:path}": "/paper/2501.00001",
    "/author/{name:path}": "/author/Ada%20Lovelace",
    "/about": "/about",
    "/docs": "/docs",
    "/favicon.ico": "/favicon.ico",
    "/feed.xml": "/feed.xml",
    "/feed/{category}.xml": "/feed/cs.LG.xml",
    "/search/feed.xml": "/search/feed.xml?q=graph",
    "/api": "/api",
    "/api/search": "/api/search?q=graph",
    "/api/papers/{paper_id:path}": "/api/papers/2501.00001",
    "/api/papers/{paper_id:path}/similar": "/api/papers/2501.00001/similar",
    "/api/daily": "/api/daily",
    "/api/status": "/api/status",
    "/openapi.json": "/openapi.json",
    "/static": "/static/style.css",
}


def test_every_get_route_is_listed(web: TestClient) -> None:
    routes = [*web.app.routes, *api.router.routes, *feeds.router.routes, *pages.router.routes]  # type: ignore[attr-defined]
    paths = {r.path for r in routes if isinstance(r, Mount) or "GET" in (getattr(r, "methods", None) or ())}
    assert paths == set(GET_URLS)


@pytest.mark.parametrize("url", [*GET_URLS.values(), "/nowhere", "/api/nowhere", "/paper/2101.99999"])
def test_head_answers_like_get_without_a_body(web: TestClient, url: str) -> None:
    get = web.get(url)
    head = web.head(url)
    assert head.status_code == get.status_code and get.status_code in (200, 404)
    assert head.content == b""
    assert dict(head.headers) == dict(get.headers)
    assert int(head.headers["content-length"]) == len(get.content)
    assert head.headers["x-content-type-options"] == "nosniff"
