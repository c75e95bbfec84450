"""The job runner: every run recorded (J1), failures recorded and survived (J2), shared work done once (J3)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from paperwire.config import Settings
from paperwire.jobs import Outcome, Runner, job_states
from paperwire.jobs.builtin import EmbedJob, RefreshIndexJob
from paperwire.search.hybrid import SearchEngine
from paperwire.store import Store
from tests.conftest import make_paper, store_at
from tests.embedders import HashEmbedder


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counting:
    """A job that counts its runs and fails while ``fail`` is set."""

    shared = True

    def __init__(self, name: str, every: float = 10.0) -> None:
        self.name, self.every, self.runs, self.fail = name, every, 0, False

    def run(self) -> Outcome:
        self.runs += 1
        if self.fail:
            raise RuntimeError("disk full")
        return Outcome({"things": self.runs})


def test_every_run_is_recorded_with_its_counts(store: Store) -> None:
    job = Counting("count")
    Runner(store, [job], name="r1").tick()
    last = store.last_job_runs()["count"]
    assert (last.outcome, last.counts, last.runner, last.error) == ("ok", {"things": 1}, "r1", None)
    assert last.finished is not None


def test_a_failing_job_is_recorded_survived_and_retried_at_its_next_turn(store: Store) -> None:
    clock = Clock()
    bad, good = Counting("bad"), Counting("good")
    bad.fail = True
    runner = Runner(store, [bad, good], name="r1", clock=clock)
    assert runner.tick() == 2  # the other job still ran
    run = store.last_job_runs()["bad"]
    assert run.outcome == "failed" and run.error == "RuntimeError: disk full"
    assert store.last_job_runs()["good"].outcome == "ok"
    assert runner.tick() == 0  # not due again before its interval
    clock.now += 10
    bad.fail = False
    assert runner.tick() == 2
    assert store.last_job_runs()["bad"].outcome == "ok" and bad.runs == 2


def test_the_status_warns_about_failed_abandoned_and_late_jobs(store: Store, settings: Settings) -> None:
    from datetime import UTC, datetime, timedelta

    states = {s.name: s for s in job_states(store, settings)}
    assert states["embed"].last is None and states["embed"].warning is None  # never ran, nothing waits
    waiting = {s.name: s for s in job_states(store, settings, waiting={"embed": 1200})}
    assert "never run, and 1,200 items wait for it" in (waiting["embed"].warning or "")
    bad = Counting("embed")
    bad.fail = True
    Runner(store, [bad], name="r").tick()
    states = {s.name: s for s in job_states(store, settings)}
    assert states["embed"].warning == "the last run failed: RuntimeError: disk full"
    bad.fail = False
    Runner(store, [bad], name="r").tick()
    later = datetime.now(UTC) + timedelta(seconds=3 * settings.refresh_interval + 61)
    assert "late: no run for" in (job_states(store, settings, now=later)[0].warning or "")
    store.start_job_run("embed", "dead-runner")
    assert store.abandon_job_runs("dead-runner") == 1
    states = {s.name: s for s in job_states(store, settings)}
    assert "abandoned" in (states["embed"].warning or "")


def test_stopping_a_runner_abandons_its_open_runs(store: Store) -> None:
    started = threading.Event()
    release = threading.Event()

    class Slow:
        name, every, shared = "slow", 1.0, True

        def run(self) -> Outcome:
            started.set()
            release.wait(10)
            raise KeyboardInterrupt  # the process is being stopped mid-run

    runner = Runner(store, [Slow()], name="r-slow")

    def run() -> None:
        with pytest.raises(KeyboardInterrupt):
            runner.run_forever(threading.Event())

    t = threading.Thread(target=run)
    t.start()
    assert started.wait(10)
    assert store.last_job_runs()["slow"].outcome == "running"
    release.set()
    t.join(10)
    assert store.last_job_runs()["slow"].outcome == "abandoned"


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.lock = threading.Lock()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        with self.lock:
            self.texts.extend(texts)
        return super().embed_batch(texts)


def test_two_runners_embed_each_paper_once(store: Store, settings: Settings) -> None:
    """J3 on every backend: two workers (threads with their own connections) share the batches."""
    store.upsert_papers([make_paper(f"2501.{i:05d}", title=f"paper {i}") for i in range(1, 301)])
    emb = CountingEmbedder()
    stores = [store_at(settings) for _ in range(2)]
    runners = [
        Runner(s, [EmbedJob(settings, s, f"w{k}", emb, batch=16)], name=f"w{k}") for k, s in enumerate(stores)
    ]
    threads = [threading.Thread(target=r.run_until_idle) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert store.count_pending_embeddings(emb.name) == 0
    assert len(emb.texts) == 300  # nothing embedded twice
    runs = {s.name: s for s in job_states(store, settings)}
    assert runs["embed"].last is not None and runs["embed"].last.outcome == "ok"
    for s in stores:
        s.close()


def test_the_refresh_job_picks_up_what_another_process_wrote(
    store: Store, settings: Settings, tmp_path: object
) -> None:
    emb = HashEmbedder()
    engine = SearchEngine(settings, store, emb)
    engine.refresh()
    job = RefreshIndexJob(engine, every=1)
    assert job.run().counts == {"papers": 0, "vectors": 0}
    other = store_at(settings)  # a cron ingest in another process
    other.upsert_papers([make_paper("2501.00042", title="Quantum walks on hypergraphs")])
    assert job.run().counts["papers"] == 1
    assert [h.paper.id for h in engine.search("hypergraphs", mode="keyword").hits] == ["2501.00042"]
    EmbedJob(settings, other, "w", emb).run()  # a worker embeds it
    assert job.run().counts["vectors"] == 1
    assert [h.paper.id for h in engine.search("quantum walks hypergraphs", mode="semantic").hits][:1] == [
        "2501.00042"
    ]
    # re-embedding a changed text keeps the count; the refresh still sees it
    other.upsert_papers(
        [make_paper("2501.00042", version=2, title="Quantum walks on hypergraphs", abstract="New.")]
    )
    job.run()
    EmbedJob(settings, other, "w", emb).run()
    assert job.run().counts["vectors"] == 1
    other.close()


def test_a_starting_runner_closes_the_runs_of_dead_runners_on_its_host(store: Store) -> None:
    import socket
    import subprocess
    import sys

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    gone = f"{socket.gethostname()}:{int(dead.stdout)}:abc123"  # a worker killed mid-run (its pid is gone)
    store.start_job_run("embed", gone)
    elsewhere = "another-host:1:abc123"  # can't tell from here: left alone
    store.start_job_run("harvest", elsewhere)
    Runner(store, [Counting("other")], name="r-new").run_until_idle()
    last = store.last_job_runs()
    assert last["embed"].outcome == "abandoned" and last["harvest"].outcome == "running"
