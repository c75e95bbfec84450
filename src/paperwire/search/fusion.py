"""How hybrid search merges its two lists: reciprocal rank, a fixed convex mix, or a mix that adapts per query.

The adaptive mix reads a few signals of each query at search time (query performance prediction, as in the
IR literature): how rare the query's words are, how much of the query the best keyword hit covers, how
decisive each list's top is, and how far the two lists agree. From them a small logistic formula, fitted on
SciFact train and self-made known-item dev sets (benchmarks/fusion_study.py), gives the semantic share alpha
for this query; the scores are z-normalised per list and mixed with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Fused = list[tuple[str, float, list[int | None]]]


@dataclass(frozen=True)
class QuerySignals:
    """What is known about a query once both lists are in, before they are merged."""

    terms: int = 0  # distinct index terms in the query (stop words dropped)
    idf_mean: float = 0.0  # mean BM25 idf of those terms over ln(2 + papers indexed): 0 common .. 1 unique
    coverage: float = 0.0  # share of the query's idf mass that the best keyword hit contains
    kw_gap: float = 0.0  # (BM25 top-1 - top-2) / top-1
    sem_top: float = 0.0  # cosine of the best semantic hit
    sem_gap: float = 0.0  # cosine top-1 - top-2
    overlap: float = 0.0  # share of the keyword top 10 that is also in the semantic top 10

    def vector(self) -> tuple[float, ...]:
        """The signals in the order the weights are given."""
        return (
            math.log1p(self.terms),
            self.idf_mean,
            self.coverage,
            self.kw_gap,
            self.sem_top,
            self.sem_gap,
            self.overlap,
        )


# Fitted by benchmarks/fusion_study.py on SciFact train + the known-item dev splits (never on a test split):
# alpha = sigmoid(bias + sum(weight * signal)), then clipped to [ALPHA_MIN, ALPHA_MAX].
# Signs, read with their spreads: a keyword top hit that holds most of the query's rare words (coverage) and
# rare words themselves (idf) pull towards BM25; a confident semantic top hit (sem_top) pulls towards the
# embeddings; sem_gap and kw_gap trade off against sem_top and coverage (they are correlated with them).
ADAPTIVE_BIAS = -0.3291
ADAPTIVE_WEIGHTS: tuple[float, ...] = (-0.2370, -1.9600, -2.7309, 1.4328, 5.0292, -3.4968, -0.9230)
ALPHA_MIN, ALPHA_MAX = 0.05, 0.95


def adaptive_alpha(
    signals: QuerySignals, bias: float = ADAPTIVE_BIAS, weights: Sequence[float] = ADAPTIVE_WEIGHTS
) -> float:
    """The semantic share for this query."""
    z = bias + sum(w * x for w, x in zip(weights, signals.vector(), strict=True))
    alpha = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
    return min(ALPHA_MAX, max(ALPHA_MIN, alpha))


def rrf_fuse(lists: list[list[str]], weights: list[float], k: int) -> Fused:
    """Weighted reciprocal-rank fusion: score = sum of w / (k + rank); returns (id, score, ranks per list)."""
    scores: dict[str, float] = {}
    ranks: dict[str, list[int | None]] = {}
    for li, (ids, w) in enumerate(zip(lists, weights, strict=True)):
        for r, pid in enumerate(ids, start=1):
            scores[pid] = scores.get(pid, 0.0) + w / (k + r)
            ranks.setdefault(pid, [None] * len(lists))[li] = r
    order = sorted(scores, key=lambda p: (-scores[p], p))
    return [(p, scores[p], ranks[p]) for p in order]


def _minmax(hits: Sequence[tuple[str, float]]) -> tuple[dict[str, float], float]:
    if not hits:
        return {}, 0.0
    lo, hi = min(s for _, s in hits), max(s for _, s in hits)
    span = hi - lo
    return {pid: (s - lo) / span if span > 0 else 1.0 for pid, s in hits}, 0.0


def _zscore(hits: Sequence[tuple[str, float]]) -> tuple[dict[str, float], float]:
    # a paper missing from a list gets that list's lowest z: it was not good enough to be there
    if not hits:
        return {}, 0.0
    n = len(hits)
    mean = sum(s for _, s in hits) / n
    sd = math.sqrt(sum((s - mean) ** 2 for _, s in hits) / n)
    if sd <= 1e-12:
        return {pid: 0.0 for pid, _ in hits}, 0.0
    z = {pid: (s - mean) / sd for pid, s in hits}
    return z, min(z.values())


def convex_fuse(
    keyword: Sequence[tuple[str, float]],
    semantic: Sequence[tuple[str, float]],
    alpha: float,
    norm: str = "minmax",
) -> Fused:
    """Normalise each list's scores (min-max, or z-score), then alpha * semantic + (1 - alpha) * keyword."""
    normalise = _zscore if norm == "zscore" else _minmax
    (kw, kw_floor), (sem, sem_floor) = normalise(keyword), normalise(semantic)
    ranks: dict[str, list[int | None]] = {}
    for li, hits in enumerate((keyword, semantic)):
        for r, (pid, _) in enumerate(hits, start=1):
            ranks.setdefault(pid, [None, None])[li] = r
    if not keyword:
        alpha = 1.0
    elif not semantic:
        alpha = 0.0
    scores = {pid: alpha * sem.get(pid, sem_floor) + (1 - alpha) * kw.get(pid, kw_floor) for pid in ranks}
    order = sorted(scores, key=lambda p: (-scores[p], p))
    return [(p, scores[p], ranks[p]) for p in order]


def list_signals(
    keyword: Sequence[tuple[str, float]], semantic: Sequence[tuple[str, float]]
) -> tuple[float, float, float, float]:
    """The signals read off the two lists alone: (kw_gap, sem_top, sem_gap, overlap)."""
    kw_gap = 0.0
    if len(keyword) >= 2 and keyword[0][1] > 0:
        kw_gap = (keyword[0][1] - keyword[1][1]) / keyword[0][1]
    elif len(keyword) == 1:
        kw_gap = 1.0
    sem_top = semantic[0][1] if semantic else 0.0
    sem_gap = semantic[0][1] - semantic[1][1] if len(semantic) >= 2 else 0.0
    top_kw = {pid for pid, _ in keyword[:10]}
    top_sem = {pid for pid, _ in semantic[:10]}
    overlap = len(top_kw & top_sem) / max(1, min(10, len(top_kw))) if top_kw else 0.0
    return kw_gap, sem_top, sem_gap, overlap
