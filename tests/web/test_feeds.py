"""RSS feeds read by a real feed parser (feedparser): no bozo, hostile text round-trips as text."""

from __future__ import annotations

import feedparser
import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import XSS_TITLE


def _parse(web: TestClient, url: str) -> feedparser.FeedParserDict:
    r = web.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/rss+xml")
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "rss20"
    return feed


def test_daily_feed(web: TestClient) -> None:
    feed = _parse(web, "/feed.xml")
    ids = sorted(e.link.rsplit("/", 1)[1] for e in feed.entries)
    assert ids == ["2501.00001", "2501.00002"]  # the latest day only
    hostile = next(e for e in feed.entries if e.link.endswith("2501.00001"))
    assert hostile.title == " ".join(XSS_TITLE.split())  # the text, not markup
    assert hostile.id == "https://arxiv.org/abs/2501.00001"
    assert [t.term for t in hostile.tags] == ["cs.LG", "cs.AI"]
    assert hostile.published_parsed[:3] == (2025, 1, 3)


def test_category_feed(web: TestClient) -> None:
    feed = _parse(web, "/feed/cs.LG.xml")
    assert [e.link.rsplit("/", 1)[1] for e in feed.entries] == ["2501.00001", "2501.00003"]
    assert feed.feed.title == "paperwire: cs.LG"


def test_search_feed(web: TestClient) -> None:
    feed = _parse(web, "/search/feed.xml?q=diffusion+video&mode=keyword")
    assert [e.link.rsplit("/", 1)[1] for e in feed.entries] == ["2501.00002"]
    assert feed.feed.title == "paperwire search: diffusion video"


@pytest.mark.parametrize("url", ["/search/feed.xml?q=%22open", "/feed/%21%21.xml", "/search/feed.xml?q="])
def test_bad_feed_requests_are_4xx(web: TestClient, url: str) -> None:
    r = web.get(url)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/html")
    assert "bad feed request" in r.text
