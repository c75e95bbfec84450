"""Accounts end to end over the real app and store: magic links through the outbox (A1), sessions (A2),
authorisation (A3), CSRF (A4/W5), personal data (A5), escaping of user content (A6)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from paperwire.config import Settings
from paperwire.mail.outbox import read_message
from paperwire.store import open_store
from paperwire.web.app import create_app
from paperwire.web.sessions import COOKIE
from tests.conftest import database
from tests.embedders import HashEmbedder
from tests.web.conftest import HOSTILE, assert_safe_html, fill

ORIGIN = {"origin": "http://localhost"}  # what a browser sends with a form posted from this site
P1, P2, P3 = (p.id for p in HOSTILE)


@dataclass
class Site:
    home: Path
    settings: Settings
    app: object
    browsers: int = 0

    def client(self, local: bool = False) -> TestClient:
        """A browser of its own (its own cookies); ``local``: on this machine (127.0.0.1)."""
        self.browsers += 1  # each from an address of its own: sign-in requests are limited per client
        return TestClient(
            self.app,  # type: ignore[arg-type]
            base_url="http://localhost",
            client=("127.0.0.1", 50000) if local else (f"198.51.100.{self.browsers}", 50000),
            follow_redirects=False,
        )

    def outbox(self) -> list[Path]:
        """The outbox's messages, once the sign-in mail asked for so far has left its thread."""
        self.app.state.site.signin.flush()  # type: ignore[attr-defined]
        return sorted((self.home / "outbox").glob("*.eml"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("accounts")
    with database() as url:
        settings = Settings(
            home=home, database_url=url, load_sample=False, rate_limit_per_minute=0, signup="open"
        )
        fill(home, HOSTILE, url)
        app = create_app(settings, embedder=HashEmbedder(), background_embed=False)
        with TestClient(app, base_url="http://localhost"):  # runs the lifespan: the store is open
            yield Site(home, settings, app)


def link_in(path: Path) -> str:
    """The sign-in link in an outbox message."""
    body = read_message(path).get_body(preferencelist=("plain",))
    assert body is not None
    m = re.search(r"http://localhost/sign-in/confirm\?\S+", body.get_content())
    assert m, body.get_content()
    return m.group(0).removeprefix("http://localhost")


def request_link(site: Site, c: TestClient, email: str) -> str | None:
    """Ask for a link as a browser would; the new message's link, or None when no mail went out."""
    before = set(site.outbox())
    r = c.post("/sign-in", data={"email": email, "next": "/library"}, headers=ORIGIN)
    assert r.status_code == 200, r.text
    assert "Check your mail" in r.text
    new = sorted(set(site.outbox()) - before)
    assert len(new) <= 1
    return link_in(new[0]) if new else None


def confirm(c: TestClient, link: str) -> object:
    token = re.search(r"token=([^&]+)", link).group(1)  # type: ignore[union-attr]
    from urllib.parse import unquote

    return c.post("/sign-in/confirm", data={"token": unquote(token), "next": "/library"}, headers=ORIGIN)


def signed_in(site: Site, email: str) -> TestClient:
    c = site.client()
    link = request_link(site, c, email)
    assert link
    r = confirm(c, link)
    assert r.status_code == 303 and r.headers["location"] == "/library"  # type: ignore[attr-defined]
    assert c.get("/api/me").json()["email"] == email.lower()
    return c


def test_magic_link_signs_in_once_and_only_after_a_click(site: Site) -> None:
    c = site.client()
    link = request_link(site, c, "Ada@Example.org")
    assert link is not None
    # a mail scanner opening the link signs nobody in: the page asks for a click (A1, M3)
    page = c.get(link)
    assert page.status_code == 200 and 'id="confirm-sign-in"' in page.text
    assert COOKIE not in c.cookies and c.get("/api/me").status_code == 401
    r = confirm(c, link)
    assert r.status_code == 303  # type: ignore[attr-defined]
    cookie = r.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie  # http here
    assert c.get("/api/me").json() == {
        "id": 1,
        "email": "ada@example.org",
        "name": "member 1",
        "admin": False,
    }
    # the link works once, even in another browser
    again = confirm(site.client(), link)
    assert again.status_code == 400 and "already used" in again.text  # type: ignore[attr-defined]


def test_the_answer_is_the_same_whether_or_not_an_address_may_sign_in(site: Site) -> None:
    site.settings.signup = "invite"  # type: ignore[misc]
    try:
        c = site.client()
        before = len(site.outbox())
        unknown = c.post("/sign-in", data={"email": "stranger@example.com"}, headers=ORIGIN)
        assert len(site.outbox()) == before  # nothing sent to an address without an invitation
        store = open_store(site.settings)
        store.add_user("invited@example.com", "invited")
        store.close()
        known = c.post("/sign-in", data={"email": "invited@example.com"}, headers=ORIGIN)
        assert len(site.outbox()) == before + 1
        strip = lambda html: html.replace("stranger@example.com", "X").replace("invited@example.com", "X")  # noqa: E731
        assert strip(unknown.text) == strip(known.text)
        bad = c.post("/sign-in", data={"email": "not an address\r\nBcc: x@example.com"}, headers=ORIGIN)
        assert bad.status_code == 400 and "not a mail address" in bad.text
    finally:
        site.settings.signup = "open"  # type: ignore[misc]


def test_links_expire_and_are_bound_to_their_purpose(site: Site) -> None:
    c = site.client()
    link = request_link(site, c, "late@example.org")
    assert link
    signin = site.app.state.site.signin  # type: ignore[attr-defined]
    real = signin.clock
    signin.clock = lambda: real() + timedelta(minutes=site.settings.sign_in_link_minutes + 1)
    try:
        late = confirm(c, link)
        assert late.status_code == 400 and COOKIE not in c.cookies  # type: ignore[attr-defined]
    finally:
        signin.clock = real
    # a token signed with the same key for another purpose (say, unsubscribing) does not sign in
    other = URLSafeTimedSerializer(signin.key, salt="paperwire.unsubscribe").dumps(
        {"n": "x" * 32, "e": "late@example.org"}
    )
    r = c.post("/sign-in/confirm", data={"token": other}, headers=ORIGIN)
    assert r.status_code == 400 and "not valid" in r.text
    assert c.get("/api/me").status_code == 401


def test_sign_in_requests_are_rate_limited_per_address(site: Site) -> None:
    c = site.client()
    codes = [
        c.post("/sign-in", data={"email": "flood@example.org"}, headers=ORIGIN).status_code for _ in range(7)
    ]
    assert codes[:5] == [200] * 5 and codes[-1] == 429
    r = c.post("/sign-in", data={"email": "flood@example.org"}, headers=ORIGIN)
    assert int(r.headers["retry-after"]) > 0


def test_upvote_save_tag_note_read_and_the_library(site: Site) -> None:
    c = signed_in(site, "reader@example.org")
    assert c.post(f"/paper/{P2}/upvote", data={"on": "1"}, headers=ORIGIN).status_code == 303
    c.post(f"/paper/{P2}/upvote", data={"on": "1"}, headers=ORIGIN)  # one per account
    page = c.get(f"/paper/{P2}").text
    assert 'aria-pressed="true"' in page and '<span class="local-upvotes">1</span>' in page
    note = "<script>alert(1)</script> read with $\\alpha$"
    r = c.post(f"/paper/{P2}/save", data={"tags": "Video, to read", "note": note}, headers=ORIGIN)
    assert r.status_code == 303
    c.post(f"/paper/{P1}/save", data={"tags": "graphs"}, headers=ORIGIN)
    lib = c.get("/api/library").json()
    assert lib["total"] == 2
    item = next(i for i in lib["items"] if i["id"] == P2)
    assert item["tags"] == ["to-read", "video"] and item["note"] == note and item["read"] is False
    html = c.get("/library").text
    assert_safe_html(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert [i["id"] for i in c.get("/api/library?tag=video").json()["items"]] == [P2]
    c.post(f"/paper/{P2}/read", data={"read": "1"}, headers=ORIGIN)
    assert [i["id"] for i in c.get("/api/library?read=true").json()["items"]] == [P2]
    assert (
        f"lib-{P1}" in c.get("/library?read=unread").text
        and f"lib-{P2}" not in c.get("/library?read=unread").text
    )
    # search within the library: the query language, limited to it
    found = c.get("/library", params={"q": "diffusion video"}).text
    assert f"lib-{P2}" in found and f"lib-{P1}" not in found and "1 of your 2 papers match" in found
    assert c.get("/library", params={"q": 'cat:cs.LG "graph networks"'}).text.count('class="card"') == 1
    assert c.get("/library", params={"q": '"unclosed'}).status_code == 400
    # the upvote feeds trending's local counts; withdrawing takes it back
    store = open_store(site.settings)
    try:
        totals = {(p, k): n for p, k, n in store.local_totals()}
        assert totals[(P2, "upvote")] == 1 and totals[(P2, "save")] == 1
        c.post(f"/paper/{P2}/upvote", data={"on": "0"}, headers=ORIGIN)
        assert (P2, "upvote") not in {(p, k) for p, k, _ in store.local_totals()}
    finally:
        store.close()
    assert c.post("/paper/2501.99999/save", data={}, headers=ORIGIN).status_code == 404  # not in the store


def test_cross_site_posts_change_nothing(site: Site) -> None:
    c = signed_in(site, "victim@example.org")
    for headers in (
        {"origin": "https://evil.example"},
        {"sec-fetch-site": "cross-site", "origin": "http://localhost"},
        {"origin": "null"},
        {},  # no Origin, no token
    ):
        r = c.post(f"/paper/{P1}/save", data={"note": "forged"}, headers=headers)
        assert r.status_code == 403, headers
        assert (
            c.request("PUT", f"/api/library/{P1}", json={"note": "forged"}, headers=headers).status_code
            == 403
        )
    assert c.get("/api/library").json()["total"] == 0
    # a script with the session's token may write without an Origin
    token = re.search(r'name="csrf" content="([0-9a-f]+)"', c.get("/account").text)
    assert token, "the page carries the CSRF token for scripts"
    ok = c.request(
        "PUT", f"/api/library/{P1}", json={"tags": ["x"]}, headers={"x-csrf-token": token.group(1)}
    )
    assert ok.status_code == 200 and ok.json()["tags"] == ["x"]
    wrong = c.request("PUT", f"/api/library/{P1}", json={"tags": ["y"]}, headers={"x-csrf-token": "0" * 64})
    assert wrong.status_code == 403


def test_another_account_reaches_nothing_of_mine(site: Site) -> None:
    owner = signed_in(site, "owner@example.org")
    owner.put(f"/api/library/{P3}", json={"tags": ["secret"], "note": "my private note"}, headers=ORIGIN)
    other = signed_in(site, "other@example.org")
    assert other.get("/api/library").json() == {"total": 0, "items": []}
    assert "my private note" not in other.get(f"/paper/{P3}").text
    assert other.delete(f"/api/library/{P3}", headers=ORIGIN).status_code == 404
    assert other.post(f"/paper/{P3}/read", data={"read": "1"}, headers=ORIGIN).status_code == 404
    assert "my private note" not in other.get("/account/export.json").text
    assert other.get("/library?tag=secret").text.count('class="card"') == 0
    mine = owner.get("/api/library").json()["items"]
    assert mine[0]["note"] == "my private note" and mine[0]["read"] is False and mine[0]["tags"] == ["secret"]
    # signed out: the API answers 401, pages send to the sign-in form
    anon = site.client()
    assert anon.get("/api/library").status_code == 401
    r = anon.get("/library?tag=x")
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?next=/library%3Ftag%3Dx"


def test_sign_out_everywhere_ends_every_session(site: Site) -> None:
    a = signed_in(site, "twice@example.org")
    b = site.client()  # the same person on another device: a second session
    link = request_link(site, b, "twice@example.org")
    assert link and confirm(b, link).status_code == 303  # type: ignore[attr-defined]
    assert b.get("/api/me").status_code == 200
    assert a.get("/api/me").status_code == 200
    a.post("/sign-out", data={"everywhere": "1"}, headers=ORIGIN)
    assert a.get("/api/me").status_code == 401 and b.get("/api/me").status_code == 401


def test_signing_in_anew_ends_the_session_the_browser_had(site: Site) -> None:
    c = signed_in(site, "first@example.org")
    first = c.cookies[COOKIE]
    link = request_link(site, c, "second@example.org")
    assert link and confirm(c, link).status_code == 303  # type: ignore[attr-defined]
    assert c.get("/api/me").json()["email"] == "second@example.org"
    stale = site.client()
    stale.cookies.set(COOKIE, first)
    assert stale.get("/api/me").status_code == 401


def test_idle_sessions_end(site: Site) -> None:
    c = signed_in(site, "idle@example.org")
    signin = site.app.state.site.signin  # type: ignore[attr-defined]
    real = signin.clock
    signin.clock = lambda: real() + timedelta(days=site.settings.session_idle_days + 1)
    try:
        assert c.get("/api/me").status_code == 401
    finally:
        signin.clock = real
    assert c.get("/api/me").status_code == 401  # the idle session is gone for good


def test_export_and_delete_my_account(site: Site) -> None:
    c = signed_in(site, "leaving@example.org")
    c.post(f"/paper/{P1}/save", data={"tags": "a", "note": "n"}, headers=ORIGIN)
    c.post(f"/paper/{P1}/upvote", data={"on": "1"}, headers=ORIGIN)
    data = json.loads(c.get("/account/export.json").text)
    assert data["account"]["email"] == "leaving@example.org"
    assert data["library"][0]["paper"] == P1 and data["upvotes"] == [P1]
    assert c.post("/account/delete", data={"confirm": "wrong@example.org"}, headers=ORIGIN).status_code == 400
    r = c.post("/account/delete", data={"confirm": "leaving@example.org"}, headers=ORIGIN)
    assert r.status_code == 303 and c.get("/api/me").status_code == 401
    store = open_store(site.settings)
    try:
        assert store.user_by_email("leaving@example.org") is None
        gone = [u for u in store.list_users() if u.email == "leaving@example.org"]
        assert gone == []
    finally:
        store.close()


def test_outbox_page_is_for_a_local_admin_only(site: Site) -> None:
    store = open_store(site.settings)
    admin = store.add_user("admin@example.org", "active", is_admin=True)
    store.close()
    remote = signed_in(site, "admin@example.org")
    assert remote.get("/admin/outbox").status_code == 404  # an admin, but not on this machine
    local = site.client(local=True)
    local.cookies.set(COOKIE, remote.cookies[COOKIE])
    page = local.get("/admin/outbox")
    assert page.status_code == 200 and "Your paperwire sign-in link" in page.text
    user = signed_in(site, "plain@example.org")
    plain_local = site.client(local=True)
    plain_local.cookies.set(COOKIE, user.cookies[COOKIE])
    assert plain_local.get("/admin/outbox").status_code == 404
    assert admin.is_admin


BIB = r"""
@misc{first, title = {Graph networks for molecules}, eprint = {2501.00001}, archivePrefix = {arXiv},
  keywords = {imported}}
@article{second, title = {Diffusion Models for Video Generation}, author = {Doe, Jane}, year = {2025}}
@article{third, title = {A paper nobody here has}, doi = {10.1000/nowhere}}
@article{fourth, author = {No Title}}
"""


def test_import_a_bibtex_file_and_export_the_library(site: Site) -> None:
    import bibtexparser
    import rispy

    c = signed_in(site, "importer@example.org")
    r = c.post(
        "/library/import",
        files={"file": ("zotero.bib", BIB.encode(), "application/x-bibtex")},
        data={"tags": "from zotero"},
        headers=ORIGIN,
    )
    assert r.status_code == 200, r.text
    assert "2 matched" in r.text and "2 not matched" in r.text and "2 new in your library" in r.text
    assert "third" in r.text and "fourth" in r.text  # the unmatched are listed with why
    assert_safe_html(r.text)
    lib = {i["id"]: i for i in c.get("/api/library").json()["items"]}
    assert set(lib) == {P1, P2}
    assert lib[P1]["tags"] == ["from-zotero", "imported"] and lib[P2]["tags"] == ["from-zotero"]
    # importing again adds nothing twice
    again = c.post("/library/import", files={"file": ("z.bib", BIB.encode())}, headers=ORIGIN)
    assert "0 new in your library" in again.text
    bad = c.post("/library/import", files={"file": ("x.bin", b"\x00\x01\x02garbage")}, headers=ORIGIN)
    assert bad.status_code == 400

    bib = c.get("/library/export.bib")
    assert bib.status_code == 200 and "attachment" in bib.headers["content-disposition"]
    parsed = bibtexparser.parse_string(bib.text)
    assert sorted(e.fields_dict["eprint"].value for e in parsed.entries) == [P1, P2]
    ris = rispy.loads(c.get("/library/export.ris").text)
    assert len(ris) == 2
    csl = c.get("/library/export.json").json()
    assert len(csl) == 2 and all(item["title"] for item in csl)


def test_comments_with_math_and_links_escaped_edited_deleted_and_hidden(site: Site) -> None:
    author = signed_in(site, "commenter@example.org")
    author.post("/account/name", data={"name": "Comm <b>Enter</b>"}, headers=ORIGIN)
    body = "See https://example.org/x and javascript:alert(1) <img src=x onerror=alert(1)> with $x^2$"
    r = author.post(f"/paper/{P3}/comments", data={"body": body}, headers=ORIGIN)
    assert r.status_code == 303
    cid = int(r.headers["location"].rsplit("comment-", 1)[1])
    page = author.get(f"/paper/{P3}").text
    assert_safe_html(page)
    assert '<a href="https://example.org/x" rel="nofollow noopener noreferrer">' in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "$x^2$" in page
    assert (
        "Comm &lt;b&gt;Enter&lt;/b&gt;" in page
        and "commenter@example.org" not in site.client().get(f"/paper/{P3}").text
    )
    assert author.post(f"/paper/{P3}/comments", data={"body": "   "}, headers=ORIGIN).status_code == 400
    assert (
        author.post(f"/comments/{cid}/edit", data={"body": "edited $y$"}, headers=ORIGIN).status_code == 303
    )
    assert "edited $y$" in author.get(f"/paper/{P3}").text

    other = signed_in(site, "stranger2@example.org")
    assert other.post(f"/comments/{cid}/edit", data={"body": "vandal"}, headers=ORIGIN).status_code == 404
    assert other.post(f"/comments/{cid}/delete", headers=ORIGIN).status_code == 404
    assert other.post(f"/comments/{cid}/hide", data={"hidden": "1"}, headers=ORIGIN).status_code == 404
    assert "edited $y$" in other.get(f"/paper/{P3}").text

    store = open_store(site.settings)
    store.add_user("mod@example.org", "active", is_admin=True)
    store.close()
    mod = signed_in(site, "mod@example.org")
    assert mod.post(f"/comments/{cid}/hide", data={"hidden": "1"}, headers=ORIGIN).status_code == 303
    assert "edited $y$" not in other.get(f"/paper/{P3}").text
    assert "hidden by an admin" in mod.get(f"/paper/{P3}").text
    assert author.post(f"/comments/{cid}/delete", headers=ORIGIN).status_code == 303
    assert "edited $y$" not in mod.get(f"/paper/{P3}").text


def test_comments_are_rate_limited(site: Site) -> None:
    c = signed_in(site, "chatty@example.org")
    limit = site.settings.comments_per_hour
    codes = [
        c.post(f"/paper/{P2}/comments", data={"body": f"c{i}"}, headers=ORIGIN).status_code
        for i in range(limit + 1)
    ]
    assert codes[:limit] == [303] * limit and codes[-1] == 429


def test_collections_private_public_and_share_links(site: Site) -> None:
    owner = signed_in(site, "curator@example.org")
    r = owner.post("/collections", data={"name": "Reading <group>", "paper_id": P1}, headers=ORIGIN)
    assert r.status_code == 303
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    owner.post("/collections/add", data={"collection": str(cid), "paper_id": P2}, headers=ORIGIN)
    page = owner.get(f"/collections/{cid}").text
    assert_safe_html(page)
    assert "Reading &lt;group&gt;" in page and f"/paper/{P1}" in page and f"/paper/{P2}" in page
    assert "Share link" not in page  # private

    other = signed_in(site, "nosy@example.org")
    anon = site.client()
    store = open_store(site.settings)  # closed: a PostgreSQL pool left to the garbage collector can be
    try:  # collected from one of its own threads, which then cannot join itself (an unraisable error)
        token = store.get_collection(owner.get("/api/me").json()["id"], cid).share_token  # type: ignore[union-attr]
    finally:
        store.close()
    # another account: every collection endpoint with my collection's id is 404, and nothing changes
    assert other.get(f"/collections/{cid}").status_code == 404
    assert other.post(f"/collections/{cid}/papers", data={"paper_id": P3}, headers=ORIGIN).status_code == 404
    assert (
        other.post(
            "/collections/add", data={"collection": str(cid), "paper_id": P3}, headers=ORIGIN
        ).status_code
        == 404
    )
    assert (
        other.post(
            f"/collections/{cid}/settings", data={"name": "mine", "public": "1"}, headers=ORIGIN
        ).status_code
        == 404
    )
    assert other.post(f"/collections/{cid}/delete", headers=ORIGIN).status_code == 404
    assert other.get(f"/c/{token}").status_code == 404 and anon.get(f"/c/{token}").status_code == 404
    page = owner.get(f"/collections/{cid}").text
    assert "Reading &lt;group&gt;" in page and f"/paper/{P3}" not in page

    owner.post(f"/collections/{cid}/settings", data={"name": "Reading group", "public": "1"}, headers=ORIGIN)
    shared = anon.get(f"/c/{token}")
    assert shared.status_code == 200 and "Reading group" in shared.text and f"/paper/{P2}" in shared.text
    assert "Remove" not in shared.text  # a reader, not the owner
    assert f"http://localhost/c/{token}" in owner.get(f"/collections/{cid}").text
    assert owner.post(f"/collections/{cid}/delete", headers=ORIGIN).status_code == 303
    assert anon.get(f"/c/{token}").status_code == 404


def test_for_you_ranks_new_papers_by_my_library_and_listens(site: Site) -> None:
    c = signed_in(site, "fan@example.org")
    assert "Save papers" in c.get("/for-you").text  # an empty library: what to do
    c.post(f"/paper/{P1}/save", data={"tags": "graphs"}, headers=ORIGIN)
    page = c.get("/for-you").text
    assert_safe_html(page)
    shown = re.findall(r'id="rec-([0-9.]+)"', page)
    assert shown and P1 not in shown and set(shown) <= {P2, P3}
    assert "Because you saved" in page and f'href="/paper/{P1}"' in page
    # not interested: never again; saved: never again
    first = shown[0]
    c.post("/for-you/feedback", data={"paper_id": first, "kind": "dismissed"}, headers=ORIGIN)
    after = re.findall(r'id="rec-([0-9.]+)"', c.get("/for-you").text)
    assert first not in after
    rest = [p for p in (P2, P3) if p != first]
    c.post(f"/paper/{rest[0]}/save", data={}, headers=ORIGIN)
    assert re.findall(r'id="rec-([0-9.]+)"', c.get("/for-you").text) == []
    # a tag is a stream of its own
    assert "graphs" in c.get("/for-you?tag=graphs").text
    assert (
        c.post(
            "/for-you/feedback", data={"paper_id": "2501.99999", "kind": "more"}, headers=ORIGIN
        ).status_code
        == 404
    )
