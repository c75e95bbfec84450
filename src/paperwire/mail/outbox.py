"""The outbox mailer: each message is written whole as an .eml file in a folder (never half a file)."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Literal

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


Transfer = Literal["any", "7bit", "8bit"]
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
    mail: Mail, sender: str, domain: str = "paperwire.localhost", *, transfer: Transfer = "any"
) -> EmailMessage:
    """The RFC 5322 message for ``mail``: headers set through the email package, line breaks in the subject and
    header values turned into spaces (no header injection, M7), ``mail.to`` its one recipient. ``transfer``:
    how the bodies travel: ``any`` as the email package likes (the outbox); ``7bit``: non-ASCII bodies in base64
    (SMTP without 8BITMIME, and signed mail: DKIM survives relays); ``8bit``: bodies as they are when no line is
    over SMTP's 998 octets, else base64 (SMTP with 8BITMIME: a third smaller than base64, and much less work
    for both ends). The email package encodes base64 in C, quoted-printable in Python (2-5x slower for a
    70 kB digest), so base64 it is."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["To"] = recipient(mail)
    msg["Subject"] = one_line(mail.subject)
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = message_id(mail, domain)
    for k, v in mail.headers.items():
        if not _HEADER_NAME.match(k) or k.lower() in _RESERVED:
            raise ValueError(f"{k!r} cannot be set through Mail.headers")
        msg[k] = one_line(v)
    msg.set_content(mail.text, cte=_cte(mail.text, transfer))
    if mail.html is not None:
        msg.add_alternative(mail.html, subtype="html", cte=_cte(mail.html, transfer))
    return msg


def _cte(body: str, transfer: Transfer) -> str | None:
    if transfer == "any":
        return None
    if transfer == "8bit" and max(map(len, body.encode().splitlines()), default=0) <= MAX_LINE:
        return "7bit" if body.isascii() else "8bit"
    return None if body.isascii() else "base64"


class OutboxMailer:
    """Writes each message to ``folder`` as ``<UTC time>-<random>.eml``, readable by its owner only."""

    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = folder
        self.sender = sender

    def send(self, mail: Mail) -> str:
        """Write the message; returns its Message-ID."""
        msg = compose(mail, self.sender)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(4)}.eml"
        tmp = self.folder / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(msg.as_bytes())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.folder / name)  # whole, or not at all
        return str(msg["Message-ID"])

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
