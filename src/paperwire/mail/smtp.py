"""SMTP delivery behind the mail seam: one connection for many messages, TLS verified, DKIM when configured.

Replies map onto the error tree (errors.py): a 5xx at RCPT or DATA is ``MailRejected`` (suppress the address), a
4xx or a lost connection ``MailDeferred`` (try again later), a refused sender, login or TLS a plain ``MailError``
(fix the settings). A connection that drops before the message is handed over (a server that closed an idle
connection, or allows only so many messages on one) is opened again once and the message sent on it; one that
drops after the message went out, before the server answered, is a ``MailDeferred`` and never a blind second
copy: the server may have it.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from email.utils import parseaddr
from pathlib import Path
from types import TracebackType
from typing import Literal, NoReturn, Self

import dkim as dkimpy  # type: ignore[import-untyped]
from dkim import crypto as dkim_crypto

from paperwire.config import Settings
from paperwire.errors import ConfigError, MailDeferred, MailError, MailRejected
from paperwire.mail import Mail, mask_address
from paperwire.mail.outbox import compose, one_line, recipient

log = logging.getLogger(__name__)

Security = Literal["none", "starttls", "tls"]

# header fields signed once more than they occur, so that nobody can add one after signing (RFC 6376 8.15)
_OVERSIGNED = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)
_HEADER_NAME = re.compile(rb"^([!-9;-~]+):", re.MULTILINE)


class DKIMSigner:
    """Signs messages for one domain with one RSA key (rsa-sha256, relaxed/simple, the headers oversigned)."""

    def __init__(self, selector: str, domain: str, key_pem: bytes) -> None:
        self.selector = selector
        self.domain = domain.lower()
        self.key = key_pem.replace(b"\r\n", b"\n")
        try:
            key = dkim_crypto.parse_pem_private_key(self.key)
            n, e, d = key["modulus"], key["publicExponent"], key["privateExponent"]
            usable = n.bit_length() >= 1024 and pow(pow(2, d, n), e, n) == 2
        except Exception:  # dkimpy's parser raises several kinds on a file that is not a key
            usable = False
        if not usable:
            raise ConfigError(
                "the DKIM key is not a PEM RSA private key of 1024 bits or more (-----BEGIN RSA PRIVATE KEY----- "
                "or -----BEGIN PRIVATE KEY-----; `openssl genrsa 2048` makes one)"
            )

    @classmethod
    def from_file(cls, selector: str, domain: str, path: Path) -> DKIMSigner:
        """The signer whose key is in ``path``; ConfigError when it cannot be read or parsed."""
        try:
            key = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the DKIM key file {path}: {exc.strerror or exc}") from None
        return cls(selector, domain, key)

    def sign(self, message: bytes) -> bytes:
        """``message`` with a DKIM-Signature header in front."""
        header_end = message.find(b"\r\n\r\n")
        names = [n.lower() for n in _HEADER_NAME.findall(message[: header_end if header_end >= 0 else None])]
        signed = [n for n in names if n not in dkimpy.DKIM.SHOULD_NOT]
        signed += [n for n in dict.fromkeys(signed) if n in _OVERSIGNED]
        signature: bytes = dkimpy.sign(
            message,
            self.selector.encode(),
            self.domain.encode(),
            self.key,
            canonicalize=(b"relaxed", b"simple"),
            include_headers=signed,
        )
        return signature + message


class _Dropped(Exception):
    """The connection went away (or the server said 421) before the message was handed over: safe to resend."""

    def __init__(self, stage: str, code: int | None, reply: str) -> None:
        super().__init__(reply)
        self.stage = stage
        self.code = code
        self.reply = reply


class SMTPMailer:
    """Delivers mail over SMTP, reusing one connection across sends (thread-safe: one send at a time).

    ``security``: ``starttls`` (required, never skipped), ``tls`` (implicit) or ``none``; ``tls_context`` decides
    whom to trust (default: the system's CAs, host name checked). ``username``/``password``: AUTH after TLS.
    ``dkim``: sign every message. ``max_idle``: a connection unused this long is closed before the next send
    rather than trusted. Use as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        sender: str,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        dkim: DKIMSigner | None = None,
        tls_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        max_idle: float = 60.0,
    ) -> None:
        envelope_from = parseaddr(sender)[1]
        if one_line(sender) != sender or envelope_from.count("@") != 1:
            raise ConfigError(f"the From address {sender!r} is not one mail address (PAPERWIRE_MAIL_FROM)")
        self.host = host
        self.port = port
        self.sender = sender
        self.envelope_from = envelope_from
        self.domain = envelope_from.rpartition("@")[2].lower()
        self.security = security
        self.username = username
        self._password = password  # kept out of repr and messages
        self.timeout = timeout
        self.dkim = dkim
        self.tls_context = tls_context if tls_context is not None else ssl.create_default_context()
        self.local_hostname = local_hostname
        self.max_idle = max_idle
        self.connections = 0  # connections opened so far
        self._conn: smtplib.SMTP | None = None
        self._last_used = 0.0
        self._lock = threading.Lock()
        if dkim is not None and not (self.domain == dkim.domain or self.domain.endswith("." + dkim.domain)):
            log.warning(
                "DKIM signs for %s but mail is from %s: DMARC will not count the signature",
                dkim.domain,
                self.domain,
            )

    @classmethod
    def from_settings(cls, settings: Settings, tls_context: ssl.SSLContext | None = None) -> SMTPMailer:
        """The mailer the settings describe (``smtp_*``, ``dkim_*``, ``mail_from``)."""
        if not settings.smtp_host:
            raise ConfigError("PAPERWIRE_SMTP_HOST is not set")
        signer = None
        if settings.dkim_selector and settings.dkim_domain and settings.dkim_key_file:
            signer = DKIMSigner.from_file(
                settings.dkim_selector, settings.dkim_domain, settings.dkim_key_file
            )
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            sender=settings.mail_from,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout=settings.smtp_timeout,
            dkim=signer,
            tls_context=tls_context,
        )

    def send(self, mail: Mail) -> str:
        """Deliver ``mail`` to ``mail.to`` (its only envelope recipient); returns its Message-ID, or raises
        MailRejected (permanent), MailDeferred (try later) or MailError (the settings)."""
        to = recipient(mail)
        built: dict[bool, tuple[bytes, str]] = {}  # by 8BITMIME: the message as this server takes it
        with self._lock:
            for attempt in (1, 2):
                conn = self._connection()
                # 8BITMIME: bodies as they are (a third smaller than base64); never for signed mail, which a
                # relay without it would have to re-encode, breaking the signature
                eight = self.dkim is None and conn.has_extn("8bitmime")
                if eight not in built:
                    built[eight] = self._message(mail, eight)
                data, mid = built[eight]
                try:
                    self._transaction(conn, to, data, eight)
                except _Dropped as exc:
                    self._discard()
                    if attempt == 1:
                        log.info(
                            "SMTP connection lost at %s (%s): reconnecting once", exc.stage.upper(), exc.reply
                        )
                        continue
                    raise MailDeferred(
                        f"the SMTP server {self.host} dropped the connection at {exc.stage.upper()}, twice: "
                        f"{exc.code or ''} {exc.reply}".rstrip(),
                        code=exc.code,
                        stage=exc.stage,
                    ) from None
                except MailError:
                    raise
                except BaseException:
                    self._discard()  # a state we do not know: never reuse it
                    raise
                finally:
                    self._last_used = time.monotonic()
                break
        return mid

    def _message(self, mail: Mail, eight_bit: bool) -> tuple[bytes, str]:
        data, mid = compose(mail, self.sender, self.domain, transfer="8bit" if eight_bit else "7bit")
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        if self.dkim is not None:
            data = self.dkim.sign(data)
        return data, mid

    def close(self) -> None:
        """Say QUIT and close the connection, if one is open."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                try:
                    conn.quit()
                except OSError:
                    conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # the connection

    def _connection(self) -> smtplib.SMTP:
        if self._conn is not None and time.monotonic() - self._last_used > self.max_idle:
            self._discard()  # the server has likely closed it; a QUIT could wait out the timeout
        if self._conn is None:
            self._conn = self._connect()
            self._last_used = time.monotonic()
        return self._conn

    def _connect(self) -> smtplib.SMTP:
        where = f"{self.host}:{self.port}"
        try:
            if self.security == "tls":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, self.local_hostname, timeout=self.timeout, context=self.tls_context
                )
            else:
                conn = smtplib.SMTP(self.host, self.port, self.local_hostname, timeout=self.timeout)
        except smtplib.SMTPResponseException as exc:  # its greeting was not 220
            self._refused(
                "connect", exc.smtp_code, _text(exc.smtp_error), f"the SMTP server {where} refused us"
            )
        except ssl.SSLError as exc:
            raise MailError(
                f"TLS with the SMTP server {where} failed ({exc.reason or exc}): check PAPERWIRE_SMTP_SECURITY "
                "and PAPERWIRE_SMTP_PORT (tls is usually 465, starttls 587), and the server's certificate",
                stage="connect",
            ) from None
        except OSError as exc:
            raise MailDeferred(f"cannot reach the SMTP server {where}: {exc}", stage="connect") from None
        self.connections += 1
        try:
            conn.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise MailError(
                        f"the SMTP server {where} does not offer STARTTLS: use PAPERWIRE_SMTP_SECURITY=tls, or none "
                        "only for a relay on this machine",
                        stage="connect",
                    )
                conn.starttls(context=self.tls_context)
                conn.ehlo()
            if self.username is not None:
                conn.login(self.username, self._password or "")
        except MailError:
            conn.close()
            raise
        except smtplib.SMTPNotSupportedError:
            conn.close()
            raise MailError(
                f"the SMTP server {where} offers no login (AUTH) on this connection", stage="connect"
            ) from None
        except smtplib.SMTPResponseException as exc:
            conn.close()
            what = "refused the login" if isinstance(exc, smtplib.SMTPAuthenticationError) else "refused us"
            self._refused("connect", exc.smtp_code, _text(exc.smtp_error), f"the SMTP server {where} {what}")
        except ssl.SSLError as exc:
            conn.close()
            raise MailError(
                f"STARTTLS with the SMTP server {where} failed ({exc.reason or exc}): check its certificate",
                stage="connect",
            ) from None
        except OSError as exc:
            conn.close()
            raise MailDeferred(
                f"the SMTP server {where} dropped the connection: {exc}", stage="connect"
            ) from None
        return conn

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    # one message

    def _transaction(self, conn: smtplib.SMTP, to: str, data: bytes, eight_bit: bool = False) -> None:
        masked = mask_address(to)
        options = ["BODY=8BITMIME"] if eight_bit else []
        code, reply = _ask("mail", lambda sender: conn.mail(sender, options), self.envelope_from)
        if code != 250:
            self._reset(conn)
            self._refused("mail", code, reply, f"the SMTP server refused the sender {self.envelope_from}")
        code, reply = _ask("rcpt", conn.rcpt, to)
        if code not in (250, 251):
            self._reset(conn)
            self._refused(
                "rcpt", code, reply.replace(to, masked), f"the SMTP server refused {masked} at RCPT"
            )
        code, reply = _ask("data", conn.docmd, "DATA")
        if code != 354:
            self._reset(conn)
            self._refused(
                "data", code, reply.replace(to, masked), f"the SMTP server refused {masked} at DATA"
            )
        try:
            conn.send(_dot_stuffed(data) + b".\r\n")
        except OSError as exc:  # the final dot did not go out: the server cannot have taken the message
            raise _Dropped("data", None, str(exc)) from None
        try:
            code, raw = conn.getreply()
        except OSError as exc:
            self._discard()
            raise MailDeferred(
                f"the connection to the SMTP server dropped after the message to {masked} went out, before the "
                f"server answered: it may have been delivered ({exc})",
                stage="data",
            ) from None
        if code != 250:
            if code == 421:
                self._discard()
            self._refused(
                "data",
                code,
                _text(raw).replace(to, masked),
                f"the SMTP server refused the message to {masked}",
            )

    def _reset(self, conn: smtplib.SMTP) -> None:
        """RSET after a refused command, so the connection serves the next message; drop it if that fails."""
        try:
            code, _ = conn.rset()
        except OSError:
            code = 0
        if code != 250:
            self._discard()

    def _refused(self, stage: str, code: int, reply: str, what: str) -> NoReturn:
        message = f"{what}: {code} {reply}".rstrip()
        if 400 <= code < 500:
            raise MailDeferred(message, code=code, stage=stage)
        if 500 <= code < 600 and stage in ("rcpt", "data"):
            raise MailRejected(message, code=code, stage=stage)
        raise MailError(message, code=code, stage=stage)


def _dot_stuffed(data: bytes) -> bytes:
    """``data`` with a dot doubled at the start of every line (RFC 5321 4.5.2), the message's lines ending in
    CRLF: bytes.replace, 8x faster than smtplib's regex over a 50 kB digest."""
    return (b"." + data if data.startswith(b".") else data).replace(b"\r\n.", b"\r\n..")


def _ask(stage: str, command: Callable[[str], tuple[int, bytes]], arg: str) -> tuple[int, str]:
    """Run one SMTP command; a lost connection or a 421 (closing) is _Dropped."""
    try:
        code, raw = command(arg)
    except OSError as exc:  # SMTPServerDisconnected, resets, timeouts
        raise _Dropped(stage, None, str(exc)) from None
    reply = _text(raw)
    if code == 421:
        raise _Dropped(stage, code, reply)
    return int(code), reply


def _text(raw: bytes | str) -> str:
    return " ".join((raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw).split())
