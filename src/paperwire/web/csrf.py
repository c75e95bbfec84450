"""Cross-site request forgery (RELIABILITY W5, A4): a state-changing request must come from this site.

Browsers say where a request comes from: ``Sec-Fetch-Site`` (same-origin / none pass) or, failing that, the
``Origin`` header, which must name the host the request came to. A client that sends neither (a script) must
send its session's CSRF token as ``X-CSRF-Token``. Session cookies are SameSite=Lax besides. Requests that
change nothing and read no cookie (a recommendation from an uploaded file) are exempt, and so is a request
that carries no Cookie header at all, save signing in: without a cookie it acts for nobody (it meets a 401 or a
405 further in), while a forged sign-in would put the victim in the forger's account. Cookies are read with
the parser the app itself uses (Starlette's), so no cookie the browser holds can hide the session from this
check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request, cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from paperwire.accounts.tokens import csrf_ok

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EXEMPT_PATHS = frozenset({"/api/recommend"})  # changes nothing, reads no cookie
# RFC 8058 one-click unsubscribe: the mail client posts with no cookie and from no page (M2); the token in the
# path is the authority, and unsubscribing is all it can do
EXEMPT_PREFIXES = ("/digest/unsubscribe/",)
ALWAYS_CHECKED = frozenset({"/sign-in", "/sign-in/confirm", "/sign-out"})  # with or without a session

Refuse = Callable[[Request, int, str, Mapping[str, str]], Response]


def cookie(headers: Headers, name: str) -> str | None:
    """One cookie's value from the request's Cookie header, read as ``request.cookies`` reads it."""
    return cookie_parser(headers.get("cookie") or "").get(name)


def cross_site(headers: Headers, key: Callable[[], str], cookie_name: str) -> bool:
    """Whether a state-changing request with these headers may have been forged by another site."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is not None:
        if origin == "null":
            return True
        try:
            return urlsplit(origin).netloc.lower() != (headers.get("host") or "").lower()
        except ValueError:
            return True
    token = headers.get("x-csrf-token")
    session = cookie(headers, cookie_name)
    return not token or session is None or not csrf_ok(key(), session, token)


class CsrfMiddleware:
    """Refuses (403) a POST, PUT, PATCH or DELETE that may come from another site."""

    def __init__(self, app: ASGIApp, key: Callable[[], str], cookie_name: str, refuse: Refuse) -> None:
        self.app = app
        self.key = key
        self.cookie_name = cookie_name
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS and self._forged(scope):
            message = (
                "this form came from another site (or the request carried no Origin): nothing was changed. "
                "Scripts send their session's X-CSRF-Token."
            )
            await self.refuse(Request(scope), 403, message, {})(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _forged(self, scope: Scope) -> bool:
        path = scope.get("path", "")
        if path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES):
            return False
        headers = Headers(scope=scope)
        if path not in ALWAYS_CHECKED and not headers.get("cookie"):
            return False
        return cross_site(headers, self.key, self.cookie_name)
