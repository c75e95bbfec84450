"""Fixtures for the web app: a real store holding hostile metadata, embedded by the test embedder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from paperwire.config import Settings
from paperwire.ingest import embed_pending
from paperwire.models import Paper, Signal
from paperwire.store import open_store
from paperwire.web.app import create_app
from tests.conftest import database, make_paper
from tests.embedders import HashEmbedder

XSS_TITLE = "<img src=x onerror=alert(1)> Graph networks for $x^2$ molecules"
XSS_ABSTRACT = (
    "</script><script>alert(1)</script> We learn graph networks. "
    "Math: $\\href{javascript:alert(1)}{x}$ and $$\\int_0^1 f(x)\\,dx$$ <b onmouseover=alert(1)>bold</b>"
)
XSS_AUTHOR = '"><svg onload=alert(1)>'
HOSTILE = [
    make_paper(
        "2501.00001",
        title=XSS_TITLE,
        abstract=XSS_ABSTRACT,
        authors=(XSS_AUTHOR, "Ada Lovelace"),
        comment='12 pages; code: https://example.org/x"onmouseover="alert(1) javascript:alert(1)',
        journal_ref="<i onclick=alert(1)>J. Bad</i>",
        doi='10.1000/"><script>alert(1)</script>',
        categories=("cs.LG", "cs.AI"),
        announced=date(2025, 1, 3),
        version=2,
    ),
    make_paper(
        "2501.00002",
        title="Diffusion models for video generation",
        abstract="We generate video with diffusion models and $\\alpha$-blending.",
        categories=("cs.CV",),
        announced=date(2025, 1, 3),
    ),
    make_paper(
        "2501.00003",
        title="Graph neural networks on an earlier day",
        abstract="Message passing over graphs.",
        categories=("cs.LG",),
        announced=date(2025, 1, 2),
    ),
]


def fill(home: Path, papers: list[Paper], database_url: str | None = None) -> None:
    """Write ``papers`` into a real store (``database_url``, or the SQLite file in ``home``) and embed them
    with the test embedder."""
    store = open_store(Settings(home=home, database_url=database_url, load_sample=False))
    store.upsert_papers(papers)
    embed_pending(store, HashEmbedder())
    store.close()


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The whole site over the hostile papers (rate limit off: these tests make many requests)."""
    home = tmp_path_factory.mktemp("web")
    with database() as url:
        settings = Settings(home=home, database_url=url, load_sample=False, rate_limit_per_minute=0)
        fill(home, HOSTILE, url)
        store = open_store(settings)
        store.upsert_signals(  # 2501.00002 was on Hugging Face's daily papers twice; the latest count shows
            [
                Signal("2501.00002", "hf-daily", datetime(2025, 1, 3, tzinfo=UTC), upvotes=3),
                Signal("2501.00002", "hf-daily", datetime(2025, 1, 4, tzinfo=UTC), upvotes=42),
            ]
        )
        store.close()
        app = create_app(settings, embedder=HashEmbedder(), background_embed=False)
        with TestClient(app, base_url="http://localhost") as c:  # a loopback name: allowed by default
            yield c


class PageAudit(HTMLParser):
    """Collects what matters for W1/W3 from a page: scripts, event handlers, link targets, foreign tags."""

    FOREIGN = frozenset({"img", "svg", "iframe", "object", "embed", "base", "math", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[tuple[str, str]] = []
        self.foreign: list[str] = []
        self.urls: list[str] = []
        self.in_script = False
        self.script_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts.append(a)
            self.in_script = True
        if tag in self.FOREIGN:
            self.foreign.append(tag)
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.handlers.append((tag, name))
            if name in ("href", "src", "action", "formaction") and value is not None:
                self.urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script:
            self.script_text += data


def assert_safe_html(html: str) -> PageAudit:
    """No foreign script, no on* attribute, no foreign element, only http(s) or same-site links (W1, W3)."""
    audit = PageAudit()
    audit.feed(html)
    audit.close()
    assert all((s.get("src") or "").startswith("/static/") for s in audit.scripts), audit.scripts
    assert audit.script_text.strip() == "", "inline script content"
    assert audit.handlers == [], audit.handlers
    assert audit.foreign == [], audit.foreign
    for url in audit.urls:
        scheme = urlsplit(url).scheme.lower()
        assert scheme in ("", "http", "https"), url
        assert not url.strip().lower().startswith(("javascript:", "data:", "//")), url
    return audit
