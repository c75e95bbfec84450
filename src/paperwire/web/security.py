"""Security headers on every response (W4) and a per-client token bucket on costly paths (W7).

Both are one plain ASGI middleware so they also cover error pages, static files and the JSON API. Its own
refusals (429) are paperwire's error answers, made by the ``refuse`` callable the app passes in.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script, no third-party origin; KaTeX sets its inline sizes through the CSSOM, which CSP allows.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
_RAW_HEADERS = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

# (request, status, message, extra headers) -> paperwire's error answer (JSON under /api/, else a page)
Refuse = Callable[[Request, int, str, Mapping[str, str]], Response]


class TokenBucket:
    """Per-key token buckets: ``burst`` requests at once, refilled at ``per_minute`` a minute."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    @property
    def enabled(self) -> bool:
        """False when the limit is switched off (per_minute 0)."""
        return self.rate > 0

    def take(self, key: str) -> float:
        """Spend one token for ``key``: 0.0 when allowed, else the seconds until a token is back."""
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            self._prune(now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        if len(self._buckets) <= self.max_keys:
            return
        # forget the clients whose bucket has refilled: they would start full anyway
        full_after = self.burst / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}


def is_limited_path(path: str) -> bool:
    """The costly paths: the search page and its feed, and the JSON API."""
    return path == "/search" or path.startswith(("/search/", "/api/")) or path == "/api"


class SecurityMiddleware:
    """Adds the security headers to every response and answers 429 past a client's rate limit."""

    def __init__(self, app: ASGIApp, limiter: TokenBucket, refuse: Refuse) -> None:
        self.app = app
        self.limiter = limiter
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *_RAW_HEADERS]
                if path.startswith("/static/"):
                    headers.append((b"cache-control", b"public, max-age=86400"))
                message["headers"] = headers
            await send(message)

        if self.limiter.enabled and is_limited_path(path):
            client = scope.get("client")
            wait = self.limiter.take(client[0] if client else "unknown")
            if wait > 0:
                retry = str(max(1, math.ceil(wait)))
                message = f"too many requests: slow down and retry in {retry} s"
                response = self.refuse(Request(scope), 429, message, {"retry-after": retry})
                await response(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)
