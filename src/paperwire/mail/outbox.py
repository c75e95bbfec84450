"""The outbox mailer: each message is written whole as an .eml file in a folder (never half a file)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from pathlib import Path

from paperwire.mail import Mail


@dataclass(frozen=True)
class OutboxItem:
    """A message in the outbox, as the admin page lists it."""

    name: str  # its file name
    to: str
    subject: str
    date: datetime
    text: str


def compose(mail: Mail, sender: str, domain: str = "paperwire.localhost") -> EmailMessage:
    """The RFC 5322 message for ``mail`` (headers are set through the email package: no CR/LF injection)."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=domain)
    for k, v in mail.headers.items():
        msg[k] = v
    msg.set_content(mail.text)
    if mail.html is not None:
        msg.add_alternative(mail.html, subtype="html")
    return msg


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
