"""Hybrid fusion: z-score mixing, the per-query semantic share and the signals it reads."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from paperwire.search.fusion import (
    ALPHA_MAX,
    ALPHA_MIN,
    QuerySignals,
    adaptive_alpha,
    convex_fuse,
    list_signals,
)
from paperwire.search.hybrid import SearchEngine
from paperwire.search.query import parse_query
from tests.conftest import engine_over, make_paper, real_papers
from tests.embedders import HashEmbedder


def test_zscore_fusion_gives_a_missing_paper_its_lists_floor() -> None:
    kw = [("a", 10.0), ("b", 6.0), ("c", 2.0)]
    sem = [("c", 0.9), ("d", 0.5)]
    fused = convex_fuse(kw, sem, 0.5, norm="zscore")
    scores = {p: s for p, s, _ in fused}
    z_kw = {"a": 1.2247, "b": 0.0, "c": -1.2247}
    assert math.isclose(
        scores["a"], 0.5 * 1.2247 + 0.5 * -1.0, abs_tol=1e-3
    )  # a is missing from sem: its floor
    assert math.isclose(scores["d"], 0.5 * z_kw["c"] + 0.5 * -1.0, abs_tol=1e-3)
    assert [p for p, *_ in fused] == ["a", "c", "b", "d"]


def test_alpha_zero_and_one_reproduce_each_list() -> None:
    kw = [("a", 3.0), ("b", 2.0), ("c", 1.0)]
    sem = [("c", 0.8), ("b", 0.7), ("a", 0.1)]
    for norm in ("minmax", "zscore"):
        assert [p for p, *_ in convex_fuse(kw, sem, 0.0, norm)] == ["a", "b", "c"]
        assert [p for p, *_ in convex_fuse(kw, sem, 1.0, norm)] == ["c", "b", "a"]


def test_an_empty_list_leaves_the_other_as_it_is() -> None:
    sem = [("c", 0.8), ("b", 0.7)]
    assert [p for p, *_ in convex_fuse([], sem, 0.2, "zscore")] == ["c", "b"]
    assert [p for p, *_ in convex_fuse(sem, [], 0.9, "zscore")] == ["c", "b"]


def test_adaptive_alpha_is_bounded_whatever_the_signals() -> None:
    for v in (-1e9, -5.0, 0.0, 5.0, 1e9):
        s = QuerySignals(
            terms=int(abs(v)) % 50, idf_mean=v, coverage=v, kw_gap=v, sem_top=v, sem_gap=v, overlap=v
        )
        a = adaptive_alpha(s, bias=v, weights=(1.0,) * 7)
        assert ALPHA_MIN <= a <= ALPHA_MAX
    assert math.isclose(adaptive_alpha(QuerySignals(), 0.0, (0.0,) * 7), 0.5)


def test_list_signals() -> None:
    kw = [("a", 10.0), ("b", 5.0)] + [(f"k{i}", 1.0) for i in range(20)]
    sem = [("a", 0.8), ("x", 0.6)] + [(f"s{i}", 0.1) for i in range(20)]
    kw_gap, sem_top, sem_gap, overlap = list_signals(kw, sem)
    assert (kw_gap, sem_top, overlap) == (0.5, 0.8, 0.1) and math.isclose(sem_gap, 0.2)
    assert list_signals([], []) == (0.0, 0.0, 0.0, 0.0)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchEngine]:
    quokka = make_paper(
        "2501.90001", title="Quokka locomotion", abstract="Quokkas hop across Rottnest island."
    )
    with engine_over(tmp_path_factory.mktemp("fusion"), [*real_papers(400), quokka]) as eng:
        yield eng


def test_signals_of_a_known_item_query(engine: SearchEngine) -> None:
    q = parse_query("quokka rottnest island hop")
    kw, _ = engine.keyword.search(q, limit=100)
    sem = engine._semantic(q, 100)
    sig = engine.signals(q, [(h.paper_id, h.score) for h in kw], [(h.paper_id, h.similarity) for h in sem])
    assert sig.terms == 4 and sig.coverage == 1.0  # the top keyword hit holds every query term
    assert 0.7 < sig.idf_mean <= 1 and 0 < sig.kw_gap <= 1  # rare words: near the largest idf possible


def test_hybrid_reports_its_semantic_share(engine: SearchEngine) -> None:
    res = engine.search("quokka hop", mode="hybrid")
    assert res.hits[0].paper.id == "2501.90001"
    assert res.semantic_share is not None and ALPHA_MIN <= res.semantic_share <= ALPHA_MAX
    fixed = SearchEngine(
        engine.settings.model_copy(update={"fusion": "convex"}), engine.store, HashEmbedder()
    )
    fixed.refresh()
    assert fixed.search("quokka hop").semantic_share == engine.settings.convex_alpha
    assert engine.search("quokka hop", mode="keyword").semantic_share is None
    # no keyword hit at all: the semantic list is the whole answer, and the share says so
    assert engine.search("zzzqqqxyz").semantic_share == 1.0


def test_function_words_are_never_matches_on_their_own(engine: SearchEngine) -> None:
    q = parse_query("quokka from the island")
    assert "from" not in engine.keyword.highlight_terms(q) and "quokka" in engine.keyword.highlight_terms(q)
    hit = engine.search("quokka from island", mode="keyword").hits[0]
    assert hit.matched_terms == ["quokka", "island"]
    assert np.isfinite(hit.score)
