"""The pure ranking core: synthetic unit vectors in a few clear topics, no store."""

from __future__ import annotations

import numpy as np
import pytest

from paperwire.recommend.rank import Background, RankParams, fit_logistic, rank, recency_weights

DIM = 32


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def topic(axis: int, n: int, rng: np.random.Generator, spread: float = 0.08) -> np.ndarray:
    """``n`` unit vectors near basis vector ``axis``."""
    base = np.zeros((n, DIM))
    base[:, axis] = 1.0
    return unit(base + spread * rng.standard_normal((n, DIM)))


@pytest.fixture
def world() -> dict[str, np.ndarray]:
    """A library on topics 0 and 1; candidates: 5 on topic 0, 5 on topic 1, 20 on unrelated topics 2..11."""
    rng = np.random.default_rng(7)
    lib0, lib1 = topic(0, 6, rng), topic(1, 4, rng)
    cands = np.concatenate([topic(0, 5, rng), topic(1, 5, rng)] + [topic(a, 2, rng) for a in range(2, 12)])
    negatives = unit(rng.standard_normal((300, DIM)))
    return {"lib0": lib0, "lib1": lib1, "cands": cands, "neg": negatives}


def test_the_library_topics_come_first_with_the_classifier(world: dict[str, np.ndarray]) -> None:
    lib = np.concatenate([world["lib0"], world["lib1"]])
    out = rank(lib, world["cands"], limit=10, negatives=world["neg"])
    assert sorted(r.index for r in out) == list(range(10))  # both topics' candidates, no stranger
    assert [r.score for r in out] == sorted((r.score for r in out), reverse=True)


def test_reasons_name_the_library_papers_of_the_candidates_topic(world: dict[str, np.ndarray]) -> None:
    lib = np.concatenate([world["lib0"], world["lib1"]])  # rows 0-5: topic 0, rows 6-9: topic 1
    out = rank(lib, world["cands"], limit=10, negatives=world["neg"])
    for r in out:
        assert 1 <= len(r.because) <= 3
        want = set(range(6)) if r.index < 5 else set(range(6, 10))
        assert set(r.because) <= want, (r.index, r.because)
    # most relevant first: the first reason is the library paper nearest to the candidate
    for r in out:
        sims = lib @ world["cands"][r.index]
        assert r.because[0] == int(np.argmax(sims))


def test_a_tiny_library_falls_back_to_similarity(world: dict[str, np.ndarray]) -> None:
    lib = world["lib1"][:1]  # one paper: below classifier_min, so no classifier is fitted
    out = rank(lib, world["cands"], limit=5, negatives=world["neg"])
    assert sorted(r.index for r in out) == [5, 6, 7, 8, 9]
    assert all(r.because == [0] for r in out)
    sims = world["cands"] @ lib[0]
    assert [r.index for r in out] == list(np.argsort(-sims, kind="stable")[:5])


def test_no_negatives_means_similarity_alone(world: dict[str, np.ndarray]) -> None:
    lib = np.concatenate([world["lib0"], world["lib1"]])
    with_neg = rank(lib, world["cands"], limit=10, negatives=None, params=RankParams(blend=0.0))
    without = rank(lib, world["cands"], limit=10, negatives=None, params=RankParams(blend=0.8))
    assert [r.index for r in with_neg] == [r.index for r in without]


def test_not_interested_pushes_its_topic_down(world: dict[str, np.ndarray]) -> None:
    lib = np.concatenate([world["lib0"], world["lib1"]])
    before = rank(lib, world["cands"], limit=5, negatives=world["neg"])
    assert sum(r.index < 5 for r in before) >= 3  # topic 0 has more library papers: it leads
    less = world["cands"][0:2]  # two topic-0 candidates: "not interested"
    after = rank(lib, world["cands"], limit=5, negatives=world["neg"], less_like=less)
    assert [r.index for r in after] and all(5 <= r.index < 10 for r in after), [r.index for r in after]


def test_more_like_this_pulls_its_topic_up(world: dict[str, np.ndarray]) -> None:
    rng = np.random.default_rng(3)
    lib = np.concatenate([world["lib0"], world["lib1"]])
    before = [r.index for r in rank(lib, world["cands"], limit=20, negatives=world["neg"])]
    more = topic(4, 2, rng)  # topic 4: candidates 14, 15; the library has none
    after = [r.index for r in rank(lib, world["cands"], limit=20, negatives=world["neg"], more_like=more)]
    for c in (14, 15):
        assert after.index(c) < before.index(c) if c in before else c in after
    assert set(after[:12]) >= {14, 15}
    # feedback papers are never reasons: reasons are library rows
    assert all(b < len(lib) for r in rank(lib, world["cands"], limit=20, more_like=more) for b in r.because)


def test_recent_library_papers_count_more(world: dict[str, np.ndarray]) -> None:
    lib = np.concatenate([world["lib0"][:3], world["lib1"][:3]])
    old_topic0 = np.array([1000] * 3 + [2000] * 3)  # topic 0 read long ago, topic 1 lately
    params = RankParams(blend=0.0, half_life_days=90.0, min_recency_weight=0.05)
    out = rank(lib, world["cands"], limit=5, library_days=old_topic0, params=params)
    assert all(5 <= r.index < 10 for r in out)
    flipped = rank(lib, world["cands"], limit=5, library_days=old_topic0[::-1].copy(), params=params)
    assert all(r.index < 5 for r in flipped)


def test_freshness_breaks_near_ties_towards_newer_papers() -> None:
    lib = unit(np.eye(DIM)[:1] + 0.0)
    cands = unit(np.stack([np.eye(DIM)[0] + 0.01 * np.eye(DIM)[i] for i in range(1, 5)]))
    days = np.array([10, 11, 12, 13])
    plain = rank(lib, cands, limit=4, candidate_days=days, params=RankParams(freshness=0.0))
    fresh = rank(lib, cands, limit=4, candidate_days=days, params=RankParams(freshness=1.0))
    assert [r.index for r in fresh] == [3, 2, 1, 0]
    assert [r.index for r in plain] != [3, 2, 1, 0]


def test_limits_and_empty_inputs(world: dict[str, np.ndarray]) -> None:
    lib = world["lib0"]
    assert len(rank(lib, world["cands"], limit=3)) == 3
    assert len(rank(lib, world["cands"][:2], limit=10)) == 2
    assert rank(lib, np.zeros((0, DIM), np.float32), limit=10) == []
    assert rank(lib, world["cands"], limit=0) == []
    with pytest.raises(ValueError, match="empty library"):
        rank(np.zeros((0, DIM), np.float32), world["cands"])


def test_large_candidate_sets_are_scored_in_chunks_alike(
    monkeypatch: pytest.MonkeyPatch, world: dict[str, np.ndarray]
) -> None:
    import paperwire.recommend.rank as rank_mod

    lib = np.concatenate([world["lib0"], world["lib1"]])
    whole = rank(lib, world["cands"], limit=10, negatives=world["neg"])
    monkeypatch.setattr(rank_mod, "_CHUNK_CELLS", 25)  # 2 candidates a chunk
    chunked = rank(lib, world["cands"], limit=10, negatives=world["neg"])
    assert [(r.index, r.because) for r in chunked] == [(r.index, r.because) for r in whole]
    assert np.allclose([r.score for r in chunked], [r.score for r in whole])


def test_logistic_regression_separates_and_regularises() -> None:
    rng = np.random.default_rng(1)
    pos, neg = topic(0, 20, rng), topic(1, 40, rng)
    w, b = fit_logistic(pos, neg, np.full(20, 1 / 20), np.full(40, 1 / 40), l2=0.01)
    assert ((pos @ w + b) > 0).all() and ((neg @ w + b) < 0).all()
    w_strong, _ = fit_logistic(pos, neg, np.full(20, 1 / 20), np.full(40, 1 / 40), l2=100.0)
    assert np.linalg.norm(w_strong) < 0.1 * np.linalg.norm(w)


def test_recency_weights() -> None:
    p = RankParams(half_life_days=10.0, min_recency_weight=0.3)
    w = recency_weights(np.array([100, 90, 80, 0]), 4, p)
    assert np.allclose(w, [1.0, 0.5, 0.3, 0.3])
    assert np.allclose(recency_weights(None, 3, p), 1.0)
    assert np.allclose(recency_weights(np.array([1, 2]), 2, RankParams(half_life_days=None)), 1.0)


def test_centroid_alone_ranks_by_the_librarys_mean_vector(world: dict[str, np.ndarray]) -> None:
    lib = np.concatenate([world["lib0"], world["lib1"]])
    out = rank(lib, world["cands"], limit=30, params=RankParams(blend=0.0, centroid=1.0, half_life_days=None))
    mean = lib.mean(axis=0)
    want = np.argsort(-(world["cands"] @ (mean / np.linalg.norm(mean))), kind="stable")
    assert [r.index for r in out] == list(want)
    # the nearest-papers view (centroid 0) orders them otherwise: the two are different views
    knn = rank(lib, world["cands"], limit=30, params=RankParams(blend=0.0, centroid=0.0, top_k=1))
    assert [r.index for r in knn] != [r.index for r in out]


# -- the LDA classifier (a shared background) -------------------------------------------------------------------

LDA = RankParams(classifier="lda", blend=1.0)  # the classifier alone: the similarity cannot carry it


def test_lda_ranks_a_planted_cluster_first() -> None:
    rng = np.random.default_rng(11)
    background = unit(rng.standard_normal((2_000, DIM)))
    planted = unit(topic(5, 8, rng) + 0.6 * topic(6, 8, rng))  # a cluster between axes 5 and 6
    lib = unit(topic(5, 12, rng) + 0.6 * topic(6, 12, rng))
    cands = np.concatenate([unit(rng.standard_normal((60, DIM))), planted])  # rows 60..67 planted
    out = rank(lib, cands, limit=8, background=Background.of(background), params=LDA)
    assert sorted(r.index for r in out) == list(range(60, 68))
    # the same from a background made of the negatives on the spot, and in the default blend
    assert [r.index for r in rank(lib, cands, limit=8, negatives=background, params=LDA)] == [
        r.index for r in out
    ]
    blended = rank(
        lib, cands, limit=8, background=Background.of(background), params=RankParams(classifier="lda")
    )
    assert sorted(r.index for r in blended) == list(range(60, 68))


def test_lda_uses_the_background_covariance() -> None:
    # the background varies along axis 0 a lot and along axis 1 little: a library off the background's mean
    # by the same amount on both axes is told apart by axis 1, where that amount means more
    rng = np.random.default_rng(2)
    bg = rng.standard_normal((5_000, DIM)) * 0.05
    bg[:, 0] *= 10
    bg[:, 2] += 1.0
    lib = np.zeros((6, DIM))
    lib[:, 2] = 1.0
    lib[:, 0] = lib[:, 1] = 0.1
    bgd = Background.of(bg.astype(np.float32))
    w = bgd.solve(lib.mean(axis=0) - bgd.mean, 0.0)
    assert w[1] > 5 * abs(w[0])
    # full shrinkage: the covariance a multiple of I, so the weights are the mean difference
    d = lib.mean(axis=0) - bgd.mean
    w1 = bgd.solve(d, 1.0)
    assert np.allclose(w1 / np.linalg.norm(w1), d / np.linalg.norm(d))


def test_background_solve_is_the_shrunk_inverse() -> None:
    rng = np.random.default_rng(4)
    rows = unit(rng.standard_normal((400, DIM)) + 2 * np.eye(DIM)[0])
    bg = Background.of(rows)
    x = rows.astype(np.float64)
    cov = np.cov(x, rowvar=False, bias=True)
    assert np.allclose(bg.mean, x.mean(axis=0)) and bg.n == 400
    v = rng.standard_normal(DIM)
    for s in (0.1, 0.3, 1.0):
        shrunk = (1 - s) * cov + s * np.trace(cov) / DIM * np.eye(DIM)
        assert np.allclose(bg.solve(v, s), np.linalg.solve(shrunk, v), rtol=1e-4, atol=1e-6)
    # fewer papers, more shrinkage: at least dim / (dim + n)
    assert np.allclose(bg.solve(v, 0.0), bg.solve(v, DIM / (DIM + 400)))
    with pytest.raises(ValueError, match="at least one"):
        Background.of(np.zeros((0, DIM), np.float32))


def test_lda_follows_feedback_and_falls_back_like_logistic(world: dict[str, np.ndarray]) -> None:
    lib = np.concatenate([world["lib0"], world["lib1"]])
    bg = Background.of(world["neg"])
    p = RankParams(classifier="lda")
    out = rank(lib, world["cands"], limit=10, background=bg, params=p)
    assert sorted(r.index for r in out) == list(range(10))
    less = world["cands"][0:2]
    after = rank(lib, world["cands"], limit=5, background=bg, less_like=less, params=p)
    assert all(5 <= r.index < 10 for r in after), [r.index for r in after]
    # below classifier_min, or without a background, similarity alone: as the logistic classifier does
    tiny = world["lib1"][:1]
    alone = rank(tiny, world["cands"], limit=5, params=RankParams(blend=0.0))
    assert [r.index for r in rank(tiny, world["cands"], limit=5, background=bg, params=p)] == [
        r.index for r in alone
    ]
    sim = rank(lib, world["cands"], limit=10, params=RankParams(blend=0.0))
    assert [r.index for r in rank(lib, world["cands"], limit=10, params=p)] == [r.index for r in sim]
