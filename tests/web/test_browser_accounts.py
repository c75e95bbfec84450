"""Accounts end to end in real headless Chromium against a real `paperwire serve` (issue 11's flow): ask for a
sign-in link, read it from the outbox, sign in, upvote, save with a tag and a note, comment with math, import a
BibTeX file, see "for you", export BibTeX, sign out. No alert, script error or CSP violation on the way."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from paperwire.config import Settings
from paperwire.ingest import load_sample
from paperwire.mail.outbox import read_message
from paperwire.store import open_store
from tests.conftest import database
from tests.serving import running_server
from tests.web.test_browser import SHOTS, browser, page  # noqa: F401  (fixtures)

PAPER = "2603.29029"  # MMFace-DiT, in the demo sample
IMPORTED = ("2603.28858", "2603.29585")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("browser-accounts")
    with database() as url:
        store = open_store(Settings(home=home, database_url=url, load_sample=False))
        load_sample(store)
        store.close()
        with running_server(home, database_url=url, env={"PAPERWIRE_SIGNUP": "open"}) as (base, _):
            yield base, home


def _newest_link(home: Path, since: float) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        mails = [p for p in (home / "outbox").glob("*.eml") if p.stat().st_mtime >= since]
        if mails:
            body = read_message(max(mails)).get_body(preferencelist=("plain",))
            assert body is not None
            m = re.search(r"https?://\S+/sign-in/confirm\?\S+", body.get_content())
            assert m, body.get_content()
            return m.group(0)
        time.sleep(0.2)
    raise AssertionError("no sign-in mail in the outbox")


def test_the_whole_account_flow(site: tuple[str, Path], page: Page, tmp_path: Path) -> None:  # noqa: F811
    base, home = site
    asked = time.time() - 1
    page.goto(base + "/")
    page.click("text=Sign in")
    page.fill("#email", "reader@example.org")
    page.click("text=Mail me a sign-in link")
    expect(page.locator("h1")).to_have_text("Check your mail")

    link = _newest_link(home, asked)
    page.goto(link)
    expect(page.locator("h1")).to_have_text("Sign in to paperwire")  # opening the link alone signs nobody in
    page.click("#confirm-sign-in")
    page.wait_for_url("**/library")
    expect(page.locator("nav[aria-label=Site]")).to_contain_text("Account")

    page.goto(f"{base}/paper/{PAPER}")
    page.click("#upvote")
    expect(page.locator("#upvote")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#upvote .local-upvotes")).to_have_text("1")
    page.fill("#save-tags", "diffusion, to read")
    page.fill("#save-note", "compare with $\\alpha$-blending")
    page.click("#save")
    expect(page.locator(".saved-state")).to_contain_text("to-read")

    page.fill("#comment-body", "Nice result: $E = mc^2$, code at https://example.org/code")
    page.click("#post-comment")
    comment = page.locator(".comment-body").last
    expect(comment.locator(".katex").first).to_be_attached()  # the math rendered by KaTeX
    expect(comment.locator('a[href="https://example.org/code"]')).to_be_visible()

    bib = tmp_path / "zotero.bib"
    bib.write_text(
        "".join(
            f"@misc{{k{i}, title = {{x}}, eprint = {{{pid}}}, archivePrefix = {{arXiv}}}}\n"
            for i, pid in enumerate(IMPORTED)
        )
        + "@article{lost, title = {A paper this paperwire has never heard of at all}}\n"
    )
    page.goto(base + "/library/import")
    page.set_input_files("#import-file", str(bib))
    page.click("#import")
    expect(page.locator(".import-summary")).to_contain_text("2 matched")
    expect(page.locator("table.unmatched")).to_contain_text("lost")

    page.goto(base + "/for-you")
    expect(page.locator(".recommendation").first).to_be_visible()
    expect(page.locator(".recommendation .because").first).to_contain_text("Because you saved")
    page.screenshot(path=str(SHOTS / "for-you.png"))

    page.goto(base + "/library")
    expect(page.locator("li.card")).to_have_count(3)
    with page.expect_download() as download:
        page.click("text=BibTeX")
    exported = Path(download.value.path()).read_text()
    assert all(f"eprint = {{{pid}}}" in exported for pid in (PAPER, *IMPORTED)), exported

    page.click("nav[aria-label=Site] >> text=Sign out")
    expect(page.locator("nav[aria-label=Site]")).to_contain_text("Sign in")
    page.goto(base + "/library")
    page.wait_for_url("**/sign-in?next=/library")
    # the server's access log saw the link's address, and keeps neither the token nor the address (A5)
    log = (home / "serve.log").read_text()
    token = re.search(r"token=([^&]+)", link).group(1)  # type: ignore[union-attr]
    assert "/sign-in/confirm?token=[redacted]" in log and token not in log
    assert "reader@example.org" not in log and "reader" not in log
