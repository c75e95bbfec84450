"""What the status page and `paperwire status` say about background jobs: last run, failures, lateness (J2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from paperwire.config import Settings
from paperwire.store import JobRun, JobStore

JOBS = ("embed", "refresh-index", "hf-daily", "trending")  # every job; the next issues add harvests, digests
BY_HAND = (
    "digest-send",
)  # runs of commands (cron, by hand): their cadence is not ours to know, never "late"


@dataclass(frozen=True)
class JobState:
    """One job as the status page shows it."""

    name: str
    last: JobRun | None
    warning: str | None  # why it needs attention: failed, abandoned, late; None when fine

    def as_json(self) -> dict[str, object]:
        r = self.last
        return {
            "job": self.name,
            "last_outcome": r.outcome if r else None,
            "last_runner": r.runner if r else None,
            "last_started": r.started.isoformat() if r else None,
            "last_finished": r.finished.isoformat() if r and r.finished else None,
            "last_counts": r.counts if r else {},
            "last_error": r.error if r else None,
            "warning": self.warning,
        }


def job_states(
    store: JobStore, settings: Settings, now: datetime | None = None, waiting: dict[str, int] | None = None
) -> list[JobState]:
    """Each job's last run and whether it needs attention: its last run failed or was abandoned, it has not
    run for three of its intervals (plus a minute) although it ran before, or it never ran while work waits
    for it (``waiting``: job name -> how much)."""
    now = now or datetime.now(UTC)
    last = store.last_job_runs()
    late_after = 3 * settings.refresh_interval + 60
    out = []
    for name in sorted(set(JOBS) | set(last)):
        run = last.get(name)
        warning = None
        if run is None and (waiting or {}).get(name):
            warning = (
                f"never run, and {(waiting or {})[name]:,} items wait for it: is a `paperwire worker` running "
                "(or a server without --no-jobs)?"
            )
        if run is not None:
            age = (now - run.started).total_seconds()
            if run.outcome == "failed":
                warning = f"the last run failed: {run.error}"
            elif run.outcome == "abandoned":
                warning = "the last run was abandoned: its process stopped before the run ended"
            elif run.outcome == "running" and settings.refresh_interval > 0 and age > late_after:
                warning = (
                    f"still running after {_ago(age)}: its process may have died (a runner starting on "
                    "its host marks it abandoned)"
                )
            elif settings.refresh_interval > 0 and age > late_after and name not in BY_HAND:
                warning = f"late: no run for {_ago(age)} (due every {settings.refresh_interval:g} s)"
        out.append(JobState(name, run, warning))
    return out


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
