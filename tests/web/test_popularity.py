"""Popularity on the pages and in the API: repository links, stars with the day they were seen, the
observation history, and the daily list in Hugging Face's upvote order (pagination, days, feeds keep it)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import feedparser
import pytest
from fastapi.testclient import TestClient

from paperwire.config import Settings
from paperwire.models import Signal
from paperwire.store import open_store
from paperwire.web.app import create_app
from tests.conftest import database, make_paper
from tests.embedders import HashEmbedder
from tests.web.conftest import assert_safe_html, fill

DAY = date(2026, 8, 20)
HOSTILE_PROJECT = 'https://example.org/"><script>alert(1)</script>'
FILLERS = [f"2608.2{i:04d}" for i in range(51)]  # more than a page of 50: the day has two pages


def _at(day: int, hour: int) -> datetime:
    return datetime(2026, 8, day, hour, tzinfo=UTC)


def _hf(pid: str, day: int, upvotes: int, listed_hour: int, **kw: object) -> Signal:
    return Signal(
        pid, "hf-daily", _at(day, 6), upvotes=upvotes, listed_on=DAY, listed_at=_at(20, listed_hour), **kw
    )  # type: ignore[arg-type]


PAPERS = [
    make_paper("2608.10001", title="A paper never listed", categories=("cs.CV",), announced=DAY),
    make_paper("2608.10002", title="Fast things", categories=("cs.CV",), announced=DAY),
    make_paper("2608.10003", title="Hostile links", categories=("cs.LG",), announced=DAY),
    make_paper("2608.10004", title="Tied but newer on the list", categories=("cs.CV",), announced=DAY),
    make_paper("2608.10005", title="Listed, no upvotes", categories=("cs.LG",), announced=DAY),
    make_paper(
        "2608.10006",
        title="<b onclick=alert(1)>Bold</b> claims about $x^2$",
        categories=("cs.CV",),
        announced=DAY,
    ),
    make_paper("2608.10007", title="The day before", categories=("cs.CV",), announced=date(2026, 8, 19)),
    *[make_paper(pid, title=f"Filler {pid}", categories=("cs.LG",), announced=DAY) for pid in FILLERS],
]
SIGNALS = [
    _hf("2608.10002", 20, 1, 5, github_repo="https://github.com/acme/fast-thing", github_stars=100),
    _hf(
        "2608.10002",
        21,
        5,
        5,
        github_repo="https://github.com/acme/fast-thing",
        github_stars=310,
        project_page="https://acme.example.org/fast",
        comments=2,
    ),
    _hf(
        "2608.10003",
        21,
        12,
        4,
        github_repo="javascript:alert(1)",
        project_page=HOSTILE_PROJECT,
        github_stars=7,
    ),
    _hf(
        "2608.10004", 21, 5, 7
    ),  # as many upvotes as 10002, put on the list later: first (Hugging Face's order)
    _hf("2608.10005", 21, 0, 8),
    Signal("2608.10007", "hf-daily", _at(19, 6), upvotes=99, listed_on=date(2026, 8, 19)),
]
LISTED_IN_ORDER = ["2608.10003", "2608.10004", "2608.10002", "2608.10005"]


@pytest.fixture(scope="module")
def pop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    home = tmp_path_factory.mktemp("popularity")
    with database() as url:
        settings = Settings(home=home, database_url=url, load_sample=False, rate_limit_per_minute=0)
        fill(home, PAPERS, url)
        store = open_store(settings)
        store.upsert_signals(SIGNALS)
        store.close()
        app = create_app(settings, embedder=HashEmbedder(), background_embed=False)
        with TestClient(app, base_url="http://localhost") as c:
            yield c


def _ids(client: TestClient, **params: object) -> list[str]:
    body = client.get("/api/daily", params={"limit": 100, **params}).json()
    return [p["id"] for p in body["papers"]]


def _card(html: str, pid: str) -> str:
    start = html.index(f'href="/paper/{pid}"')
    return html[start : html.index("</article>", start)]


def _page_ids(html: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r'<h[23] class="title tex"><a href="/paper/([0-9.]+)"', html)))


def test_cards_show_the_repository_stars_and_when_they_were_seen(pop: TestClient) -> None:
    html = pop.get("/").text
    assert_safe_html(html)
    card = _card(html, "2608.10002")
    assert (
        '<a class="repo" href="https://github.com/acme/fast-thing" rel="nofollow noopener noreferrer"' in card
    )
    assert "acme/fast-thing" in card
    assert "★ 310" in card and 'seen <time datetime="2026-08-21">21 Aug 2026</time>' in card  # the latest
    assert 'href="https://acme.example.org/fast"' in card and "Project page" in card
    assert "▲ 5" in card
    assert 'class="pop"' not in _card(html, "2608.10001")  # never observed: nothing shown


def test_links_from_signals_are_http_only_and_escaped(pop: TestClient) -> None:
    for url in ("/", "/paper/2608.10003", "/search?q=hostile+links&mode=keyword"):
        html = pop.get(url).text
        assert_safe_html(html)
        card = html[html.index('href="/paper/2608.10003"') :] if url != "/paper/2608.10003" else html
        assert "javascript:" not in card
        assert 'href="https://example.org/&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in card
        assert "★ 7" in card
    paper = pop.get("/api/papers/2608.10003").json()["popularity"]
    assert paper["github_repo"] is None and paper["project_page"] == HOSTILE_PROJECT  # JSON: data, not markup


def test_paper_page_shows_popularity_and_its_history(pop: TestClient) -> None:
    html = pop.get("/paper/2608.10002").text
    assert_safe_html(html)
    head = html[html.index('<article class="paper">') : html.index('<ul class="links">')]
    assert 'href="https://github.com/acme/fast-thing"' in head and "★ 310" in head
    table = html[html.index('<table class="signals">') : html.index("</table>")]
    rows = re.findall(
        r"<tr><td><time datetime=\"([0-9-]+)\">.*?</time></td><td>(\d+)</td><td>(\d+)</td><td>([^<]+)</td>",
        table,
    )
    assert rows == [("2026-08-21", "5", "2", "310"), ("2026-08-20", "1", "0", "100")]  # newest first
    assert "Popularity over time" not in pop.get("/paper/2608.10004").text  # one observation: no table


def test_api_papers_carry_a_popularity_object(pop: TestClient) -> None:
    p = pop.get("/api/papers/2608.10002").json()
    assert p["upvotes"] == 5
    assert p["popularity"] == {
        "upvotes": 5,
        "comments": 2,
        "github_repo": "https://github.com/acme/fast-thing",
        "github_stars": 310,
        "project_page": "https://acme.example.org/fast",
        "observed_at": "2026-08-21T06:00:00+00:00",
    }
    assert pop.get("/api/papers/2608.10001").json()["popularity"] is None
    daily = {p["id"]: p["popularity"] for p in pop.get("/api/daily", params={"limit": 100}).json()["papers"]}
    assert daily["2608.10002"]["github_stars"] == 310 and daily["2608.10001"] is None
    hits = pop.get("/api/search", params={"q": "fast things", "mode": "keyword"}).json()["hits"]
    assert hits[0]["paper"]["popularity"]["github_repo"] == "https://github.com/acme/fast-thing"


def test_daily_list_by_upvotes_is_hugging_faces_order(pop: TestClient) -> None:
    announced = _ids(pop)
    assert len(announced) == 57 and "2608.10007" not in announced
    assert _ids(pop, sort="announced") == announced  # the default, named
    by_upvotes = _ids(pop, sort="upvotes")
    never_listed = [i for i in announced if i not in LISTED_IN_ORDER]
    assert by_upvotes == LISTED_IN_ORDER + never_listed  # the rest keep announcement order
    body = pop.get("/api/daily", params={"sort": "upvotes", "limit": 2}).json()
    assert body["sort"] == "upvotes" and body["total"] == 57
    paged = [i for n in range(1, 30) for i in _ids(pop, sort="upvotes", limit=2, page=n)]
    assert paged == by_upvotes  # every page a slice of one order
    cv = _ids(pop, sort="upvotes", category="cs.CV")
    assert cv[:2] == ["2608.10004", "2608.10002"] and set(cv[2:]) == {"2608.10001", "2608.10006"}
    assert pop.get("/api/daily", params={"sort": "popular"}).status_code == 422


def test_home_page_sorts_by_upvotes_and_keeps_it_in_every_link(pop: TestClient) -> None:
    default = pop.get("/").text
    assert _page_ids(default) == _ids(pop)[:50]
    html = pop.get("/", params={"sort": "upvotes"}).text
    assert_safe_html(html)
    assert _page_ids(html)[:4] == LISTED_IN_ORDER
    assert '<option value="upvotes" selected>' in html
    assert 'rel="next" href="/?sort=upvotes&amp;page=2"' in html  # the pager
    assert 'rel="prev" href="/?day=2026-08-19&amp;sort=upvotes"' in html  # the earlier day
    assert 'href="/?sort=upvotes&amp;category=cs.CV"' in html  # category chips
    assert '<a href="/">announcement</a>' in html  # back to the default order: a plain address
    assert 'href="/feed.xml?sort=upvotes"' in html
    second = pop.get("/", params={"sort": "upvotes", "page": 2}).text
    assert _page_ids(second) == _ids(pop, sort="upvotes")[50:]
    earlier = pop.get("/", params={"sort": "upvotes", "day": "2026-08-19"}).text
    assert 'href="/?sort=upvotes"' in earlier  # "go to the latest" keeps the order
    cat = pop.get("/", params={"sort": "upvotes", "category": "cs.CV"}).text
    assert _page_ids(cat)[:2] == ["2608.10004", "2608.10002"]
    assert pop.get("/", params={"sort": "sideways"}).status_code == 422


def test_daily_feed_by_upvotes(pop: TestClient) -> None:
    feed = feedparser.parse(pop.get("/feed.xml", params={"sort": "upvotes"}).content)
    assert not feed.bozo and "most upvoted first" in feed.feed.title
    assert [e.link.rsplit("/", 1)[1] for e in feed.entries][:4] == LISTED_IN_ORDER
    plain = feedparser.parse(pop.get("/feed.xml").content)
    assert [e.link.rsplit("/", 1)[1] for e in plain.entries] == _ids(pop)


def test_search_offers_the_popular_sort(pop: TestClient) -> None:
    html = pop.get("/search", params={"q": "things", "sort": "popular", "mode": "keyword"}).text
    assert '<option value="popular" selected>' in html
    assert pop.get("/api/search", params={"q": "things", "sort": "popular"}).status_code == 200
    assert pop.get("/api/search", params={"q": "things", "sort": "hot"}).status_code == 422
