"""The trending job: a serving process recomputes its trending snapshot in the background, not on requests."""

from __future__ import annotations

from paperwire.jobs.base import Outcome
from paperwire.trending import Trending


class TrendingJob:
    """Recomputes this process's trending snapshot when signals were written (by any process) or its windows'
    end moved; otherwise a turn costs two small reads."""

    name = "trending"
    shared = False  # each server keeps its own snapshot

    def __init__(self, trending: Trending, every: float, min_interval: float = 0.0) -> None:
        self.trending = trending
        self.every = every
        self.min_interval = (
            min_interval  # a server flushing view counts every few seconds recomputes this often
        )

    def run(self) -> Outcome:
        if not self.trending.refresh(min_interval=self.min_interval):
            return Outcome({"recomputed": 0})
        return Outcome({"recomputed": 1, "papers": len(self.trending.snapshot().ids)})
