"""HTTP itself, in process: HEAD on every page; the Host header and the public address."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.routing import Mount

from paperwire.config import Settings
from paperwire.web.app import create_app
from paperwire.web.routes import api, feeds, pages, trending
from tests.embedders import HashEmbedder
from tests.web.conftest import HOSTILE, fill

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
    "/trending": "/trending",
    "/trending/feed.xml": "/trending/feed.xml?window=all",
    "/api": "/api",
    "/api/search": "/api/search?q=graph",
    "/api/papers/{paper_id:path}": "/api/papers/2501.00001",
    "/api/papers/{paper_id:path}/similar": "/api/papers/2501.00001/similar",
    "/api/daily": "/api/daily",
    "/api/trending": "/api/trending",
    "/api/status": "/api/status",
    "/openapi.json": "/openapi.json",
    "/static": "/static/style.css",
}


def test_every_get_route_is_listed(web: TestClient) -> None:
    routers = (api.router, feeds.router, pages.router, trending.router)
    routes = [*web.app.routes, *(r for router in routers for r in router.routes)]  # type: ignore[attr-defined]
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


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "localhost.evil.example", "127.0.0.2", ""]
)
def test_a_host_the_operator_did_not_allow_gets_400(web: TestClient, host: str) -> None:
    for url, kind in (("/feed.xml", "text/html"), ("/", "text/html"), ("/api/status", "application/json")):
        r = web.get(url, headers={"Host": host})
        assert r.status_code == 400, (url, host)
        assert r.headers["content-type"].startswith(kind)
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "PAPERWIRE_ALLOWED_HOSTS" in r.text and "evil.example/" not in r.text


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:1234", "[::1]:8000", "LOCALHOST"])
def test_loopback_names_are_allowed_by_default(web: TestClient, host: str) -> None:
    assert web.get("/feed.xml", headers={"Host": host}).status_code == 200


def _links(feed: bytes) -> list[str]:
    root = ET.fromstring(feed)
    atom = "{http://www.w3.org/2005/Atom}link"
    return [el.text or "" for el in root.iter("link")] + [el.get("href", "") for el in root.iter(atom)]


def test_feed_links_use_base_url(tmp_path: Path, database_url: str | None) -> None:
    fill(tmp_path, HOSTILE, database_url)
    settings = Settings(
        home=tmp_path,
        database_url=database_url,
        load_sample=False,
        rate_limit_per_minute=0,
        base_url="https://papers.example.org/pw/",
    )
    app = create_app(settings, embedder=HashEmbedder(), background_embed=False)
    with TestClient(app, base_url="http://localhost") as c:
        for url in ("/feed.xml", "/feed/cs.LG.xml", "/search/feed.xml?q=graph&mode=keyword"):
            links = _links(c.get(url).content)
            assert len(links) >= 3
            assert all(link.startswith("https://papers.example.org/pw/") for link in links), links
        links = _links(c.get("/search/feed.xml?q=graph&mode=keyword").content)
        assert "https://papers.example.org/pw/search/feed.xml?q=graph&mode=keyword" in links
        assert "https://papers.example.org/pw/paper/2501.00001" in links
        # base_url's host is allowed (a reverse proxy passing the public Host on)
        assert c.get("/feed.xml", headers={"Host": "papers.example.org"}).status_code == 200
        assert c.get("/feed.xml", headers={"Host": "evil.example"}).status_code == 400


def test_allowed_hosts_setting(tmp_path: Path, database_url: str | None) -> None:
    fill(tmp_path, HOSTILE, database_url)
    settings = Settings(
        home=tmp_path,
        database_url=database_url,
        load_sample=False,
        rate_limit_per_minute=0,
        allowed_hosts="papers.example.org, *.lan",
    )
    app = create_app(settings, embedder=HashEmbedder(), background_embed=False)
    with TestClient(app, base_url="http://papers.example.org") as c:
        links = _links(c.get("/feed.xml").content)
        assert all(link.startswith("http://papers.example.org/") for link in links), links
        assert c.get("/", headers={"Host": "box.lan:8000"}).status_code == 200
        assert c.get("/", headers={"Host": "localhost"}).status_code == 400  # the list replaces the default
        assert c.get("/", headers={"Host": "evil.example"}).status_code == 400


def test_base_url_must_be_an_http_address() -> None:
    for bad in ("papers.example.org", "javascript:alert(1)", "https://papers.example.org/?q=1", "ftp://x"):
        with pytest.raises(ValidationError):
            Settings(base_url=bad)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("/search?q=" + "a" * 9000, "text/html"),
        ("/search/feed.xml?q=" + "a" * 9000, "text/html"),
        ("/?category=" + "a" * 9000, "text/html"),
        ("/paper/" + "1" * 9000, "text/html"),
        ("/api/search?q=" + "a" * 9000, "application/json"),
        ("/api/daily?" + "&".join(["x=1"] * 3000), "application/json"),
    ],
)
def test_an_over_long_address_is_refused_before_any_work(web: TestClient, url: str, kind: str) -> None:
    r = web.get(url)
    assert r.status_code == 414
    assert r.headers["content-type"].startswith(kind)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "too long" in r.text


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("/search?q=" + "a" * 2000, 400, "query too long"),
        ("/search/feed.xml?q=" + "a" * 2000, 400, "query too long"),
        ("/api/search?q=" + "a" * 2000, 422, "at most 1000 characters"),
    ],
)
def test_a_long_query_gets_a_clear_4xx(web: TestClient, url: str, status: int, says: str) -> None:
    r = web.get(url)
    assert r.status_code == status and says in r.text


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("/about/", "/about"),
        ("/search/?q=graph", "/search?q=graph"),
        ("/api/status/", "/api/status"),
        ("//evil.example/", "/evil.example"),  # never a link to another site
        ("/%2F%2Fevil.example/", "/evil.example"),
        ("/%5Cevil.example/", "/evil.example"),
        ("/%5C/evil.example/", "/evil.example"),
        ("/%09/evil.example/", "/%09/evil.example"),
        ("/caf%C3%A9/", "/caf%C3%A9"),
    ],
)
def test_a_trailing_slash_redirects_on_this_site_only(web: TestClient, url: str, location: str) -> None:
    r = web.get("http://localhost" + url, headers={"Host": "localhost:8000"}, follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == location  # relative: right behind any proxy, whatever the Host
