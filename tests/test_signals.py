"""Daily lists into a real store: history kept, papers the store lacks fetched from arXiv or kept queued."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import pytest

from paperwire.config import Settings
from paperwire.errors import UpstreamHTTPError
from paperwire.signals import SignalReport, fetch_missing_papers, ingest_days, ingest_signal_file
from paperwire.sources.http import reset_pacing
from paperwire.store import Store
from tests.conftest import make_paper
from tests.hf_replay import HF, ArxivIds, HfLists, items_naming

MORNING = datetime(2026, 8, 20, 6, 0, 5, tzinfo=UTC)
EVENING = datetime(2026, 8, 20, 18, 0, 9, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _pacing() -> Iterator[None]:
    reset_pacing()
    yield
    reset_pacing()


@pytest.fixture
def s(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "hf_daily_endpoint": "https://hf.replay.test/api/daily_papers",
            "hf_request_interval": 0.0,
            "http_max_retries": 0,
        }
    )


def test_a_later_fetch_adds_a_point_of_history(s: Settings, store: Store) -> None:
    hf = HfLists()
    day = date(2026, 8, 20)
    first = ingest_days(store, s, [day], transport=httpx.MockTransport(hf), now=lambda: MORNING)
    assert (first.lists, first.observations, first.skipped) == (1, 15, 0)
    hf.lists["2026-08-20"][0]["paper"].update(upvotes=131, githubStars=170)  # the evening: more of both
    ingest_days(store, s, [day], transport=httpx.MockTransport(hf), now=lambda: EVENING)
    history = store.signal_history("2608.16590")
    assert [(h.observed_at, h.upvotes, h.github_stars) for h in history] == [
        (MORNING, 92, 152),
        (EVENING, 131, 170),
    ]
    assert {h.listed_on for h in history} == {day}
    assert store.count_signals() == 30
    assert store.latest_signals(["2608.16590"])["2608.16590"].upvotes == 131
    assert len(store.daily_list(day)) == 15 and store.listed_days() == [day]
    # the same fetch again (same second) is the same point, not a third
    ingest_days(store, s, [day], transport=httpx.MockTransport(hf), now=lambda: EVENING)
    assert store.count_signals() == 30


def test_a_file_ingested_twice_changes_nothing(store: Store) -> None:
    path = HF / "daily_papers_2025-06-10.json"
    assert ingest_signal_file(store, path).observations == 28
    ingest_signal_file(store, path)
    assert store.count_signals() == 28
    (point,) = store.signal_history("2506.07900")
    assert point.observed_at == datetime(2025, 6, 10, 23, 59, tzinfo=UTC)


def test_a_failure_mid_range_keeps_the_days_before_it(s: Settings, store: Store) -> None:
    hf = HfLists()
    calls = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return hf(request) if calls < 2 else httpx.Response(500)

    report = SignalReport()
    with pytest.raises(UpstreamHTTPError):
        ingest_days(
            store,
            s,
            [date(2025, 1, 15), date(2025, 1, 16)],
            report=report,
            transport=httpx.MockTransport(flaky),
        )
    assert report.lists == 1 and store.listed_days() == [date(2025, 1, 15)]


def test_papers_the_store_lacks_are_fetched_and_unknown_ones_stay_queued(s: Settings, store: Store) -> None:
    store.upsert_papers([make_paper("0808.05394")])  # already here: not asked for
    hf = HfLists(
        {"2026-11-27": items_naming(["1605.08386", "1707.08567", "0808.05394", "2611.99999"], [9, 5, 3, 1])}
    )
    report = ingest_days(store, s, [date(2026, 11, 27)], transport=httpx.MockTransport(hf))
    assert report.observations == 4
    assert set(store.papers_missing_for_signals()) == {"1605.08386", "1707.08567", "2611.99999"}
    arxiv = ArxivIds()
    fetch_missing_papers(store, s, report, transport=httpx.MockTransport(arxiv))
    assert sorted(arxiv.asked[0]) == ["1605.08386", "1707.08567", "2611.99999"]
    assert report.papers_new == 2 and report.not_on_arxiv == ["2611.99999"] and report.queued == 1
    assert store.get_paper("1605.08386").title == "Heat-bath random walks with Markov bases"  # type: ignore[union-attr]
    assert store.papers_missing_for_signals() == ["2611.99999"]  # never dropped: asked again next time
    assert store.signal_history("2611.99999")[0].upvotes == 1


def test_arxiv_down_keeps_the_queue_for_the_next_run(s: Settings, store: Store) -> None:
    hf = HfLists({"2026-11-27": items_naming(["1605.08386", "1707.08567"], [4, 2])})
    report = ingest_days(store, s, [date(2026, 11, 27)], transport=httpx.MockTransport(hf))
    arxiv = ArxivIds()
    arxiv.fail = 0
    fetch_missing_papers(store, s, report, transport=httpx.MockTransport(arxiv))
    assert report.fetch_error is not None and "ConnectError" in report.fetch_error
    assert (report.papers_new, report.queued) == (0, 2)
    assert store.count_signals() == 2  # the observations are in regardless
    arxiv.fail = None
    again = fetch_missing_papers(store, s, SignalReport(), transport=httpx.MockTransport(arxiv))
    assert (again.papers_new, again.queued, again.fetch_error) == (2, 0, None)


def test_the_queue_is_worked_a_hundred_ids_a_request(s: Settings, store: Store) -> None:
    ids = [f"2611.{n:05d}" for n in range(1, 251)]
    hf = HfLists({"2026-11-27": items_naming(ids, [1] * len(ids))})
    report = ingest_days(store, s, [date(2026, 11, 27)], transport=httpx.MockTransport(hf))
    arxiv = ArxivIds()
    progress: list[tuple[int, int]] = []
    fetch_missing_papers(
        store,
        s,
        report,
        transport=httpx.MockTransport(arxiv),
        on_progress=lambda n, t: progress.append((n, t)),
    )
    assert [len(a) for a in arxiv.asked] == [100, 100, 50]
    assert progress == [(100, 250), (200, 250), (250, 250)]
    assert report.queued == 250 and len(report.not_on_arxiv) == 250


def test_two_lists_fetched_within_a_second_stay_two_points(s: Settings, store: Store) -> None:
    same = items_naming(["2611.00001"], [5])
    hf = HfLists({"2026-11-26": same, "2026-11-27": items_naming(["2611.00001"], [8])})
    days = [date(2026, 11, 26), date(2026, 11, 27)]
    ingest_days(store, s, days, transport=httpx.MockTransport(hf), now=lambda: MORNING)  # a frozen clock
    history = store.signal_history("2611.00001")
    assert [(h.listed_on, h.upvotes, h.observed_at.second) for h in history] == [
        (days[0], 5, 5),
        (days[1], 8, 6),
    ]
