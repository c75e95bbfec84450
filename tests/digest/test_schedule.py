"""arXiv's announcement calendar and each subscriber's due digests: weekends, holidays, DST, catch-up."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperwire.digest.schedule import (
    ANNOUNCE_TIME,
    DEFAULT_CALENDAR,
    DigestPrefsError,
    DueDigest,
    announcement_at,
    announcements_between,
    calendar_of,
    digest_due,
    due_at,
    is_announcement_day,
    last_announcement,
    listing_day,
    next_announcement,
    next_delivery,
    parse_holidays,
)

NY = ZoneInfo("America/New_York")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_announce_time_is_20_eastern() -> None:
    assert ANNOUNCE_TIME.hour == 20 and ANNOUNCE_TIME.minute == 0
    assert ANNOUNCE_TIME.tzinfo == NY


def test_sunday_to_thursday_but_not_friday_or_saturday() -> None:
    week = [date(2026, 3, 1) + timedelta(days=i) for i in range(7)]  # Sun 1 Mar .. Sat 7 Mar
    assert [is_announcement_day(d) for d in week] == [True, True, True, True, True, False, False]


def test_announcement_moment_follows_us_dst() -> None:
    assert announcement_at(date(2026, 3, 5)) == utc(2026, 3, 6, 1)  # Thu 20:00 EST
    assert announcement_at(date(2026, 3, 8)) == utc(2026, 3, 9, 0)  # Sun 20:00 EDT (spring forward that day)
    assert announcement_at(date(2026, 10, 29)) == utc(2026, 10, 30, 0)  # Thu 20:00 EDT
    assert announcement_at(date(2026, 11, 1)) == utc(2026, 11, 2, 1)  # Sun 20:00 EST (fall back that day)


def test_listing_day_is_the_next_eastern_day() -> None:
    assert listing_day(announcement_at(date(2026, 3, 1))) == date(2026, 3, 2)  # Sunday evening: Monday's list
    assert listing_day(announcement_at(date(2026, 3, 5))) == date(2026, 3, 6)  # Thursday evening: Friday's


def test_a_week_has_five_announcements_in_half_open_windows() -> None:
    start = announcement_at(date(2026, 3, 1))
    end = announcement_at(date(2026, 3, 8))
    moments = announcements_between(start, end)
    assert [listing_day(m) for m in moments] == [date(2026, 3, d) for d in (2, 3, 4, 5, 6)]
    assert all(m.tzinfo is UTC for m in moments)
    assert start in moments and end not in moments  # [start, end)
    assert announcements_between(end, start) == []


def test_thanksgiving_shifts_the_cycle() -> None:
    assert not is_announcement_day(date(2025, 11, 27))
    wed = announcement_at(date(2025, 11, 26))
    moments = announcements_between(utc(2025, 11, 23), utc(2025, 11, 30, 12))
    assert [listing_day(m) for m in moments] == [date(2025, 11, d) for d in (24, 25, 26, 27)]
    assert next_announcement(wed) == announcement_at(date(2025, 11, 30))
    assert last_announcement(utc(2025, 11, 29, 12)) == wed


def test_sunday_after_independence_day_2025_is_skipped() -> None:
    thu = announcement_at(date(2025, 7, 3))
    assert next_announcement(thu) == announcement_at(date(2025, 7, 7))


def test_last_and_next_announcement_edges() -> None:
    a = announcement_at(date(2026, 3, 3))
    assert last_announcement(a) == a
    assert next_announcement(a) == announcement_at(date(2026, 3, 4))
    assert last_announcement(a - timedelta(seconds=1)) == announcement_at(date(2026, 3, 2))
    assert next_announcement(a - timedelta(seconds=1)) == a


def test_holiday_table_extends_from_a_setting() -> None:
    extra = parse_holidays("2027-01-01, 2027-01-18\n")
    cal = DEFAULT_CALENDAR.with_holidays(extra)
    assert is_announcement_day(date(2027, 1, 18))
    assert not is_announcement_day(date(2027, 1, 18), calendar=cal)
    assert calendar_of("2027-01-01, 2027-01-18\n") == cal and calendar_of("") is DEFAULT_CALENDAR
    # Monday 18 January 2027 off: Tuesday morning's digest covers nothing (the quiet window)
    at = datetime(2027, 1, 19, 12, 0, tzinfo=UTC)
    assert digest_due(None, at, 8, "UTC", "daily").covers == [date(2027, 1, 19)]  # type: ignore[union-attr]
    assert digest_due(None, at, 8, "UTC", "daily", calendar=cal).quiet  # type: ignore[union-attr]
    with pytest.raises(DigestPrefsError, match="not a date"):
        parse_holidays("2027-13-01")


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        announcements_between(datetime(2026, 3, 1), utc(2026, 3, 8))
    with pytest.raises(ValueError, match="timezone-aware"):
        digest_due(None, datetime(2026, 3, 1), 8, "UTC", "daily")


# --- the subscriber's delivery moment ---------------------------------------------------------------


def test_due_at_new_york_dst() -> None:
    assert due_at(date(2026, 3, 7), 8, "America/New_York") == utc(2026, 3, 7, 13)  # EST
    assert due_at(date(2026, 3, 8), 8, "America/New_York") == utc(2026, 3, 8, 12)  # EDT
    assert due_at(date(2026, 3, 8), 2, "America/New_York") == utc(2026, 3, 8, 7)  # skipped: 03:00 EDT
    assert due_at(date(2026, 11, 1), 1, "America/New_York") == utc(2026, 11, 1, 5)  # twice: the first (EDT)
    assert due_at(date(2026, 11, 1), 8, "America/New_York") == utc(2026, 11, 1, 13)  # EST


def test_due_at_paris_and_tokyo() -> None:
    assert due_at(date(2026, 3, 28), 8, "Europe/Paris") == utc(2026, 3, 28, 7)  # CET
    assert due_at(date(2026, 3, 29), 8, "Europe/Paris") == utc(2026, 3, 29, 6)  # CEST
    assert due_at(date(2026, 3, 29), 2, "Europe/Paris") == utc(2026, 3, 29, 1)  # skipped: 03:00 CEST
    assert due_at(date(2026, 10, 25), 2, "Europe/Paris") == utc(2026, 10, 25, 0)  # twice: the first (CEST)
    assert due_at(date(2026, 10, 25), 8, "Europe/Paris") == utc(2026, 10, 25, 7)
    for d in (date(2026, 1, 5), date(2026, 7, 5)):
        assert due_at(d, 8, "Asia/Tokyo") == datetime.combine(
            d - timedelta(days=1), datetime.min.time(), UTC
        ) + timedelta(hours=23)


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "", "../../etc/passwd", "America"])
def test_invalid_time_zone_is_a_clear_error(tz: str) -> None:
    with pytest.raises(DigestPrefsError, match="unknown time zone"):
        due_at(date(2026, 3, 1), 8, tz)


@pytest.mark.parametrize("hour", [-1, 24, True])
def test_invalid_hour(hour: int) -> None:
    with pytest.raises(DigestPrefsError, match="hour"):
        due_at(date(2026, 3, 1), hour, "UTC")


def test_invalid_frequency_and_weekday() -> None:
    with pytest.raises(DigestPrefsError, match="frequency"):
        digest_due(None, utc(2026, 3, 4), 8, "UTC", "hourly")
    with pytest.raises(DigestPrefsError, match="weekday"):
        digest_due(None, utc(2026, 3, 4), 8, "UTC", "weekly", weekday=7)


# --- due digests ------------------------------------------------------------------------------------


def run(
    tz: str, hour: int, frequency: str, start: datetime, end: datetime, step: timedelta, weekday: int = 5
) -> list[DueDigest]:
    """A scheduler ticking every ``step`` that sends every due digest (quiet ones too) and records its due."""
    out: list[DueDigest] = []
    last: datetime | None = start
    now = start
    while now <= end:
        due = digest_due(last, now, hour, tz, frequency, weekday=weekday)
        if due is not None:
            out.append(due)
            last = due.due
        now += step
    return out


def assert_partition(digests: list[DueDigest]) -> None:
    for a, b in pairwise(digests):
        assert b.since == a.due  # no gap, no overlap
    seen = Counter(m for d in digests for m in d.announcements)
    assert all(n == 1 for n in seen.values())
    if digests:
        assert sorted(seen) == announcements_between(digests[0].since, digests[-1].due)


def test_paris_daily_week() -> None:
    start = due_at(date(2026, 3, 1), 8, "Europe/Paris")  # Sunday
    digests = run("Europe/Paris", 8, "daily", start, start + timedelta(days=7), timedelta(hours=1))
    assert [d.digest_date for d in digests] == [date(2026, 3, d) for d in range(2, 9)]
    assert [d.covers for d in digests] == [
        [date(2026, 3, 2)],  # Mon: Sunday evening's announcement
        [date(2026, 3, 3)],
        [date(2026, 3, 4)],
        [date(2026, 3, 5)],
        [date(2026, 3, 6)],  # Fri: Thursday evening's
        [],  # Sat: quiet
        [],  # Sun: quiet
    ]
    assert digests[5].quiet and digests[5].awaits_listing is None
    assert digests[0].awaits_listing == date(2026, 3, 2)
    assert_partition(digests)


def test_quiet_days_unsent_make_the_next_digest_cover_them() -> None:
    # Friday's digest went out; nothing was recorded for the quiet weekend; Monday's covers Sunday's listing
    fri = due_at(date(2026, 3, 6), 8, "Europe/Paris")
    mon = digest_due(fri, utc(2026, 3, 9, 9), 8, "Europe/Paris", "daily")
    assert mon is not None
    assert mon.since == fri and mon.digest_date == date(2026, 3, 9)
    assert mon.covers == [date(2026, 3, 9)]


@pytest.mark.parametrize(
    ("tz", "hour"),
    [
        ("America/New_York", 7),
        ("America/New_York", 21),
        ("Europe/Paris", 2),
        ("Europe/Paris", 8),
        ("Asia/Tokyo", 9),
        ("Asia/Tokyo", 10),
    ],
)
def test_dst_changes_cover_every_announcement_once(tz: str, hour: int) -> None:
    # March: US springs forward on the 8th, Europe on the 29th; October/November: Europe on 25 Oct, US 1 Nov
    for first, last in ((date(2026, 3, 1), date(2026, 4, 5)), (date(2026, 10, 18), date(2026, 11, 8))):
        start = due_at(first, hour, tz)
        end = due_at(last, hour, tz)
        digests = run(tz, hour, "daily", start, end, timedelta(minutes=30))
        assert len(digests) == (last - first).days
        assert_partition(digests)
        assert [d.digest_date for d in digests] == [
            first + timedelta(days=i + 1) for i in range(len(digests))
        ]


def test_tokyo_at_10_moves_with_us_dst() -> None:
    # 10:00 JST is 01:00 UTC: the EDT announcement (00:00 UTC) is already out, the EST one (01:00 UTC) is not
    tue_est = digest_due(
        due_at(date(2026, 3, 2), 10, "Asia/Tokyo"), utc(2026, 3, 3, 2), 10, "Asia/Tokyo", "daily"
    )
    tue_edt = digest_due(
        due_at(date(2026, 3, 9), 10, "Asia/Tokyo"), utc(2026, 3, 10, 2), 10, "Asia/Tokyo", "daily"
    )
    assert tue_est is not None and tue_edt is not None
    assert tue_est.covers == [date(2026, 3, 2)]  # Sunday evening's, announced at 01:00 UTC Monday
    assert tue_edt.covers == [date(2026, 3, 10)]  # Monday evening's, out at 00:00 UTC Tuesday


def test_catch_up_after_a_three_day_outage() -> None:
    tz, hour = "Europe/Paris", 8
    tue = due_at(date(2026, 3, 3), hour, tz)
    # the scheduler was down from Tuesday's send until Friday noon
    one = digest_due(tue, utc(2026, 3, 6, 12), hour, tz, "daily")
    assert one is not None
    assert one.digest_date == date(2026, 3, 6)
    assert one.since == tue
    assert one.covers == [date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 6)]
    # computed again (a second sender, a retry): the same digest, and once it is recorded nothing more
    assert digest_due(tue, utc(2026, 3, 6, 12, 30), hour, tz, "daily") == one
    assert digest_due(one.due, utc(2026, 3, 6, 13), hour, tz, "daily") is None
    # the days it covers are exactly those the uninterrupted schedule would have sent on Wed, Thu and Fri
    normal = run(tz, hour, "daily", tue, one.due, timedelta(hours=1))
    assert [c for d in normal for c in d.covers] == one.covers


def test_first_digest_covers_one_period() -> None:
    d = digest_due(None, utc(2026, 3, 4, 12), 8, "Europe/Paris", "daily")
    assert d is not None
    assert d.since == due_at(date(2026, 3, 3), 8, "Europe/Paris")
    assert d.covers == [date(2026, 3, 4)]


def test_a_send_time_snaps_back_to_its_delivery_moment() -> None:
    due = due_at(date(2026, 3, 4), 8, "Europe/Paris")
    assert (
        digest_due(due + timedelta(minutes=7), due + timedelta(hours=2), 8, "Europe/Paris", "daily") is None
    )
    nxt = digest_due(due + timedelta(minutes=7), due + timedelta(days=1), 8, "Europe/Paris", "daily")
    assert nxt is not None and nxt.since == due


def test_weekly_on_saturday_covers_the_week() -> None:
    start = due_at(date(2026, 2, 28), 8, "Europe/Paris")
    digests = run("Europe/Paris", 8, "weekly", start, start + timedelta(days=21), timedelta(hours=6))
    assert [d.digest_date for d in digests] == [date(2026, 3, 7), date(2026, 3, 14), date(2026, 3, 21)]
    assert digests[0].covers == [date(2026, 3, d) for d in (2, 3, 4, 5, 6)]
    assert_partition(digests)


def test_weekly_on_monday_and_its_catch_up() -> None:
    mon = due_at(date(2026, 3, 2), 7, "America/New_York")
    late = digest_due(mon, utc(2026, 3, 20), 7, "America/New_York", "weekly", weekday=0)
    assert late is not None
    assert late.digest_date == date(2026, 3, 16)  # the latest Monday that has passed: one digest, not two
    assert late.covers[0] == date(2026, 3, 3) and late.covers[-1] == date(2026, 3, 16)
    assert len(late.covers) == 10


ZONES = [
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/Paris",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Asia/Kolkata",
]


# a subscriber's delivery slot, and a moment, as the property tests draw them
SLOT = {
    "tz": st.sampled_from(ZONES),
    "hour": st.integers(0, 23),
    "frequency": st.sampled_from(["daily", "weekly"]),
    "weekday": st.integers(0, 6),
}
MOMENT = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 6, 1), timezones=st.just(UTC))


@settings(max_examples=60, deadline=None)
@given(
    **SLOT,
    start=MOMENT,
    gaps=st.lists(st.integers(min_value=10, max_value=6 * 24 * 60), min_size=1, max_size=25),
    record_quiet=st.booleans(),
)
def test_due_digests_partition_time(
    tz: str, hour: int, frequency: str, weekday: int, start: datetime, gaps: list[int], record_quiet: bool
) -> None:
    """However irregular the scheduler's ticks (outages included), consecutive digests never overlap and
    never leave a gap, and every announcement lands in exactly one."""
    last: datetime | None = None
    now = start
    sent: list[DueDigest] = []
    for minutes in gaps:
        now += timedelta(minutes=minutes)
        due = digest_due(last, now, hour, tz, frequency, weekday=weekday)
        assert due == digest_due(last, now, hour, tz, frequency, weekday=weekday)  # deterministic
        if due is None:
            continue
        assert due.since < due.due <= now
        assert due.digest_date == due.due.astimezone(ZoneInfo(tz)).date()
        if due.quiet and not record_quiet:
            continue  # nothing sent, nothing recorded: the next one starts at the same place
        if sent:
            assert due.since == sent[-1].due
        sent.append(due)
        last = due.due
    assert_partition(sent)


@settings(max_examples=80, deadline=None)
@given(**SLOT, at=MOMENT)
def test_the_next_delivery_is_the_next_moment_a_digest_falls_due(
    tz: str, hour: int, frequency: str, weekday: int, at: datetime
) -> None:
    """What the status page says comes next: a digest sent up to ``at`` is not due again before
    ``next_delivery(at)``, and is due at that very moment, dated that day where the subscriber lives."""
    nxt = next_delivery(at, hour, tz, frequency, weekday=weekday)
    assert at < nxt <= at + timedelta(days=8)
    local = nxt.astimezone(ZoneInfo(tz))
    assert local.hour == hour or local.dst() != (local - timedelta(hours=2)).dst()  # a skipped hour: moved
    if frequency == "weekly":
        assert local.weekday() == weekday
    last = digest_due(None, at, hour, tz, frequency, weekday=weekday)
    assert last is not None
    assert digest_due(last.due, nxt - timedelta(seconds=1), hour, tz, frequency, weekday=weekday) is None
    due = digest_due(last.due, nxt, hour, tz, frequency, weekday=weekday)
    assert due is not None and due.due == nxt and due.digest_date == local.date()
