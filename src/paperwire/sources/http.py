"""A polite HTTP client for arXiv and Hugging Face: per-upstream pacing across the process, one connection,
bounded retries (H1, H2)."""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Self

import httpx

from paperwire.config import Settings
from paperwire.errors import ConfigError, UpstreamHTTPError

log = logging.getLogger(__name__)

Params = Mapping[str, str | int | float | None]

# Exponential backoff starts here (seconds) and doubles per attempt, up to settings.http_backoff_cap.
BACKOFF_BASE = 2.0
# Statuses where the server says "later": Retry-After is honoured when given.
_THROTTLE_STATUSES = frozenset({429, 503})


class _Pacer:
    """The process-wide politeness state: one lock and the time the last request finished."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last_request_at: float | None = None


# One pacer per upstream for the whole process: arXiv's limit is per client machine, not per PoliteClient
# instance (its OAI-PMH and API hosts share one); Hugging Face is paced apart, by its own interval.
_PACERS = {"arxiv": _Pacer(), "huggingface": _Pacer()}


def reset_pacing() -> None:
    """Forget when the last request was made (for tests, which use their own clocks)."""
    for pacer in _PACERS.values():
        with pacer.lock:
            pacer.last_request_at = None


class PoliteClient:
    """An httpx client that waits request_interval between requests process-wide and retries with care.

    ``upstream`` names whose pacing it shares ("arxiv", "huggingface"); ``interval`` overrides the seconds
    between requests (default: settings.request_interval, arXiv's).
    """

    def __init__(
        self,
        settings: Settings,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        *,
        upstream: str = "arxiv",
        interval: float | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._sleep = sleep
        self._pacer = _PACERS[upstream]
        self._interval = settings.request_interval if interval is None else interval
        if transport is None:
            # One connection at a time (H1); retries are ours, so httpx's own connect retries stay off.
            transport = httpx.HTTPTransport(
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1), retries=0
            )
        self._http = httpx.Client(
            transport=transport,
            headers={"User-Agent": settings.user_agent},
            timeout=settings.http_timeout,
            follow_redirects=True,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._http.close()

    def get(self, url: str, params: Params | None = None) -> httpx.Response:
        """GET ``url``: paced, retried on 429/5xx/network errors; UpstreamHTTPError when it fails for good."""
        if httpx.URL(url).scheme != "https":
            raise ConfigError(f"refusing to fetch {url}: endpoints must use https")
        clean = {k: str(v) for k, v in (params or {}).items() if v is not None}
        max_retries = self._settings.http_max_retries
        # Hold the process-wide lock for the whole exchange, retries included: a throttled server should not
        # see another request from this process while we are backing off from it.
        with self._pacer.lock:
            for attempt in range(max_retries + 1):
                last_attempt = attempt == max_retries
                self._wait_turn()
                try:
                    response = self._http.get(url, params=clean)
                except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                    raise ConfigError(f"cannot fetch {url}: {exc}") from exc
                except httpx.TransportError as exc:
                    self._pacer.last_request_at = self._clock()
                    tls = _certificate_failure(exc)
                    if tls is not None:  # permanent: the same certificate will be presented next time
                        raise UpstreamHTTPError(
                            f"{url}: the server's TLS certificate is not trusted ({tls}); not retried. "
                            "Check the endpoint's address, the system's CA certificates, or a proxy that "
                            "intercepts TLS (SSL_CERT_FILE names another CA bundle)"
                        ) from exc
                    if last_attempt:
                        raise UpstreamHTTPError(
                            f"{url}: {type(exc).__name__} after {attempt + 1} attempts: {exc}"
                        ) from exc
                    delay = self._backoff(attempt)
                    log.warning("%s: %s; retrying in %.1f s", url, type(exc).__name__, delay)
                    self._sleep(delay)
                    continue
                self._pacer.last_request_at = self._clock()
                status = response.status_code
                if status < 400:
                    return response
                retryable = status in _THROTTLE_STATUSES or status >= 500
                if not retryable:
                    raise UpstreamHTTPError(f"{url} answered HTTP {status}", status=status)
                if last_attempt:
                    raise UpstreamHTTPError(
                        f"{url} answered HTTP {status} after {attempt + 1} attempts", status=status
                    )
                delay = self._retry_delay(response, attempt, url)
                log.warning("%s answered HTTP %d; retrying in %.1f s", url, status, delay)
                self._sleep(delay)
        raise AssertionError("unreachable: the retry loop always returns or raises")  # pragma: no cover

    def _wait_turn(self) -> None:
        """Sleep until request_interval has passed since the previous request of this process."""
        last = self._pacer.last_request_at
        if last is None:
            return
        interval = self._interval
        # Clamp to the interval: a clock that jumped (or a test clock) never makes us wait longer than asked.
        wait = min(interval, last + interval - self._clock())
        if wait > 0:
            self._sleep(wait)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff for attempt 0, 1, 2... capped by http_backoff_cap."""
        return float(min(self._settings.http_backoff_cap, BACKOFF_BASE * 2**attempt))

    def _retry_delay(self, response: httpx.Response, attempt: int, url: str) -> float:
        """How long to wait before retrying: Retry-After on 429/503 when given, else exponential backoff."""
        if response.status_code in _THROTTLE_STATUSES:
            after = parse_retry_after(response.headers.get("Retry-After"))
            if after is not None:
                cap = self._settings.http_backoff_cap
                if after > cap:
                    # Retrying sooner than asked would be rude, waiting longer than the cap would look hung.
                    raise UpstreamHTTPError(
                        f"{url} answered HTTP {response.status_code} asking to wait {after:.0f} s, "
                        f"more than http_backoff_cap ({cap:.0f} s)",
                        status=response.status_code,
                    )
                return after
        return self._backoff(attempt)


def _certificate_failure(exc: BaseException) -> str | None:
    """The reason, if ``exc`` (or what caused it) is a failed TLS certificate check."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLCertVerificationError):
            return str(cur.verify_message or cur.reason or cur)
        cur = cur.__cause__ or cur.__context__
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):  # httpx/httpcore may keep only the message
        return "certificate verify failed"
    return None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent/unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # HTTP dates are always GMT; parsedate_to_datetime leaves "-0000" naive.
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())
