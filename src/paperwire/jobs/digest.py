"""The digest job: each turn sends the digests that are due (digest/deliver.py); any number of processes may
run it, the delivery ledger's claims make each digest go out once."""

from __future__ import annotations

from paperwire.app_context import Paperwire
from paperwire.digest.deliver import DigestSender
from paperwire.jobs.base import Outcome
from paperwire.mail import get_mailer


def digest_base_url(pw: Paperwire) -> str:
    """Where a digest's links point: base_url, else the serve address (a job has no request to ask)."""
    s = pw.settings
    return s.base_url or f"http://{s.host}:{s.port}"


class DigestJob:
    """Sends the digests due, every ``refresh_interval``."""

    name = "digest"
    shared = True

    def __init__(self, pw: Paperwire, holder: str) -> None:
        self.pw = pw
        self.every = pw.settings.refresh_interval
        self.holder = holder

    def run(self) -> Outcome:
        mailer = get_mailer(self.pw.settings)
        try:
            run = DigestSender(self.pw, mailer, digest_base_url(self.pw), holder=self.holder).send_due()
        finally:
            close = getattr(mailer, "close", None)
            if callable(close):
                close()
        return Outcome(run.counts())
