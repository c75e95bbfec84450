"""Observations and local counts as events: gains between observations, what a first observation counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np

from paperwire.store.columns import SignalColumns, local_columns, signal_columns
from paperwire.trending.events import (
    HF_UPVOTE,
    LOCAL_UPVOTE,
    SAVE,
    STAR,
    VIEW,
    PaperIds,
    local_events,
    observation_events,
)

T0 = datetime(2026, 3, 10, tzinfo=UTC)
SINCE = (T0 - timedelta(days=30)).timestamp()
CAP = 100.0


def row(
    pid: str,
    when: datetime,
    upvotes: int,
    stars: int | None = None,
    listed_on: date | None = None,
    source: str = "hf-daily",
) -> tuple[object, ...]:
    """A source and a row of it as the store reads them for signal_columns."""
    listed = listed_on.isoformat() if listed_on else None
    return (source, (pid, when.isoformat(), upvotes, -1 if stars is None else stars, listed))


def columns_of(rows: list[tuple[object, ...]]) -> SignalColumns:
    by_source: dict[str, list[tuple[object, ...]]] = {}
    for source, r in rows:
        by_source.setdefault(str(source), []).append(r)  # type: ignore[arg-type]
    return signal_columns(list(by_source.items()))


def events_of(rows: list[tuple[object, ...]]) -> list[tuple[str, str, float, float]]:
    """(paper, kind, hours after T0, n) of each event, in time order then kind."""
    papers = PaperIds()
    ev, _, _ = observation_events(columns_of(rows[::-1]), SINCE, papers, CAP)  # any order will do
    kinds = {HF_UPVOTE: "upvote", STAR: "star"}
    out = [
        (papers.ids[p], kinds[int(k)], (t - T0.timestamp()) / 3600, n)
        for p, t, k, n in zip(ev.paper, ev.t, ev.kind, ev.n, strict=True)
    ]
    return sorted(out, key=lambda e: (e[0], e[2], e[1]))


def test_upvotes_gained_between_observations_and_all_of_a_first_one() -> None:
    rows = [
        row("2603.00001", T0, 5),
        row("2603.00001", T0 + timedelta(hours=6), 12),
        row("2603.00001", T0 + timedelta(hours=12), 12),  # nothing gained: no event
        row("2603.00001", T0 + timedelta(hours=30), 10),  # two withdrawn
    ]
    assert events_of(rows) == [
        ("2603.00001", "upvote", 0.0, 5.0),
        ("2603.00001", "upvote", 6.0, 7.0),
        ("2603.00001", "upvote", 30.0, -2.0),
    ]


def test_a_baseline_before_the_window_is_where_gains_start_not_a_first_observation() -> None:
    rows = [
        row("2603.00001", T0 - timedelta(days=40), 100, stars=5000),  # signal_rows' baseline
        row("2603.00001", T0, 110, stars=5010),
    ]
    assert events_of(rows) == [("2603.00001", "star", 0.0, 10.0), ("2603.00001", "upvote", 0.0, 10.0)]


def test_a_first_observation_long_after_its_list_counts_at_the_end_of_the_listing_day() -> None:
    listed = date(2026, 3, 1)
    rows = [
        row("2603.00001", T0 + timedelta(hours=9), 40, listed_on=listed),  # a list caught up 9 days late
        row("2603.00002", T0 + timedelta(hours=9), 3, listed_on=T0.date()),  # fetched on its own day
    ]
    day_end = (datetime(2026, 3, 2, tzinfo=UTC) - T0).total_seconds() / 3600
    assert events_of(rows) == [("2603.00001", "upvote", day_end, 40.0), ("2603.00002", "upvote", 9.0, 3.0)]


def test_a_famous_repository_first_seen_counts_at_most_the_cap_then_only_its_gains() -> None:
    rows = [
        row("2603.00001", T0, 1, stars=80_000),
        row("2603.00001", T0 + timedelta(hours=1), 1, stars=80_050),
    ]
    assert events_of(rows) == [
        ("2603.00001", "star", 0.0, 100.0),
        ("2603.00001", "upvote", 0.0, 1.0),
        ("2603.00001", "star", 1.0, 50.0),
    ]


def test_stars_of_a_repository_linked_later_and_a_missing_count_in_between() -> None:
    rows = [
        row("2603.00001", T0, 2),
        row("2603.00001", T0 + timedelta(hours=1), 2),
        row(
            "2603.00001", T0 + timedelta(hours=2), 2, stars=40
        ),  # linked now: its first count (under the cap)
        row("2603.00001", T0 + timedelta(hours=3), 2, stars=None),  # no count this time: nothing
        row("2603.00001", T0 + timedelta(hours=4), 2, stars=45),  # +5 since the last count seen
        row("2603.00001", T0 + timedelta(hours=5), 2, stars=44),  # one unstarred
    ]
    assert events_of(rows) == [
        ("2603.00001", "upvote", 0.0, 2.0),
        ("2603.00001", "star", 2.0, 40.0),
        ("2603.00001", "star", 4.0, 5.0),
        ("2603.00001", "star", 5.0, -1.0),
    ]


def test_series_of_other_papers_and_sources_never_mix() -> None:
    rows = [
        row("2603.00001", T0, 10, stars=10),
        row("2603.00001", T0 + timedelta(hours=1), 2, source="other"),  # another source: its own series
        row("2603.00002", T0 + timedelta(hours=2), 3, stars=1),
    ]
    papers = PaperIds()
    ev, latest, times = observation_events(columns_of(rows), SINCE, papers, CAP)
    up = ev.kind == HF_UPVOTE
    assert sorted(zip([papers.ids[p] for p in ev.paper[up]], ev.n[up], strict=True)) == [
        ("2603.00001", 2.0),
        ("2603.00001", 10.0),
        ("2603.00002", 3.0),
    ]
    # the latest Hugging Face observation of each paper (the other source is not one)
    got = sorted(zip([papers.ids[p] for p in latest.paper], latest.upvotes, latest.stars, strict=True))
    assert got == [("2603.00001", 10.0, 10.0), ("2603.00002", 3.0, 1.0)]
    assert len(times) == 3


def test_no_rows_no_events() -> None:
    ev, latest, times = observation_events(signal_columns([]), SINCE, PaperIds(), CAP)
    assert len(ev) == 0 and len(latest.paper) == 0 and len(times) == 0


def test_local_counts_are_events_at_noon_of_their_day_withdrawals_negative() -> None:
    d = date(2026, 3, 9)
    papers = PaperIds()
    ev = local_events(
        local_columns(
            [
                ("2603.00001", "view", d.isoformat(), 7),
                ("2603.00001", "upvote", d.isoformat(), -1),
                ("2603.00002", "save", d.isoformat(), 2),
                ("2603.00002", "sneeze", d.isoformat(), 9),  # a kind this version does not know: left out
            ]
        ),
        papers,
    )
    noon = datetime(2026, 3, 9, 12, tzinfo=UTC).timestamp()
    assert list(ev.t) == [noon] * 3
    assert list(ev.kind) == [VIEW, LOCAL_UPVOTE, SAVE]
    assert list(ev.n) == [7.0, -1.0, 2.0]
    assert [papers.ids[p] for p in ev.paper] == ["2603.00001", "2603.00001", "2603.00002"]
    assert np.all(ev.paper >= 0)
