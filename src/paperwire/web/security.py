"""Security headers on every response (W4), the Host check, a cap on the address, and a per-client token
bucket (W7).

All are one plain ASGI middleware so they also cover error pages, static files and the JSON API. Its own
refusals (400 for a Host the operator did not allow, 414, 429) are paperwire's error answers, made by the
``refuse`` callable the app passes in.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperwire.config import Settings
from paperwire.errors import ConfigError

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


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
# path + query string: no page needs more (a search query is at most 1,000 characters); longer gets 414
MAX_URL_BYTES = 8 * 1024


def allowed_hosts(settings: Settings) -> list[str]:
    """The Host names this paperwire answers to: ``allowed_hosts``, else loopback, the listen address and
    ``base_url``'s host."""
    if settings.allowed_hosts and settings.allowed_hosts.strip():
        hosts = [h.strip().lower() for h in settings.allowed_hosts.split(",") if h.strip()]
    else:
        hosts = [*LOOPBACK_HOSTS, settings.host.strip().strip("[]").lower()]
        if settings.base_url:
            hosts.append(urlsplit(settings.base_url).hostname or "")
    return list(dict.fromkeys(h for h in hosts if h))


class HostPolicy:
    """Which Host headers to answer: exact names, ``*.example.org`` (its subdomains) or ``*`` (any).

    Absolute links built from a request (feeds, when ``base_url`` is unset) then only ever name a host
    the operator allowed; it also keeps DNS-rebinding pages away from a paperwire on localhost.
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = [_bare_host(p.lower()) for p in patterns]
        for p in self.patterns:
            if (
                "*" in p[1:]
                or (p.startswith("*") and p != "*" and not p.startswith("*."))
                or not _NAME.match(p)
            ):
                raise ConfigError(f"allowed host {p!r}: use a name, *.example.org or *")
        self.any = "*" in self.patterns
        self.names = {p for p in self.patterns if not p.startswith("*")}
        self.suffixes = tuple(p[1:] for p in self.patterns if p.startswith("*."))

    def allows(self, host_header: str | None) -> bool:
        """True when the Host header (``name`` or ``name:port``, IPv6 in brackets) names an allowed host."""
        if self.any:
            return True
        if not host_header or not _HOST_HEADER.match(host_header):  # no userinfo, path or backslash tricks
            return False
        try:
            host = urlsplit("//" + host_header).hostname
        except ValueError:  # "[::1", a bad port...
            return False
        return bool(host) and (host in self.names or (host or "").endswith(self.suffixes))


def _bare_host(pattern: str) -> str:
    """A configured host without brackets or port: "[::1]" and "example.org:8443" are compared by name."""
    p = pattern.strip()
    if p.startswith("["):
        return p[1 : p.index("]")] if "]" in p else p
    return p.rsplit(":", 1)[0] if p.count(":") == 1 else p


# a Host header: a name or IPv4 address, or an IPv6 address in brackets, then an optional port
_HOST_HEADER = re.compile(r"^(?:[A-Za-z0-9.\-_]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
_NAME = re.compile(r"^(?:\*|\*\.[a-z0-9.\-_]+|[a-z0-9.\-_]+|[0-9a-f:.]+)$")


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
    """Every path but static files: pages, feeds and the API all read the store or search.

    A page load costs one request (its scripts, styles and fonts are static), so a reader never meets the limit.
    """
    return not path.startswith("/static/") and path != "/favicon.ico"


class SecurityMiddleware:
    """Adds the security headers to every response; refuses, before any work, a Host that is not allowed
    (400), an address over MAX_URL_BYTES (414) and a client past its rate limit (429)."""

    def __init__(self, app: ASGIApp, limiter: TokenBucket, hosts: HostPolicy, refuse: Refuse) -> None:
        self.app = app
        self.limiter = limiter
        self.hosts = hosts
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                own = {k.lower() for k, _ in message.get("headers", [])}
                # a route that set its own policy keeps it (the digest preview's inline styles); else ours
                headers = [*message.get("headers", []), *(h for h in _RAW_HEADERS if h[0] not in own)]
                if path.startswith("/static/"):
                    headers.append((b"cache-control", b"public, max-age=86400"))
                message["headers"] = headers
            await send(message)

        refusal = self._refusal(scope, path)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: Scope, path: str) -> Response | None:
        host = Headers(scope=scope).get("host")
        if not self.hosts.allows(host):
            shown = (host or "")[:100]
            message = (
                f"this paperwire does not answer to the host name {shown!r}; its operator can allow it "
                "with PAPERWIRE_ALLOWED_HOSTS (or PAPERWIRE_BASE_URL)"
            )
            return self.refuse(Request(scope), 400, message, {})
        target = len(scope.get("raw_path") or path.encode()) + len(scope.get("query_string", b""))
        if target > MAX_URL_BYTES:
            message = f"the address is too long ({target:,} bytes; at most {MAX_URL_BYTES:,})"
            return self.refuse(Request(scope), 414, message, {})
        if self.limiter.enabled and is_limited_path(path):
            client = scope.get("client")
            wait = self.limiter.take(client[0] if client else "unknown")
            if wait > 0:
                retry = str(max(1, math.ceil(wait)))
                message = f"too many requests: slow down and retry in {retry} s"
                return self.refuse(Request(scope), 429, message, {"retry-after": retry})
        return None
