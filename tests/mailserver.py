"""A real SMTP server for tests: aiosmtpd in a background thread on 127.0.0.1 (a free port), scriptable per address.

Start one as a context manager, or take the ``mail_server`` fixture (plain, no TLS, no login)::

    from tests.mailserver import MailServer

    with MailServer(tls="starttls", auth={"user": "secret"}) as server:
        mailer = SMTPMailer(server.host, server.port, sender="p <p@example.org>", username="user",
                            password="secret", tls_context=server.client_context())
        server.tempfail("busy@example.org", times=2)   # 451 at RCPT twice, then accepted
        server.reject("gone@example.org", at="data")   # 550 after the message's data
        server.drop_after(10)                          # a connection is cut when it starts an 11th message
        ...
        msg = server.messages[0].message()             # an email.message.EmailMessage (policy.default)

``MailServer(tls=None | "starttls" | "tls", auth=None | {login: password})``:

- ``host``, ``port``: where it listens. With ``tls`` its certificate (for 127.0.0.1 and localhost) comes from
  ``ca``, a trustme CA; ``client_context()`` is an ``ssl.SSLContext`` that trusts it. ``"starttls"`` offers
  STARTTLS and refuses mail until the client upgrades; ``"tls"`` speaks TLS from the first byte.
- ``auth``: logins it accepts (LOGIN, PLAIN; over STARTTLS offered only after the upgrade); a MAIL FROM without a
  login then gets 530.
- ``messages``: a copy of the messages accepted, in order: ``Received(mail_from, rcpt_tos, data, connection, tls,
  login)``, ``data`` the raw bytes as received (dot-unstuffed), ``connection`` the number of the SMTP session
  (1, 2, ...) that carried it, ``message()`` it parsed. ``refused``: ``Refusal(address, stage, reply)`` for every
  scripted answer given. ``connections``: how many SMTP sessions (greeted with EHLO/HELO) there have been.
- ``script(address, at="rcpt" | "data", reply="451 4.3.0 ...", times=None)``: answer ``reply`` for that
  recipient at RCPT, or after its message's data; ``times``: only the first N tries, then accept. ``tempfail``
  (451) and ``reject`` (550) are shorthands; ``cut(address, at="data")`` cuts the connection instead of
  answering (after the data: the client cannot know whether the message arrived; it is not in ``messages``);
  ``accept(address)`` drops the address's script.
- ``drop_after(n, reply=None)``: a connection that carried ``n`` messages is dropped when the client starts
  another (MAIL FROM): cut with no answer, or, with ``reply`` (e.g. ``"421 4.7.0 Too many messages"``), that
  answer and then closed. ``None``: never.
- ``wait_for(count, timeout=10)``: the messages once there are at least ``count``.
- ``reset()``: forget the messages, refusals, scripts and the drop rule (not the connection count).

Everything is safe to call from the test's thread while the server runs in its own.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from types import TracebackType
from typing import Any, Literal

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOSTNAME = "mail.test.localhost"
CUT = ""  # a scripted "reply" that cuts the connection instead of answering


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    connection: int
    tls: bool
    login: str | None

    def message(self) -> EmailMessage:
        """The message, parsed by the email package."""
        msg = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass(frozen=True)
class Refusal:
    """A scripted answer the server gave."""

    address: str
    stage: str
    reply: str


@dataclass
class _Rule:
    reply: str
    times: int | None


class _TrackedSMTP(SMTP):
    """aiosmtpd's protocol, telling the handler which connections are open (to cut them at stop)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.event_handler.live.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        self.event_handler.live.discard(self)
        super().connection_lost(error)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _TrackedSMTP(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        # bound to port 0: learn the port the system chose before the base class pokes the server there
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class _Handler:
    """aiosmtpd hooks: every answer the server gives comes from here."""

    def __init__(self, auth: dict[str, str] | None, eight_bit: bool = True) -> None:
        self.auth = auth
        self.eight_bit = eight_bit
        self.lock = threading.Condition()
        self.messages: list[Received] = []
        self.refused: list[Refusal] = []
        self.rules: dict[tuple[str, str], _Rule] = {}
        self.drop_after: int | None = None
        self.drop_reply: str | None = None
        self.connections = 0
        self.live: set[SMTP] = set()
        # each connection (its protocol object; the session is new after STARTTLS) -> [its number, messages]
        self.counts: weakref.WeakKeyDictionary[SMTP, list[int]] = weakref.WeakKeyDictionary()

    def _greet(self, server: SMTP) -> None:
        with self.lock:
            if server not in self.counts:  # EHLO again after STARTTLS: the same connection
                self.connections += 1
                self.counts[server] = [self.connections, 0]

    async def handle_HELO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str) -> str:
        self._greet(server)
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        self._greet(server)
        session.host_name = hostname
        return responses if self.eight_bit else [r for r in responses if "8BITMIME" not in r.upper()]

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        with self.lock:
            _, carried = self.counts.get(server, [0, 0])
            drop = self.drop_after is not None and carried >= self.drop_after
            drop_reply = self.drop_reply
        if drop:
            assert server.transport is not None
            if drop_reply is not None:  # answer, then close once the answer is out
                asyncio.get_running_loop().call_soon(server.transport.close)
                return drop_reply
            return await self._answer(server, CUT)
        if self.auth is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def _answer(self, server: SMTP, reply: str) -> str:
        if reply != CUT:
            return reply
        assert isinstance(server.transport, asyncio.Transport)
        server.transport.abort()  # cut: no answer; connection_lost cancels this hook's task
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    def _scripted(self, address: str, stage: str) -> str | None:
        with self.lock:
            rule = self.rules.get((address.lower(), stage))
            if rule is None or rule.times == 0:
                return None
            if rule.times is not None:
                rule.times -= 1
            self.refused.append(Refusal(address, stage, rule.reply))
            return rule.reply

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self._scripted(address, "rcpt")
        if reply is not None:
            return await self._answer(server, reply)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        for address in envelope.rcpt_tos:
            reply = self._scripted(address, "data")
            if reply is not None:
                return await self._answer(server, reply)
        assert server.transport is not None and envelope.original_content is not None
        with self.lock:
            counts = self.counts.setdefault(server, [0, 0])
            counts[1] += 1
            self.messages.append(
                Received(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=list(envelope.rcpt_tos),
                    data=bytes(envelope.original_content),
                    connection=counts[0],
                    tls=server.transport.get_extra_info("ssl_object") is not None,
                    login=session.auth_data if session.authenticated else None,
                )
            )
            self.lock.notify_all()
            return f"250 OK: queued as {len(self.messages)}"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if self.auth is None or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        ok = self.auth.get(login) == auth_data.password.decode("utf-8", "replace")
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)


class MailServer:
    """A scripted SMTP server on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        tls: Literal["starttls", "tls"] | None = None,
        auth: dict[str, str] | None = None,
        eight_bit: bool = True,
    ) -> None:
        """``eight_bit``: offer 8BITMIME (as aiosmtpd does); False: a server that takes 7-bit mail only."""
        self.host = "127.0.0.1"
        self.port = 0
        self.tls = tls
        self.ca = trustme.CA() if tls else None
        self._handler = _Handler(auth, eight_bit)
        kwargs: dict[str, Any] = {"server_hostname": HOSTNAME, "ready_timeout": 10.0}
        if auth is not None:
            kwargs["authenticator"] = self._handler.authenticate
            kwargs["auth_require_tls"] = (
                tls == "starttls"
            )  # over "tls" the whole connection is encrypted already
        if self.ca is not None:
            server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
            if tls == "tls":
                kwargs["ssl_context"] = server_ctx
            else:
                kwargs["tls_context"] = server_ctx
                kwargs["require_starttls"] = True
        self._controller = _Controller(self._handler, hostname=self.host, port=0, **kwargs)

    def start(self) -> MailServer:
        """Listen (on a port the system picks: ``port``)."""
        self._controller.start()
        self.port = self._controller.port
        return self

    def stop(self) -> None:
        """Cut every open connection, then stop the thread."""
        controller = self._controller

        def cut() -> None:
            for smtp in list(self._handler.live):
                if isinstance(smtp.transport, asyncio.Transport):
                    smtp.transport.abort()

        controller.loop.call_soon_threadsafe(cut)
        deadline = time.monotonic() + 5
        while self._handler.live and time.monotonic() < deadline:  # let them finish before the loop stops
            time.sleep(0.01)
        controller.stop()

    def __enter__(self) -> MailServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def client_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts this server's certificate (and nothing else)."""
        assert self.ca is not None, "a server without tls"
        ctx = ssl.create_default_context()
        ctx.load_verify_locations(cadata=self.ca.cert_pem.bytes().decode())
        return ctx

    # scripts

    def script(
        self, address: str, at: Literal["rcpt", "data"] = "rcpt", *, reply: str, times: int | None = None
    ) -> None:
        """Answer ``reply`` for ``address`` at RCPT or after its data (the first ``times`` tries; None: always)."""
        with self._handler.lock:
            self._handler.rules[(address.lower(), at)] = _Rule(reply, times)

    def tempfail(self, address: str, at: Literal["rcpt", "data"] = "rcpt", times: int | None = None) -> None:
        """A 451 (try again later) for ``address``."""
        self.script(address, at, reply="451 4.3.0 Try again later", times=times)

    def reject(self, address: str, at: Literal["rcpt", "data"] = "rcpt", times: int | None = None) -> None:
        """A 550 (no such user) for ``address``."""
        self.script(address, at, reply="550 5.1.1 No such user here", times=times)

    def cut(self, address: str, at: Literal["rcpt", "data"] = "data", times: int | None = None) -> None:
        """Cut the connection instead of answering for ``address`` (at "data": the message arrived, unanswered)."""
        self.script(address, at, reply=CUT, times=times)

    def accept(self, address: str) -> None:
        """Forget ``address``'s scripts: accept it."""
        with self._handler.lock:
            for stage in ("rcpt", "data"):
                self._handler.rules.pop((address.lower(), stage), None)

    def drop_after(self, n: int | None, reply: str | None = None) -> None:
        """Drop a connection that carried ``n`` messages when it starts another (with ``reply`` first, if given)."""
        with self._handler.lock:
            self._handler.drop_after = n
            self._handler.drop_reply = reply

    def reset(self) -> None:
        """Forget messages, refusals, scripts and the drop rule."""
        with self._handler.lock:
            self._handler.messages.clear()
            self._handler.refused.clear()
            self._handler.rules.clear()
            self._handler.drop_after = None
            self._handler.drop_reply = None

    # what happened

    @property
    def messages(self) -> list[Received]:
        """The messages accepted so far, in order."""
        with self._handler.lock:
            return list(self._handler.messages)

    @property
    def refused(self) -> list[Refusal]:
        """Every scripted refusal given so far, in order."""
        with self._handler.lock:
            return list(self._handler.refused)

    @property
    def connections(self) -> int:
        """SMTP sessions (connections greeted with EHLO/HELO) so far."""
        with self._handler.lock:
            return self._handler.connections

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The messages, once at least ``count`` have arrived (AssertionError after ``timeout`` seconds)."""
        with self._handler.lock:
            ok = self._handler.lock.wait_for(lambda: len(self._handler.messages) >= count, timeout)
            assert ok, f"{len(self._handler.messages)} of {count} messages arrived in {timeout} s"
            return list(self._handler.messages)


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    """A plain SMTP server (no TLS, no login) for one test."""
    with MailServer() as server:
        yield server
