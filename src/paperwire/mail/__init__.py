"""The one mail seam: a message, the ``Mailer`` protocol, and the mailer the settings choose.

Until SMTP delivery is configured (``PAPERWIRE_SMTP_HOST``: mail/smtp.py), every message goes to the outbox: one
.eml file a message in the home (mail/outbox.py), which a local admin reads on /admin/outbox.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from typing import Protocol

from paperwire.config import Settings
from paperwire.errors import QueryError

# one address, no display name, no header tricks: what a form may hand in
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$"
)


@dataclass(frozen=True)
class Mail:
    """One message to one recipient: plain text, optionally an HTML alternative.

    ``message_id`` (``<left@right>``) fixes the Message-ID, so a sender can compute it (the digest ledger);
    None: a fresh random one. ``headers`` adds headers (List-Unsubscribe, ...), never From, To, Subject or the
    like. CR/LF in the subject or a header value becomes a space: text, never a new header (M7).
    """

    to: str
    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    message_id: str | None = None


class Mailer(Protocol):
    """Delivers a message; returns its Message-ID."""

    def send(self, mail: Mail) -> str:
        """Deliver ``mail`` (or raise a MailError)."""


def normalise_address(raw: str) -> str:
    """A mail address as paperwire keeps it (lower case), or QueryError with a clear message."""
    address = raw.strip().lower()
    if len(address) > 254 or not _ADDRESS.match(address):
        raise QueryError("that is not a mail address paperwire can write to (name@example.org)")
    return address


def mask_address(address: str) -> str:
    """An address as logs and admin lists may show it: j***@example.org (A5: no full addresses in logs)."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def get_mailer(settings: Settings, tls_context: ssl.SSLContext | None = None) -> Mailer:
    """The mailer in force: SMTP when ``smtp_host`` is set (``tls_context``: whom to trust, default the
    system's CAs), else the outbox folder in the home."""
    if settings.smtp_host:
        from paperwire.mail.smtp import SMTPMailer

        return SMTPMailer.from_settings(settings, tls_context=tls_context)
    from paperwire.mail.outbox import OutboxMailer

    return OutboxMailer(settings.outbox_dir, settings.mail_from)


__all__ = ["Mail", "Mailer", "get_mailer", "mask_address", "normalise_address"]
