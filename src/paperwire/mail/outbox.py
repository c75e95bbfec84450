"""The outbox mailer: each message is written whole as an .eml file in a folder (never half a file)."""

from __future__ import annotations

import base64
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.charset import BASE64, Charset
from email.header import Header
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.parser import BytesParser
from email.policy import Compat32
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Literal

from paperwire.errors import MailRejected
from paperwire.mail import Mail


@dataclass(frozen=True)
class OutboxItem:
    """A message in the outbox, as the admin page lists it."""

    name: str  # its file name
    to: str
    subject: str
    date: datetime
    text: str


# what may never be in a header value: line breaks (every one str.splitlines knows) and other controls (M7)
_BREAKS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]+")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")
# set by compose from Mail's fields, never through Mail.headers
_RESERVED = {"from", "to", "cc", "bcc", "subject", "date", "message-id", "sender", "dkim-signature"}
_MESSAGE_ID = re.compile(r"^(<)?([!-;=?-~]+@[!-;=?-~]+)(?(1)>)$")  # <left@right>, or left@right
_NOT_IN_ADDRESS = re.compile(r'[\s<>,;:"()\[\]\\\x00-\x1f\x7f]')


Transfer = Literal["7bit", "8bit"]
MAX_LINE = 998  # octets a line may hold in SMTP, its CRLF aside (RFC 5321 4.5.3.1.6)


def one_line(value: str) -> str:
    """A header value with every line break or control character turned into a space: text, not a header."""
    return _BREAKS.sub(" ", value)


def recipient(mail: Mail) -> str:
    """``mail.to`` when it is one plain ASCII address, the only envelope recipient; else MailRejected."""
    to = mail.to
    local, at, domain = to.partition("@")
    if not (to.isascii() and at and local and domain) or "@" in domain or _NOT_IN_ADDRESS.search(to):
        raise MailRejected("the recipient is not one mail address (nothing was sent)")
    return to


def message_id(mail: Mail, domain: str) -> str:
    """The Message-ID for ``mail``: its own (``<left@right>``, brackets added when missing), else a random one."""
    if mail.message_id is None:
        return make_msgid(domain=domain)
    m = _MESSAGE_ID.match(mail.message_id)
    if m is None:
        raise ValueError(f"not a Message-ID (<left@right>, printable ASCII, no spaces): {mail.message_id!r}")
    return f"<{m[2]}>"


def compose(
    mail: Mail, sender: str, domain: str = "paperwire.localhost", *, transfer: Transfer = "8bit"
) -> tuple[bytes, str]:
    """The RFC 5322 message for ``mail`` as bytes (CRLF line ends), and its Message-ID. Line breaks in the subject
    and header values become spaces (no header injection, M7); ``mail.to`` is its one recipient.

    ``transfer``: how non-ASCII bodies travel. ``8bit``: as they are when no line is over SMTP's 998 octets, else
    base64 (for a server that offers 8BITMIME, and the outbox: a third smaller than base64, much less work at
    both ends); ``7bit``: base64 (a server without 8BITMIME, and signed mail, whose signature a relay
    re-encoding 8-bit mail would break).

    The email package's MIME classes build the structure and the headers (those given here, checked above, are
    not parsed again: 3-4x less time than EmailMessage). Each body is a random placeholder while it generates;
    the body's bytes, encoded here in C (CRLF line ends, base64 by ``base64.encodebytes``), replace it after:
    the generator would otherwise write a 50 kB digest a line at a time, most of the message's cost."""
    subject = one_line(mail.subject)
    bodies: list[tuple[bytes, bytes]] = []  # (placeholder, the encoded body it stands for)
    body = _part(mail.text, "plain", transfer, bodies)
    if mail.html is None:
        msg: MIMENonMultipart | MIMEMultipart = body
    else:
        # a random boundary (128 bits: no body holds it by chance, nobody can plant it): the email package would
        # otherwise search the whole message for a collision with its own
        msg = MIMEMultipart("alternative", boundary=f"=_paperwire_{secrets.token_hex(16)}")
        msg.attach(body)
        msg.attach(_part(mail.html, "html", transfer, bodies))
    mid = message_id(mail, domain)
    for name, value in (
        ("From", _address(sender)),
        ("To", recipient(mail)),
        ("Subject", subject),
        ("Date", format_datetime(datetime.now(UTC))),
        ("Message-ID", mid),
    ):
        msg[name] = _value(name, value)
    for k, v in mail.headers.items():
        if not _HEADER_NAME.match(k) or k.lower() in _RESERVED:
            raise ValueError(f"{k!r} cannot be set through Mail.headers")
        msg[k] = _value(k, one_line(v))
    out = msg.as_bytes(policy=_WIRE)
    for placeholder, data in bodies:
        assert out.count(placeholder) == 1  # 128 random bits: in no header, in no other body
        out = out.replace(placeholder, data)
    return out, mid


class _Wire(Compat32):
    """compat32 with CRLF line ends, whose values are written as compose set them: one line (a URL in
    List-Unsubscribe stays whole), or folded already by _value; compat32 would run each through Header again."""

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        if isinstance(value, str) and value.isascii() and "\n" not in value and "\r" not in value:
            return f"{name}: {value}{self.linesep}"
        return str(super()._fold(name, value, sanitize))  # type: ignore[misc]


_WIRE = _Wire(linesep="\r\n", max_line_length=MAX_LINE)
_ASCII = Charset("us-ascii")
_UTF8_WORDS = Charset("utf-8")
_UTF8_WORDS.header_encoding = BASE64  # "B" words: utf-8's default weighs Q against B character by character


def _part(body: str, subtype: str, transfer: Transfer, bodies: list[tuple[bytes, bytes]]) -> MIMENonMultipart:
    """A text part holding a placeholder, and (in ``bodies``) the placeholder with the body's bytes: as they are
    (7bit or 8bit) when every line fits SMTP's 998 octets, none holds a NUL and 8-bit may travel, else base64
    of the canonical form (CRLF line ends, RFC 2045 6.8)."""
    raw = body.encode()
    lines = raw.splitlines()
    placeholder = f"paperwire-body-{secrets.token_hex(16)}"
    as_is = body.isascii() or transfer == "8bit"
    if as_is and max(map(len, lines), default=0) <= MAX_LINE and b"\0" not in raw:  # SMTP carries no NUL
        cte, charset = ("7bit", "us-ascii") if body.isascii() else ("8bit", "utf-8")
        data = b"\r\n".join(lines) + b"\r\n"
    else:
        cte, charset = "base64", "utf-8"
        data = base64.encodebytes(b"\r\n".join(lines) + b"\r\n").replace(b"\n", b"\r\n")
    part = MIMENonMultipart("text", subtype, charset=charset)
    part["Content-Transfer-Encoding"] = cte
    part.set_payload(placeholder)
    bodies.append((placeholder.encode(), data))
    return part


def _value(name: str, value: str) -> str:
    """A header value: as it is when ASCII and short, else folded at 78 (in RFC 2047 encoded words of at most 75
    characters when it is not ASCII)."""
    if value.isascii() and len(name) + len(value) < 900:
        return value
    charset = _ASCII if value.isascii() else _UTF8_WORDS
    return Header(value, charset, maxlinelen=78, header_name=name).encode(linesep="\r\n")


def _address(sender: str) -> str:
    """The From header: a display name that is not ASCII in encoded words, the address as it is."""
    if sender.isascii():
        return one_line(sender)
    name, address = parseaddr(sender)
    return formataddr((one_line(name), address), charset="utf-8")


class OutboxMailer:
    """Writes each message to ``folder`` as ``<UTC time>-<random>.eml``, readable by its owner only."""

    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = folder
        self.sender = sender

    def send(self, mail: Mail) -> str:
        """Write the message; returns its Message-ID."""
        data, mid = compose(mail, self.sender)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(4)}.eml"
        tmp = self.folder / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.folder / name)  # whole, or not at all
        return mid

    def items(self, limit: int = 100) -> list[OutboxItem]:
        """The newest messages first."""
        if not self.folder.is_dir():
            return []
        out = []
        for path in sorted(self.folder.glob("*.eml"), reverse=True)[:limit]:
            msg = read_message(path)
            body = msg.get_body(preferencelist=("plain",))
            out.append(
                OutboxItem(
                    name=path.name,
                    to=str(msg["To"]),
                    subject=str(msg["Subject"]),
                    date=datetime.fromtimestamp(path.stat().st_mtime, UTC),
                    text=body.get_content() if body is not None else "",
                )
            )
        return out


def read_message(path: Path) -> EmailMessage:
    """A message written to the outbox, parsed."""
    with path.open("rb") as fh:
        msg = BytesParser(policy=policy.default).parse(fh)
    assert isinstance(msg, EmailMessage)
    return msg
