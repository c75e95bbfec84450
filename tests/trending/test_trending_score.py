"""The decayed score on crafted events: half-lives, windows, a spike against steady interest, ties."""

from __future__ import annotations

import numpy as np
import pytest

from paperwire.config import Settings
from paperwire.trending.events import DAY, HF_UPVOTE, LOCAL_UPVOTE, SAVE, STAR, VIEW, Events
from paperwire.trending.score import rank, weights, window_stats

REF = 1_800_000_000.0
W = weights(Settings(load_sample=False))


def events(*items: tuple[int, float, int, float]) -> Events:
    """(paper, days before REF, kind, n) each."""
    return Events(
        np.array([i[0] for i in items], dtype=np.int64),
        np.array([REF - i[1] * DAY for i in items]),
        np.array([i[2] for i in items], dtype=np.int64),
        np.array([i[3] for i in items], dtype=np.float64),
    )


def test_the_default_weights() -> None:
    assert list(W) == [1.0, 0.2, 0.1, 3.0, 4.0]  # hf upvote, star, view, local upvote, save


def test_an_event_counts_half_after_one_half_life_a_quarter_after_two() -> None:
    ev = events((0, 0.0, HF_UPVOTE, 8), (1, 2.0, HF_UPVOTE, 8), (2, 4.0, HF_UPVOTE, 8))
    w = window_stats(ev, 3, REF, 7, 2.0, W)
    assert w.score == pytest.approx([8.0, 4.0, 2.0])
    assert list(w.points) == [8.0, 8.0, 8.0]  # the floor's measure is not decayed


def test_each_kind_counts_by_its_weight() -> None:
    ev = events(
        (0, 0, HF_UPVOTE, 10), (1, 0, STAR, 10), (2, 0, VIEW, 10), (3, 0, LOCAL_UPVOTE, 10), (4, 0, SAVE, 10)
    )
    w = window_stats(ev, 5, REF, 7, 2.0, W)
    assert w.score == pytest.approx([10.0, 2.0, 1.0, 30.0, 40.0])
    assert w.gained[:, 0] == pytest.approx([10, 0, 0, 0, 0])


def test_the_window_holds_its_span_and_events_after_the_reference_count_as_at_it() -> None:
    ev = events((0, 8.0, HF_UPVOTE, 10), (1, 6.9, HF_UPVOTE, 10), (2, -1.0, HF_UPVOTE, 10))
    week = window_stats(ev, 3, REF, 7, 2.0, W)
    month = window_stats(ev, 3, REF, 30, 7.0, W)
    assert week.points[0] == 0 and week.score[0] == 0  # eight days old: out of the week
    assert month.score[0] == pytest.approx(10 * 0.5 ** (8 / 7))
    assert week.score[2] == pytest.approx(10.0)  # a day "in the future": as at the reference, never more


def test_steady_interest_beats_an_old_spike_a_fresh_spike_beats_both() -> None:
    steady = [(0, float(d), HF_UPVOTE, 10) for d in range(6)]  # 10 a day for six days: 60
    old_spike = [(1, 5.5, HF_UPVOTE, 60)]  # 60 at once, five and a half days ago
    fresh_spike = [(2, 0.5, HF_UPVOTE, 60)]  # 60 at once, half a day ago
    w = window_stats(events(*steady, *old_spike, *fresh_spike), 3, REF, 7, 2.0, W)
    assert list(w.points) == [60.0, 60.0, 60.0]
    assert list(rank(w.score)) == [2, 0, 1]
    assert w.first_upvote[0] == REF - 5 * DAY


def test_withdrawals_are_negative_events() -> None:
    w = window_stats(events((0, 1, LOCAL_UPVOTE, 2), (0, 0, LOCAL_UPVOTE, -1)), 1, REF, 7, 2.0, W)
    assert w.gained[LOCAL_UPVOTE, 0] == 1
    assert w.points[0] == pytest.approx(3.0)
    assert w.score[0] == pytest.approx(3 * 2 * 0.5**0.5 - 3)


def test_ties_go_to_the_next_key_in_order() -> None:
    score = np.array([5.0, 7.0, 5.0, 5.0])
    points = np.array([9.0, 1.0, 9.0, 12.0])
    newer = np.array([0.0, 1.0, 2.0, 3.0])
    assert list(rank(score, points, newer)) == [1, 3, 2, 0]
