"""RSS feeds read by a real feed parser (feedparser): no bozo, hostile text round-trips as text."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET

import feedparser
import pytest
from fastapi.testclient import TestClient

from paperwire.web.feeds import DC
from tests.web.conftest import XSS_ABSTRACT, XSS_AUTHOR, XSS_TITLE


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
    # the title is HTML to a reader, and that HTML says the text (no markup)
    assert html.unescape(hostile.title) == " ".join(XSS_TITLE.split())
    assert "<" not in hostile.title
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


FEEDS = ["/feed.xml", "/feed/cs.LG.xml", "/search/feed.xml?q=graph&mode=keyword"]
RSS_TEXT = ("title", "description", f"{{{DC}}}creator", "category")


@pytest.mark.parametrize("url", FEEDS)
def test_third_party_text_reaches_the_reader_as_text(web: TestClient, url: str) -> None:
    """Readers render title and description as HTML: after XML parsing, hostile text must be escaped HTML."""
    root = ET.fromstring(web.get(url).content)
    hostile = next(it for it in root.iter("item") if it.findtext("link", "").endswith("/paper/2501.00001"))
    for tag in RSS_TEXT:
        for el in hostile.iter(tag):
            text = el.text or ""
            assert "<" not in text and ">" not in text, (tag, text)  # no markup once parsed as HTML
    assert html.unescape(hostile.findtext("title", "")) == " ".join(XSS_TITLE.split())
    assert html.unescape(hostile.findtext("description", "")) == " ".join(XSS_ABSTRACT.split())
    creators = [html.unescape(el.text or "") for el in hostile.iter(f"{{{DC}}}creator")]
    assert creators == [XSS_AUTHOR, "Ada Lovelace"]
    # and a real feed parser hands its user no live markup
    entry = next(e for e in feedparser.parse(web.get(url).content).entries if e.link.endswith("2501.00001"))
    for field in (entry.title, entry.summary, entry.author):
        assert "<script" not in field and "<img" not in field and "<svg" not in field and "<b " not in field


def test_a_search_feed_escapes_the_query_in_its_title(web: TestClient) -> None:
    root = ET.fromstring(web.get("/search/feed.xml", params={"q": "<script>alert(1)</script>"}).content)
    title = root.findtext("channel/title", "")
    assert "<" not in title and html.unescape(title) == "paperwire search: <script>alert(1)</script>"
