"""The hf-daily job on a fake clock: a day's fetches, the final one the next day, catch-up after missed days
(resumed after a failure, nothing fetched twice), failures recorded as failed runs, and its queue of papers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from paperwire.config import Settings
from paperwire.jobs import Runner, job_states
from paperwire.jobs.builtin import shared_jobs
from paperwire.jobs.hf_daily import STATE, HfDailyJob, Schedule
from paperwire.sources.http import reset_pacing
from paperwire.store import Store
from tests.hf_replay import ArxivIds, HfLists, hf_items, items_naming

H4 = timedelta(hours=4)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def d(day: int, month: int = 11) -> date:
    return date(2026, month, day)


class Clock:
    """Wall time that moves only when told."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def _pacing() -> Iterator[None]:
    reset_pacing()
    yield
    reset_pacing()


@pytest.fixture
def s(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "hf_daily": True,
            "hf_daily_endpoint": "https://hf.replay.test/api/daily_papers",
            "hf_request_interval": 0.0,
            "http_max_retries": 0,
            "hf_daily_catchup_days": 3,
        }
    )


def lists_for(*days: date) -> dict[str, list[dict[str, object]]]:
    """A recorded list (each day another one) for each of ``days``."""
    recorded = ("2024-05-28", "2025-01-15", "2025-06-10", "2026-08-20")
    return {day.isoformat(): hf_items(recorded[n % 4]) for n, day in enumerate(days)}  # type: ignore[misc]


def job_over(
    s: Settings, store: Store, clock: Clock, hf: HfLists, arxiv: ArxivIds | None = None
) -> HfDailyJob:
    return HfDailyJob(
        s,
        store,
        now=clock,
        transport=httpx.MockTransport(hf),
        arxiv_transport=httpx.MockTransport(arxiv or ArxivIds()),
    )


# ---- the schedule, as a pure function of the clock -------------------------------------------------------


def test_a_day_is_fetched_when_it_begins_every_four_hours_and_once_after_it_ends() -> None:
    sched = Schedule()
    fetched: list[tuple[datetime, date]] = []
    now = at(27, 0, 10)
    while now < at(29, 12):
        for day in sched.due(now, H4, catchup_days=1):
            sched.fetched(day, now, now, catchup_days=1)
            fetched.append((now, day))
        now += timedelta(minutes=10)
    on_27 = [t for t, day in fetched if day == d(27)]
    assert on_27 == [at(27, h, 10) for h in (0, 4, 8, 12, 16, 20)] + [at(28, 4)]  # the last: final counts
    assert [t for t, day in fetched if day == d(28)][-1] == at(29, 4)
    assert (now, sched.done) == (at(29, 12), d(28))
    assert list(sched.open) == [d(29)]  # finished days are forgotten


def test_missed_days_are_due_oldest_first_after_today() -> None:
    sched = Schedule(done=d(20))
    assert sched.due(at(28, 12), H4, catchup_days=30) == [d(28), *[d(n) for n in range(21, 28)]]
    # yesterday's final fetch waits for four hours past midnight
    assert sched.due(at(28, 2), H4, catchup_days=30) == [d(28), *[d(n) for n in range(21, 27)]]


def test_catch_up_is_bounded() -> None:
    assert Schedule(done=date(2025, 1, 1)).due(at(28, 12), H4, catchup_days=3) == [d(28), d(25), d(26), d(27)]
    assert Schedule().due(at(28, 12), H4, catchup_days=1) == [d(28), d(27)]


def test_the_schedule_survives_its_text_and_an_unreadable_one_starts_anew() -> None:
    sched = Schedule()
    sched.fetched(d(27), at(27, 9), at(27, 9), catchup_days=2)
    again = Schedule.load(sched.dump())
    assert again == sched and again.done == d(24) and again.open == {d(27): (at(27, 9), False)}
    assert Schedule.load("{not json") == Schedule()
    assert Schedule.load(None) == Schedule()


# ---- the job, recorded by a runner ---------------------------------------------------------------------------


def test_the_job_fetches_catches_up_and_refetches_on_schedule(s: Settings, store: Store) -> None:
    clock = Clock(at(28, 0, 10))
    hf = HfLists(
        {**lists_for(d(25), d(26), d(27)), "2026-11-28": items_naming(["1605.08386", "1707.08567"], [3, 1])}
    )
    runner = Runner(store, [job_over(s, store, clock, hf)], name="w1")
    runner.run_until_idle()
    assert hf.asked == ["2026-11-28", "2026-11-25", "2026-11-26"]  # yesterday's final waits for 04:00
    run = store.last_job_runs()["hf-daily"]
    assert run.outcome == "ok" and run.counts["lists"] == 1
    assert store.count_papers() == 2  # today's list named papers the store lacked: fetched from arXiv
    assert store.listed_days() == [d(25), d(26), d(28)]

    clock.now = at(28, 1)
    runner.run_until_idle()
    assert len(hf.asked) == 3  # nothing due: nothing asked
    assert store.last_job_runs()["hf-daily"].counts == {"lists": 0, "observations": 0, "bad": 0}

    clock.now = at(28, 4, 10)
    runner.run_until_idle()
    assert hf.asked[3:] == ["2026-11-28", "2026-11-27"]
    history = store.signal_history("1605.08386")
    assert [h.observed_at for h in history] == [at(28, 0, 10), at(28, 4, 10)]  # a point per fetch

    clock.now = at(28, 4, 20)
    runner.run_until_idle()
    assert len(hf.asked) == 5
    saved = Schedule.load(store.get_checkpoint(STATE))
    assert saved.done == d(27) and list(saved.open) == [d(28)]


def test_a_catch_up_stopped_by_a_failure_resumes_where_it_stopped(s: Settings, store: Store) -> None:
    s = s.model_copy(update={"hf_daily_catchup_days": 30})
    store.set_checkpoint(STATE, Schedule(done=d(20)).dump())
    clock = Clock(at(28, 12))
    hf = HfLists(lists_for(*[d(n) for n in range(21, 29)]))
    broken = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal broken
        if request.url.params["date"] == "2026-11-23" and broken == 0:
            broken += 1
            hf.asked.append("2026-11-23")
            return httpx.Response(500)
        return hf(request)

    job = HfDailyJob(
        s,
        store,
        now=clock,
        transport=httpx.MockTransport(flaky),
        arxiv_transport=httpx.MockTransport(ArxivIds()),
    )
    Runner(store, [job], name="w1").run_until_idle()
    run = store.last_job_runs()["hf-daily"]
    assert run.outcome == "failed"
    assert "Hugging Face daily papers of 2026-11-23" in (run.error or "") and "HTTP 500" in (run.error or "")
    assert store.listed_days() == [d(21), d(22), d(28)]

    # the process died; another starts and picks up at the day that failed
    clock.now = at(28, 12, 5)
    job2 = HfDailyJob(
        s,
        store,
        now=clock,
        transport=httpx.MockTransport(hf),
        arxiv_transport=httpx.MockTransport(ArxivIds()),
    )
    Runner(store, [job2], name="w2").run_until_idle()
    assert store.last_job_runs()["hf-daily"].outcome == "ok"
    assert store.listed_days() == [d(n) for n in range(21, 29)]
    asked = Counter(hf.asked)
    assert asked["2026-11-23"] == 2 and all(asked[f"2026-11-{n}"] == 1 for n in (21, 22, 24, 25, 26, 27, 28))
    assert Schedule.load(store.get_checkpoint(STATE)).done == d(27)


def test_offline_each_turn_is_a_failed_run_with_a_clear_error_and_retries_back_off(
    s: Settings, store: Store
) -> None:
    clock = Clock(at(28, 9))
    hf = HfLists()
    hf.fail = 0  # connections refused
    runner = Runner(store, [job_over(s, store, clock, hf)], name="w1")
    job = runner.jobs[0]
    assert runner.run_job(job) is None
    run = store.last_job_runs()["hf-daily"]
    assert run.outcome == "failed"
    assert (run.error or "").startswith("SourceError: Hugging Face daily papers of 2026-11-28: ")
    assert "ConnectError" in (run.error or "")
    (state,) = [j for j in job_states(store, s, now=clock.now) if j.name == "hf-daily"]
    assert state.warning and "the last run failed" in state.warning
    asked = len(hf.asked)

    clock.now = at(28, 9, 0) + timedelta(seconds=30)
    assert runner.run_job(job) is None  # within the minute's wait: failed again, nothing sent
    assert len(hf.asked) == asked
    assert "next try after 2026-11-28 09:01:00 UTC" in (store.last_job_runs()["hf-daily"].error or "")

    clock.now = at(28, 9, 1)
    assert runner.run_job(job) is None  # tried, failed: the wait doubles
    assert len(hf.asked) == asked + 1
    clock.now = at(28, 9, 2) + timedelta(seconds=30)
    runner.run_job(job)
    assert len(hf.asked) == asked + 1  # still waiting (two minutes now)

    hf.fail = None  # the network is back
    clock.now = at(28, 9, 3)
    runner.run_until_idle()
    assert store.last_job_runs()["hf-daily"].outcome == "ok"
    assert d(28) in Schedule.load(store.get_checkpoint(STATE)).open


def test_arxiv_down_fails_the_run_but_keeps_the_list_and_retries_the_queue(s: Settings, store: Store) -> None:
    clock = Clock(at(28, 9))
    hf = HfLists({"2026-11-28": items_naming(["1605.08386", "1707.08567"], [3, 1])})
    arxiv = ArxivIds()
    arxiv.fail = 503
    runner = Runner(store, [job_over(s, store, clock, hf, arxiv)], name="w1")
    runner.run_until_idle()
    run = store.last_job_runs()["hf-daily"]
    assert (
        run.outcome == "failed"
        and "arXiv API" in (run.error or "")
        and "2 papers stay queued" in (run.error or "")
    )
    assert store.count_signals() == 2 and store.count_papers() == 0

    arxiv.fail = None
    clock.now = at(28, 9, 1) + timedelta(seconds=30)
    runner.run_until_idle()
    assert store.last_job_runs()["hf-daily"].outcome == "ok"
    assert store.count_papers() == 2 and store.papers_missing_for_signals() == []
    assert hf.asked.count("2026-11-28") == 1  # today's list was not fetched again for it


def test_the_job_runs_only_where_it_is_switched_on(s: Settings, store: Store) -> None:
    assert [j.name for j in shared_jobs(s, store, "w1")] == ["embed", "hf-daily"]
    off = s.model_copy(update={"hf_daily": False})
    assert [j.name for j in shared_jobs(off, store, "w1")] == ["embed"]
    assert Settings(load_sample=False).hf_daily is False  # the default: off (it needs the network)
    assert "hf-daily" in {j.name for j in job_states(store, s)}  # listed, as never run
