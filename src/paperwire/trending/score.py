"""The trending score (README "Trending"), pure and vectorised over every paper at once.

    score(paper) = sum over the paper's events e in the window of  weight[kind e] x n_e x 0.5 ^ (age_e / half-life)

Exponential decay of each event rather than Hacker News' gravity on the item's age, (P - 1) / (T + 2)^1.8: with
an exponential, two papers' order changes only when one of them gains something (their scores shrink by the
same factor as time passes), which is Reddit's "hot" (log10 of the votes plus the time) written as a sum, and
the GitHub "stars today" of its trending page with a soft edge instead of a cut at midnight. A paper is listed
only when its undecayed points in the window reach the floor (settings.trending_min_points): a couple of
upvotes on a quiet day are noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from paperwire.config import Settings
from paperwire.trending.events import DAY, HF_UPVOTE, KINDS, LOCAL_UPVOTE, SAVE, STAR, VIEW, Events


def weights(settings: Settings) -> np.ndarray:
    """Points per unit of each kind of event, indexed like KINDS."""
    w = np.zeros(len(KINDS))
    w[HF_UPVOTE] = settings.trending_weight_hf_upvote
    w[STAR] = settings.trending_weight_star
    w[VIEW] = settings.trending_weight_view
    w[LOCAL_UPVOTE] = settings.trending_weight_local_upvote
    w[SAVE] = settings.trending_weight_save
    return w


@dataclass
class WindowStats:
    """Each paper's standing in one window (arrays indexed by paper)."""

    span_days: float
    half_life_days: float
    score: np.ndarray  # decayed points
    points: np.ndarray  # undecayed points: what the floor compares
    gained: np.ndarray  # [kind, paper]: n of each kind in the window (net of withdrawals)
    first_upvote: np.ndarray  # the earliest Hugging Face upvote gain in the window (Unix s; +inf: none)


def window_stats(
    events: Events, n_papers: int, ref: float, span_days: float, half_life_days: float, w: np.ndarray
) -> WindowStats:
    """Score every paper on the events of the ``span_days`` before ``ref`` (and any after it, as of ``ref``)."""
    m = events.t >= ref - span_days * DAY
    paper, t, kind, n = events.paper[m], events.t[m], events.kind[m], events.n[m]
    age = np.maximum(ref - t, 0.0) / DAY
    pts = w[kind] * n
    score = np.bincount(paper, weights=pts * np.exp2(-age / half_life_days), minlength=n_papers)
    points = np.bincount(paper, weights=pts, minlength=n_papers)
    gained = np.bincount(kind * n_papers + paper, weights=n, minlength=len(KINDS) * n_papers)
    first = np.full(n_papers, np.inf)
    up = (kind == HF_UPVOTE) & (n > 0)
    np.minimum.at(first, paper[up], t[up])
    return WindowStats(span_days, half_life_days, score, points, gained.reshape(len(KINDS), n_papers), first)


def rank(*keys: np.ndarray) -> np.ndarray:
    """Indices ordered by the keys, each descending, the first key first (ties go to the next)."""
    return np.lexsort(tuple(-k for k in reversed(keys)))
