"""The arXiv harvest job: after each announcement (arXiv's calendar: digest/schedule.py), the OAI-PMH sets in
``arxiv_harvest_sets`` are harvested incrementally (harvest.py), so the digest finds the listing it covers. Off
by default (it needs the network); shared, and safe to run in several processes (upserts are idempotent)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from paperwire.config import Settings
from paperwire.digest.schedule import calendar_of, last_announcement
from paperwire.harvest import harvest_set
from paperwire.jobs.base import Outcome
from paperwire.store.base import Store

log = logging.getLogger(__name__)

FIRST_DAYS = 3  # a set never harvested starts this many days before the latest announcement


def harvest_sets(settings: Settings) -> list[str]:
    """The OAI-PMH sets the job harvests (none: the job is off)."""
    return [s.strip() for s in settings.arxiv_harvest_sets.split(",") if s.strip()]


class HarvestJob:
    """Harvests each configured set once per arXiv announcement, ``arxiv_harvest_delay_minutes`` after it."""

    name = "arxiv-harvest"
    shared = True

    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.every = settings.refresh_interval
        self.clock = clock
        self.transport = transport

    def run(self) -> Outcome:
        now = self.clock()
        delay = timedelta(minutes=self.settings.arxiv_harvest_delay_minutes)
        # the newest announcement arXiv's feed has had time to show
        announced = last_announcement(now - delay, calendar=calendar_of(self.settings.arxiv_holidays))
        counts = {"harvested": 0, "up_to_date": 0}
        for set_spec in harvest_sets(self.settings):
            mark = f"harvest-job:{set_spec}"
            if (self.store.get_checkpoint(mark) or "") >= announced.isoformat():
                counts["up_to_date"] += 1
                continue
            first = None
            if self.store.get_checkpoint(f"oai:arXiv:{set_spec}:from") is None:
                first = (announced - timedelta(days=FIRST_DAYS)).date().isoformat()
            report = harvest_set(
                self.store, self.settings, set_spec, from_date=first, transport=self.transport
            )
            self.store.set_checkpoint(mark, announced.isoformat())
            log.info("%s", report)
            counts["harvested"] += 1
        return Outcome(counts)
