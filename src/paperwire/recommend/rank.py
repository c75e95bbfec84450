"""Ranking new papers for a library: pure numpy over unit vectors, no store and no index.

Two views of a library, blended (each z-scored over the candidates, so neither's scale wins by accident):

- **a classifier** that learns what sets the library apart from the field, not just where it is; the
  library (and "more like this") are its positives, other papers (and "not interested") its negatives, each
  side weighing as much as the other. Two kinds (``RankParams.classifier``):

  - ``"lda"``: linear discriminant analysis with a shared background (exemplar-LDA, Hariharan, Malik and
    Ramanan 2012, "Discriminative decorrelation for clustering and classification"): the background's
    mean and covariance are computed once (:class:`Background`, once per candidate window, shared by every
    library), its covariance shrunk towards its mean variance (``shrinkage``) and eigendecomposed once; a
    library's weights are then ``(Sigma + shrink)^-1 (mean_pos - mean_neg)``: two 384x384 matrix-vector
    products, microseconds.
  - ``"logistic"`` (arxiv-sanity's and Scholar Inbox's idea): L2-regularised logistic regression against a
    sample of other papers, fitted by Newton's method (a 385x385 Hessian per step: tens of milliseconds).
- **similarity to library items** (zotero-arxiv-daily's idea): each candidate's mean cosine similarity to its
  ``top_k`` nearest library papers (by default the nearest one), recent library papers optionally counting
  more (a half-life on their age). A library of many interests keeps each one; a mean vector would blur
  them (a share of it, ``centroid``, can still go to the library's mean vector). The nearest library papers
  are the reasons given.

Below ``classifier_min`` positives the classifier is skipped (similarity alone). "Not interested" papers
also push down what is close to them (``less_penalty``); a small ``freshness`` term prefers newer papers.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal

import numpy as np
from threadpoolctl import ThreadpoolController

_CHUNK_CELLS = 8_000_000  # candidate x library similarities held at once (32 MB of float32)
_GRAM_ROWS = 4_096  # background rows multiplied at once when its covariance is formed (float64)

Classifier = Literal["logistic", "lda"]
_blas: ThreadpoolController | None = None  # made on first use (threadpool_limits() rescans libraries: 0.3 ms)


def one_blas_thread() -> AbstractContextManager[object]:
    """BLAS on one thread for the duration: the matrices here are small (a few thousand x 385 at most), so
    threads cost more than they give (a Newton solve took 187 ms with OpenBLAS's threads on a busy 2-core
    machine, 7.5 ms on one; a whole LDA ranking 8 ms against 2)."""
    global _blas
    if _blas is None:
        _blas = ThreadpoolController()
    cm: AbstractContextManager[object] = _blas.limit(limits=1, user_api="blas")
    return cm


@dataclass(frozen=True)
class RankParams:
    """The ranking's knobs. The defaults won on the tuning split of benchmarks/recommend_eval.py (360 simulated
    libraries; 720 settings of the logistic blend, then LDA's shrinkage and blend): recency weighting, the mean
    vector and freshness did not help there, so they are off unless asked for. On the held-out split (600
    libraries) LDA (shrinkage 0.3) scored recall@20 0.240 and nDCG@20 0.141 against the logistic classifier's
    0.225 and 0.128 (nDCG +0.013, paired 95% interval +0.004..+0.022) at 4 ms a library against 98."""

    classifier_min: int = 3  # positives needed before the classifier is used
    blend: float = 0.4  # the classifier's share of the score (the rest: similarity)
    centroid: float = 0.0  # of the similarity's share: the part given to the library's (weighted) mean vector
    l2: float = 0.1  # L2 penalty on the classifier's weights (total sample weight is 2)
    top_k: int = 1  # nearest library papers averaged into the similarity score (1: the nearest one's)
    half_life_days: float | None = None  # a library paper this much older than the newest counts half
    min_recency_weight: float = 0.5  # the least any library paper counts in the similarity score
    feedback_weight: float = 2.0  # a "more like" / "not interested" paper, as many library papers
    less_penalty: float = 2.0  # z-units taken off per unit of cosine similarity to a "not interested" paper
    freshness: float = 0.0  # z-units added for the newest candidate over the oldest, linearly between
    because_ratio: float = 0.85  # a library paper is a reason when its similarity is this share of the best
    newton_steps: int = 8
    classifier: Classifier = "lda"  # "logistic": Newton-fitted logistic regression, ~25x dearer a library
    shrinkage: float = 0.3  # LDA: share of the covariance replaced by its mean variance (1: mean difference)


@dataclass(frozen=True, eq=False)
class Background:
    """The LDA classifier's shared background: the mean of a sample of corpus papers and their covariance's
    eigendecomposition (``cov = vecs @ diag(vals) @ vecs.T``), so a shrunk covariance of any ``shrinkage`` is
    inverted without another factorisation. Made once (per candidate window) and shared by every library."""

    mean: np.ndarray  # (dim,) float64
    vals: np.ndarray  # (dim,) eigenvalues, ascending, floored at 0
    vecs: np.ndarray  # (dim, dim) eigenvectors as columns
    n: int  # background papers it was made from

    @classmethod
    def of(cls, rows: np.ndarray) -> Background:
        """The background of ``rows`` (unit vectors; at least one)."""
        x = _rows(rows)
        n, dim = x.shape
        if not n:
            raise ValueError("a background needs at least one paper")
        mean = x.mean(axis=0, dtype=np.float64)
        mean32 = mean.astype(np.float32)
        gram = np.zeros((dim, dim))
        with one_blas_thread():
            for lo in range(0, n, _GRAM_ROWS):  # centred float32 chunks summed in float64: ample, and fast
                c = x[lo : lo + _GRAM_ROWS] - mean32
                gram += c.T @ c
            vals, vecs = np.linalg.eigh(gram / n)
        return cls(mean, np.maximum(vals, 0.0), vecs, n)

    def solve(self, v: np.ndarray, shrinkage: float) -> np.ndarray:
        """``(cov_s)^-1 v`` for the shrunk covariance ``cov_s = (1 - s) cov + s (trace(cov) / dim) I``, where
        ``s`` is ``shrinkage`` but at least ``dim / (dim + n)``: a covariance of fewer papers than dimensions is
        mostly noise (and mostly the library's own papers, in a small corpus), so it is shrunk the more."""
        dim = self.vals.shape[0]
        s = min(max(float(shrinkage), dim / (dim + self.n)), 1.0)
        level = float(self.vals.mean()) or 1.0
        diag = np.maximum((1 - s) * self.vals + s * level, 1e-9 * level)
        out: np.ndarray = self.vecs @ ((self.vecs.T @ v) / diag)
        return out


@dataclass(frozen=True)
class Ranked:
    """One candidate, by its row: its score and the library rows that make it relevant, best first."""

    index: int
    score: float
    because: list[int]


def rank(
    library: np.ndarray,
    candidates: np.ndarray,
    *,
    limit: int = 20,
    library_days: np.ndarray | None = None,
    candidate_days: np.ndarray | None = None,
    negatives: np.ndarray | None = None,
    background: Background | None = None,
    more_like: np.ndarray | None = None,
    less_like: np.ndarray | None = None,
    params: RankParams | None = None,
) -> list[Ranked]:
    """The best ``limit`` candidates (rows of ``candidates``) for ``library``, best first.

    Vectors are unit rows (float32); days are day numbers (``date.toordinal()``), larger is newer.
    ``negatives``: other papers of the corpus (not candidates), the logistic classifier's background;
    ``background``: the LDA classifier's (made from ``negatives`` when not given). ``more_like``,
    ``less_like``: feedback papers; they are never reasons (``because`` names library rows only).
    """
    with one_blas_thread():
        return _rank(
            library,
            candidates,
            limit=limit,
            library_days=library_days,
            candidate_days=candidate_days,
            negatives=negatives,
            background=background,
            more_like=more_like,
            less_like=less_like,
            params=params,
        )


def _rank(
    library: np.ndarray,
    candidates: np.ndarray,
    *,
    limit: int,
    library_days: np.ndarray | None,
    candidate_days: np.ndarray | None,
    negatives: np.ndarray | None,
    background: Background | None,
    more_like: np.ndarray | None,
    less_like: np.ndarray | None,
    params: RankParams | None,
) -> list[Ranked]:
    p = params or RankParams()
    lib = _rows(library)
    cand = _rows(candidates)
    more = _rows(more_like, lib.shape[1])
    less = _rows(less_like, lib.shape[1])
    if not lib.shape[0]:
        raise ValueError("an empty library has nothing to rank by")
    if not cand.shape[0] or limit <= 0:
        return []
    weights = recency_weights(library_days, lib.shape[0], p)

    sim_to_lib, sim_score, because_rows = similarity(cand, lib, weights, more, p)
    score = _z(sim_score)
    if p.centroid > 0:
        score = (1 - p.centroid) * score + p.centroid * _z(centroid_scores(cand, lib, weights, more, p))
    if p.blend > 0:
        if p.classifier == "lda":
            if background is None and negatives is not None and len(negatives):
                background = Background.of(negatives)
            clf = lda_scores(lib, cand, weights, background, more, less, p)
        else:
            clf = classifier_scores(lib, cand, weights, _rows(negatives, lib.shape[1]), more, less, p)
        if clf is not None:
            score = p.blend * _z(clf) + (1 - p.blend) * score
    if less.shape[0]:
        score = score - p.less_penalty * np.maximum(0.0, (cand @ less.T).max(axis=1))
    if p.freshness and candidate_days is not None and len(candidate_days) == cand.shape[0]:
        days = np.asarray(candidate_days, dtype=np.float64)
        span = float(days.max() - days.min())
        if span > 0:
            score = score + p.freshness * (days - days.min()) / span

    k = min(limit, cand.shape[0])
    top = np.argpartition(-score, k - 1)[:k]
    top = top[np.lexsort((top, -score[top]))]  # best first; ties by row, so the order is stable
    out = []
    for i in top:
        reasons: list[int] = []
        if lib.shape[0]:
            rows = because_rows[i]
            sims = sim_to_lib[i]
            best = float(sims[0])
            reasons = [
                int(r) for r, s in zip(rows, sims, strict=True) if s > 0 and s >= p.because_ratio * best
            ]
        out.append(Ranked(int(i), float(score[i]), reasons))
    return out


def centroid_scores(
    cand: np.ndarray, lib: np.ndarray, weights: np.ndarray, more: np.ndarray, p: RankParams
) -> np.ndarray:
    """Each candidate's cosine similarity to the library's mean vector (recency-weighted; "more like" papers
    counting ``feedback_weight`` each)."""
    w = np.concatenate([weights, np.full(more.shape[0], p.feedback_weight)]).astype(np.float32)
    mean = (np.concatenate([lib, more]) * w[:, None]).sum(axis=0)
    mean /= float(np.linalg.norm(mean)) or 1.0
    out: np.ndarray = cand @ mean
    return out


def classifier_scores(
    lib: np.ndarray,
    cand: np.ndarray,
    weights: np.ndarray,
    negatives: np.ndarray,
    more: np.ndarray,
    less: np.ndarray,
    p: RankParams,
) -> np.ndarray | None:
    """The classifier's decision value for each candidate, or None when the positives are too few (below
    ``classifier_min``) or there is no background to learn against."""
    if lib.shape[0] + more.shape[0] < p.classifier_min or not negatives.shape[0]:
        return None
    # each class weighs 1 in all; a feedback paper weighs as much as feedback_weight library papers
    pos_w = np.concatenate([weights, np.full(more.shape[0], p.feedback_weight)])
    pos_w = pos_w / pos_w.sum()
    per_paper = p.feedback_weight / (lib.shape[0] + p.feedback_weight * more.shape[0])
    neg_w = np.concatenate(
        [np.full(negatives.shape[0], 1.0 / negatives.shape[0]), np.full(less.shape[0], per_paper)]
    )
    with one_blas_thread():
        w, b = fit_logistic(
            np.concatenate([lib, more]),
            np.concatenate([negatives, less]),
            pos_w,
            neg_w,
            l2=p.l2,
            steps=p.newton_steps,
        )
    out: np.ndarray = cand @ w + b
    return out


def lda_scores(
    lib: np.ndarray,
    cand: np.ndarray,
    weights: np.ndarray,
    background: Background | None,
    more: np.ndarray,
    less: np.ndarray,
    p: RankParams,
) -> np.ndarray | None:
    """The LDA classifier's decision value for each candidate (up to a constant, which z-scoring drops), or None
    when the positives are too few or there is no background.

    The positives' mean is weighted as the logistic classifier weighs them; "not interested" papers move the
    negatives' mean towards them (each weighing what a library paper does, against the background's 1). The
    covariance is the background's alone: a library is too small to estimate one of its own."""
    if lib.shape[0] + more.shape[0] < p.classifier_min or background is None or background.n < 2:
        return None
    pos_w = np.concatenate([weights, np.full(more.shape[0], p.feedback_weight)])
    pos_mean = (pos_w / pos_w.sum()) @ np.concatenate([lib, more]).astype(np.float64)
    neg_mean = background.mean
    if less.shape[0]:
        per_paper = p.feedback_weight / (lib.shape[0] + p.feedback_weight * more.shape[0])
        neg_mean = (neg_mean + per_paper * less.sum(axis=0, dtype=np.float64)) / (
            1 + per_paper * less.shape[0]
        )
    w = background.solve(pos_mean - neg_mean, p.shrinkage).astype(np.float32)
    out: np.ndarray = cand @ w
    return out


def recency_weights(days: np.ndarray | None, n: int, p: RankParams) -> np.ndarray:
    """Each library paper's weight: 1 for the newest, halving every ``half_life_days`` older, floored at
    ``min_recency_weight``."""
    if days is None or p.half_life_days is None or len(days) != n or not n:
        return np.ones(n)
    d = np.asarray(days, dtype=np.float64)
    age = d.max() - d
    w: np.ndarray = np.maximum(0.5 ** (age / p.half_life_days), p.min_recency_weight)
    return w


def fit_logistic(
    positives: np.ndarray,
    negatives: np.ndarray,
    positive_weights: np.ndarray,
    negative_weights: np.ndarray,
    *,
    l2: float,
    steps: int = 8,
) -> tuple[np.ndarray, float]:
    """Weights and bias of a sample-weighted, L2-regularised logistic regression (Newton's method; the bias
    is not penalised)."""
    x = np.concatenate([positives, negatives]).astype(np.float64)
    y = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))])
    sw = np.concatenate([positive_weights, negative_weights]).astype(np.float64)
    xb = np.hstack([x, np.ones((x.shape[0], 1))])  # the bias as a last, unpenalised weight
    xb32 = xb.astype(np.float32)
    reg = np.full(xb.shape[1], l2)
    reg[-1] = 1e-6
    theta = np.zeros(xb.shape[1])
    for _ in range(steps):
        z = np.clip(xb @ theta, -30, 30)
        prob = 1.0 / (1.0 + np.exp(-z))
        grad = xb.T @ (sw * (prob - y)) + reg * theta
        xw = (xb * (sw * prob * (1 - prob))[:, None]).astype(np.float32)  # float32: twice as fast, ample
        hess = (xw.T @ xb32).astype(np.float64) + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if float(np.abs(step).max()) < 1e-4:
            break
    return theta[:-1].astype(np.float32), float(theta[-1])


def similarity(
    cand: np.ndarray, lib: np.ndarray, weights: np.ndarray, more: np.ndarray, p: RankParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per candidate: its best library similarities (recency-weighted) and their rows, best first (up to 3),
    and its similarity score (mean of the top ``top_k`` over the library and "more like" papers)."""
    refs = np.concatenate([lib, more])
    w = np.concatenate([weights, np.full(more.shape[0], 1.0)]).astype(np.float32)
    n_ref = refs.shape[0]
    k = min(p.top_k, n_ref)
    keep = min(3, lib.shape[0])
    score = np.empty(cand.shape[0], dtype=np.float64)
    best_sims = np.zeros((cand.shape[0], keep), dtype=np.float32)
    best_rows = np.zeros((cand.shape[0], keep), dtype=np.int64)
    step = max(1, _CHUNK_CELLS // max(1, n_ref))
    for lo in range(0, cand.shape[0], step):
        s = (cand[lo : lo + step] @ refs.T) * w  # (chunk, refs): never the whole candidates x library matrix
        top = np.partition(s, n_ref - k, axis=1)[:, n_ref - k :] if k < n_ref else s
        score[lo : lo + step] = top.mean(axis=1)
        if keep:
            sl = s[:, : lib.shape[0]]
            rows = np.argpartition(-sl, keep - 1, axis=1)[:, :keep] if keep < sl.shape[1] else None
            if rows is None:
                rows = np.broadcast_to(np.arange(sl.shape[1]), sl.shape).copy()
            vals = np.take_along_axis(sl, rows, axis=1)
            order = np.argsort(-vals, axis=1, kind="stable")
            best_rows[lo : lo + step] = np.take_along_axis(rows, order, axis=1)
            best_sims[lo : lo + step] = np.take_along_axis(vals, order, axis=1)
    return best_sims, score, best_rows


def _z(x: np.ndarray) -> np.ndarray:
    """Scores as z-scores over the candidates (all zero when they do not vary)."""
    x = np.asarray(x, dtype=np.float64)
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 1e-12 else np.zeros_like(x)


def _rows(a: np.ndarray | None, dim: int | None = None) -> np.ndarray:
    """``a`` as a float32 matrix of rows (an empty one of ``dim`` columns for None)."""
    if a is None:
        return np.zeros((0, dim or 0), dtype=np.float32)
    m = np.asarray(a, dtype=np.float32)
    return m.reshape(1, -1) if m.ndim == 1 else m
