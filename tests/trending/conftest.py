"""Trending over a real store (SQLite or PostgreSQL, as the suite runs) at a clock the test sets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from paperwire.config import Settings
from paperwire.models import Signal
from paperwire.store import Store
from paperwire.trending import Trending

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def trending(store: Store, settings: Settings, clock: Clock) -> Trending:
    return Trending(store, settings, clock)


def seen(
    pid: str,
    ago: timedelta,
    upvotes: int,
    stars: int | None = None,
    listed_on: date | None = None,
    listed_at: datetime | None = None,
    now: datetime = NOW,
) -> Signal:
    """A Hugging Face observation ``ago`` before ``now`` (listed that day unless told otherwise)."""
    when = now - ago
    return Signal(
        pid,
        "hf-daily",
        when,
        upvotes=upvotes,
        github_repo=f"https://github.com/example/{pid}" if stars is not None else None,
        github_stars=stars,
        listed_on=listed_on or when.date(),
        listed_at=listed_at,
    )
