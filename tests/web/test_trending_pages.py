"""The trending page, /api/trending and the trending feeds, in process over a real store at a clock the test
sets: windows, categories, sorts kept in links, reasons on cards, the clock past the data, empty states, bad
input (400), hostile metadata (W1, W3)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from fastapi.testclient import TestClient

from paperwire.config import Settings
from paperwire.models import Signal
from paperwire.store import open_store
from paperwire.trending import Trending
from paperwire.web.app import create_app
from tests.conftest import database, make_paper
from tests.embedders import HashEmbedder
from tests.web.conftest import assert_safe_html, fill

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
TODAY = NOW.date()
H = timedelta(hours=1)
D = timedelta(days=1)
HOSTILE_TITLE = "<img src=x onerror=alert(1)> Seeing $x^2$ in <b>bold</b>"
REPO = "https://github.com/acme/vision"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _seen(
    pid: str, ago: timedelta, upvotes: int, listed_ago: timedelta | None = None, **kw: object
) -> Signal:
    when = NOW - ago
    listed = NOW - (listed_ago if listed_ago is not None else ago)
    return Signal(pid, "hf-daily", when, upvotes=upvotes, listed_on=listed.date(), listed_at=listed, **kw)  # type: ignore[arg-type]


PAPERS = [
    make_paper("2611.00001", title=HOSTILE_TITLE, categories=("cs.CV",), announced=TODAY - 10 * D),
    make_paper("2611.00002", title="Fresh today", categories=("cs.LG",), announced=TODAY - D),
    make_paper("2611.00003", title="Under the floor", categories=("cs.CV",), announced=TODAY - D),
    make_paper("2611.00004", title="Hostile repository", categories=("cs.CL",), announced=TODAY - 2 * D),
]
SIGNALS = [
    # listed ten days ago; +42 upvotes and +120 stars this week
    _seen("2611.00001", 10 * D, 5, github_repo=REPO, github_stars=190),
    _seen("2611.00001", 2 * D, 30, 10 * D, github_repo=REPO, github_stars=250),
    _seen(
        "2611.00001", H, 47, 10 * D, github_repo=REPO, github_stars=310, project_page="https://acme.example"
    ),
    _seen("2611.00002", 2 * H, 25),  # today's list
    _seen("2611.00003", 3 * H, 3),  # today's list, under the floor of the week
    _seen("2611.00004", 4 * H, 10, github_repo="javascript:alert(1)", github_stars=12),  # today's list
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Clock, Trending]]:
    home = tmp_path_factory.mktemp("trending-web")
    with database() as url:
        settings = Settings(home=home, database_url=url, load_sample=False, rate_limit_per_minute=0)
        fill(home, PAPERS, url)
        store = open_store(settings)
        store.upsert_signals(SIGNALS)
        store.close()
        app = create_app(settings, embedder=HashEmbedder(), background_embed=False)
        with TestClient(app, base_url="http://localhost") as c:
            pw = app.state.site.pw
            clock = Clock(NOW)
            trending = Trending(pw.store, settings, clock)
            pw._trending = trending  # the service at the test's clock
            yield c, clock, trending


@pytest.fixture
def web(site: tuple[TestClient, Clock, Trending]) -> Iterator[TestClient]:
    client, clock, trending = site
    yield client
    if clock.now != NOW:
        clock.now = NOW
        trending.refresh(force=True)


def _ids(page: str) -> list[str]:
    return re.findall(r'<h2 class="title tex"><a href="/paper/([0-9.]+)"', page)


def _card(page: str, pid: str) -> str:
    start = page.index(f'<a href="/paper/{pid}"')
    return page[start : page.index("</article>", start)]


def test_the_week_ranks_and_says_why(web: TestClient) -> None:
    page = web.get("/trending").text
    assert_safe_html(page)
    assert "<h1>Trending this week</h1>" in page
    assert _ids(page) == ["2611.00001", "2611.00002", "2611.00004"]  # 2611.00003: under the floor
    card = _card(page, "2611.00001")
    assert '<span class="rank">#1</span>' in card
    assert "<li>+42 upvotes in 2 days</li>" in card and "<li>310 GitHub stars, +120 this week</li>" in card
    assert "▲ 47" in card and "★ 310" in card
    assert f'<a class="repo" href="{REPO}" rel="nofollow noopener noreferrer"' in card
    assert (
        "&lt;img src=x onerror=alert(1)&gt; Seeing $x^2$ in &lt;b&gt;bold&lt;/b&gt;" in card
    )  # text for KaTeX
    assert "javascript:" not in page  # the hostile repository is not a link
    assert '<li><a href="/trending">Trending</a></li>' in page  # in the site nav
    assert '<a href="/trending?window=week" aria-current="page">This week</a>' in page
    assert (
        'type="application/rss+xml" title="RSS feed of this page" href="/trending/feed.xml?window=week"'
        in page
    )
    assert "The newest signals are from" not in page  # the clock is at the data


def test_today_is_hugging_faces_list_in_its_order_or_arxivs(web: TestClient) -> None:
    page = web.get("/trending", params={"window": "today"}).text
    assert_safe_html(page)
    assert "Trending today: Hugging Face&#39;s list of 28 November 2026" in page
    assert _ids(page) == ["2611.00002", "2611.00004", "2611.00003"]  # most upvoted first
    assert "25 upvotes on Hugging Face&#39;s list of 2026-11-28" in _card(page, "2611.00002")
    assert '<a href="/trending?window=today&amp;sort=announced"' in page
    announced = web.get("/trending", params={"window": "today", "sort": "announced"}).text
    assert _ids(announced) == ["2611.00004", "2611.00002", "2611.00003"]  # announced earliest first, then id
    assert (
        '<strong aria-current="true" title="arXiv&#39;s announcement order">Announcement order</strong>'
        in announced
    )
    assert '<input type="hidden" name="sort" value="announced">' in announced  # the category form keeps it
    assert 'href="/trending/feed.xml?window=today&amp;sort=announced"' in announced


def test_a_category_and_its_empty_state(web: TestClient) -> None:
    cv = web.get("/trending", params={"window": "today", "category": "cs.cv"}).text
    assert _ids(cv) == ["2611.00003"]
    assert '<option value="cs.CV" selected>cs.CV</option>' in cv
    assert '<a href="/trending?window=today">All categories</a>' in cv
    none = web.get("/trending", params={"window": "week", "category": "cs.RO"}).text
    assert_safe_html(none)
    assert _ids(none) == []
    assert "Nothing is trending this week in cs.RO." in none
    assert '<a href="/trending?window=week">See all categories</a>' in none
    assert '<a href="/trending?window=month&amp;category=cs.RO">this month</a>' in none


def test_all_time_and_the_pager_keeps_the_list(web: TestClient) -> None:
    page = web.get("/trending", params={"window": "all"}).text
    assert "<h1>Most upvoted</h1>" in page
    assert _ids(page) == ["2611.00001", "2611.00002", "2611.00004", "2611.00003"]
    assert "Order:" not in page  # one sort only


def test_when_the_clock_is_past_the_data_the_page_says_so(site: tuple[TestClient, Clock, Trending]) -> None:
    web, clock, trending = site
    clock.now = NOW + 40 * D
    trending.refresh(force=True)
    try:
        page = web.get("/trending").text  # rendered before this snapshot: rendered again (site.RenderCache)
        assert "The newest signals are from 28 November 2026, not today: the windows end" in page
        assert _ids(page)[0] == "2611.00001"  # the list is as it was at the data's end
        body = web.get("/api/trending").json()
        assert body["clock_past_data"] is True and body["newest_data"].startswith("2026-11-28")
    finally:
        clock.now = NOW
        trending.refresh(force=True)


def test_no_signals_at_all(tmp_path: Path) -> None:
    with database() as url:
        settings = Settings(home=tmp_path, database_url=url, load_sample=False, rate_limit_per_minute=0)
        fill(tmp_path, PAPERS[:1], url)
        app = create_app(settings, embedder=HashEmbedder(), background_embed=False)
        with TestClient(app, base_url="http://localhost") as c:
            page = c.get("/trending").text
            assert "No popularity signals yet" in page and "paperwire ingest hf-daily" in page
            assert c.get("/api/trending").json()["entries"] == []


def test_api_trending(web: TestClient) -> None:
    body = web.get("/api/trending", params={"window": "week", "limit": 2}).json()
    assert (body["window"], body["sort"], body["total"], body["limit"], body["offset"]) == (
        "week",
        "score",
        3,
        2,
        0,
    )
    first = body["entries"][0]
    assert first["rank"] == 1 and first["reasons"] == [
        "+42 upvotes in 2 days",
        "310 GitHub stars, +120 this week",
    ]
    assert (first["upvotes"], first["upvotes_gained"], first["stars"], first["stars_gained"]) == (
        47,
        42,
        310,
        120,
    )
    assert first["paper"]["title"] == HOSTILE_TITLE  # JSON carries the text as it is
    assert first["paper"]["popularity"]["github_repo"] == REPO
    second = web.get("/api/trending", params={"window": "week", "limit": 2, "page": 2}).json()
    assert [e["rank"] for e in second["entries"]] == [3] and second["offset"] == 2
    today = web.get("/api/trending", params={"window": "today", "category": "cs.CL"}).json()
    assert today["day"] == "2026-11-28" and [e["paper"]["id"] for e in today["entries"]] == ["2611.00004"]
    assert today["entries"][0]["paper"]["popularity"]["github_repo"] is None  # javascript: dropped (W3)


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"window": "year"}, "unknown window 'year': use today, week, month, all"),
        ({"window": "all", "sort": "stars"}, "unknown sort 'stars' for all: use upvotes"),
        ({"category": "<script>"}, "not an arXiv category"),
        ({"window": "week", "day": "2026-11-01"}, "a day picks a daily list"),
    ],
)
def test_bad_input_is_a_400_that_says_what(web: TestClient, params: dict[str, str], says: str) -> None:
    api = web.get("/api/trending", params=params)
    assert api.status_code == 400 and says in api.json()["error"]
    page = web.get("/trending", params=params)
    assert page.status_code == 400 and says in html.unescape(page.text)
    assert_safe_html(page.text)
    if "day" not in params:  # a feed follows the newest list: it takes no day
        feed = web.get("/trending/feed.xml", params=params)
        assert feed.status_code == 400 and says in html.unescape(feed.text)


def test_malformed_numbers_and_dates_are_422(web: TestClient) -> None:
    for params in ({"limit": 0}, {"page": "x"}, {"day": "yesterday"}):
        assert web.get("/api/trending", params=params).status_code == 422


def test_openapi_documents_api_trending(web: TestClient) -> None:
    op = web.get("/openapi.json").json()["paths"]["/api/trending"]["get"]
    names = {p["name"] for p in op["parameters"]}
    assert {"window", "category", "sort", "day", "limit", "page"} <= names
    assert "/api/trending" in web.get("/api").json()["endpoints"]


def test_feeds_per_window_and_category(web: TestClient) -> None:
    r = web.get("/trending/feed.xml", params={"window": "week", "category": "cs.CV"})
    assert r.headers["content-type"].startswith("application/rss+xml")
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "paperwire: trending this week in cs.CV"
    assert feed.feed.link == "http://localhost/trending?window=week&category=cs.CV"
    assert [e.link for e in feed.entries] == ["http://localhost/paper/2611.00001"]
    entry = feed.entries[0]
    assert html.unescape(entry.title) == HOSTILE_TITLE and "<" not in entry.title  # text, not markup (W1)
    assert html.unescape(entry.summary).startswith("+42 upvotes in 2 days; 310 GitHub stars, +120 this week.")
    today = feedparser.parse(web.get("/trending/feed.xml", params={"window": "today"}).content)
    assert [e.link.rsplit("/", 1)[1] for e in today.entries] == ["2611.00002", "2611.00004", "2611.00003"]
    page = web.get("/trending", params={"window": "today", "category": "cs.CV"}).text
    assert 'href="/trending/feed.xml?window=today&amp;category=cs.CV"' in page  # linked from the page
