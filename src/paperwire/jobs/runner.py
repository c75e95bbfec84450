"""The runner: turns each job when it is due, records every run in the store, survives every failure."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence

from paperwire.jobs.base import Job, Outcome
from paperwire.store import JobStore

log = logging.getLogger("paperwire.jobs")


def runner_name() -> str:
    """host:pid:nonce: names this process's runs and claims (unique even when pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Runner:
    """Runs ``jobs`` in turn, each every ``job.every`` seconds, recording each run (J1).

    A job that raises is recorded as failed with its error, logged, and run again at its next turn; the
    runner itself never stops for a job's failure (J2). A job that says more work remains runs again at
    once, after the other due jobs had their turn.
    """

    def __init__(
        self,
        store: JobStore,
        jobs: Sequence[Job],
        name: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.jobs = list(jobs)
        self.name = name or runner_name()
        self.clock = clock
        self._next: dict[str, float] = {job.name: 0.0 for job in self.jobs}  # all due at start
        self._done_once: set[str] = set()

    def reap(self) -> int:
        """Mark abandoned the open runs of runners on this host whose process is gone (killed, out of
        memory): they would otherwise show as running for ever. Returns how many runs it closed."""
        host = socket.gethostname()
        closed = 0
        try:
            for runner in {r.runner for r in self.store.running_job_runs()}:
                r_host, _, rest = runner.partition(":")
                pid = rest.partition(":")[0]
                if r_host == host and pid.isdigit() and runner != self.name and not _alive(int(pid)):
                    closed += self.store.abandon_job_runs(runner)
        except Exception as exc:  # the store is down: the next start tries again
            log.warning("runner %s: looking for dead runners: %s", self.name, exc)
        return closed

    def due(self) -> list[Job]:
        """The jobs whose turn has come, in the order they were given."""
        now = self.clock()
        return [
            j
            for j in self.jobs
            if self._next[j.name] <= now and not (j.every <= 0 and j.name in self._done_once)
        ]

    def run_job(self, job: Job) -> Outcome | None:
        """One recorded run of ``job``; None when it failed (or could not even be recorded)."""
        started = self.clock()
        try:
            run_id = self.store.start_job_run(job.name, self.name)
        except Exception as exc:  # the store is down: nothing ran; try at the next turn
            log.warning("job %s not started: %s", job.name, exc)
            self._next[job.name] = started + max(job.every, 1.0)
            return None
        outcome: Outcome | None = None
        error: str | None = None
        try:
            outcome = job.run()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:2000]
            log.warning("job %s failed: %s", job.name, error, exc_info=not _expected(exc))
        try:
            if outcome is None:
                self.store.finish_job_run(run_id, "failed", {}, error)
            else:
                self.store.finish_job_run(run_id, "ok", outcome.counts, None)
        except Exception as exc:  # recorded as running; abandon() or the status page's age shows it
            log.warning("job %s: could not record its end: %s", job.name, exc)
        more = outcome is not None and outcome.more
        if not more:
            self._done_once.add(job.name)  # a job of every=0 is done once it has no more work
        self._next[job.name] = self.clock() if more else started + max(job.every, 0.0)
        return outcome

    def tick(self) -> int:
        """Run every due job once; returns how many ran."""
        jobs = self.due()
        for job in jobs:
            self.run_job(job)
        return len(jobs)

    def run_until_idle(self, max_turns: int = 10_000) -> None:
        """Turn the jobs until none has more work right now (``paperwire worker --once``)."""
        self.reap()
        for job in self.jobs:
            for _ in range(max_turns):
                out = self.run_job(job)
                if out is None or not out.more:
                    break

    def run_forever(self, stop: threading.Event) -> None:
        """Turn the jobs until ``stop`` is set."""
        self.reap()
        try:
            while not stop.is_set():
                self.tick()
                waits = [
                    self._next[j.name] - self.clock()
                    for j in self.jobs
                    if not (j.every <= 0 and j.name in self._done_once)
                ]
                if not waits:
                    return
                stop.wait(min(max(min(waits), 0.0), 60.0))
        finally:
            self.close()

    def close(self) -> None:
        """Give back this runner's claims and mark its unfinished runs abandoned."""
        for give_back in (self.store.abandon_job_runs, _release(self.store)):
            try:
                give_back(self.name)
            except Exception as exc:
                log.warning("runner %s: cleaning up: %s", self.name, exc)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # somebody else's process
    return True


def _release(store: JobStore) -> Callable[[str], object]:
    release = getattr(store, "release_claims", None)
    return release if release is not None else (lambda _name: None)


def _expected(exc: Exception) -> bool:
    from paperwire.errors import PaperwireError

    return isinstance(exc, PaperwireError)  # our own errors say what happened; others get a traceback
