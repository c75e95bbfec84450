"""Bidi controls in third-party text (U+202E and friends) cannot reorder what pages and feeds show around it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from paperwire.config import Settings
from paperwire.web.app import create_app
from tests.conftest import database, make_paper
from tests.embedders import HashEmbedder
from tests.web.conftest import fill

RLO, LRE, PDF, RLI, PDI = "\u202e", "\u202a", "\u202c", "\u2067", "\u2069"
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
AUTHOR = f"Mallory {RLO}yrollaM"
PAPER = make_paper(
    "2502.00001",
    title=f"Invoice {RLO}fdp.exe{PDF} graph networks",
    abstract=f"We study {RLI}graph {LRE}networks. And then {RLO}this reads backwards",
    authors=(AUTHOR, "Ada Lovelace"),
    comment=f"8 pages {RLO}segap 8",
    journal_ref=f"J. {RLO}Bidi",
    categories=("cs.LG",),
    announced=date(2025, 2, 3),
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    home = tmp_path_factory.mktemp("bidi")
    with database() as url:
        fill(home, [PAPER], url)
        app = create_app(
            Settings(home=home, database_url=url, load_sample=False, rate_limit_per_minute=0),
            embedder=HashEmbedder(),
            background_embed=False,
        )
        with TestClient(app, base_url="http://localhost") as c:
            yield c


class BidiAudit(HTMLParser):
    """Text holding a bidi control outside a <bdi> element, and in the document's <title>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open_bdi = 0
        self.in_title = False
        self.isolated: list[str] = []
        self.loose: list[str] = []
        self.title = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open_bdi += tag == "bdi"
        self.in_title = self.in_title or tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self.open_bdi -= tag == "bdi"
        self.in_title = self.in_title and tag != "title"

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        elif BIDI.search(data):
            (self.isolated if self.open_bdi > 0 else self.loose).append(data)


@pytest.mark.parametrize(
    "url",
    [
        "/paper/2502.00001",
        "/",
        "/search?q=graph+networks",
        "/author/" + quote(AUTHOR, safe=""),
        "/author/Ada%20Lovelace",
    ],
)
def test_pages_isolate_third_party_text(site: TestClient, url: str) -> None:
    r = site.get(url)
    assert r.status_code == 200
    audit = BidiAudit()
    audit.feed(r.text)
    audit.close()
    assert audit.isolated, "the page shows the hostile paper"
    assert audit.loose == []  # every control sits inside a <bdi>, which ends where the foreign text ends
    assert audit.open_bdi == 0
    assert not BIDI.search(audit.title)


def test_the_paper_page_isolates_every_field(site: TestClient) -> None:
    audit = BidiAudit()
    audit.feed(site.get("/paper/2502.00001").text)
    shown = "".join(audit.isolated)
    for text in ("fdp.exe", "this reads backwards", "yrollaM", "segap 8", "Bidi"):
        assert text in shown, text
    assert (
        BIDI.search(site.get("/paper/2502.00001").text.split('<pre class="bibtex"')[1].split("</pre>")[0])
        is None
    )


@pytest.mark.parametrize("url", ["/feed.xml", "/feed/cs.LG.xml", "/search/feed.xml?q=graph"])
def test_feeds_drop_bidi_controls(site: TestClient, url: str) -> None:
    feed = site.get(url).text
    assert "fdp.exe" in feed and "Mallory" in feed
    assert not BIDI.search(feed)
    q = site.get("/search/feed.xml", params={"q": f"graph {RLO}skrowten"}).text
    assert "skrowten" in q and not BIDI.search(q)
