"""Subscribing to the digest (RELIABILITY M4, M8): the request, the confirmation mail, confirming, managing
and unsubscribing. The web routes and the API call these; the answer to a subscribe request is the same
whatever the address's state, and the confirmation mail leaves from a thread of its own (the answer takes as
long either way)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from paperwire.config import Settings
from paperwire.digest.compose import DigestPrefs
from paperwire.digest.deliver import prefs_json
from paperwire.digest.links import DigestTokens
from paperwire.mail import Mail, Mailer, get_mailer, mask_address, normalise_address
from paperwire.mail.background import MailRequestLimits, MailThread
from paperwire.models import Subscriber
from paperwire.store.base import Store

log = logging.getLogger(__name__)

REQUESTS_PER_ADDRESS_HOUR = 3  # confirmation mails one address may be sent in an hour (M8)
REQUESTS_PER_CLIENT_HOUR = 20


class Subscriptions:
    """Subscribe requests and their confirmation mail, over one store."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        mailer: Mailer | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        embed_watches: Callable[[list[str]], object] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embed_watches = embed_watches  # kept vectors for a subscriber's watches (see keep_watches)
        self.mailer = mailer or get_mailer(settings)
        self.clock = clock
        self.tokens = DigestTokens(settings)
        self.limits = MailRequestLimits(REQUESTS_PER_ADDRESS_HOUR, REQUESTS_PER_CLIENT_HOUR)
        self._mail = MailThread(self.mailer, "subscribe-mail")

    def request(
        self, raw_address: str, prefs: DigestPrefs, client: str, base_url: str, user_id: int | None = None
    ) -> None:
        """Take a subscribe request: the address is checked (QueryError) and counted against the limits
        (RateLimitedError) here; the rest (store, mail) on the mail thread."""
        address = normalise_address(raw_address)
        self.limits.take(client, address, "requests")
        self._mail.submit(self._take, address, prefs, base_url, user_id)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait for the confirmation mails asked for so far."""
        self._mail.flush(timeout)

    def close(self) -> None:
        """Send what is pending, then stop the mail thread."""
        self._mail.close()

    def keep_watches(self, watches: Sequence[str]) -> None:
        """Embed a subscriber's watches now, off the request (the mail thread), so the digest pass finds their
        vectors kept and embeds nothing; a failure only leaves the pass to embed them."""
        if watches and self.embed_watches is not None:
            self._mail.submit(self._keep, list(watches))

    def _keep(self, watches: list[str]) -> None:
        try:
            assert self.embed_watches is not None
            self.embed_watches(watches)
        except Exception:
            log.exception("embedding %d watches failed (the next digest pass embeds them)", len(watches))

    def _take(self, address: str, prefs: DigestPrefs, base_url: str, user_id: int | None) -> bool:
        sub = self.store.subscribe(address, prefs_json(prefs), self.clock(), user_id)
        self._keep(list(prefs.watches))  # known address or not: the same work, the answer says nothing
        if sub.status != "pending":  # active already, or suppressed: nothing to confirm, no mail (M8)
            return False
        self.mailer.send(self.confirmation(sub, base_url))
        log.info("digest confirmation sent to %s", mask_address(address))
        return True

    def confirmation(self, sub: Subscriber, base_url: str) -> Mail:
        """The double opt-in mail: one link to confirm (it shows a button: M3), valid 48 hours."""
        link = f"{base_url.rstrip('/')}/digest/confirm?token={self.tokens.confirm(sub)}"
        return Mail(
            to=sub.email,
            subject="Confirm your paperwire digest",
            text=(
                "Someone (we hope you) asked for paperwire's digest of new arXiv papers at this address.\n\n"
                f"To start receiving it, open this link within 48 hours and confirm:\n\n{link}\n\n"
                "If it was not you, ignore this mail: nothing more will be sent."
            ),
        )

    def confirm(self, token: str) -> Subscriber:
        """Confirm a subscription from its link (LinkError when the link cannot be used)."""
        sub = self.tokens.read("confirm", token, self.store)
        if sub.status == "pending":
            self.store.set_subscriber_status(sub.id, "active", self.clock())
        got = self.store.get_subscriber(sub.id)
        assert got is not None
        return got

    def unsubscribe(self, token: str, how: str) -> Subscriber:
        """Unsubscribe from a link (any link mailed to the address works, however old: M2 idempotent)."""
        sub = self.tokens.read("unsubscribe", token, self.store, any_version=True)
        if sub.status in ("active", "pending"):
            self.store.set_subscriber_status(sub.id, "unsubscribed", self.clock(), reason=how)
        got = self.store.get_subscriber(sub.id)
        assert got is not None
        return got
