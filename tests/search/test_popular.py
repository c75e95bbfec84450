"""The "popular" sort and the popularity lift: popularity reorders what relevance found, never what matches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from paperwire.errors import QueryError
from paperwire.models import Paper
from paperwire.search.hybrid import SearchEngine
from tests.conftest import engine_over, make_paper

TOPIC = "Graph neural networks for molecule property prediction"


def papers() -> list[Paper]:
    out = [
        make_paper(
            f"2501.{i:05d}", title=f"{TOPIC} part {i}", abstract=f"Graph networks on molecules, study {i}."
        )
        for i in range(1, 9)
    ]
    out += [
        make_paper(f"2502.{i:05d}", title=f"Sparse attention for long documents {i}", categories=("cs.CL",))
        for i in range(1, 5)
    ]
    return out


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[SearchEngine]:
    with engine_over(tmp_path / "home", papers()) as eng:
        yield eng


def popularity(values: dict[str, float]) -> object:
    def pop(ids: Sequence[str]) -> dict[str, float]:
        return {i: values[i] for i in ids if i in values}

    return pop


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "semantic"])
def test_popular_puts_the_most_popular_candidates_first_and_keeps_relevance_among_the_rest(
    engine: SearchEngine, mode: str
) -> None:
    relevance = engine.search("graph molecules", mode=mode, limit=20)  # type: ignore[arg-type]
    engine.popularity = popularity({"2501.00007": 50.0, "2501.00003": 9.0, "2502.00001": 99.0})  # type: ignore[assignment]
    popular = engine.search("graph molecules", mode=mode, sort="popular", limit=20)  # type: ignore[arg-type]
    got = [h.paper.id for h in popular.hits]
    assert sorted(got) == sorted(h.paper.id for h in relevance.hits)  # the same candidates, reordered
    ranked = [p for p in ("2502.00001", "2501.00007", "2501.00003") if p in got]
    assert got[: len(ranked)] == ranked
    rest = [h.paper.id for h in relevance.hits if h.paper.id not in ranked]
    assert got[len(ranked) :] == rest
    assert popular.total == relevance.total
    if mode == "keyword":  # a popular paper the words do not match never comes in
        assert ranked == ["2501.00007", "2501.00003"]


def test_popular_pages_through_the_same_order(engine: SearchEngine) -> None:
    engine.popularity = popularity({f"2501.{i:05d}": float(i) for i in range(1, 9)})  # type: ignore[assignment]
    pages = [engine.search("graph molecules", sort="popular", limit=3, offset=o).hits for o in (0, 3, 6)]
    got = [h.paper.id for page in pages for h in page]
    assert got[:8] == [f"2501.{i:05d}" for i in range(8, 0, -1)]  # then the semantic neighbours, by relevance
    assert len(got) == len(set(got))


def test_filters_alone_sorted_by_popularity(engine: SearchEngine) -> None:
    engine.popularity = popularity({"2502.00002": 3.0, "2502.00004": 1.0})  # type: ignore[assignment]
    res = engine.search("cat:cs.CL", sort="popular", limit=10)
    assert [h.paper.id for h in res.hits][:2] == ["2502.00002", "2502.00004"]
    assert res.total == 4


def test_without_signals_popular_says_so_and_keeps_relevance(engine: SearchEngine) -> None:
    relevance = engine.search("graph molecules", limit=20)
    popular = engine.search("graph molecules", sort="popular", limit=20)
    assert [h.paper.id for h in popular.hits] == [h.paper.id for h in relevance.hits]
    assert any("no popularity signals" in n or "has popularity signals" in n for n in popular.notes)
    engine.popularity = popularity({"2502.00003": 0.0})  # type: ignore[assignment]  # as trending answers: zeros
    zeros = engine.search("graph molecules", sort="popular", limit=20)
    assert [h.paper.id for h in zeros.hits] == [h.paper.id for h in relevance.hits]
    assert any("none of these has popularity signals" in n for n in zeros.notes)


def test_an_unknown_sort_is_a_query_error(engine: SearchEngine) -> None:
    with pytest.raises(QueryError, match="unknown sort"):
        engine.search("graph", sort="hot")  # type: ignore[arg-type]


def test_the_lift_is_off_by_default_and_bounded_when_on(engine: SearchEngine) -> None:
    base = engine.search("graph molecules", limit=20)
    last = base.hits[-1].paper.id
    engine.popularity = popularity({last: 1000.0})  # type: ignore[assignment]
    assert [h.paper.id for h in engine.search("graph molecules", limit=20).hits] == [
        h.paper.id for h in base.hits
    ]  # lift 0: relevance alone
    engine.settings = replace_settings(engine, popularity_lift=1.0)
    lifted = engine.search("graph molecules", limit=20)
    by_id = {h.paper.id: h.score for h in lifted.hits}
    base_score = {h.paper.id: h.score for h in base.hits}
    assert by_id[last] == pytest.approx(2 * base_score[last])  # at most doubled: the most popular candidate
    others = [pid for pid in base_score if pid != last]
    assert all(by_id[p] == pytest.approx(base_score[p]) for p in others)  # no signals: unchanged
    assert [h.paper.id for h in lifted.hits] == sorted(by_id, key=lambda p: -by_id[p])


def replace_settings(engine: SearchEngine, **kw: object) -> object:
    return engine.settings.model_copy(update=kw)


def test_keyword_popular_ignores_papers_outside_the_query(engine: SearchEngine) -> None:
    engine.popularity = popularity({p.id: 1.0 for p in papers()})  # type: ignore[assignment]
    res = engine.search('"sparse attention"', mode="keyword", sort="popular", limit=10)
    assert {h.paper.id for h in res.hits} == {f"2502.{i:05d}" for i in range(1, 5)}
