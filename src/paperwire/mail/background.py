"""Mail that leaves from a thread of its own: a page that sends mail (a sign-in link, a subscription's
confirmation) answers at once, and in the same time whether or not a mail goes out (A1, M8)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from paperwire.mail import Mailer

log = logging.getLogger(__name__)


class MailThread:
    """One worker thread running mail work in order; ``flush`` waits for what was handed over so far."""

    def __init__(self, mailer: Mailer, name: str) -> None:
        self.mailer = mailer
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"paperwire-{name}")
        self._pending: list[Future[object]] = []
        self._lock = threading.Lock()

    def submit(self, work: Callable[..., object], *args: object) -> None:
        """Run ``work(*args)`` on the mail thread; what it raises is logged, never seen by the page."""

        def guarded() -> object:
            try:
                return work(*args)
            except Exception:
                log.exception("mail work %s failed", getattr(work, "__name__", work))
                return None

        with self._lock:
            self._pending = [f for f in self._pending if not f.done()]
            self._pending.append(self._pool.submit(guarded))

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until the work handed over so far is done."""
        with self._lock:
            pending, self._pending = self._pending, []
        wait(pending, timeout=timeout)

    def close(self) -> None:
        """Finish what is pending, stop the thread, close the mailer's connection (SMTP keeps one open)."""
        self.flush()
        self._pool.shutdown(wait=True)
        close = getattr(self.mailer, "close", None)
        if callable(close):
            close()


class MailRequestLimits:
    """How often a page may be asked to mail an address: per target address and per client (A1, M8)."""

    def __init__(self, per_address_hour: int, per_client_hour: int) -> None:
        from paperwire.web.security import TokenBucket  # the same token buckets as the site's rate limit

        self.per_address = TokenBucket(per_address_hour / 60, per_address_hour)
        self.per_client = TokenBucket(per_client_hour / 60, max(1, per_client_hour // 2))

    def take(self, client: str, address: str, what: str) -> None:
        """Count one request, or RateLimitedError saying when to come back."""
        from paperwire.errors import RateLimitedError

        for bucket, key in ((self.per_client, client), (self.per_address, address)):
            wait_s = bucket.take(key)
            if wait_s > 0:
                raise RateLimitedError(
                    f"too many {what}: try again in {int(wait_s) // 60 + 1} min", int(wait_s) + 1
                )
