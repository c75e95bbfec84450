"""Local page views: readers counted once a day per paper, bots, prefetches, HEAD and errors not at all, the
counts written by the flush thread (and at shutdown), and nothing about the viewer anywhere."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from paperwire.config import Settings
from paperwire.models import LocalCount
from paperwire.store import Store, open_store
from paperwire.web.app import create_app
from paperwire.web.views import ViewCounter, is_reader
from tests.conftest import database, make_paper
from tests.embedders import HashEmbedder
from tests.serving import running_server
from tests.web.conftest import fill

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 viewer-7f3a9c"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36"
)
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
BOTS = [
    "",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
    "curl/8.5.0",
    "Wget/1.21.4",
    "python-requests/2.32.3",
    "python-httpx/0.28.1",
    "Python-urllib/3.12",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "Feedly/1.0 (+http://www.feedly.com/fetcher.html; like FeedFetcher-Google)",
    "Go-http-client/2.0",
    "Mozilla/5.0",
]
ADDRESS = "198.51.100.23"  # TEST-NET-2: shows up nowhere else
OTHER_ADDRESS = "203.0.113.77"
PAPER = "2609.00001"


def _request(agent: str | None, method: str = "GET", **headers: str) -> Request:
    raw = [(k.lower().replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    if agent is not None:
        raw.append((b"user-agent", agent.encode()))
    scope = {"type": "http", "method": method, "path": "/", "headers": raw, "client": (ADDRESS, 5000)}
    return Request(scope)


@pytest.mark.parametrize("agent", [FIREFOX, CHROME, SAFARI])
def test_browsers_are_readers(agent: str) -> None:
    assert is_reader(_request(agent))


@pytest.mark.parametrize("agent", BOTS)
def test_bots_and_tools_are_not(agent: str) -> None:
    assert not is_reader(_request(agent))
    assert not is_reader(_request(None))  # no User-Agent at all


@pytest.mark.parametrize(
    "headers",
    [
        {"sec_purpose": "prefetch"},
        {"sec_purpose": "prefetch;prerender"},
        {"purpose": "prefetch"},
        {"x_moz": "prefetch"},
    ],
)
def test_prefetch_and_prerender_are_not_views(headers: dict[str, str]) -> None:
    assert not is_reader(_request(CHROME, **headers))


def test_one_viewer_counts_once_a_day() -> None:
    today = [date(2026, 11, 28)]
    counter = ViewCounter(today=lambda: today[0])
    assert counter.count(_request(FIREFOX), PAPER)
    assert not counter.count(_request(FIREFOX), PAPER)  # a reload
    assert counter.count(_request(FIREFOX), "2609.00002")  # another paper
    assert counter.count(_request(CHROME), PAPER)  # another browser (at the same address: a shared office)
    today[0] += timedelta(days=1)
    assert counter.count(_request(FIREFOX), PAPER)  # the next day: a new key, a new view
    assert counter.pending == 4
    assert not ViewCounter(enabled=False).count(_request(FIREFOX), PAPER)


class _FailingStore:
    def add_local_counts(self, counts: object) -> int:
        raise OSError("database away")


def test_a_failed_flush_keeps_the_counts(store: Store) -> None:
    counter = ViewCounter(today=lambda: date(2026, 11, 28))
    counter.count(_request(FIREFOX), PAPER)
    with pytest.raises(OSError):
        counter.flush(_FailingStore())  # type: ignore[arg-type]
    assert counter.pending == 1
    assert counter.flush(store) == 1 and counter.pending == 0
    assert store.local_counts() == [LocalCount(PAPER, "view", date(2026, 11, 28), 1)]


@pytest.fixture
def site_home(tmp_path: Path) -> Iterator[tuple[Path, str | None]]:
    home = tmp_path / "views"
    home.mkdir()
    with database() as url:
        fill(home, [make_paper(PAPER), make_paper("2609.00002", title="Another paper")], url)
        yield home, url


def _settings(home: Path, url: str | None, **kw: object) -> Settings:
    return Settings(home=home, database_url=url, load_sample=False, rate_limit_per_minute=0, **kw)  # type: ignore[arg-type]


def _views(settings: Settings) -> dict[str, int]:
    store = open_store(settings)
    try:
        return {c.paper_id: c.n for c in store.local_counts() if c.kind == "view"}
    finally:
        store.close()


def _wait_for(settings: Settings, expected: dict[str, int], seconds: float = 20) -> dict[str, int]:
    deadline = time.monotonic() + seconds
    while (got := _views(settings)) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return got


def _everything_stored(home: Path, url: str | None) -> bytes:
    """Every byte under the home (the SQLite file, its WAL, indexes, logs) and every row of every table."""
    blobs = [p.read_bytes() for p in home.rglob("*") if p.is_file()]
    if url is None:
        with sqlite3.connect(home / "paperwire.db") as c:
            tables = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            blobs += [repr(c.execute(f'SELECT * FROM "{t}"').fetchall()).encode() for t in tables]
    else:
        with psycopg.connect(url) as c:
            tables = [
                r[0]
                for r in c.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                )
            ]
            blobs += [repr(c.execute(f'SELECT * FROM "{t}"').fetchall()).encode() for t in tables]
    return b"\n".join(blobs)


def test_views_are_counted_flushed_and_nothing_about_the_viewer_is_kept(
    site_home: tuple[Path, str | None],
) -> None:
    home, url = site_home
    settings = _settings(home, url, views_flush_interval=0.2)
    app = create_app(settings, embedder=HashEmbedder(), background_embed=False)
    with TestClient(app, base_url="http://localhost", client=(ADDRESS, 41000)) as first:
        second = TestClient(app, base_url="http://localhost", client=(OTHER_ADDRESS, 42000))
        for _ in range(3):  # one reader reloading: one view
            assert first.get(f"/paper/{PAPER}", headers={"User-Agent": FIREFOX}).status_code == 200
        assert second.get(f"/paper/{PAPER}", headers={"User-Agent": FIREFOX}).status_code == 200  # another
        assert first.get("/paper/2609.00002", headers={"User-Agent": FIREFOX}).status_code == 200
        not_views = [
            first.get(f"/paper/{PAPER}", headers={"User-Agent": "Googlebot/2.1"}),
            first.get(f"/paper/{PAPER}", headers={"User-Agent": ""}),
            second.get(f"/paper/{PAPER}", headers={"User-Agent": CHROME, "Sec-Purpose": "prefetch"}),
            second.head(f"/paper/{PAPER}", headers={"User-Agent": CHROME}),
            second.get("/paper/2101.99999", headers={"User-Agent": CHROME}),  # 404
            second.get(f"/paper/{PAPER}v1", headers={"User-Agent": CHROME}, follow_redirects=False),  # 301
            second.get("/", headers={"User-Agent": CHROME}),  # not a paper page
        ]
        assert [r.status_code for r in not_views] == [200, 200, 200, 200, 404, 301, 200]
        assert _wait_for(settings, {PAPER: 2, "2609.00002": 1}) == {PAPER: 2, "2609.00002": 1}
        assert app.state.site.views.pending == 0
    stored = _everything_stored(home, url)
    assert b"'view'" in stored and PAPER.encode() in stored  # the scan does see the counts
    for secret in (FIREFOX, "viewer-7f3a9c", ADDRESS, OTHER_ADDRESS, CHROME):
        assert secret.encode() not in stored, secret


def test_the_last_views_are_written_at_shutdown(site_home: tuple[Path, str | None]) -> None:
    home, url = site_home
    settings = _settings(home, url, views_flush_interval=3600)  # no flush before shutdown
    app = create_app(settings, embedder=HashEmbedder(), background_embed=False)
    with TestClient(app, base_url="http://localhost") as c:
        c.get(f"/paper/{PAPER}", headers={"User-Agent": SAFARI})
        assert _views(settings) == {}  # the page did not wait on a write
    assert _views(settings) == {PAPER: 1}


def test_counting_can_be_turned_off(site_home: tuple[Path, str | None]) -> None:
    home, url = site_home
    settings = _settings(home, url, count_views=False, views_flush_interval=0.1)
    app = create_app(settings, embedder=HashEmbedder(), background_embed=False)
    with TestClient(app, base_url="http://localhost") as c:
        assert c.get(f"/paper/{PAPER}", headers={"User-Agent": SAFARI}).status_code == 200
        assert app.state.site.views.pending == 0
    assert _views(settings) == {}


def test_a_real_server_counts_and_its_access_log_names_nobody(site_home: tuple[Path, str | None]) -> None:
    home, url = site_home
    env = {"PAPERWIRE_VIEWS_FLUSH_INTERVAL": "0.3", "PAPERWIRE_RATE_LIMIT_PER_MINUTE": "0"}
    with running_server(home, database_url=url, env=env, log_name="views-serve.log") as (base, _):
        for agent in (FIREFOX, FIREFOX, CHROME, "curl/8.5.0"):
            r = httpx.get(f"{base}/paper/{PAPER}", headers={"User-Agent": agent})
            assert r.status_code == 200
        settings = _settings(home, url)
        assert _wait_for(settings, {PAPER: 2}) == {PAPER: 2}  # two readers; the reload and curl are not
    log = (home / "views-serve.log").read_text()
    assert f'- "GET /paper/{PAPER} HTTP/1.1" 200' in log  # the access log is there...
    assert not re.search(r"127\.0\.0\.1:\d+ - \"GET", log)  # ...without the client's address
    stored = _everything_stored(home, url)
    assert FIREFOX.encode() not in stored and CHROME.encode() not in stored
