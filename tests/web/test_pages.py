"""Every page in process: what it shows, that hostile metadata stays text (W1, W3), bad input gets a 4xx (W8)."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.embedders import HashEmbedder
from tests.web.conftest import XSS_AUTHOR, assert_safe_html

PAGES = [
    "/",
    "/?day=2025-01-02",
    "/?category=cs.LG",
    "/search",
    "/search?q=graph+networks",
    "/search?q=graph&sort=date&mode=keyword",
    "/search?q=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E",
    "/search?q=%22unbalanced+%3Cscript%3Ealert(1)%3C/script%3E",
    "/paper/2501.00001",
    "/paper/2501.00002",
    "/paper/2101.99999",
    "/paper/%3Cscript%3Ealert(1)%3C/script%3E",
    "/author/" + quote(XSS_AUTHOR, safe=""),
    "/author/Ada%20Lovelace",
    "/about",
    "/no/such/page%3Cscript%3E",
    "/?sort=upvotes",
    "/trending",
    "/trending?window=today",
    "/trending?window=all&category=cs.LG",
    "/trending?window=%3Cscript%3E",
]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_escapes_hostile_metadata(web: TestClient, url: str) -> None:
    r = web.get(url)
    assert r.status_code < 500
    assert r.headers["content-type"].startswith("text/html")
    audit = assert_safe_html(r.text)
    assert {s.get("src") for s in audit.scripts} == {
        "/static/katex/katex.min.js",
        "/static/katex/contrib/auto-render.min.js",
        "/static/app.js",
    }


def test_hostile_title_is_shown_as_text(web: TestClient) -> None:
    html = web.get("/paper/2501.00001").text
    assert "&lt;img src=x onerror=alert(1)&gt; Graph networks" in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # math stays as source text for KaTeX (trust: false) to render in the browser
    assert "$\\href{javascript:alert(1)}{x}$" in html
    assert "&#34;&gt;&lt;svg onload=alert(1)&gt;" in html


def test_home_lists_the_latest_day_and_links_the_earlier_one(web: TestClient) -> None:
    html = web.get("/").text
    assert "Papers of Friday 03 January 2025" in html
    assert "No announcement in this paperwire for today" in html  # the sample is older than today
    assert 'href="/paper/2501.00001"' in html and 'href="/paper/2501.00002"' in html
    assert "2501.00003" not in html
    assert 'href="/?day=2025-01-02"' in html
    earlier = web.get("/?day=2025-01-02").text
    assert "2501.00003" in earlier and "2501.00001" not in earlier
    assert "This is an earlier day" in earlier and 'href="/?day=2025-01-03"' in earlier


def test_home_category_filter(web: TestClient) -> None:
    html = web.get("/?category=cs.CV").text
    assert "in cs.CV" in html
    assert "2501.00002" in html and "/paper/2501.00001" not in html
    assert 'href="/feed/cs.CV.xml"' in html


def test_search_highlights_and_explains(web: TestClient) -> None:
    html = web.get("/search", params={"q": "graph networks", "mode": "keyword"}).text
    assert "<mark>Graph</mark> <mark>networks</mark>" in html
    assert "<details" in html and "Why this result" in html and "keyword rank 1" in html
    # never a highlight inside a formula: KaTeX must see it whole
    assert "$x^2$" in html
    hybrid = web.get("/search", params={"q": "graph networks"}).text
    assert re.search(r"results \(hybrid<span[^>]*>, \d{1,3}% by meaning</span>\)", hybrid)
    # function words are no matches, even where the index keeps them as terms ("from", "for")
    html = web.get("/search", params={"q": "graph networks for molecules from the earlier day"}).text
    assert "<mark>Graph</mark>" in html and "<mark>molecules</mark>" in html
    assert "<mark>for</mark>" not in html and "<mark>from</mark>" not in html and "“from”" not in html


def test_search_filters_sort_and_pagination(web: TestClient) -> None:
    html = web.get("/search", params={"q": "graph", "category": "cs.CV", "mode": "keyword"}).text
    assert "0 results" in html
    html = web.get("/search", params={"q": "graph", "author": "Ada Lovelace", "before": "2025-01-02"}).text
    assert "2501.00003" in html and "/paper/2501.00001" not in html
    first = web.get("/search", params={"author": "Ada Lovelace"}).text  # filters alone: newest first
    assert first.index("/paper/2501.00001") < first.index("/paper/2501.00003")
    # ten per page: page 2 of three papers is empty, and says so
    assert "No papers match on this page" in web.get("/search", params={"q": "graph", "page": 2}).text


def test_pasted_arxiv_link_opens_the_paper(web: TestClient) -> None:
    for ref in ("2501.00002", "https://arxiv.org/abs/2501.00002v3", "arXiv:2501.00002"):
        r = web.get("/search", params={"q": ref}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/paper/2501.00002"
    r = web.get("/paper/2501.00002v1", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == "/paper/2501.00002"


def test_upvotes_show_where_known(web: TestClient) -> None:
    home = web.get("/?day=2025-01-03").text
    card = home[home.index('href="/paper/2501.00002"') :]
    assert "▲ 42" in card[: card.index("</article>")]  # the latest observation, not the first
    other = home[home.index('href="/paper/2501.00001"') :]
    assert "upvotes" not in other[: other.index("</article>")]  # never on HF: nothing shown
    page = web.get("/paper/2501.00002").text
    assert "▲ 42" in page[page.index('<article class="paper">') : page.index('<h1 class="title')]
    other_page = web.get("/paper/2501.00001").text
    assert (
        "▲"
        not in other_page[other_page.index('<article class="paper">') : other_page.index('<h1 class="title')]
    )


def test_paper_page_shows_everything(web: TestClient) -> None:
    html = web.get("/paper/2501.00001").text
    assert "arXiv:2501.00001v2" in html
    assert (
        'href="https://arxiv.org/abs/2501.00001"' in html
        and 'href="https://arxiv.org/pdf/2501.00001"' in html
    )
    assert 'href="/author/Ada%20Lovelace"' in html
    assert "&lt;i onclick=alert(1)&gt;J. Bad&lt;/i&gt;" in html  # journal ref as text
    assert 'href="https://doi.org/10.1000/%22%3E%3Cscript%3Ealert(1)%3C/script%3E"' in html
    assert 'href="https://example.org/x"' in html  # the comment's link, cut where the attack starts
    assert '<pre class="bibtex"' in html and "@misc{" in html and "eprint = {2501.00001}" in html
    assert "Similar papers" in html and 'href="/paper/2501.00003"' in html


def test_author_page_newest_first(web: TestClient) -> None:
    html = web.get("/author/Ada%20Lovelace").text
    assert "3 papers in this paperwire" in html
    assert html.index("/paper/2501.00001") < html.index("/paper/2501.00003")


def test_api_docs_page_is_served_from_here_under_the_strict_csp(web: TestClient) -> None:
    r = web.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self';")
    assert "'unsafe-inline'" not in r.headers["content-security-policy"]
    assert 'src="/static/swagger-ui/swagger-ui-bundle.js"' in r.text and 'src="/static/docs.js"' in r.text
    assert "http://" not in r.text and "https://" not in r.text  # nothing from a CDN
    assert "<script>" not in r.text  # no inline bootstrap
    assert 'data-openapi="/openapi.json"' in r.text
    assert web.get("/static/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert web.get("/static/swagger-ui/swagger-ui.css").status_code == 200
    assert web.get("/redoc").status_code == 404


def test_about_page_says_what_is_there(web: TestClient) -> None:
    html = web.get("/about").text
    assert "<dt>Papers</dt><dd>3</dd>" in html
    assert f"<dd>{HashEmbedder().name}</dd>" in html


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("/search?q=", 400, "empty query"),
        ("/search?q=%20%20", 400, "empty query"),
        ("/search?q=" + "x" * 5000, 400, "query too long"),
        ("/search?q=%22open", 400, "unbalanced quote"),
        ("/search?q=a&after=2026-13-45", 400, "not a date"),
        ("/search?q=a&category=%21%21", 400, "not an arXiv category"),
        ("/search?q=a&page=0", 422, "page"),
        ("/search?q=a&page=lots", 422, "page"),
        ("/search?q=a&sort=sideways", 422, "sort"),
        ("/?day=yesterday", 400, "not a date"),
        ("/?category=%3Cscript%3E", 400, "not an arXiv category"),
        ("/paper/not-an-id", 400, "not an arXiv id"),
        ("/paper/2101.99999", 404, "is not in this paperwire"),
        ("/author/" + "a" * 300, 400, "1 to 200 characters"),
        ("/nowhere", 404, "Page not found"),
    ],
)
def test_bad_input_gets_a_helpful_page(web: TestClient, url: str, status: int, says: str) -> None:
    r = web.get(url)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html")
    assert says in r.text
    assert "Traceback" not in r.text
