"""A digest's HTML part opened in real Chromium, as a mail client's web view would show it: it renders with no
script, no request to any server and no console error, its links are there, and hostile text stays text. Saves
the README's screenshot (docs/screenshots/digest.png)."""

from __future__ import annotations

import gzip
import json
from datetime import date

from playwright.sync_api import Page, Route, expect

from paperwire.digest.compose import DigestPrefs, compose_digest
from paperwire.digest.render import DigestLinks, render_digest
from paperwire.ingest import sample_dir
from paperwire.sources.snapshot import parse_record
from tests.conftest import make_paper
from tests.web.test_browser import SHOTS, browser, page  # noqa: F401  (fixtures)

LINKS = DigestLinks(
    base_url="https://papers.example.org",
    manage_url="https://papers.example.org/digest/manage?token=m",
    unsubscribe_url="https://papers.example.org/digest/unsubscribe/u",
)


def _sample(n: int) -> list:  # type: ignore[type-arg]
    with gzip.open(sample_dir() / "sample-papers.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [parse_record(json.loads(line)) for line, _ in zip(fh, range(n), strict=False)]


def test_an_html_digest_in_a_real_browser(page: Page) -> None:  # noqa: F811
    papers = _sample(12)
    hostile = make_paper(
        "2501.99998",
        title='<img src=x onerror=alert(1)> Depth from $x^2$ </td></table><script>alert("x")</script>',
        abstract="An abstract with <b onmouseover=alert(1)>markup</b> and $\\alpha$.",
        authors=('"><svg onload=alert(1)>',),
    )
    prefs = DigestPrefs(watches=("depth estimation",), categories=("cs.CV",), trending_n=3)
    digest = compose_digest(
        prefs,
        [date(2026, 6, 30), date(2026, 7, 1)],
        watch_hits={"depth estimation": [hostile, *papers[:2]]},
        category_papers=papers[2:8],
        trending=[(p, ["+42 upvotes in 2 days"]) for p in papers[8:11]],
        for_you=[],
        already_sent=(),
        address="reader@example.org",
    )
    html = render_digest(digest, LINKS).html
    requests: list[str] = []

    def refuse(route: Route) -> None:  # a mail client would not fetch anything: nor does this digest
        requests.append(route.request.url)
        route.abort()

    page.route("**/*", refuse)
    page.set_content(html)
    expect(page.get_by_text("Unsubscribe")).to_be_visible()
    expect(page.locator('a[href="https://papers.example.org/digest/manage?token=m"]')).to_be_visible()
    expect(page.locator('a[href="https://papers.example.org/paper/2501.99998"]').first).to_be_visible()
    assert page.locator("script, img, svg, iframe").count() == 0
    assert requests == [], requests
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "digest.png"))
