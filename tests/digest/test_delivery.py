"""The digest end to end against a real SMTP server (aiosmtpd on 127.0.0.1): subscribe, confirm, the digest,
one-click unsubscribe (M1-M5, M8), bounces (M6), a crash mid-run then a rerun, two senders at once."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from fastapi.testclient import TestClient

from paperwire.config import Settings
from paperwire.digest.compose import DigestPrefs
from paperwire.digest.deliver import (
    CLAIM_BATCH,
    LEDGER_PENDING,
    DigestRun,
    DigestSender,
    message_id,
    prefs_json,
)
from paperwire.mail import Mail
from paperwire.mail.smtp import SMTPMailer
from paperwire.web.app import create_app
from tests.conftest import database, make_paper
from tests.embedders import HashEmbedder
from tests.mailserver import MailServer
from tests.web.conftest import fill

BASE = "http://localhost"
# Thursday 2 January 2025, 20:00 ET: arXiv announces Friday 3 January's listing; at 08:00 UTC on the 3rd a
# daily digest covers it
LISTED = date(2025, 1, 3)
NOW = datetime(2025, 1, 3, 9, 0, tzinfo=UTC)
PAPERS = [
    make_paper(
        "2501.00011",
        title="Diffusion models for <b>video</b>\r\nBcc: x@example.com",
        categories=("cs.CV",),
        announced=LISTED,
    ),
    make_paper("2501.00012", title="Graph networks on molecules", categories=("cs.LG",), announced=LISTED),
    make_paper("2501.00013", title="An older graph paper", categories=("cs.LG",), announced=date(2025, 1, 2)),
]


@dataclass
class Site:
    home: Path
    settings: Settings
    client: TestClient
    server: MailServer

    def subscriptions(self) -> object:
        return self.client.app.state.site.subscriptions  # type: ignore[attr-defined]

    def send_due(self, now: datetime, holder: str = "test") -> DigestRun:
        """One pass of a sender with an SMTP connection of its own (closed after)."""
        pw = self.client.app.state.site.pw  # type: ignore[attr-defined]
        with SMTPMailer(
            self.server.host, self.server.port, sender="paperwire <p@localhost>", security="none"
        ) as mailer:
            return DigestSender(pw, mailer, BASE, holder=holder, clock=lambda: now).send_due(now)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with database() as url, MailServer() as server:
        settings = Settings(
            home=tmp_path / "home",
            database_url=url,
            load_sample=False,
            rate_limit_per_minute=0,
            smtp_host=server.host,
            smtp_port=server.port,
            smtp_security="none",
        )
        fill(settings.home, PAPERS, url)
        app = create_app(settings, embedder=HashEmbedder(), background_embed=False)
        with TestClient(app, base_url=BASE) as client:
            yield Site(settings.home, settings, client, server)


def _links(text: str) -> list[str]:
    return re.findall(r"https?://[^\s<>\"]+", text)


def subscribe_and_confirm(site: Site, email: str, **prefs: object) -> None:
    before = len(site.server.messages)
    r = site.client.post("/api/subscriptions", json={"email": email, **prefs})
    assert r.status_code == 202, r.text
    site.subscriptions().flush()  # type: ignore[attr-defined]
    [confirmation] = site.server.wait_for(before + 1)[before:]
    body = confirmation.message().get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    [link] = [u for u in _links(body) if "/digest/confirm" in u]
    path = link.removeprefix(BASE)
    page = site.client.get(path)  # a scanner fetching the link confirms nothing (M3)
    assert page.status_code == 200 and 'id="confirm-digest"' in page.text
    token = unquote(re.search(r"token=([^&\s]+)", link).group(1))  # type: ignore[union-attr]
    done = site.client.post("/digest/confirm", data={"token": token})
    assert done.status_code == 200 and "You are subscribed" in done.text


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.bad: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "img", "iframe", "style"):
            self.bad.append(tag)
        for k, v in attrs:
            if k.startswith("on"):
                self.bad.append(k)
            if k == "href" and v:
                self.bad.extend([] if urlsplit(v).scheme in ("http", "https", "mailto") else [v])
                self.hrefs.append(v)


def test_subscribe_confirm_digest_and_one_click_unsubscribe(site: Site) -> None:
    subscribe_and_confirm(site, "Reader@Example.org", categories=["cs.LG", "cs.CV"], trending=0, hour=8)
    nothing_yet = len(site.server.messages)
    run = site.send_due(NOW)
    assert (run.sent, run.deferred, run.failed) == (1, 0, 0), run
    [received] = site.server.wait_for(nothing_yet + 1)[nothing_yet:]
    assert received.rcpt_tos == ["reader@example.org"]  # one recipient: the title's "\r\nBcc:" is text (M7)
    msg = received.message()
    sub = site.client.app.state.site.pw.store.subscriber_by_email("reader@example.org")  # type: ignore[attr-defined]
    assert msg["Message-ID"] == message_id(sub, LISTED, "localhost")  # deterministic (M5)
    assert msg["Bcc"] is None and "\n" not in str(msg["Subject"])
    unsubscribe = msg["List-Unsubscribe"].strip("<>")  # M1
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and msg["List-Id"]
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert unsubscribe in text and unsubscribe in html.replace(
        "&amp;", "&"
    )  # the visible link is the header's
    assert "2501.00011" in text and "2501.00012" in text and "2501.00013" not in text  # the covered day only
    assert "&lt;b&gt;video&lt;/b&gt;" in html or "<b>video</b>" not in html
    audit = _Links()
    audit.feed(html)
    assert audit.bad == [] and any("/paper/2501.00012" in h for h in audit.hrefs)

    # a rerun sends nothing twice (M5)
    again = site.send_due(NOW + timedelta(minutes=5), "another")
    assert again.sent == 0 and len(site.server.messages) == nothing_yet + 1

    # one-click: no cookie, cross-site, twice: 200 both times, never a redirect (M2)
    path = unsubscribe.removeprefix(BASE)
    bare = TestClient(site.client.app, base_url=BASE, follow_redirects=False)
    for _ in range(2):
        r = bare.post(
            path,
            content=b"List-Unsubscribe=One-Click",
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "origin": "https://mail.example",
                "sec-fetch-site": "cross-site",
            },
        )
        assert r.status_code == 200, r.text
    assert site.client.app.state.site.pw.store.get_subscriber(sub.id).status == "unsubscribed"  # type: ignore[attr-defined]
    tampered = bare.post(path[:-3] + "xyz", content=b"List-Unsubscribe=One-Click")
    assert tampered.status_code == 400
    assert site.client.get(path).status_code == 200  # the page (GET) changes nothing, shows a button (M3)
    # unsubscribed: the next digest does not go out
    later = site.send_due(NOW + timedelta(days=1))
    assert later.sent == 0


def test_subscribing_answers_the_same_and_sends_one_confirmation(site: Site) -> None:
    subscribe_and_confirm(site, "active@example.org")
    n = len(site.server.messages)
    again = site.client.post("/api/subscriptions", json={"email": "active@example.org", "trending": 3})
    new = site.client.post("/api/subscriptions", json={"email": "new@example.org"})
    assert again.status_code == new.status_code == 202 and again.json() == new.json()  # M8
    site.subscriptions().flush()  # type: ignore[attr-defined]
    assert [m.rcpt_tos for m in site.server.messages[n:]] == [["new@example.org"]]  # none to the active one
    bad = site.client.post("/api/subscriptions", json={"email": "x@example.org", "watches": ['"unclosed']})
    assert bad.status_code == 400
    bad_tz = site.client.post(
        "/api/subscriptions", json={"email": "x@example.org", "timezone": "Mars/Olympus"}
    )
    assert bad_tz.status_code == 400
    # the confirmation of a pending address expires and works once
    site.subscriptions().flush()  # type: ignore[attr-defined]


def test_a_bounce_suppresses_and_a_deferral_retries(site: Site) -> None:
    for email in ("gone@example.org", "busy@example.org"):
        subscribe_and_confirm(site, email, categories=["cs.LG"], trending=0)
    site.server.reject("gone@example.org")  # 550 at RCPT (M6)
    site.server.tempfail("busy@example.org", times=1)  # 451 once
    run = site.send_due(NOW)
    assert (run.sent, run.bounced, run.deferred) == (0, 1, 1), run
    store = site.client.app.state.site.pw.store  # type: ignore[attr-defined]
    assert store.subscriber_by_email("gone@example.org").status == "suppressed"
    # the deferred one is tried again after its backoff, and goes out once
    assert site.send_due(NOW + timedelta(minutes=1)).sent == 0  # too early
    retry = site.send_due(NOW + timedelta(minutes=6))
    assert retry.sent == 1
    assert [m.rcpt_tos for m in site.server.messages].count(
        ["busy@example.org"]
    ) == 2  # confirmation + digest
    assert site.send_due(NOW + timedelta(minutes=30)).sent == 0


class _Crash(BaseException):
    """The sender's process dying mid-run (not an error it could catch)."""


class _CrashAfter:
    """A mailer that hands over ``n`` messages, then the process dies in the middle of the next."""

    def __init__(self, inner: SMTPMailer, n: int) -> None:
        self.inner, self.n = inner, n

    def send(self, mail: Mail) -> str:
        if self.n == 0:
            raise _Crash
        self.n -= 1
        return self.inner.send(mail)


def _confirmed(site: Site, n: int) -> list[str]:
    """``n`` confirmed subscribers to cs.LG, straight into the store (the web's limits allow fewer)."""
    pw = site.client.app.state.site.pw  # type: ignore[attr-defined]
    prefs = prefs_json(DigestPrefs(categories=("cs.LG",), trending_n=0))
    emails = [f"r{i}@example.org" for i in range(n)]
    for e in emails:
        sub = pw.store.subscribe(e, prefs, NOW - timedelta(days=1))
        pw.store.set_subscriber_status(sub.id, "active", NOW - timedelta(days=1))
    return emails


def test_a_back_dated_run_leases_its_claims_on_the_clock(site: Site) -> None:
    """`digest send --date` of a past day claims with leases on the clock, not on that day: a sender beside it
    leaves the live claims of a dead one alone, and a rerun of the same day after the lease takes them over
    (leases counted from the day itself would never run out for reruns of that day)."""
    emails = _confirmed(site, CLAIM_BATCH + 4)
    pw = site.client.app.state.site.pw  # type: ignore[attr-defined]
    n = len(site.server.messages)
    today = NOW + timedelta(days=30)

    def sender(mailer: object, holder: str, clock: datetime) -> DigestSender:
        return DigestSender(pw, mailer, BASE, holder=holder, clock=lambda: clock)  # type: ignore[arg-type]

    smtp = SMTPMailer(site.server.host, site.server.port, sender="p <p@localhost>", security="none")
    with smtp, pytest.raises(_Crash):
        sender(_CrashAfter(smtp, 3), "late", today).send_due(NOW)  # 3 January's digests, sent on 2 February
    with SMTPMailer(site.server.host, site.server.port, sender="p <p@localhost>", security="none") as mailer:
        beside = sender(mailer, "beside", today + timedelta(minutes=1)).send_due(NOW)
        assert (beside.sent, beside.taken) == (4, CLAIM_BATCH - 3)  # the dead one's claims: alive
        rerun = sender(mailer, "rerun", today + timedelta(minutes=11)).send_due(NOW)
        assert rerun.sent == CLAIM_BATCH - 3  # their lease ran out on the clock: taken over
    got = [m.rcpt_tos[0] for m in site.server.messages[n:]]
    assert sorted(got) == sorted(emails)  # every subscriber exactly once


def test_a_crash_mid_run_then_a_rerun_sends_each_digest_once(site: Site) -> None:
    emails = _confirmed(site, CLAIM_BATCH + 4)
    pw = site.client.app.state.site.pw  # type: ignore[attr-defined]
    n = len(site.server.messages)
    smtp = SMTPMailer(site.server.host, site.server.port, sender="p <p@localhost>", security="none")
    with smtp, pytest.raises(_Crash):
        crashy = DigestSender(pw, _CrashAfter(smtp, 3), BASE, holder="crashy", clock=lambda: NOW)  # type: ignore[arg-type]
        crashy.send_due(NOW)
    assert len(site.server.messages) == n + 3
    # it had claimed its first batch; straight after, another sender sends the 4 nobody claimed and leaves the
    # dead one's claims alone
    eager = site.send_due(NOW + timedelta(minutes=1), "eager")
    assert (eager.sent, eager.taken) == (4, CLAIM_BATCH - 3)  # the 3 sent are not due again; the rest alive
    rest = site.send_due(NOW + timedelta(minutes=11), "rerun")  # the leases ran out: taken over
    assert rest.sent == CLAIM_BATCH - 3 and site.send_due(NOW + timedelta(minutes=30)).sent == 0
    got = [m.rcpt_tos[0] for m in site.server.messages[n:]]
    assert sorted(got) == sorted(emails), got  # every subscriber exactly once


def test_two_senders_at_once_send_each_digest_once(site: Site) -> None:
    emails = [f"p{i}@example.org" for i in range(8)]
    for e in emails:
        subscribe_and_confirm(site, e, categories=["cs.LG"], trending=0)
    n = len(site.server.messages)
    runs = []
    threads = [threading.Thread(target=lambda h=h: runs.append(site.send_due(NOW, h))) for h in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = [m.rcpt_tos[0] for m in site.server.messages[n:]]
    assert sorted(got) == sorted(emails) and sum(r.sent for r in runs) == len(emails)


def test_a_paper_sent_as_v1_is_not_sent_again_as_v2(site: Site) -> None:
    subscribe_and_confirm(site, "v@example.org", categories=["cs.LG"], trending=0)
    assert site.send_due(NOW).sent == 1
    store = site.client.app.state.site.pw.store  # type: ignore[attr-defined]
    # v2 of 2501.00012 is announced again on Monday's listing, beside a new paper
    store.upsert_papers(
        [
            make_paper(
                "2501.00012",
                title="Graph networks on molecules",
                version=2,
                categories=("cs.LG",),
                announced=date(2025, 1, 6),
            ),
            make_paper(
                "2501.00020", title="Fresh graph paper", categories=("cs.LG",), announced=date(2025, 1, 6)
            ),
        ]
    )
    site.client.app.state.site.pw.engine.refresh()  # type: ignore[attr-defined]
    n = len(site.server.messages)
    monday = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    assert site.send_due(monday).sent == 1
    text = site.server.messages[n].message().get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "2501.00020" in text and "2501.00012" not in text


def test_a_runner_stopped_over_a_weekend_catches_up_with_one_digest(site: Site) -> None:
    store = site.client.app.state.site.pw.store  # type: ignore[attr-defined]
    # Monday's to Wednesday's listings (announced Sunday to Tuesday evening, US Eastern)
    store.upsert_papers(
        [
            make_paper(
                f"2501.0003{i}",
                title=f"{day} graph paper",
                categories=("cs.LG",),
                announced=date(2025, 1, 6 + i),
            )
            for i, day in enumerate(("Monday", "Tuesday", "Wednesday"))
        ]
    )
    site.client.app.state.site.pw.engine.refresh()  # type: ignore[attr-defined]
    subscribe_and_confirm(site, "weekend@example.org", categories=["cs.LG"], trending=0)
    assert site.send_due(NOW).sent == 1  # Friday 3 January's digest
    n = len(site.server.messages)
    # the runner is down from Friday until Wednesday morning: one digest covers Monday to Wednesday
    wednesday = datetime(2025, 1, 8, 9, 0, tzinfo=UTC)
    assert site.send_due(wednesday).sent == 1
    [late] = site.server.messages[n:]
    text = late.message().get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "2501.00030" in text and "2501.00031" in text and "2501.00032" in text
    assert "Mon 6 Jan" in text and "Wed 8 Jan" in text, text[:400]  # it says which days it covers
    assert site.send_due(wednesday + timedelta(hours=1)).sent == 0  # nothing twice
    sub = store.subscriber_by_email("weekend@example.org")
    assert [d.digest_date for d in store.deliveries(sub.id)] == [LISTED, date(2025, 1, 8)]


def test_the_manage_link_changes_what_comes_and_a_watch_has_its_page_and_feed(site: Site) -> None:
    subscribe_and_confirm(site, "tuner@example.org", categories=["cs.LG"], trending=0)
    assert site.send_due(NOW).sent == 1
    msg = site.server.messages[-1].message()
    text = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    [manage] = [u for u in _links(text) if "/digest/manage" in u]
    page = site.client.get(manage.removeprefix(BASE))
    assert page.status_code == 200 and "tuner@example.org" in page.text
    token = unquote(re.search(r"token=([^&\s]+)", manage).group(1))  # type: ignore[union-attr]
    form = {"token": token, "watches": '"video"\ngraph', "categories": "", "trending": "0", "frequency": "weekly",
            "hour": "7", "timezone": "Europe/Paris", "weekday": "5"}  # fmt: skip
    saved = site.client.post("/digest/manage", data=form)
    assert saved.status_code == 200 and "Saved." in saved.text
    assert "/search/feed.xml?q=%22video%22" in saved.text and "/search?q=graph" in saved.text
    bad = site.client.post("/digest/manage", data={**form, "timezone": "Nowhere/City"})
    assert bad.status_code == 400
    forged = site.client.post("/digest/manage", data={**form, "token": token[:-2] + "xx"})
    assert forged.status_code == 400
    store = site.client.app.state.site.pw.store  # type: ignore[attr-defined]
    prefs = store.subscriber_by_email("tuner@example.org").prefs
    assert '"frequency": "weekly"' in prefs and '"timezone": "Europe/Paris"' in prefs


def test_a_confirm_link_works_once_and_expires(site: Site) -> None:
    before = len(site.server.messages)
    site.client.post("/api/subscriptions", json={"email": "late@example.org"})
    site.subscriptions().flush()  # type: ignore[attr-defined]
    body = (
        site.server.wait_for(before + 1)[before].message().get_body(preferencelist=("plain",)).get_content()
    )  # type: ignore[union-attr]
    token = unquote(re.search(r"token=([^&\s]+)", body).group(1))  # type: ignore[union-attr]
    assert "You are subscribed" in site.client.post("/digest/confirm", data={"token": token}).text
    again = site.client.post("/digest/confirm", data={"token": token})  # once (M4)
    assert again.status_code == 400 and "no longer valid" in again.text
    # a token of the same key for another purpose does not confirm
    unsubscribe_token = site.subscriptions().tokens.unsubscribe(  # type: ignore[attr-defined]
        site.client.app.state.site.pw.store.subscriber_by_email("late@example.org")  # type: ignore[attr-defined]
    )
    assert site.client.post("/digest/confirm", data={"token": unsubscribe_token}).status_code == 400
    import paperwire.digest.links as links

    old = links.CONFIRM_MAX_AGE
    links.CONFIRM_MAX_AGE = -1  # 48 hours have passed
    try:
        site.client.post("/api/subscriptions", json={"email": "slow@example.org"})
        site.subscriptions().flush()  # type: ignore[attr-defined]
        body = site.server.messages[-1].message().get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        token = unquote(re.search(r"token=([^&\s]+)", body).group(1))  # type: ignore[union-attr]
        expired = site.client.post("/digest/confirm", data={"token": token})
        assert expired.status_code == 400 and "expired" in expired.text
    finally:
        links.CONFIRM_MAX_AGE = old


def test_nothing_new_sends_nothing_unless_asked(site: Site) -> None:
    subscribe_and_confirm(site, "quiet@example.org", categories=["cs.LG"], trending=0)
    subscribe_and_confirm(site, "noted@example.org", categories=["cs.LG"], trending=0)
    store = site.client.app.state.site.pw.store  # type: ignore[attr-defined]
    noted = store.subscriber_by_email("noted@example.org")
    store.set_subscriber_prefs(noted.id, noted.prefs.replace('"send_empty": false', '"send_empty": true'))
    assert site.send_due(NOW).sent == 2
    n = len(site.server.messages)
    saturday = datetime(2025, 1, 4, 9, 0, tzinfo=UTC)  # Friday evening: arXiv announces nothing
    run = site.send_due(saturday)
    assert run.sent == 1 and [m.rcpt_tos for m in site.server.messages[n:]] == [["noted@example.org"]]
    note = site.server.messages[-1].message().get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "nothing new" in note.lower() or "no new" in note.lower(), note[:300]


def test_a_signed_in_subscriber_previews_their_digest_on_the_site(site: Site) -> None:
    from paperwire.accounts.tokens import digest as hashed
    from paperwire.web.routes.digest import PREVIEW_CSP
    from paperwire.web.sessions import COOKIE

    subscribe_and_confirm(site, "me@example.org", categories=["cs.LG"], trending=0)
    store = site.client.app.state.site.pw.store  # type: ignore[attr-defined]
    user = store.add_user("me@example.org", "active")
    store.add_session(hashed("s" * 43), user.id, datetime.now(UTC))
    browser = TestClient(site.client.app, base_url=BASE, follow_redirects=False)
    assert browser.get("/digest/preview").status_code == 303  # signed out: to the sign-in page
    browser.cookies.set(COOKIE, "s" * 43)
    r = browser.get("/digest/preview")
    assert r.status_code == 200 and "Unsubscribe" in r.text and "Manage your digest" in r.text
    assert r.headers.get_list("content-security-policy") == [PREVIEW_CSP]  # its own policy, not two
    assert len(site.server.messages) == 1  # the confirmation only: a preview sends nothing


def test_a_watch_is_embedded_once_then_its_kept_vector_serves(site: Site) -> None:
    pw = site.client.app.state.site.pw  # type: ignore[attr-defined]
    model = pw.engine.model_name
    calls: list[list[str]] = []
    real = pw.engine.embed_queries

    def spy(texts: list[str], batch: int = 32) -> object:
        calls.append(list(texts))
        return real(texts, batch)

    pw.engine.embed_queries = spy
    try:
        # saved with the subscription (off the request), not in the digest pass
        subscribe_and_confirm(site, "w@example.org", watches=["diffusion models"], trending=0)
        assert calls == [["diffusion models"]]
        assert list(pw.store.query_vectors(model, ["diffusion models"])) == ["diffusion models"]
        assert site.send_due(NOW).sent == 1
        assert calls == [["diffusion models"]]  # the pass read the kept vector
        pw.store.prune_query_vectors(model, keep=set())  # kept before this feature, or lost: the pass embeds
        monday = NOW + timedelta(days=3, hours=8)  # Monday's digest (its listing not here: it goes out late)
        assert site.send_due(monday).counts()["taken"] == 0
        assert calls == [["diffusion models"]] * 2
        assert list(pw.store.query_vectors(model, ["diffusion models"])) == ["diffusion models"]
        # a watch added on the manage page is embedded when saved
        sub = pw.store.subscriber_by_email("w@example.org")
        token = site.subscriptions().tokens.manage(sub)  # type: ignore[attr-defined]
        form = {"token": token, "watches": "diffusion models\nprotein folding", "categories": "", "trending": "0",
                "frequency": "daily", "hour": "8", "timezone": "UTC", "weekday": "0"}  # fmt: skip
        assert site.client.post("/digest/manage", data=form).status_code == 200
        site.subscriptions().flush()  # type: ignore[attr-defined]
        assert calls[-1] == ["protein folding"]  # only the new one
        pw.store.set_subscriber_status(sub.id, "unsubscribed", monday, reason="one-click")
        site.send_due(monday + timedelta(days=1))
        assert pw.store.query_vectors(model, ["diffusion models", "protein folding"]) == {}  # nobody watches
    finally:
        del pw.engine.embed_queries


def test_the_senders_of_a_pass_share_their_searches_until_the_index_changes(site: Site) -> None:
    pw = site.client.app.state.site.pw  # type: ignore[attr-defined]
    prefs = prefs_json(DigestPrefs(watches=("graph networks",), categories=("cs.LG",), trending_n=0))

    def subscriber(email: str) -> None:
        sub = pw.store.subscribe(email, prefs, NOW - timedelta(days=1))
        pw.store.set_subscriber_status(sub.id, "active", NOW - timedelta(days=1))

    searched: list[str] = []
    real = pw.engine.search

    def spy(text: str, **kw: object) -> object:
        if text or kw.get("categories"):  # a watch or categories (not the covered days' listing)
            searched.append(text or "categories")
        return real(text, **kw)

    pw.engine.search = spy
    try:
        subscriber("a@example.org")
        assert site.send_due(NOW, "a").sent == 1
        assert sorted(searched) == ["categories", "graph networks"]
        # another sender of the pass (another app server) with a digest of the same searches runs none
        subscriber("b@example.org")
        assert site.send_due(NOW, "b").sent == 1 and len(searched) == 2
        # a paper harvested late for that listing: the indexes change, the next sender searches anew and
        # finds it
        pw.store.upsert_papers(
            [
                make_paper(
                    "2501.00014", title="Graph networks for proteins", categories=("cs.LG",), announced=LISTED
                )
            ]
        )
        pw.engine.refresh()
        subscriber("c@example.org")
        assert site.send_due(NOW, "c").sent == 1 and len(searched) == 4
    finally:
        del pw.engine.search

    def body(email: str) -> str:
        [m] = [m for m in site.server.messages if m.rcpt_tos == [email]]
        return m.message().get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr,no-any-return]

    a, b, c = (body(f"{x}@example.org") for x in "abc")
    titles = ["Diffusion models", "Graph networks on molecules", "Graph networks for proteins"]
    assert [t in b for t in titles] == [t in a for t in titles]  # the shared searches: the same digest
    assert [t in a for t in titles[1:]] == [True, False] and [t in c for t in titles[1:]] == [True, True]


def test_a_ledger_that_cannot_record_stops_the_pass_and_keeps_what_it_recorded(site: Site) -> None:
    from paperwire.errors import StoreError

    emails = _confirmed(site, CLAIM_BATCH + 4)
    pw = site.client.app.state.site.pw  # type: ignore[attr-defined]
    n = len(site.server.messages)
    real = pw.store.finish_deliveries
    writes: list[int] = []

    def failing(finishes: list[object], holder: str) -> list[bool]:
        if len(writes) >= 2:
            raise StoreError("the disk is full")
        writes.append(len(finishes))
        return real(finishes, holder)  # type: ignore[no-any-return]

    pw.store.finish_deliveries = failing
    try:
        with pytest.raises(StoreError, match="the disk is full"):
            site.send_due(NOW, "full")
    finally:
        del pw.store.finish_deliveries
    handed = len(site.server.messages) - n
    recorded = [d for d in pw.store.deliveries() if d.status == "sent"]
    assert len(recorded) == sum(writes) and 0 < handed < len(emails)  # the pass stopped soon after
    # sent, not recorded: at most the writer's backlog and the one in hand
    assert handed - len(recorded) <= LEDGER_PENDING + 1
    # after the lease, a rerun sends every digest not recorded (those handed over unrecorded go again: the
    # mail server took them while the database could not say so; the Message-ID is the same)
    rest = site.send_due(NOW + timedelta(minutes=11), "rerun")
    assert rest.sent == len(emails) - len(recorded)
    assert sorted({m.rcpt_tos[0] for m in site.server.messages[n:]}) == sorted(emails)


def test_an_evening_off_from_the_settings_sends_nothing_for_it(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribe_and_confirm(site, "h@example.org", categories=["cs.LG"], trending=0)
    pw = site.client.app.state.site.pw  # type: ignore[attr-defined]
    # arXiv posts that it makes no announcement on Thursday 2 January: the digest of the 3rd has nothing to cover
    monkeypatch.setattr(pw, "settings", pw.settings.model_copy(update={"arxiv_holidays": "2025-01-02"}))
    assert site.send_due(NOW).counts()["sent"] == 0
    monkeypatch.undo()  # without it, that evening's listing is due as usual
    assert site.send_due(NOW).sent == 1
