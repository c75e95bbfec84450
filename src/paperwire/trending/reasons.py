"""Why a paper is on a trending list, in words: one short reason a line, as a card shows them."""

from __future__ import annotations

import math
from datetime import date


def reasons(
    window: str,
    *,
    upvotes: int | None,
    upvotes_gained: int,
    gained_over_days: float | None,
    stars: int | None,
    stars_gained: int | None,
    views: int,
    local_upvotes: int,
    saves: int,
    day: date | None = None,
) -> list[str]:
    """The reasons of one card. ``gained_over_days``: how long ago the window's first upvote gain came."""
    period = {"week": "this week", "month": "this month", "today": "this week"}.get(window, "")
    out = []
    if window == "all":
        if upvotes:
            out.append(f"{_n(upvotes, 'upvote')} on Hugging Face")
        if local_upvotes > 0:
            out.append(f"{_n(local_upvotes, 'upvote')} here")
        return out
    if window == "today":
        if upvotes is not None and day is not None:
            out.append(f"{_n(upvotes, 'upvote')} on Hugging Face's list of {day.isoformat()}")
    elif upvotes_gained > 0:
        days = max(1, math.ceil(gained_over_days or 0))
        out.append(f"+{_n(upvotes_gained, 'upvote')} in {_n(days, 'day')}")
    if stars or stars_gained:  # a repository with no stars yet is no reason
        gain = f", +{stars_gained:,} {period}" if stars_gained and stars_gained > 0 else ""
        out.append(f"{_n(stars or 0, 'GitHub star')}{gain}")
    if local_upvotes > 0:
        out.append(f"+{_n(local_upvotes, 'upvote')} here {period}")
    if saves > 0:
        out.append(f"saved {_n(saves, 'time')} {period}")
    if views > 0:
        out.append(f"{_n(views, 'view')} here {period}")
    return out


def _n(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if abs(n) == 1 else "s")
