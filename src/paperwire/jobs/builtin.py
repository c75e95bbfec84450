"""Today's jobs: embed papers that have no vector (shared), keep this process's indexes in step (local)."""

from __future__ import annotations

import time

from paperwire.config import Settings
from paperwire.embed import Embedder, get_embedder, vector_space
from paperwire.ingest import embed_pending
from paperwire.jobs.base import Job, Outcome
from paperwire.search.hybrid import SearchEngine
from paperwire.store import Store


class EmbedJob:
    """Embeds papers with no (or a stale) vector, a claimed batch a turn, newest papers first."""

    name = "embed"
    shared = True

    def __init__(
        self,
        settings: Settings,
        store: Store,
        holder: str,
        embedder: Embedder | None = None,
        batch: int = 64,  # a turn of the real model takes a few seconds: a stop never waits long
        lease_s: float = 900.0,
    ) -> None:
        self.settings = settings
        self.store = store
        self.holder = holder
        self.every = settings.refresh_interval
        self.batch = batch
        self.lease_s = lease_s
        self._embedder = embedder
        self.model = (
            embedder.name
            if embedder
            else vector_space(settings.embedding_model, settings.embedding_max_length)
        )
        # finding what waits scans the store (0.2 s at 75k papers): only when papers or vectors changed
        # since a turn found nothing, or a lease others held may have run out
        self._idle: tuple[tuple[int, str | None], float] | None = None

    def run(self) -> Outcome:
        sig = (self.store.max_seq(), self.store.vectors_stamp(self.model))
        if (
            self._idle is not None
            and self._idle[0] == sig
            and time.monotonic() - self._idle[1] < self.lease_s
        ):
            return Outcome({"embedded": 0})
        if self.store.count_pending_embeddings(self.model) == 0:
            self._idle = (sig, time.monotonic())
            return Outcome({"embedded": 0})
        self._embedder = self._embedder or get_embedder(self.settings)  # the model loads only when needed
        n = embed_pending(self.store, self._embedder, chunk=self.batch, limit=self.batch, holder=self.holder)
        if n == 0:  # what waits is claimed by another runner
            self._idle = (sig, time.monotonic())
        else:
            self._idle = None
        return Outcome({"embedded": n}, more=n == self.batch)


class RefreshIndexJob:
    """Brings this process's keyword and vector indexes up to the store: papers and vectors that any process
    (this server, a worker, a cron `paperwire ingest`) wrote become searchable."""

    name = "refresh-index"
    shared = False

    def __init__(self, engine: SearchEngine, every: float) -> None:
        self.engine = engine
        self.every = every

    def run(self) -> Outcome:
        # two index lookups: nothing is read while nothing changed (the engine's first refresh counts)
        c = self.engine.store.vector_cursor(self.engine.model_name)
        if self.engine.synced == (c.papers, c.vectors):
            return Outcome({"papers": 0, "vectors": 0})
        papers, vectors = self.engine.refresh()
        return Outcome({"papers": papers, "vectors": vectors})


def shared_jobs(settings: Settings, store: Store, holder: str, embedder: Embedder | None = None) -> list[Job]:
    """The store-wide jobs, as `paperwire worker` runs them."""
    jobs: list[Job] = [EmbedJob(settings, store, holder, embedder)]
    if settings.hf_daily:  # off by default: it needs the network
        from paperwire.jobs.hf_daily import HfDailyJob

        jobs.append(HfDailyJob(settings, store))
    if settings.arxiv_harvest_sets.strip():  # off by default too
        from paperwire.jobs.harvest import HarvestJob

        jobs.append(HarvestJob(settings, store))
    return jobs


def known_jobs() -> dict[str, float | None]:
    """Every job's name and how often it is due (None: as often as its process sets), for the status page."""
    return {
        "embed": None,
        "refresh-index": None,
        "hf-daily": None,
        "trending": None,
        "digest": None,
        "arxiv-harvest": None,
    }
