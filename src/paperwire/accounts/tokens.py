"""The secrets accounts hand out, and how they are kept.

- A sign-in link carries a signed, purpose-bound, timed token (itsdangerous) holding a 192-bit random nonce;
  the store keeps the nonce's hash, spent at first use (A1, W6): a link works once, expires, and a token made for
  another purpose (salt) does not verify here.
- A session cookie is a 256-bit random value; the store keeps its hash (A2).
- A form's CSRF token is an HMAC of the session id under its own purpose (W5, beside the Origin check).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from paperwire.errors import SignInError

SIGN_IN = "paperwire.sign-in"
CSRF = b"paperwire.csrf"


def digest(secret: str) -> str:
    """What the store keeps of a secret: its SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_session_id() -> str:
    """A fresh session cookie value (256 random bits)."""
    return secrets.token_urlsafe(32)


class SignInTokens:
    """Makes and reads sign-in link tokens under the site's key."""

    def __init__(self, key: str, max_age_s: int) -> None:
        self.serializer = URLSafeTimedSerializer(key, salt=SIGN_IN)
        self.max_age_s = max_age_s

    def make(self, email: str) -> tuple[str, str]:
        """(token for the link, the nonce's digest to store)."""
        nonce = secrets.token_urlsafe(24)
        return str(self.serializer.dumps({"n": nonce, "e": email})), digest(nonce)

    def read(self, token: str) -> tuple[str, str]:
        """(nonce digest, address) of a link's token, or SignInError saying why it cannot be used."""
        try:
            data = self.serializer.loads(token, max_age=self.max_age_s)
        except SignatureExpired:
            raise SignInError("this sign-in link has expired: ask for a new one") from None
        except BadSignature:
            raise SignInError(
                "this sign-in link is not valid (cut short when copied?): ask for a new one"
            ) from None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("n"), str)
            or not isinstance(data.get("e"), str)
        ):
            raise SignInError("this sign-in link is not valid: ask for a new one")
        return digest(data["n"]), data["e"]


def csrf_token(key: str, session_id: str) -> str:
    """The CSRF token of forms shown within a session."""
    return hmac.new(key.encode(), CSRF + b":" + session_id.encode(), hashlib.sha256).hexdigest()


def csrf_ok(key: str, session_id: str, token: str) -> bool:
    """Whether ``token`` is this session's CSRF token (compared in constant time)."""
    return hmac.compare_digest(csrf_token(key, session_id), token)
