"""arXiv's announcement calendar, and when each subscriber's digest is due.

arXiv announces new papers at 20:00 US Eastern on Sunday to Thursday evenings, never on Friday or Saturday,
and skips the evenings of its published holidays. Each announcement is the *listing* of the next weekday:
Sunday evening's is Monday's listing, Thursday evening's is Friday's (the date arXiv's "new" pages and the
store's ``Paper.announced`` carry). A digest says which listing days it covers.

A subscriber's digest is due at their delivery hour in their own time zone (every day, or on one weekday),
and it covers every announcement made since the cut-off of their previous digest up to the moment it is due.
Windows are half-open, ``[since, due)``, so consecutive digests partition time: each announcement lands in
exactly one digest, none twice, none skipped.

Everything here is pure: the same inputs give the same answer on every machine, which is what lets two
senders agree on a digest's date (the delivery ledger's key).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from paperwire.errors import DigestPrefsError

Frequency = Literal["daily", "weekly"]
FREQUENCIES: tuple[Frequency, ...] = get_args(Frequency)

ET = ZoneInfo("America/New_York")
ANNOUNCE_TIME = time(20, 0, tzinfo=ET)  # 20:00 US Eastern, EST or EDT as the day has it
# weekday() numbers: Monday 0 ... Sunday 6; arXiv announces Sunday to Thursday evenings
ANNOUNCE_WEEKDAYS = frozenset({6, 0, 1, 2, 3})
DEFAULT_WEEKDAY = 5  # weekly digests on Saturday: in nearly every zone that falls after Thursday's
# announcement and before Sunday's, so a Saturday digest holds exactly one week's Monday-Friday listings

# Evenings (US Eastern dates) on which arXiv makes no announcement although the weekly pattern would.
# Source: arXiv's "Availability of submissions" page, section "On Deferred Mailings"
# (https://info.arxiv.org/help/availability.html, kept in github.com/arXiv/arxiv-docs as
# source/help/availability.md). Its 2025 list names the evenings without an announcement, e.g. "Sun 6 July"
# after Friday 4 July; December 2025 was "not yet scheduled" in the version we read. Its 2026 list names
# holidays, three of them Fridays (no announcement is made on a Friday anyway, so those entries change
# nothing here). 2027 is not published yet. Ad hoc deferrals (outages) are announced on status.arxiv.org and
# are not in any table: the delivery job's wait for the harvest covers them. Extend the table from a
# setting with ``AnnouncementCalendar.with_holidays`` / ``parse_holidays``.
ARXIV_HOLIDAYS: frozenset[date] = frozenset(
    {
        # 2025
        date(2025, 1, 1),  # Wed, New Year's Day
        date(2025, 1, 20),  # Mon, Martin Luther King Jr. Day
        date(2025, 6, 19),  # Thu, Juneteenth
        date(2025, 7, 6),  # Sun, after Independence Day (Fri 4 July)
        date(2025, 9, 1),  # Mon, Labor Day
        date(2025, 11, 27),  # Thu, Thanksgiving
        # 2026
        date(2026, 1, 1),  # Thu, New Year's Day
        date(2026, 1, 19),  # Mon, Martin Luther King Jr. Day
        date(2026, 6, 19),  # Fri, Juneteenth
        date(2026, 7, 3),  # Fri, Independence Day (observed)
        date(2026, 9, 7),  # Mon, Labor Day
        date(2026, 11, 26),  # Thu, Thanksgiving
        date(2026, 12, 25),  # Fri, Christmas
        date(2026, 12, 29),  # Tue
        date(2026, 12, 31),  # Thu
        # 2027: not published yet
    }
)

_SEARCH_DAYS = 366  # the longest stretch without an announcement we look across before calling it an error


@dataclass(frozen=True)
class AnnouncementCalendar:
    """The weekly pattern plus a holiday table: which evenings (US Eastern dates) arXiv announces on."""

    holidays: frozenset[date] = ARXIV_HOLIDAYS

    def with_holidays(self, extra: Iterable[date]) -> AnnouncementCalendar:
        """This calendar with more no-announcement evenings (from a setting, or a deferral arXiv posted)."""
        return AnnouncementCalendar(self.holidays | frozenset(extra))

    def is_announcement_day(self, d: date) -> bool:
        """Whether arXiv announces on the evening of ``d`` (a US Eastern date)."""
        return d.weekday() in ANNOUNCE_WEEKDAYS and d not in self.holidays


DEFAULT_CALENDAR = AnnouncementCalendar()


@lru_cache(maxsize=8)
def calendar_of(extra_holidays: str) -> AnnouncementCalendar:
    """arXiv's calendar with the holidays of a setting (``PAPERWIRE_ARXIV_HOLIDAYS``) added."""
    extra = parse_holidays(extra_holidays)
    return DEFAULT_CALENDAR.with_holidays(extra) if extra else DEFAULT_CALENDAR


def parse_holidays(text: str) -> frozenset[date]:
    """Dates from a setting: ISO dates separated by commas, spaces or newlines (``2027-01-01, 2027-01-18``)."""
    out: set[date] = set()
    for token in text.replace(",", " ").split():
        try:
            out.add(date.fromisoformat(token))
        except ValueError:
            raise DigestPrefsError(f"not a date: {token!r} (expected YYYY-MM-DD)") from None
    return frozenset(out)


def _aware(dt: datetime, name: str) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {dt.isoformat()}")
    return dt.astimezone(UTC)


def announcement_at(d: date) -> datetime:
    """The moment (aware, UTC) of the 20:00 US Eastern announcement on the evening of ``d``."""
    return datetime.combine(d, ANNOUNCE_TIME.replace(tzinfo=None), tzinfo=ET).astimezone(UTC)


def listing_day(announcement: datetime) -> date:
    """The listing date an announcement publishes: the US Eastern day after its evening."""
    return _aware(announcement, "announcement").astimezone(ET).date() + timedelta(days=1)


def is_announcement_day(d: date, *, calendar: AnnouncementCalendar = DEFAULT_CALENDAR) -> bool:
    """Whether arXiv announces on the evening of ``d`` (a US Eastern date)."""
    return calendar.is_announcement_day(d)


def announcements_between(
    start: datetime, end: datetime, *, calendar: AnnouncementCalendar = DEFAULT_CALENDAR
) -> list[datetime]:
    """The announcement moments in ``[start, end)``, oldest first, as aware UTC datetimes."""
    lo, hi = _aware(start, "start"), _aware(end, "end")
    if hi <= lo:
        return []
    out: list[datetime] = []
    d = lo.astimezone(ET).date() - timedelta(days=1)
    last = hi.astimezone(ET).date()
    while d <= last:
        if calendar.is_announcement_day(d):
            moment = announcement_at(d)
            if lo <= moment < hi:
                out.append(moment)
        d += timedelta(days=1)
    return out


def last_announcement(at: datetime, *, calendar: AnnouncementCalendar = DEFAULT_CALENDAR) -> datetime:
    """The latest announcement moment at or before ``at`` (aware UTC)."""
    at = _aware(at, "at")
    d = at.astimezone(ET).date()
    for _ in range(_SEARCH_DAYS):
        if calendar.is_announcement_day(d) and announcement_at(d) <= at:
            return announcement_at(d)
        d -= timedelta(days=1)
    raise ValueError(f"no announcement in the {_SEARCH_DAYS} days before {at.isoformat()}")


def next_announcement(at: datetime, *, calendar: AnnouncementCalendar = DEFAULT_CALENDAR) -> datetime:
    """The earliest announcement moment strictly after ``at`` (aware UTC)."""
    at = _aware(at, "at")
    d = at.astimezone(ET).date()
    for _ in range(_SEARCH_DAYS):
        if calendar.is_announcement_day(d) and announcement_at(d) > at:
            return announcement_at(d)
        d += timedelta(days=1)
    raise ValueError(f"no announcement in the {_SEARCH_DAYS} days after {at.isoformat()}")


def zone(tz: str) -> ZoneInfo:
    """The IANA time zone named ``tz``; DigestPrefsError names a bad one."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise DigestPrefsError(
            f"unknown time zone {tz[:64]!r}: use an IANA name such as Europe/Paris or America/New_York"
        ) from None


def check_hour(hour: int) -> int:
    """``hour`` if it is a delivery hour (0-23)."""
    if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
        raise DigestPrefsError(f"delivery hour must be 0-23, got {hour!r}")
    return hour


def check_weekday(weekday: int) -> int:
    """``weekday`` if it is one (0 Monday ... 6 Sunday)."""
    if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
        raise DigestPrefsError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
    return weekday


def check_frequency(frequency: str) -> Frequency:
    """``frequency`` if it is daily or weekly."""
    for f in FREQUENCIES:
        if frequency == f:
            return f
    raise DigestPrefsError(f"frequency must be daily or weekly, got {str(frequency)[:20]!r}")


def due_at(day: date, hour: int, tz: str) -> datetime:
    """The subscriber's delivery moment on local ``day`` at ``hour``:00 in ``tz``, as aware UTC.

    DST-correct: the offset is the one in force on that day. An hour the clocks skip (02:00 when they spring
    forward) is the moment the wall clock would have shown it, i.e. 03:00 new time; an hour that happens twice
    (when they fall back) is its first occurrence.
    """
    local = datetime.combine(day, time(check_hour(hour)), tzinfo=zone(tz))  # fold=0: see the docstring
    return local.astimezone(UTC)


def _slot_on_or_before(at: datetime, hour: int, tz: str, frequency: Frequency, weekday: int) -> datetime:
    """The latest delivery moment at or before ``at``."""
    d = at.astimezone(zone(tz)).date() + timedelta(days=1)  # a day ahead: DST quirks never skip a slot
    step = 1
    if frequency == "weekly":
        d -= timedelta(days=(d.weekday() - weekday) % 7)
        step = 7
    while (slot := due_at(d, hour, tz)) > at:
        d -= timedelta(days=step)
    return slot


def next_delivery(
    at: datetime, hour: int, tz: str, frequency: Frequency | str, *, weekday: int = DEFAULT_WEEKDAY
) -> datetime:
    """A subscriber's next delivery moment strictly after ``at`` (aware UTC): when their next digest falls due
    (it goes out then if arXiv announced something since their last one, or they asked for the note)."""
    freq, wd, at = check_frequency(frequency), check_weekday(weekday), _aware(at, "at")
    d = at.astimezone(zone(tz)).date() - timedelta(days=1)  # a day behind: DST quirks never skip a slot
    step = 1
    if freq == "weekly":
        d += timedelta(days=(wd - d.weekday()) % 7)
        step = 7
    while (slot := due_at(d, hour, tz)) <= at:
        d += timedelta(days=step)
    return slot


@dataclass(frozen=True)
class DueDigest:
    """One digest to send: its date (the ledger's key), its window, and the announcements it covers."""

    digest_date: date  # the subscriber's local date of ``due``: (subscriber, digest_date) is unique
    due: datetime  # when it fell due (aware UTC); also the window's end and the next digest's ``since``
    since: datetime  # the window's start (aware UTC): the previous digest's cut-off
    announcements: tuple[datetime, ...] = field(default=())  # moments in [since, due), oldest first

    @property
    def covers(self) -> list[date]:
        """The listing days the digest covers, oldest first (empty: arXiv announced nothing since)."""
        return [listing_day(a) for a in self.announcements]

    @property
    def quiet(self) -> bool:
        """No announcement in the window: no mail by default, or a short "nothing new" note."""
        return not self.announcements

    @property
    def awaits_listing(self) -> date | None:
        """The newest listing day the harvest must have brought before this digest is composed."""
        return listing_day(self.announcements[-1]) if self.announcements else None


def digest_due(
    last_sent: datetime | None,
    now: datetime,
    hour: int,
    tz: str,
    frequency: Frequency | str,
    *,
    weekday: int = DEFAULT_WEEKDAY,
    calendar: AnnouncementCalendar = DEFAULT_CALENDAR,
) -> DueDigest | None:
    """The digest due at ``now`` for a subscriber, or None when their latest one is already out.

    ``last_sent`` is the ``due`` of the subscriber's previous digest (store it in the ledger); a send time also
    works, being snapped back to the delivery moment it was sent for (so keep a send before the next one).
    None (a new subscriber): the first digest covers one period, as if the previous one had gone out.

    Catch-up: after downtime a subscriber gets ONE digest, dated the latest delivery moment that has passed,
    covering every announcement since their previous digest: nothing twice, nothing skipped. A quiet window
    (nothing announced: weekends, holidays) is returned with ``quiet`` set; when the delivery job sends
    nothing for it and records nothing, the next digest's window simply starts where this one did and says
    which days it covers. The result depends only on the arguments, so two senders compute the same digest
    date, and a ledger unique on (subscriber, digest_date) makes sending exactly-once.
    """
    freq = check_frequency(frequency)
    wd = check_weekday(weekday)
    now = _aware(now, "now")
    due = _slot_on_or_before(now, hour, tz, freq, wd)
    if last_sent is None:
        since = _slot_on_or_before(due - timedelta(seconds=1), hour, tz, freq, wd)
    else:
        since = _slot_on_or_before(_aware(last_sent, "last_sent"), hour, tz, freq, wd)
    if since >= due:
        return None
    return DueDigest(
        digest_date=due.astimezone(zone(tz)).date(),
        due=due,
        since=since,
        announcements=tuple(announcements_between(since, due, calendar=calendar)),
    )
