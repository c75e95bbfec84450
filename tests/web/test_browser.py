"""End to end in real headless Chromium (Debian's, driven by Playwright) against a real `paperwire serve`.

Search, open a result, see the math rendered, follow a similar paper, page through results, filter, open a feed;
open /trending, switch window and category, follow a repository link (to a tiny local server standing in for
GitHub); hostile metadata stays inert in a real browser (W1, W2). Saves the README's screenshots to
docs/screenshots/.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser
import pytest

from paperwire.config import Settings
from paperwire.ingest import load_sample
from paperwire.models import Signal
from paperwire.store import open_store
from tests.conftest import database, make_paper
from tests.serving import running_server
from tests.web.conftest import XSS_ABSTRACT, XSS_AUTHOR, XSS_TITLE, fill

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
HOSTILE_ID = "2501.99999"

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError("Debian chromium is missing: .ci/run installs it (apt-get install chromium)")
    pytest.skip(
        "needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True
    )

from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server process over the demo sample plus one hostile paper (embedded in the background)."""
    home = tmp_path_factory.mktemp("browser")
    with database() as url:
        store = open_store(Settings(home=home, database_url=url, load_sample=False))
        load_sample(store)
        store.upsert_papers(
            [
                make_paper(
                    HOSTILE_ID,
                    title=XSS_TITLE,
                    abstract=XSS_ABSTRACT,
                    authors=(XSS_AUTHOR, "Ada Lovelace"),
                    announced=date(2025, 1, 3),
                )
            ]
        )
        store.close()
        with running_server(home, database_url=url) as (base, _):
            yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    p = ctx.new_page()
    p.set_default_timeout(60_000)  # the first semantic query loads the embedding model in the server
    problems: list[str] = []
    p.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    p.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    def console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            problems.append(f"console: {msg.text} at {msg.location.get('url')}")

    p.on("console", console)
    yield p
    ctx.close()
    assert problems == [], problems  # no alert, no script error, no CSP violation


def test_search_open_result_math_similar(server: str, page: Page) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(server + "/")
    expect(page.locator("h1")).to_contain_text("Papers of")
    expect(page.locator("article.card").first).to_be_visible()
    page.screenshot(path=str(SHOTS / "home.png"))

    page.fill("#quick-q", "agentic autoregressive diffusion for long video consistency")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?**")
    cards = page.locator("article.card")
    expect(cards).to_have_count(10)
    expect(page.locator("article.card mark").first).to_be_visible()
    page.locator("article.card details summary").first.click()
    expect(page.locator("article.card details[open]").first).to_contain_text("semantic rank")
    page.screenshot(path=str(SHOTS / "search.png"))

    page.click('article.card a[href="/paper/2605.06924"] >> nth=0')
    page.wait_for_url("**/paper/2605.06924")
    expect(page.locator("h1.title .katex").first).to_be_attached()  # A$^2$RD rendered by KaTeX
    expect(page.locator("pre.bibtex")).to_contain_text("eprint = {2605.06924}")
    expect(page.locator("a", has_text="PDF")).to_have_attribute("href", "https://arxiv.org/pdf/2605.06924")
    page.screenshot(path=str(SHOTS / "paper.png"))

    similar = page.locator(".similar article.card h3 a").first
    target = similar.get_attribute("href")
    assert target and target.startswith("/paper/") and target != "/paper/2605.06924"
    similar.click()
    page.wait_for_url("**" + target)
    expect(page.locator("h1.title")).to_be_visible()


def test_filter_and_paging(server: str, page: Page) -> None:
    page.goto(server + "/search?q=graph+neural+networks&mode=keyword")
    first_page = page.locator("article.card h2 a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert len(first_page) == 10
    page.click('nav.pager a[rel="next"]')
    page.wait_for_url("**page=2**")
    second_page = page.locator("article.card h2 a").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    )
    assert second_page and not set(first_page) & set(second_page)

    page.fill('input[name="category"]', "cs.CV")
    page.select_option('select[name="sort"]', "date")
    page.click(".search-form .row button")
    page.wait_for_url("**category=cs.CV**")
    assert "page=" not in page.url  # a new search starts on page 1
    chips = page.locator("article.card").evaluate_all(
        "cards => cards.map(c => [...c.querySelectorAll('a.cat')].map(a => a.textContent))"
    )
    assert chips and all("cs.CV" in cats for cats in chips)
    dates = page.locator("article.card time").evaluate_all("els => els.map(e => e.getAttribute('datetime'))")
    assert dates == sorted(dates, reverse=True)


def test_pasted_link_and_feed(server: str, page: Page) -> None:
    page.goto(server + "/search")
    page.fill("#q", "https://arxiv.org/abs/2605.06924v2")
    page.keyboard.press("Enter")
    page.wait_for_url("**/paper/2605.06924")

    page.goto(server + "/")
    href = page.locator("nav.days a.feed").get_attribute("href")
    assert href == "/feed.xml"
    resp = page.goto(server + href)
    assert resp is not None and resp.headers["content-type"].startswith("application/rss+xml")
    feed = feedparser.parse(resp.body())
    assert not feed.bozo and len(feed.entries) > 0


def test_api_docs_render_offline_and_try_a_search(server: str, page: Page) -> None:
    page.goto(server + "/")
    page.click('footer a[href="/docs"]')
    page.wait_for_url("**/docs")
    op = page.locator(".opblock", has_text="/api/search").first
    expect(op).to_be_visible()  # Swagger UI rendered our schema from /static, under the strict CSP
    op.locator(".opblock-summary").click()
    op.locator("input[placeholder='q']").fill("graph neural networks")
    op.locator("button.execute").click()
    status = op.locator(".live-responses-table tbody .response-col_status").first
    expect(status).to_contain_text("200", timeout=60_000)  # the first query may load the model
    expect(op.locator(".live-responses-table")).to_contain_text('"total"')


def test_hostile_paper_is_inert_in_a_real_browser(server: str, page: Page) -> None:
    page.goto(server + f"/paper/{HOSTILE_ID}")
    expect(page.locator("h1.title")).to_contain_text("<img src=x onerror=alert(1)>")
    expect(page.locator(".abstract")).to_contain_text("</script><script>alert(1)</script>")
    expect(page.locator(".abstract .katex").first).to_be_attached()  # the formulas did render
    assert page.locator("main img, main svg:not(.katex svg), main script").count() == 0
    assert page.locator('a[href^="javascript" i]').count() == 0  # \href stayed text (trust: false)
    expect(page.locator("ul.authors a").first).to_have_text(XSS_AUTHOR)


def test_dark_theme_phone_width_and_keyboard(server: str, browser: Browser) -> None:
    light = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    dark = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    try:
        lp, dp = light.new_page(), dark.new_page()
        for p in (lp, dp):
            p.goto(server + "/paper/2605.06924")
        background = "getComputedStyle(document.body).backgroundColor"
        assert lp.evaluate(background) != dp.evaluate(background)
        # nothing wider than a phone's screen: no sideways scrolling
        assert dp.evaluate("document.documentElement.scrollWidth") <= 390
        dp.screenshot(path=str(SHOTS / "paper-phone-dark.png"))
        # the first Tab reaches the skip link, which moves focus to the content
        lp.keyboard.press("Tab")
        assert lp.evaluate("document.activeElement.className") == "skip"
        lp.keyboard.press("Enter")
        assert lp.evaluate("document.activeElement.id") == "main"
    finally:
        light.close()
        dark.close()


REPO_PAGE = (
    b'<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">'
    b"<title>acme/vision</title></head><body><h1>acme/vision: the code</h1></body></html>"
)


@pytest.fixture(scope="module")
def repo_host() -> Iterator[str]:
    """A tiny HTTP server on 127.0.0.1 standing in for GitHub, so following a repository link works offline."""

    class Repo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(REPO_PAGE)))
            self.end_headers()
            self.wfile.write(REPO_PAGE)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Repo)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def trending_server(tmp_path_factory: pytest.TempPathFactory, repo_host: str) -> Iterator[str]:
    """A real server over four papers whose Hugging Face observations are hours and days old (the real clock)."""
    home = tmp_path_factory.mktemp("browser-trending")
    now = datetime.now(UTC)
    today = now.date()
    repo = f"{repo_host}/acme/vision"

    midnight = datetime.combine(today, datetime.min.time(), UTC)

    def seen(
        pid: str, ago: timedelta, upvotes: int, listed_ago: timedelta | None = None, **kw: object
    ) -> Signal:
        listed = now - (listed_ago if listed_ago is not None else ago)
        if listed_ago is None and ago < timedelta(days=1):
            listed = max(listed, midnight)  # on today's list at any hour of the day the tests run
        return Signal(
            pid, "hf-daily", now - ago, upvotes=upvotes, listed_on=listed.date(), listed_at=listed, **kw
        )  # type: ignore[arg-type]

    d, h = timedelta(days=1), timedelta(hours=1)
    with database() as url:
        fill(
            home,
            [
                make_paper("2611.00001", title=XSS_TITLE, categories=("cs.CV",), announced=today - 10 * d),
                make_paper(
                    "2611.00002", title="Fresh language models", categories=("cs.CL",), announced=today
                ),
                make_paper("2611.00003", title="Robots that fold", categories=("cs.RO",), announced=today),
                make_paper(
                    "2611.00004", title="Segment all the things", categories=("cs.CV",), announced=today
                ),
            ],
            url,
        )
        store = open_store(Settings(home=home, database_url=url, load_sample=False))
        store.upsert_signals(
            [
                seen("2611.00001", 10 * d, 5, github_repo=repo, github_stars=190),
                seen("2611.00001", 2 * d - 2 * h, 30, 10 * d, github_repo=repo, github_stars=250),
                seen("2611.00001", h, 47, 10 * d, github_repo=repo, github_stars=310),
                seen("2611.00002", 2 * h, 25),
                seen("2611.00003", 3 * h, 18),
                seen("2611.00004", 4 * h, 9, github_repo=repo, github_stars=40),
            ]
        )
        store.close()
        env = {"PAPERWIRE_JOBS_IN_PROCESS": "false", "PAPERWIRE_LOAD_SAMPLE": "false"}  # no model to load
        with running_server(home, database_url=url, env=env, log_name="trending-serve.log") as (base, _):
            yield base


def _titles(page: Page) -> list[str]:
    return page.locator("article.card h2 a").evaluate_all("els => els.map(e => e.getAttribute('href'))")


def test_trending_windows_categories_and_a_repository_link(
    trending_server: str, repo_host: str, page: Page
) -> None:
    page.goto(trending_server + "/")
    page.click('header.site nav a[href="/trending"]')
    page.wait_for_url("**/trending")
    expect(page.locator("h1")).to_have_text("Trending this week")
    expect(page.locator('nav.tabs a[aria-current="page"]')).to_have_text("This week")
    first = page.locator("article.card").first
    expect(first.locator("ul.reasons")).to_contain_text("+42 upvotes in 2 days")
    expect(first.locator("ul.reasons")).to_contain_text("310 GitHub stars, +120 this week")
    expect(first.locator(".stars")).to_contain_text("★ 310")
    expect(first.locator("h2.title")).to_contain_text("<img src=x onerror=alert(1)>")  # text, never an image
    expect(first.locator("h2.title .katex").first).to_be_attached()  # its $x^2$ rendered
    assert page.locator("main img, main script").count() == 0

    page.click('nav.tabs a:has-text("Today")')
    page.wait_for_url("**window=today**")
    expect(page.locator("h1")).to_contain_text("Trending today: Hugging Face's list of")
    assert _titles(page) == [
        "/paper/2611.00002",
        "/paper/2611.00003",
        "/paper/2611.00004",
    ]  # most upvoted first
    page.click('nav.sorts a:has-text("Announcement order")')
    page.wait_for_url("**sort=announced**")

    page.select_option("#t-category", "cs.CV")
    page.click("form.filters button")
    page.wait_for_url("**category=cs.CV**")
    assert "window=today" in page.url and "sort=announced" in page.url  # the form keeps the window and order
    assert _titles(page) == ["/paper/2611.00004"]
    page.click('nav.tabs a:has-text("This month")')
    page.wait_for_url("**window=month**")
    assert "category=cs.CV" in page.url  # the tabs keep the category
    chips = page.locator("article.card").evaluate_all(
        "cards => cards.map(c => [...c.querySelectorAll('a.cat')].map(a => a.textContent))"
    )
    assert chips and all("cs.CV" in cats for cats in chips)

    repo = page.locator("article.card a.repo").first
    expect(repo).to_have_attribute("href", f"{repo_host}/acme/vision")
    expect(repo).to_have_attribute("rel", "nofollow noopener noreferrer")
    repo.click()
    page.wait_for_url(f"{repo_host}/acme/vision")
    expect(page.locator("h1")).to_have_text("acme/vision: the code")


def test_trending_on_the_demo_sample_says_where_its_windows_end(server: str, page: Page) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(server + "/trending")
    expect(page.locator("p.note")).to_contain_text("The newest signals are from")  # the sample is months old
    expect(page.locator("article.card").first).to_be_visible()
    expect(page.locator("article.card ul.reasons").first).to_contain_text("upvote")
    page.screenshot(path=str(SHOTS / "trending.png"))
