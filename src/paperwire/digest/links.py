"""The signed links a subscriber gets (RELIABILITY W6, M2-M4): confirm, manage, unsubscribe.

Each is an itsdangerous token under its own purpose (salt), holding the subscriber's id and token version: a
confirm token fails at unsubscribe, a link mailed before a status change (confirmed, unsubscribed) stops
working (the version moved), and confirm links expire after 48 hours (M4). No link carries the address.
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from paperwire.config import Settings
from paperwire.errors import SignInError
from paperwire.keys import secret_key
from paperwire.models import Subscriber
from paperwire.store.base import Store

CONFIRM_MAX_AGE = 48 * 3600
PURPOSES = ("confirm", "manage", "unsubscribe")


class LinkError(SignInError):
    """A digest link that is malformed, expired, or no longer valid (the subscription changed since)."""


class DigestTokens:
    """Makes and reads the digest's links under the site's key."""

    def __init__(self, settings: Settings) -> None:
        key = secret_key(settings)
        self._s = {p: URLSafeTimedSerializer(key, salt=f"paperwire.digest.{p}") for p in PURPOSES}

    def confirm(self, sub: Subscriber) -> str:
        """The token of the double opt-in mail's link."""
        return str(self._s["confirm"].dumps([sub.id, sub.token_version]))

    def manage(self, sub: Subscriber) -> str:
        """The token of the "manage your digest" link every digest carries."""
        return str(self._s["manage"].dumps([sub.id, sub.token_version]))

    def unsubscribe(self, sub: Subscriber) -> str:
        """The token of the one-click unsubscribe link (RFC 8058)."""
        return str(self._s["unsubscribe"].dumps([sub.id, sub.token_version]))

    def read(self, purpose: str, token: str, store: Store, *, any_version: bool = False) -> Subscriber:
        """The subscriber a token of ``purpose`` is for, or LinkError. ``any_version``: an older link still
        names its subscriber (unsubscribing twice is fine: M2 is idempotent)."""
        try:
            data = self._s[purpose].loads(token, max_age=CONFIRM_MAX_AGE if purpose == "confirm" else None)
        except SignatureExpired:
            raise LinkError("this link has expired: subscribe again to get a new one") from None
        except BadSignature:
            raise LinkError("this link is not valid (cut short when copied?)") from None
        if not (isinstance(data, list) and len(data) == 2 and all(isinstance(x, int) for x in data)):
            raise LinkError("this link is not valid")
        sub = store.get_subscriber(data[0])
        if sub is None or (not any_version and sub.token_version != data[1]):
            raise LinkError("this link is no longer valid: the subscription changed since it was sent")
        return sub
