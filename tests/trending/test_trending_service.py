"""Trending lists over a real store: windows, the floor, reasons, the daily list's orders, categories, the clock
past the data, and a snapshot recomputed only when something changed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from paperwire.config import Settings
from paperwire.errors import QueryError
from paperwire.jobs.trending import TrendingJob
from paperwire.models import LocalCount, Signal
from paperwire.store import Store
from paperwire.trending import Trending, service
from tests.conftest import make_paper
from tests.trending.conftest import NOW, Clock, seen

H = timedelta(hours=1)
D = timedelta(days=1)
TODAY = NOW.date()


def papers(store: Store, *ids: str, categories: tuple[str, ...] = ("cs.LG",)) -> None:
    store.upsert_papers([make_paper(pid, categories=categories) for pid in ids])


def ids(t: Trending, window: str = "week", **kw: object) -> list[str]:
    return [e.paper.id for e in t.list(window, limit=100, **kw).entries]  # type: ignore[arg-type]


def test_a_week_of_upvotes_and_stars_ranks_and_says_why(store: Store, trending: Trending) -> None:
    papers(store, "2611.00001", "2611.00002", "2611.00003", "2611.00004")
    store.upsert_signals(
        [
            # listed ten days ago; gained 42 upvotes and 120 stars this week
            seen("2611.00001", 10 * D, 5, stars=190),
            seen("2611.00001", 2 * D, 30, stars=250, listed_on=TODAY - 10 * D),
            seen("2611.00001", H, 47, stars=310, listed_on=TODAY - 10 * D),
            # a famous repository first seen yesterday: its stars count at most the cap (100)
            seen("2611.00002", D, 2, stars=80_000),
            seen("2611.00002", H, 3, stars=80_010, listed_on=TODAY - D),
            # three upvotes: under the floor (5 points)
            seen("2611.00003", 3 * H, 3),
            # fresh today
            seen("2611.00004", 2 * H, 25),
        ]
    )
    t = trending.list("week")
    assert not t.clock_past_data and t.as_of == NOW and t.newest_data == NOW - H
    assert [e.paper.id for e in t.entries] == ["2611.00001", "2611.00004", "2611.00002"]
    first = t.entries[0]
    assert first.reasons == ["+42 upvotes in 2 days", "310 GitHub stars, +120 this week"]
    assert (first.rank, first.upvotes, first.upvotes_gained, first.stars, first.stars_gained) == (
        1,
        47,
        42,
        310,
        120,
    )
    assert first.signal is not None and first.signal.github_stars == 310
    assert t.entries[1].reasons == ["+25 upvotes in 1 day"]
    famous = t.entries[2]  # 80,000 stars first seen count as 100: 20 points, decayed
    assert famous.stars_gained == 110  # 100 (the cap) + 10 since
    assert famous.reasons == ["+3 upvotes in 1 day", "80,010 GitHub stars, +110 this week"]
    assert t.total == 3
    assert "2611.00003" in ids(trending, "all")  # no floor all time

    by_upvotes = trending.list("week", sort="upvotes")
    assert [e.paper.id for e in by_upvotes.entries] == ["2611.00001", "2611.00004", "2611.00002"]
    assert ids(trending, sort="stars") == ["2611.00001", "2611.00002"]


def test_the_month_keeps_what_fell_out_of_the_week(store: Store, trending: Trending) -> None:
    papers(store, "2611.00001", "2611.00002")
    store.upsert_signals([seen("2611.00001", 12 * D, 80), seen("2611.00002", 2 * D, 20)])
    assert ids(trending, "week") == ["2611.00002"]
    month = trending.list("month")
    assert [e.paper.id for e in month.entries] == [
        "2611.00001",
        "2611.00002",
    ]  # 80 x 0.5^(12/7) > 20 x 0.5^(2/7)
    assert month.entries[0].reasons == ["+80 upvotes in 12 days"]


def test_local_upvotes_saves_and_views_count_withdrawals_subtract(store: Store, trending: Trending) -> None:
    papers(store, "2611.00001", "2611.00002")
    store.add_local_counts(
        [
            LocalCount("2611.00001", "upvote", TODAY - D, 2),
            LocalCount("2611.00001", "upvote", TODAY, -1),  # one withdrawn today
            LocalCount("2611.00001", "save", TODAY, 1),
            LocalCount("2611.00001", "view", TODAY, 30),
            LocalCount("2611.00002", "view", TODAY, 40),  # 4 points: under the floor
        ]
    )
    (e,) = trending.list("week").entries
    assert e.paper.id == "2611.00001"
    assert (e.local_upvotes, e.saves, e.views, e.upvotes, e.stars) == (1, 1, 30, None, None)
    assert e.reasons == ["+1 upvote here this week", "saved 1 time this week", "30 views here this week"]
    everything = trending.list("all")
    assert [x.paper.id for x in everything.entries] == ["2611.00001"]  # all time: upvotes only
    assert everything.entries[0].reasons == ["1 upvote here"]


def test_all_time_adds_local_upvotes_to_the_latest_hugging_face_count(
    store: Store, trending: Trending
) -> None:
    papers(store, "2611.00001", "2611.00002", "2611.00003")
    store.upsert_signals(
        [
            seen("2611.00001", 300 * D, 50),
            seen("2611.00001", 299 * D, 60),
            seen("2611.00002", 200 * D, 59),
            seen("2611.00003", 2 * D, 60),
        ]
    )
    store.add_local_counts([LocalCount("2611.00002", "upvote", TODAY - 100 * D, 2)])
    t = trending.list("all")
    assert [(e.paper.id, e.score) for e in t.entries] == [
        ("2611.00002", 61.0),
        ("2611.00003", 60.0),  # ties: the newer id first
        ("2611.00001", 60.0),
    ]
    assert t.entries[0].reasons == ["59 upvotes on Hugging Face", "2 upvotes here"]


def test_today_is_the_latest_daily_list_in_hugging_faces_order_or_arxivs(
    store: Store, trending: Trending
) -> None:
    at = datetime.combine(TODAY, datetime.min.time(), UTC)
    store.upsert_papers(
        [
            make_paper("2611.00005", announced=TODAY - D, categories=("cs.CV",)),
            make_paper("2611.00004", announced=TODAY - 2 * D),
            make_paper("2611.00003", announced=TODAY - D),
            make_paper("2611.00002", announced=TODAY - D),
            make_paper("2611.00001", announced=None),
            make_paper("2611.00009"),
        ]
    )
    store.upsert_signals(
        [
            seen("2611.00001", H, 10, listed_on=TODAY, listed_at=at + 8 * H),
            seen("2611.00002", H, 10, listed_on=TODAY, listed_at=at + 9 * H),
            seen("2611.00003", H, 10, listed_on=TODAY, listed_at=at + 9 * H),  # tie: the higher id first
            seen("2611.00004", H, 20, listed_on=TODAY, listed_at=at + 7 * H),
            seen("2611.00005", H, 1, listed_on=TODAY, listed_at=at + 10 * H),  # no floor on a daily list
            seen("2611.00006", H, 99, listed_on=TODAY),  # not in the store (yet): left out
            seen("2611.00009", D + H, 3, listed_on=TODAY - D),  # yesterday's list
        ]
    )
    t = trending.list("today")
    assert t.day == TODAY and t.sort == "upvotes" and t.total == 5
    assert [e.paper.id for e in t.entries] == [
        "2611.00004",
        "2611.00003",
        "2611.00002",
        "2611.00001",
        "2611.00005",
    ]
    assert t.entries[0].reasons == [f"20 upvotes on Hugging Face's list of {TODAY}"]
    assert ids(trending, "today", sort="announced") == [
        "2611.00004",
        "2611.00002",
        "2611.00003",
        "2611.00005",
        "2611.00001",  # undated last
    ]
    assert ids(trending, "today", sort="score")[0] == "2611.00004"
    assert ids(trending, "today", category="cs.CV") == ["2611.00005"]
    page = trending.list("today", limit=2, offset=2)
    assert [(e.rank, e.paper.id) for e in page.entries] == [(3, "2611.00002"), (4, "2611.00001")]
    assert ids(trending, "today", day=TODAY - D) == ["2611.00009"]
    none = trending.list("today", day=TODAY - 5 * D)
    assert none.entries == [] and none.total == 0 and none.day == TODAY - 5 * D


def test_categories_filter_every_window(store: Store, trending: Trending) -> None:
    papers(store, "2611.00001", categories=("cs.CV", "cs.LG"))
    papers(store, "2611.00002", categories=("math.CO",))
    store.upsert_signals([seen("2611.00001", H, 10), seen("2611.00002", H, 20)])
    assert ids(trending, category="cs.LG") == ["2611.00001"]  # a cross-list counts
    t = trending.list("week", category="math.co")
    assert t.category == "math.CO" and [e.paper.id for e in t.entries] == ["2611.00002"]
    assert ids(trending, "all", category="cs.CV") == ["2611.00001"]
    assert ids(trending, category="cs.AI") == []
    assert trending.list("week", category="").category is None


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"window": "year"}, "unknown window"),
        ({"window": "week", "sort": "announced"}, "unknown sort"),
        ({"window": "all", "sort": "score"}, "unknown sort"),
        ({"category": "not a category"}, "not an arXiv category"),
        ({"window": "week", "day": date(2026, 11, 1)}, "today window"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
def test_bad_requests_are_query_errors(trending: Trending, kw: dict[str, object], message: str) -> None:
    with pytest.raises(QueryError, match=message):
        trending.list(**kw)  # type: ignore[arg-type]


def test_when_the_clock_is_past_the_data_windows_end_at_the_newest_data(
    store: Store, trending: Trending, clock: Clock
) -> None:
    papers(store, "2611.00001", "2611.00002")
    old = NOW - 100 * D
    store.upsert_signals([seen("2611.00001", D, 30, now=old), seen("2611.00002", 0 * D, 12, now=old)])
    t = trending.list("week")
    assert t.clock_past_data and t.as_of == old and t.newest_data == old
    assert [e.paper.id for e in t.entries] == ["2611.00001", "2611.00002"]
    assert t.entries[0].reasons == ["+30 upvotes in 1 day"]
    assert trending.list("today").day == old.date()
    clock.now = old + 2 * D  # within trending_stale_days: now again
    trending.refresh()
    t = trending.list("week")
    assert not t.clock_past_data and t.as_of == old + 2 * D


def test_past_the_data_a_thin_tail_of_late_lists_does_not_empty_the_week(
    store: Store, trending: Trending
) -> None:
    end = NOW - 100 * D
    ids_ = [f"2611.{i:05d}" for i in range(1, 62)]
    papers(store, *ids_)
    signals = [seen(ids_[i], (i % 10) * D, 10 + i, now=end) for i in range(60)]  # six a day for ten days
    signals.append(seen(ids_[60], -9 * D, 50, now=end))  # one late straggler nine days on
    store.upsert_signals(signals)
    t = trending.list("week")
    assert t.clock_past_data and t.newest_data == end + 9 * D
    assert t.as_of == datetime.combine(
        end.date() + D, datetime.min.time(), UTC
    )  # the end of the last full day
    assert t.total == 42  # the seven days up to then, six papers each
    assert ids_[60] not in ids(trending)  # after the windows' end
    assert trending.list("today").day == end.date()


def test_the_snapshot_is_recomputed_only_when_signals_change_or_time_moves(
    store: Store, trending: Trending, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = []
    real = service.build

    def counting(*a: object, **kw: object) -> object:
        builds.append(1)
        return real(*a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "build", counting)
    papers(store, "2611.00001")
    store.upsert_signals([seen("2611.00001", H, 10)])
    first = trending.list("week")  # the first request computes
    assert len(builds) == 1 and first.total == 1
    assert trending.list("week") is first  # the same page, kept
    assert trending.refresh() is False and len(builds) == 1
    clock.now += timedelta(minutes=5)
    assert trending.refresh() is False  # the windows' end moved too little to matter
    store.upsert_signals([seen("2611.00001", timedelta(0), 15, now=clock.now)])
    assert trending.list("week") is first  # lists never recompute: the job does
    assert trending.refresh() is True and len(builds) == 2
    assert trending.list("week").entries[0].upvotes == 15
    clock.now += timedelta(minutes=11)
    assert trending.refresh() is True and len(builds) == 3
    assert trending.refresh(force=True) is True and len(builds) == 4
    store.add_local_counts([LocalCount("2611.00001", "view", TODAY, 1)])
    job = TrendingJob(trending, 30)
    assert job.run().counts == {"recomputed": 1, "papers": 1}
    assert job.run().counts == {"recomputed": 0}


def test_the_job_recomputes_at_most_once_per_interval_however_often_counts_are_written(
    store: Store, trending: Trending, clock: Clock
) -> None:
    papers(store, "2611.00001")
    store.upsert_signals([seen("2611.00001", H, 10)])
    job = TrendingJob(trending, 30, min_interval=300)
    assert job.run().counts["recomputed"] == 1
    for _ in range(9):  # a busy server: view counts written every 30 s
        clock.now += timedelta(seconds=30)
        store.add_local_counts([LocalCount("2611.00001", "view", TODAY, 1)])
        assert job.run().counts == {"recomputed": 0}
    clock.now += timedelta(seconds=30)  # 300 s since the last recomputation
    assert job.run().counts["recomputed"] == 1
    assert trending.list("week").entries[0].views == 9
    assert trending.refresh(force=True) is True  # force always recomputes


def test_popularity_is_all_time_points_and_zero_without_signals(store: Store, trending: Trending) -> None:
    store.upsert_signals(
        [seen("2611.00001", 400 * D, 12, stars=5000)]
    )  # stars are the repository's, not counted
    store.add_local_counts(
        [LocalCount("2611.00001", "save", TODAY, 1), LocalCount("2611.00002", "view", TODAY - 50 * D, 20)]
    )
    assert trending.popularity(["2611.00001", "2611.00002", "2611.00003"]) == {
        "2611.00001": 16.0,  # 12 upvotes + a save (4)
        "2611.00002": 2.0,  # 20 views (0.1 each)
        "2611.00003": 0.0,
    }


def test_papers_missing_from_the_store_are_never_listed(store: Store, trending: Trending) -> None:
    papers(store, "2611.00002")
    store.upsert_signals([seen("2611.00001", H, 90), seen("2611.00002", H, 9)])
    assert ids(trending) == ["2611.00002"]
    assert ids(trending, "all") == ["2611.00002"]


def test_an_empty_store_has_empty_lists(trending: Trending) -> None:
    for window in ("today", "week", "month", "all"):
        t = trending.list(window)
        assert t.entries == [] and t.total == 0 and not t.clock_past_data and t.newest_data is None
    assert trending.popularity(["2611.00001"]) == {"2611.00001": 0.0}


def test_signals_of_another_source_count_as_external_upvotes_but_not_as_the_latest(
    store: Store, trending: Trending
) -> None:
    papers(store, "2611.00001")
    store.upsert_signals([Signal("2611.00001", "elsewhere", NOW - H, upvotes=9)])
    (e,) = trending.list("week").entries
    assert e.upvotes is None and e.upvotes_gained == 9


def test_paperwire_makes_trending_on_first_use_and_search_reads_its_popularity(settings: Settings) -> None:
    from paperwire.app_context import open_paperwire
    from tests.embedders import HashEmbedder

    pw = open_paperwire(settings, HashEmbedder())
    try:
        assert pw._trending is None
        pw.store.upsert_signals([seen("2611.00001", H, 7)])
        assert pw.engine.popularity is not None
        assert pw.engine.popularity(["2611.00001", "2611.00002"]) == {"2611.00001": 7.0, "2611.00002": 0.0}
        assert pw.trending is pw.trending
    finally:
        pw.close()
