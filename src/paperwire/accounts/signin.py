"""Signing in by e-mailed link, and sessions (RELIABILITY A1, A2).

``request_link`` answers the same whatever the address (known, unknown, refused by the sign-up policy): the
difference is only whether a mail goes out. Links and sessions are kept hashed (tokens.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from paperwire.accounts.policy import may_sign_in
from paperwire.accounts.tokens import SignInTokens, digest, new_session_id
from paperwire.config import Settings
from paperwire.errors import SignInError
from paperwire.keys import secret_key
from paperwire.mail import Mail, Mailer, get_mailer, mask_address, normalise_address
from paperwire.mail.background import MailRequestLimits, MailThread
from paperwire.models import User
from paperwire.store.base import Store

log = logging.getLogger(__name__)

LINKS_PER_ADDRESS_HOUR = 5  # sign-in links one address may be sent in an hour
LINKS_PER_CLIENT_HOUR = 20  # sign-in requests one client may make in an hour


class SignIn:
    """Sign-in links and sessions over one store."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        mailer: Mailer | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.store = store
        self.mailer = mailer or get_mailer(settings)
        self.clock = clock
        self.key = secret_key(settings)
        self.tokens = SignInTokens(self.key, settings.sign_in_link_minutes * 60)
        self.limits = MailRequestLimits(LINKS_PER_ADDRESS_HOUR, LINKS_PER_CLIENT_HOUR)
        self._mail = MailThread(self.mailer, "sign-in-mail")  # a page never waits on the mail server

    def request_link(self, raw_address: str, client: str, base_url: str, next_path: str = "/") -> None:
        """Take a request for a sign-in link: the address checked (QueryError) and counted against the limits
        (RateLimitedError) here; whether it may sign in, the link and the mail are worked out on the mail
        thread, so the answer takes as long whatever the address (A1). ``flush`` waits for that work."""
        address = normalise_address(raw_address)
        self.limits.take(client, address, "sign-in requests")
        self._mail.submit(self.send_link, address, base_url, next_path)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until the sign-in mails asked for so far are sent (or failed: logged)."""
        self._mail.flush(timeout)

    def close(self) -> None:
        """Send what is pending, then stop the mail thread."""
        self._mail.close()

    def send_link(self, address: str, base_url: str, next_path: str = "/") -> bool:
        """Mail a sign-in link to ``address`` when it may sign in; returns whether one was sent."""
        user = self.store.user_by_email(address)
        if not may_sign_in(self.settings, address, user):
            log.info(
                "sign-in link not sent to %s (no account, sign-up: %s)",
                mask_address(address),
                self.settings.signup,
            )
            return False
        token, nonce_hash = self.tokens.make(address)
        expires = self.clock() + timedelta(minutes=self.settings.sign_in_link_minutes)
        self.store.add_sign_in_nonce(nonce_hash, address, expires)
        link = f"{base_url.rstrip('/')}/sign-in/confirm?token={quote(token)}&next={quote(next_path)}"
        minutes = self.settings.sign_in_link_minutes
        self.mailer.send(
            Mail(
                to=address,
                subject="Your paperwire sign-in link",
                text=(
                    f"Open this link to sign in to paperwire (it works once, for {minutes} minutes):\n\n{link}\n\n"
                    "If you did not ask for it, ignore this mail: nothing happens until the link is used."
                ),
            )
        )
        log.info("sign-in link sent to %s", mask_address(address))
        return True

    def address_of(self, token: str) -> str | None:
        """The address a link's token is for (None when it cannot be read): the confirm page names it."""
        try:
            return self.tokens.read(token)[1]
        except SignInError:
            return None

    def confirm(self, token: str) -> tuple[User, str]:
        """Spend a sign-in link: (the user, a new session id for the cookie). SignInError when it cannot be
        used (expired, used, malformed, or the account is disabled)."""
        nonce_hash, address = self.tokens.read(token)
        if self.store.use_sign_in_nonce(nonce_hash, self.clock()) is None:
            raise SignInError("this sign-in link was already used or has expired: ask for a new one")
        user = self.store.user_by_email(address)
        if not may_sign_in(self.settings, address, user):
            raise SignInError("this account cannot sign in: ask the operator of this paperwire")
        if user is None:
            user = self.store.add_user(address, "active")
        elif user.status == "invited":
            self.store.set_user(user.id, status="active")
            user = self.store.get_user(user.id) or user
        session = new_session_id()  # a new id at every sign-in: a planted one is never promoted (A2)
        self.store.add_session(digest(session), user.id, self.clock())
        log.info("user %d signed in", user.id)
        return user, session

    def user_of(self, session: str) -> User | None:
        """The active user of a session cookie's value (None: no session, idle, or the user disabled)."""
        now = self.clock()
        idle_after = now - timedelta(days=self.settings.session_idle_days)
        return self.store.session_user(digest(session), idle_after, now)

    def sign_out(self, user: User, session: str | None, everywhere: bool = False) -> int:
        """End this session, or every session of the user; returns how many ended."""
        return self.store.delete_sessions(user.id, None if everywhere else digest(session or ""))

    def link_for(self, address: str, base_url: str) -> str:
        """A fresh sign-in link for an account, made by the operator (`paperwire users link`): no mail."""
        token, nonce_hash = self.tokens.make(address)
        self.store.add_sign_in_nonce(
            nonce_hash, address, self.clock() + timedelta(minutes=self.settings.sign_in_link_minutes)
        )
        return f"{base_url.rstrip('/')}/sign-in/confirm?token={quote(token)}"
