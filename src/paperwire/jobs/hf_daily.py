"""The hf-daily job: Hugging Face's daily papers list, fetched on a schedule, missed days caught up.

The schedule, for each day D (UTC):

- while D lasts: its list is fetched at the job's first turn of the day (arXiv announces at 00:00 or 01:00
  UTC; Hugging Face's list fills from then on) and again every ``hf_daily_refetch_interval`` (4 h), as the
  upvotes grow;
- once more, for the final counts, ``hf_daily_refetch_interval`` after D ended;
- a day missed (the job was off, or failing) gets that final fetch when the job next runs, back to
  ``hf_daily_catchup_days`` ago.

Which days are finished is kept in the store (checkpoint ``hf-daily:schedule``): a restarted or other worker
fetches nothing twice needlessly, and a catch-up stopped mid-way (a crash, the network) resumes at the day it
stopped at; a turn fetches one day, so a stop never waits long. A crash between storing a list and saving the
schedule fetches that day once more (another point of history, harmless). Each fetched list's papers that the
store lacks are then fetched from the arXiv API (signals.fetch_missing_papers).

A failure (no network) fails the run with the error, shown by `paperwire status`; the job tries again after a
minute, doubling the wait up to the refetch interval, and fails each turn in between with the same error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx

from paperwire.config import Settings
from paperwire.errors import PaperwireError, SourceError
from paperwire.jobs.base import Outcome
from paperwire.signals import SignalReport, dated_after, fetch_missing_papers, hf_client, store_list
from paperwire.sources.hf_daily import day_bounds, fetch_daily_list
from paperwire.store import Store

log = logging.getLogger("paperwire.jobs")

STATE = "hf-daily:schedule"
QUEUE_PER_TURN = 500  # queued papers fetched from arXiv in one turn (5 requests)
FIRST_RETRY_S = 60.0


@dataclass
class Schedule:
    """Which daily lists are finished, and when the open ones were last fetched."""

    done: date | None = None  # every day up to this one is finished (or older than the catch-up reaches)
    open: dict[date, tuple[datetime, bool]] = field(default_factory=dict)  # day -> (last fetch, final?)

    @classmethod
    def load(cls, text: str | None) -> Schedule:
        """The schedule as saved (an unreadable one starts anew: the worst is a day fetched again)."""
        try:
            raw = json.loads(text) if text else {}
            return cls(
                date.fromisoformat(raw["done"]) if raw.get("done") else None,
                {
                    date.fromisoformat(d): (datetime.fromisoformat(v["at"]), bool(v["final"]))
                    for d, v in raw.get("open", {}).items()
                },
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("hf-daily: unreadable schedule %r (%s); starting anew", text, exc)
            return cls()

    def dump(self) -> str:
        """The schedule as saved."""
        return json.dumps(
            {
                "done": self.done.isoformat() if self.done else None,
                "open": {
                    d.isoformat(): {"at": at.isoformat(), "final": final}
                    for d, (at, final) in sorted(self.open.items())
                },
            }
        )

    def due(self, now: datetime, refetch: timedelta, catchup_days: int) -> list[date]:
        """The days whose list should be fetched now: today first, then past days oldest first."""
        today = now.astimezone(UTC).date()
        first = today - timedelta(days=catchup_days)
        if self.done is not None:
            first = max(first, self.done + timedelta(days=1))
        out: list[date] = []
        day = first
        while day <= today:
            last = self.open.get(day)
            if day == today:
                if last is None or now - last[0] >= refetch:
                    out.insert(0, day)
            elif not (last and last[1]) and now >= day_bounds(day)[1] + refetch:
                out.append(day)
            day += timedelta(days=1)
        return out

    def fetched(self, day: date, at: datetime, now: datetime, catchup_days: int) -> None:
        """Note a fetch of ``day``'s list made at ``at`` (final once the day is over), then forget finished
        days."""
        self.open[day] = (at, at >= day_bounds(day)[1])
        first = now.astimezone(UTC).date() - timedelta(days=catchup_days)
        done = self.done if self.done is not None and self.done >= first else first - timedelta(days=1)
        while (nxt := done + timedelta(days=1)) in self.open and self.open[nxt][1]:
            done = nxt
        self.done = done
        self.open = {d: v for d, v in self.open.items() if d > done}


class HfDailyJob:
    """Fetches Hugging Face's daily papers lists on the schedule above, and the papers they name."""

    name = "hf-daily"
    shared = True

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        transport: httpx.BaseTransport | None = None,  # Hugging Face's (tests)
        arxiv_transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.every = settings.refresh_interval
        self.now = now
        self.transport = transport
        self.arxiv_transport = arxiv_transport
        self.refetch = timedelta(seconds=settings.hf_daily_refetch_interval)
        self._last: datetime | None = None  # when this job's last list was observed
        self._queue_at: datetime | None = None  # when the queue of missing papers is next worked (None: now)
        self._failures = 0
        self._retry_at: datetime | None = None
        self._failure = ""

    def run(self) -> Outcome:
        now = self.now()
        if self._retry_at is not None and now < self._retry_at:
            raise SourceError(f"{self._failure} (next try after {self._retry_at:%Y-%m-%d %H:%M:%S} UTC)")
        try:
            outcome = self._turn(now)
        except PaperwireError as exc:
            self._failures += 1
            wait = min(FIRST_RETRY_S * 2 ** (self._failures - 1), self.refetch.total_seconds())
            self._retry_at = now + timedelta(seconds=wait)
            self._failure = str(exc)
            raise
        self._failures = 0
        self._retry_at = None
        return outcome

    def _turn(self, now: datetime) -> Outcome:
        catchup = self.settings.hf_daily_catchup_days
        schedule = Schedule.load(self.store.get_checkpoint(STATE))
        due = schedule.due(now, self.refetch, catchup)
        report = SignalReport()
        if due:
            day = due[0]
            try:
                with hf_client(self.settings, self.transport) as client:
                    daily = dated_after(fetch_daily_list(client, self.settings, day, self.now), self._last)
            except SourceError as exc:
                raise SourceError(f"Hugging Face daily papers of {day}: {exc}") from exc
            store_list(self.store, daily, report)
            self._last = daily.observed_at
            for bad in daily.bad[:20]:
                log.warning("hf-daily: the list of %s: skipped %s", day, bad)
            schedule.fetched(day, daily.observed_at, now, catchup)
            self.store.set_checkpoint(STATE, schedule.dump())
            self._queue_at = None  # the list may name papers the store lacks
        more_queued = False
        counts = {"lists": 0, "observations": 0, "bad": 0}
        if self._queue_at is None or now >= self._queue_at:
            fetch_missing_papers(
                self.store, self.settings, report, limit=QUEUE_PER_TURN, transport=self.arxiv_transport
            )
            if report.fetch_error:
                raise SourceError(
                    f"arXiv API: {report.fetch_error}; {report.queued} papers stay queued for the next try"
                )
            # papers came and more wait: go on next turn; else ids arXiv lacks for now are asked again later
            more_queued = report.papers_new > 0 and report.queued > 0
            self._queue_at = None if more_queued else now + self.refetch
            counts.update(papers_new=report.papers_new, queued=report.queued)  # only when looked at
        counts.update(lists=report.lists, observations=report.observations, bad=report.skipped)
        return Outcome(counts, more=len(due) > 1 or more_queued)
