"""Edge input and errors: boundary dates answer sensibly, and every error is paperwire's own page (W4, W8)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from paperwire.config import Settings
from paperwire.web.app import create_app
from tests.conftest import database
from tests.embedders import HashEmbedder
from tests.web.conftest import HOSTILE, assert_safe_html, fill

BOUNDARY_DAYS = ["0001-01-01", "0001-01", "0001", "9999-12-31", "9999-12", "9999"]


def assert_security_headers(headers: Mapping[str, str]) -> None:
    assert "script-src 'self';" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("category", [None, "cs.CV"])
@pytest.mark.parametrize("day", BOUNDARY_DAYS)
def test_boundary_days_answer_an_empty_day_with_sane_links(
    web: TestClient, day: str, category: str | None
) -> None:
    params = {"day": day, **({"category": category} if category else {})}
    page = web.get("/", params=params)
    assert page.status_code == 200, page.text[:300]
    assert_security_headers(page.headers)
    assert_safe_html(page.text)
    assert "No papers were announced on this day" in page.text
    first = day.startswith("0001")
    latest = "2025-01-03"
    if first:  # nothing before the first day; the next day with papers is the earliest one
        assert 'rel="prev"' not in page.text
        assert 'rel="next" href="/?day=' + ("2025-01-03" if category else "2025-01-02") in page.text
    else:  # nothing after the last day; the previous one is the latest day with papers
        assert 'rel="next"' not in page.text
        assert f'rel="prev" href="/?day={latest}' in page.text

    if len(day) == 10:  # the API takes whole dates only (YYYY-MM-DD)
        api = web.get("/api/daily", params=params)
        assert api.status_code == 200, api.text
        assert_security_headers(api.headers)
        body = api.json()
        assert body["day"] == day and body["total"] == 0 and body["papers"] == []
        assert body["latest"] == latest
        if first:
            assert body["previous"] is None and body["next"] == ("2025-01-03" if category else "2025-01-02")
        else:
            assert body["previous"] == latest and body["next"] is None


@pytest.mark.parametrize(
    "url",
    [
        "/search?q=graph&after=0001&before=9999",
        "/search?after=0001-01-01",
        "/search?before=9999-12-31",
        "/search/feed.xml?q=graph&after=0001&before=9999-12-31",
        "/api/search?q=graph&after=0001-01-01&before=9999-12-31",
        "/api/search?q=after:0001+before:9999",
    ],
)
def test_boundary_dates_in_searches_are_fine(web: TestClient, url: str) -> None:
    r = web.get(url)
    assert r.status_code == 200, r.text[:300]


@pytest.fixture(scope="module")
def boom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The site plus two routes that fail as a bug would, with the server's exceptions not re-raised."""
    home = tmp_path_factory.mktemp("boom")
    with database() as url:
        fill(home, HOSTILE, url)
        app = create_app(
            Settings(home=home, database_url=url, load_sample=False, rate_limit_per_minute=0),
            embedder=HashEmbedder(),
            background_embed=False,
        )

        def fail() -> None:
            raise RuntimeError("secret detail /etc/passwd")

        app.add_api_route("/boom", fail, include_in_schema=False)
        app.add_api_route("/api/boom", fail, include_in_schema=False)
        with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as c:
            yield c


def test_an_unexpected_error_is_our_500_page_with_the_headers(boom: TestClient) -> None:
    page = boom.get("/boom")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert_security_headers(page.headers)
    assert "Something went wrong" in page.text and "<!doctype html>" in page.text
    assert "secret detail" not in page.text and "Traceback" not in page.text
    api = boom.get("/api/boom")
    assert api.status_code == 500
    assert_security_headers(api.headers)
    assert api.json() == {"status": 500, "error": "internal error"}


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/nowhere", 404),
        ("GET", "/static/nowhere.css", 404),
        ("POST", "/", 405),
        ("DELETE", "/paper/2501.00001", 405),
        ("GET", "/search?q=a&page=0", 422),
        ("GET", "/?day=" + "1" * 11, 422),
        ("GET", "/search?q=%22open", 400),
    ],
)
def test_page_errors_are_our_html_page_with_the_headers(
    web: TestClient, method: str, url: str, status: int
) -> None:
    r = web.request(method, url)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html")
    assert_security_headers(r.headers)
    assert "<!doctype html>" in r.text and "Traceback" not in r.text
    assert_safe_html(r.text)


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/api/nowhere", 404),
        ("GET", "/api/papers/2101.99999", 404),
        ("POST", "/api/search?q=x", 405),
        ("GET", "/api/search?q=x&limit=0", 422),
        ("GET", "/api/daily?day=nope", 422),
        ("GET", "/api/search?q=%22open", 400),
    ],
)
def test_api_errors_are_our_json_with_the_headers(
    web: TestClient, method: str, url: str, status: int
) -> None:
    r = web.request(method, url)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/json"
    assert_security_headers(r.headers)
    body = r.json()
    assert body["status"] == status and isinstance(body["error"], str) and body["error"]


def test_405_says_which_methods_are_allowed(web: TestClient) -> None:
    assert web.post("/api/status").headers["allow"] == "GET, HEAD"
    assert web.post("/about").headers["allow"] == "GET, HEAD"


def test_429_is_our_page_with_the_headers(tmp_path: Path, database_url: str | None) -> None:
    fill(tmp_path, HOSTILE, database_url)
    settings = Settings(
        home=tmp_path,
        database_url=database_url,
        load_sample=False,
        rate_limit_per_minute=1,
        rate_limit_burst=1,
    )
    app = create_app(settings, embedder=HashEmbedder(), background_embed=False)
    with TestClient(app, base_url="http://localhost") as c:
        assert c.get("/search?q=graph").status_code == 200
        page = c.get("/search?q=graph")
        assert page.status_code == 429 and int(page.headers["retry-after"]) >= 1
        assert page.headers["content-type"].startswith("text/html")
        assert "<!doctype html>" in page.text and "Too many requests" in page.text
        assert_security_headers(page.headers)
        api = c.get("/api/status")
        assert api.status_code == 429 and api.json()["status"] == 429
        assert_security_headers(api.headers)


def test_a_busy_index_or_store_is_a_503_with_retry_after(tmp_path: Path, database_url: str | None) -> None:
    from paperwire.errors import IndexBusyError, StoreBusyError

    fill(tmp_path, HOSTILE, database_url)
    app = create_app(
        Settings(home=tmp_path, database_url=database_url, load_sample=False, rate_limit_per_minute=0),
        embedder=HashEmbedder(),
        background_embed=False,
    )

    def index_busy() -> None:
        raise IndexBusyError("the keyword index writer is held by pid 4242 /home/x")

    def store_busy() -> None:
        raise StoreBusyError("locked /home/x/paperwire.db")

    app.add_api_route("/api/busy", index_busy, include_in_schema=False)
    app.add_api_route("/busy", store_busy, include_in_schema=False)
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as c:
        api = c.get("/api/busy")
        assert api.status_code == 503 and api.headers["retry-after"] == "30"
        assert_security_headers(api.headers)
        assert "try again" in api.json()["error"] and "/home/x" not in api.text
        page = c.get("/busy")
        assert page.status_code == 503 and page.headers["retry-after"] == "5"
        assert "<!doctype html>" in page.text and "/home/x" not in page.text
