"""SMTP delivery against a real SMTP server (tests/mailserver.py: aiosmtpd on 127.0.0.1), every message it
receives parsed with the email package: TLS and login, one connection for many messages, 4xx/5xx mapped onto
MailDeferred/MailRejected, a dropped connection reopened once, no header injection (M7), DKIM, Message-IDs."""

from __future__ import annotations

import base64
import socket
import threading
import time
from pathlib import Path
from typing import Any, Literal

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from paperwire.config import Settings
from paperwire.errors import ConfigError, MailDeferred, MailError, MailRejected
from paperwire.mail import Mail, get_mailer
from paperwire.mail.outbox import OutboxMailer, read_message
from paperwire.mail.smtp import DKIMSigner, SMTPMailer
from tests.mailserver import MailServer, Received

SENDER = "paperwire <paperwire@example.org>"
TO = "reader@example.org"
INJECTED = "Paper\r\nBcc: x@example.com"


def plain(server: MailServer, **kw: Any) -> SMTPMailer:
    return SMTPMailer(server.host, server.port, sender=SENDER, security="none", timeout=10, **kw)


def mail(to: str = TO, **kw: Any) -> Mail:
    fields: dict[str, Any] = {"subject": "Today's papers", "text": "Three new papers.\n"} | kw
    return Mail(to=to, **fields)


def only_recipient(received: Received, to: str = TO) -> None:
    """The envelope and the headers name ``to`` and nobody else."""
    assert received.rcpt_tos == [to]
    msg = received.message()
    assert msg.get_all("To") == [to]
    assert [a.addr_spec for a in msg["To"].addresses] == [to]
    for name in ("Cc", "Bcc"):
        assert msg[name] is None


@pytest.mark.parametrize("eight_bit", [True, False], ids=["8bitmime", "7bit-only"])
def test_plain_delivery(eight_bit: bool) -> None:
    text = "Grüße: a naïve café.\n.\nA line that is only a dot, above.\n"
    with MailServer(eight_bit=eight_bit) as mail_server, plain(mail_server) as mailer:
        message_id = mailer.send(
            mail(text=text, html="<p>Grüße</p>", headers={"List-Id": "<daily.example.org>"})
        )
    (got,) = mail_server.messages
    assert got.mail_from == "paperwire@example.org"
    only_recipient(got)
    msg = got.message()
    assert msg["From"] == SENDER
    assert msg["Subject"] == "Today's papers"
    assert msg["Message-ID"] == message_id and message_id.endswith("@example.org>")
    assert msg["List-Id"] == "<daily.example.org>"
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None and body.get_content().replace("\r\n", "\n") == text
    html = msg.get_body(preferencelist=("html",))
    assert html is not None and "Grüße" in html.get_content()
    if eight_bit:  # the bodies as they are: a third smaller than base64, less work at both ends
        assert "Grüße".encode() in got.data and b"base64" not in got.data
    else:  # 7-bit on the wire for a server without 8BITMIME
        assert got.data.isascii() and b"Content-Transfer-Encoding: base64" in got.data
    assert not got.tls and got.login is None


@pytest.mark.parametrize("tls", ["starttls", "tls"])
def test_tls_and_login(tls: Literal["starttls", "tls"]) -> None:
    with MailServer(tls=tls, auth={"sender": "s3cret"}) as server:
        with SMTPMailer(
            server.host,
            server.port,
            sender=SENDER,
            security=tls,
            username="sender",
            password="s3cret",
            tls_context=server.client_context(),
            timeout=10,
        ) as mailer:
            mailer.send(mail())
        (got,) = server.messages
        assert got.tls and got.login == "sender"
        only_recipient(got)

        with (
            SMTPMailer(
                server.host,
                server.port,
                sender=SENDER,
                security=tls,
                username="sender",
                password="wrong-password",
                tls_context=server.client_context(),
                timeout=10,
            ) as mailer,
            pytest.raises(MailError) as refused,
        ):
            mailer.send(mail())
        assert type(refused.value) is MailError  # the settings, not the address, nor a try-again
        assert refused.value.code == 535 and refused.value.stage == "connect"
        assert "wrong-password" not in str(refused.value)
        assert len(server.messages) == 1


def test_the_server_certificate_is_verified() -> None:
    with MailServer(tls="starttls") as server:
        # the system's CAs do not know the test CA: refused, never sent unverified
        with (
            SMTPMailer(server.host, server.port, sender=SENDER, timeout=10) as mailer,
            pytest.raises(MailError) as e,
        ):
            mailer.send(mail())
        assert type(e.value) is MailError and "certificate" in str(e.value)
        assert server.messages == []


def test_starttls_is_never_skipped(mail_server: MailServer) -> None:
    with (
        SMTPMailer(mail_server.host, mail_server.port, sender=SENDER, timeout=10) as mailer,
        pytest.raises(MailError, match="does not offer STARTTLS"),
    ):
        mailer.send(mail())
    assert mail_server.messages == []


def test_a_login_without_tls_on_the_loopback(mail_server: MailServer) -> None:
    with MailServer(auth={"u": "p"}) as server:
        with plain(server, username="u", password="p") as mailer:
            mailer.send(mail())
        assert server.messages[0].login == "u"
        with plain(server) as mailer, pytest.raises(MailError) as e:  # no login: 530 at MAIL FROM
            mailer.send(mail())
        assert type(e.value) is MailError and e.value.code == 530 and e.value.stage == "mail"


def test_many_messages_share_one_connection(mail_server: MailServer) -> None:
    with plain(mail_server) as mailer:
        ids = [mailer.send(mail(to=f"reader{i}@example.org")) for i in range(25)]
        assert mailer.connections == 1
    got = mail_server.messages
    assert mail_server.connections == 1
    assert [r.connection for r in got] == [1] * 25
    assert [r.rcpt_tos for r in got] == [[f"reader{i}@example.org"] for i in range(25)]
    assert [r.message()["Message-ID"] for r in got] == ids and len(set(ids)) == 25


def test_an_idle_connection_is_not_trusted(mail_server: MailServer) -> None:
    with plain(mail_server, max_idle=0) as mailer:
        mailer.send(mail())
        time.sleep(0.01)
        mailer.send(mail())
    assert [r.connection for r in mail_server.messages] == [1, 2]


def test_sends_from_many_threads_share_the_connection(mail_server: MailServer) -> None:
    with plain(mail_server) as mailer:
        threads = [
            threading.Thread(
                target=lambda n=n: [mailer.send(mail(to=f"t{n}-{i}@example.org")) for i in range(5)]
            )
            for n in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(mail_server.messages) == 20 and mail_server.connections == 1


@pytest.mark.parametrize("at", ["rcpt", "data"])
@pytest.mark.parametrize(
    ("script", "error", "code"), [("tempfail", MailDeferred, 451), ("reject", MailRejected, 550)]
)
def test_refusals_carry_their_code(
    mail_server: MailServer, at: str, script: str, error: type[MailError], code: int
) -> None:
    getattr(mail_server, script)("bounce@example.org", at=at)
    with plain(mail_server) as mailer:
        with pytest.raises(error) as refused:
            mailer.send(mail(to="bounce@example.org"))
        assert type(refused.value) is error
        assert refused.value.code == code and refused.value.stage == at
        assert "bounce@example.org" not in str(refused.value)  # masked (A5): b***@example.org
        mailer.send(mail())  # the connection serves the next address
    assert [r.rcpt_tos for r in mail_server.messages] == [[TO]]
    assert mail_server.connections == 1
    assert [(r.address, r.stage) for r in mail_server.refused] == [("bounce@example.org", at)]


def test_a_temporary_failure_then_success(mail_server: MailServer) -> None:
    mail_server.tempfail(TO, times=2)
    with plain(mail_server) as mailer:
        for _ in range(2):
            with pytest.raises(MailDeferred):
                mailer.send(mail())
        mailer.send(mail())
    assert len(mail_server.messages) == 1 and len(mail_server.refused) == 2


@pytest.mark.parametrize("reply", [None, "421 4.7.0 Too many messages on one connection"])
def test_a_dropped_connection_is_reopened_once(mail_server: MailServer, reply: str | None) -> None:
    mail_server.drop_after(2, reply)
    with plain(mail_server) as mailer:
        for i in range(5):
            mailer.send(mail(subject=f"message {i}"))
        assert mailer.connections == 3
    got = mail_server.messages
    assert [r.message()["Subject"] for r in got] == [f"message {i}" for i in range(5)]  # each once, in order
    assert [r.connection for r in got] == [1, 1, 2, 2, 3]


def test_a_connection_dropped_twice_is_deferred(mail_server: MailServer) -> None:
    mail_server.drop_after(0)  # every connection is cut at its first MAIL FROM
    with plain(mail_server) as mailer, pytest.raises(MailDeferred) as e:
        mailer.send(mail())
    assert e.value.code is None and e.value.stage == "mail"
    assert mail_server.connections == 2 and mail_server.messages == []


def test_a_connection_cut_after_the_data_is_not_resent(mail_server: MailServer) -> None:
    mail_server.cut(TO, at="data", times=1)
    with plain(mail_server) as mailer:
        with pytest.raises(MailDeferred, match="may have been delivered") as e:
            mailer.send(mail())
        assert e.value.code is None and e.value.stage == "data"
        assert len(mail_server.refused) == 1  # sent once, never a blind second copy
        mailer.send(mail(subject="the next one"))
    assert [r.message()["Subject"] for r in mail_server.messages] == ["the next one"]
    assert mail_server.connections == 2


def test_an_unreachable_server_is_deferred() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with (
        SMTPMailer("127.0.0.1", port, sender=SENDER, security="none", timeout=5) as mailer,
        pytest.raises(MailDeferred) as e,
    ):
        mailer.send(mail())
    assert e.value.code is None and e.value.stage == "connect"


def test_header_injection_stays_text_over_smtp(mail_server: MailServer) -> None:
    with plain(mail_server) as mailer:
        mailer.send(mail(subject=INJECTED, headers={"List-Id": "<l.example.org>\r\nBcc: y@example.com"}))
        mailer.send(mail(subject="Paper\u2028Bcc: z@example.com\nCc: z@example.com"))
        with pytest.raises(MailRejected):
            mailer.send(mail(to=f"{TO}\r\nBcc: x@example.com"))
        with pytest.raises(MailRejected):
            mailer.send(mail(to=f"{TO}, x@example.com"))
    first, second = mail_server.messages
    for got in (first, second):
        only_recipient(got)
        head = got.data.split(b"\r\n\r\n", 1)[0]
        assert not any(line.lower().startswith((b"bcc", b"cc")) for line in head.split(b"\r\n"))
    assert first.message()["Subject"] == "Paper Bcc: x@example.com"  # text in the subject
    assert first.message()["List-Id"] == "<l.example.org> Bcc: y@example.com"
    assert second.message()["Subject"] == "Paper Bcc: z@example.com Cc: z@example.com"


def test_header_injection_stays_text_in_the_outbox(tmp_path: Path) -> None:
    outbox = OutboxMailer(tmp_path, SENDER)
    outbox.send(mail(subject=INJECTED, headers={"List-Id": "<l.example.org>\r\nBcc: y@example.com"}))
    with pytest.raises(MailRejected):
        outbox.send(mail(to=f"{TO}\r\nBcc: x@example.com"))
    (path,) = tmp_path.glob("*.eml")
    msg = read_message(path)
    assert msg.get_all("To") == [TO] and msg["Bcc"] is None and msg["Cc"] is None
    assert msg["Subject"] == "Paper Bcc: x@example.com"
    assert msg["List-Id"] == "<l.example.org> Bcc: y@example.com"


def test_headers_that_mail_sets_itself_are_refused(mail_server: MailServer) -> None:
    with plain(mail_server) as mailer:
        for name in ("Bcc", "To", "Message-ID", "Bad Name"):
            with pytest.raises(ValueError):
                mailer.send(mail(headers={name: "x@example.com"}))
    assert mail_server.messages == []


def test_a_given_message_id_is_kept(mail_server: MailServer, tmp_path: Path) -> None:
    with plain(mail_server) as mailer:
        assert mailer.send(mail(message_id="<digest.2026-03-02.42@example.org>")) == (
            "<digest.2026-03-02.42@example.org>"
        )
        assert mailer.send(mail(message_id="digest.7@example.org")) == "<digest.7@example.org>"
        with pytest.raises(ValueError):
            mailer.send(mail(message_id="<two words@example.org>"))
    assert [r.message()["Message-ID"] for r in mail_server.messages] == [
        "<digest.2026-03-02.42@example.org>",
        "<digest.7@example.org>",
    ]
    outbox = OutboxMailer(tmp_path, SENDER)
    assert outbox.send(mail(message_id="<d.1@example.org>")) == "<d.1@example.org>"
    (path,) = tmp_path.glob("*.eml")
    assert read_message(path)["Message-ID"] == "<d.1@example.org>"


def rsa_key(traditional: bool = True) -> tuple[bytes, bytes]:
    """A fresh RSA key: (its private key PEM, its DKIM TXT record)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fmt = serialization.PrivateFormat.TraditionalOpenSSL if traditional else serialization.PrivateFormat.PKCS8
    pem = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def test_dkim_signature_verifies(mail_server: MailServer) -> None:
    pem, txt = rsa_key()
    asked: list[bytes] = []

    def dns(name: bytes, timeout: float = 5) -> bytes | None:
        asked.append(name)
        return txt if name == b"mail2026._domainkey.example.org." else None

    unsubscribe = {
        "List-Unsubscribe": "<https://papers.example.org/unsubscribe/TOKEN>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    signer = DKIMSigner("mail2026", "example.org", pem)
    with plain(mail_server, dkim=signer) as mailer:
        mailer.send(mail(text="Grüße\n.\n" + "long line " * 40 + "\n", headers=unsubscribe))
    (got,) = mail_server.messages
    assert dkim.verify(got.data, dnsfunc=dns)
    assert asked == [b"mail2026._domainkey.example.org."]
    signature = got.message()["DKIM-Signature"]
    tags = dict(t.strip().split("=", 1) for t in str(signature).split(";") if "=" in t)
    assert tags["d"] == "example.org" and tags["s"] == "mail2026" and tags["a"] == "rsa-sha256"
    signed = [h.strip().lower() for h in tags["h"].replace(" ", "").split(":")]
    for name in ("from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"):
        assert name in signed
    assert signed.count("list-unsubscribe-post") == 2  # oversigned: none can be added after signing
    # any change in transit breaks it
    assert not dkim.verify(got.data.replace(b"Today's papers", b"Today's offers"), dnsfunc=dns)
    assert b"R3LDvMOfZQ0K" in got.data  # "Grüße\r\n" in base64
    assert not dkim.verify(got.data.replace(b"R3LDvMOfZQ0K", b"SGVsbG8hZQ0K"), dnsfunc=dns)


def test_get_mailer_follows_the_settings(mail_server: MailServer, tmp_path: Path) -> None:
    outbox = get_mailer(Settings(home=tmp_path))
    assert isinstance(outbox, OutboxMailer)
    assert isinstance(get_mailer(Settings(home=tmp_path, smtp_host="")), OutboxMailer)  # blank: unset

    settings = Settings(
        home=tmp_path,
        mail_from=SENDER,
        smtp_host=mail_server.host,
        smtp_port=mail_server.port,
        smtp_security="none",
        smtp_timeout=10,
    )
    mailer = get_mailer(settings)
    assert isinstance(mailer, SMTPMailer)
    with mailer:
        mailer.send(mail())
    assert len(mail_server.messages) == 1 and not (tmp_path / "outbox").exists()


def test_get_mailer_signs_with_the_dkim_settings(mail_server: MailServer, tmp_path: Path) -> None:
    pem, txt = rsa_key(traditional=False)  # PKCS#8 (openssl genpkey's) works as well as PKCS#1
    (tmp_path / "dkim.pem").write_bytes(pem)
    settings = Settings(
        home=tmp_path,
        mail_from=SENDER,
        smtp_host=mail_server.host,
        smtp_port=mail_server.port,
        smtp_security="none",
        dkim_selector="sel",
        dkim_domain="example.org",
        dkim_key_file=tmp_path / "dkim.pem",
    )
    mailer = get_mailer(settings)
    assert isinstance(mailer, SMTPMailer)
    with mailer:
        mailer.send(mail())
    assert dkim.verify(mail_server.messages[0].data, dnsfunc=lambda name, timeout=5: txt)


def test_bad_mail_settings_are_config_errors(tmp_path: Path) -> None:
    smtp: dict[str, Any] = {"home": tmp_path, "smtp_host": "smtp.example.org"}
    with pytest.raises(ConfigError, match="PAPERWIRE_DKIM_KEY_FILE"):
        Settings(**smtp, dkim_selector="sel", dkim_domain="example.org")
    with pytest.raises(ConfigError, match="PAPERWIRE_DKIM_SELECTOR"):
        Settings(**smtp, dkim_domain="example.org", dkim_key_file=tmp_path / "k.pem")
    with pytest.raises(ConfigError, match="go together"):
        Settings(**smtp, smtp_username="me")
    with pytest.raises(ConfigError, match="unencrypted"):
        Settings(**smtp, smtp_username="me", smtp_password="pw", smtp_security="none")

    dkim_settings = {**smtp, "dkim_selector": "sel", "dkim_domain": "example.org"}
    missing = Settings(**dkim_settings, dkim_key_file=tmp_path / "missing.pem")
    with pytest.raises(ConfigError, match="cannot read the DKIM key file"):
        get_mailer(missing)
    (tmp_path / "garbage.pem").write_text("not a key\n")
    (tmp_path / "broken.pem").write_text(
        "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n-----END RSA PRIVATE KEY-----\n"
    )
    for name in ("garbage.pem", "broken.pem"):
        bad = Settings(**dkim_settings, dkim_key_file=tmp_path / name)
        with pytest.raises(ConfigError, match="BEGIN RSA PRIVATE KEY"):
            get_mailer(bad)


def test_the_smtp_password_is_never_printed(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path, smtp_host="smtp.example.org", smtp_username="me", smtp_password="hunter2-pw"
    )
    assert "hunter2-pw" not in repr(settings) and "hunter2-pw" not in str(settings.model_dump())


def test_a_line_over_998_octets_goes_base64_even_with_8bitmime(mail_server: MailServer) -> None:
    long = "é" * 600  # 1,200 octets in UTF-8: over SMTP's line limit as it is
    with plain(mail_server) as mailer:
        mailer.send(mail(text=f"short\n{long}\n", html="<p>Grüße</p>"))
    (got,) = mail_server.messages
    assert max(len(line) for line in got.data.split(b"\r\n")) <= 998
    parts = {p.get_content_type(): p for p in got.message().walk()}
    assert parts["text/plain"]["Content-Transfer-Encoding"] == "base64"
    assert parts["text/html"]["Content-Transfer-Encoding"] == "8bit"  # its short lines go as they are
    assert long in parts["text/plain"].get_content()
