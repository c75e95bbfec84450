"""Keyword, semantic and hybrid search over real papers in a real store and real indexes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from paperwire.config import Settings
from paperwire.errors import NotFoundError, QueryError
from paperwire.ingest import embed_pending
from paperwire.search.fusion import rrf_fuse
from paperwire.search.hybrid import SearchEngine
from paperwire.store import Store
from tests.conftest import engine_over, make_paper, real_papers
from tests.embedders import HashEmbedder


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchEngine]:
    mae = [
        make_paper(
            "2501.90001",
            title="Masked autoencoders are scalable vision learners",
            abstract="We show that masked autoencoders (MAE) are scalable self-supervised learners.",
            authors=("Kaiming He", "Xinlei Chen"),
            categories=("cs.CV",),
            announced=date(2025, 7, 1),
        ),
        make_paper(
            "2501.90002",
            title="Video masked autoencoders",
            abstract="Masked autoencoder pretraining for video.",
            authors=("Kaiming He",),
            categories=("cs.CV",),
            announced=date(2025, 7, 2),
        ),
    ]
    with engine_over(tmp_path_factory.mktemp("search"), [*real_papers(800), *mae]) as eng:
        yield eng


def test_keyword_ranks_title_matches(engine: SearchEngine) -> None:
    res = engine.search("masked autoencoders", mode="keyword", limit=5)
    assert res.hits[0].paper.id in {"2501.90001", "2501.90002"}
    assert "masked" in res.hits[0].matched_terms
    assert res.total >= 2


def test_author_phrase_and_exclusion(engine: SearchEngine) -> None:
    res = engine.search('author:"Kaiming He" "masked autoencoder" -video', mode="keyword")
    assert [h.paper.id for h in res.hits] == ["2501.90001"]
    for mode in ("semantic", "hybrid"):
        ids = [h.paper.id for h in engine.search('author:"Kaiming He" -video masked', mode=mode).hits]
        assert ids == ["2501.90001"], mode


def test_category_and_date_filters_hold_in_every_mode(engine: SearchEngine) -> None:
    for mode in ("keyword", "semantic", "hybrid"):
        res = engine.search("learning", mode=mode, categories=["cs.RO"], after=date(2026, 5, 1), limit=50)
        assert res.hits, mode
        for h in res.hits:
            assert "cs.RO" in h.paper.categories
            d = h.paper.announced or h.paper.published
            assert d is not None and d >= date(2026, 5, 1)


def test_sort_by_date_and_pagination(engine: SearchEngine) -> None:
    p1 = engine.search("model", mode="keyword", sort="date", limit=10)
    p2 = engine.search("model", mode="keyword", sort="date", limit=10, offset=10)
    dates = [h.paper.announced for h in p1.hits + p2.hits]
    assert dates == sorted(dates, reverse=True)
    assert not {h.paper.id for h in p1.hits} & {h.paper.id for h in p2.hits}


def test_hybrid_explains_ranks(engine: SearchEngine) -> None:
    res = engine.search("masked autoencoders scalable", mode="hybrid", limit=3)
    top = res.hits[0]
    assert top.paper.id == "2501.90001"
    assert top.keyword_rank == 1 and top.semantic_rank is not None and top.similarity is not None


def test_pasted_url_finds_the_paper(engine: SearchEngine) -> None:
    res = engine.search("https://arxiv.org/pdf/2501.90001v3")
    assert [h.paper.id for h in res.hits] == ["2501.90001"]
    with pytest.raises(NotFoundError):
        engine.search("2101.99999")


def test_filters_alone_list_newest_first(engine: SearchEngine) -> None:
    res = engine.search('author:"Kaiming He"')
    assert [h.paper.id for h in res.hits] == ["2501.90002", "2501.90001"]


def test_empty_and_bad_queries(engine: SearchEngine) -> None:
    with pytest.raises(QueryError, match="empty"):
        engine.search("   ")
    with pytest.raises(QueryError):
        engine.search("x", mode="fuzzy")  # type: ignore[arg-type]
    assert engine.search("the of and", mode="keyword").hits == []


def test_similar_excludes_itself(engine: SearchEngine) -> None:
    hits = engine.similar("2501.90001", 5)
    assert hits and all(h.paper.id != "2501.90001" for h in hits)
    assert hits[0].paper.id == "2501.90002"


def test_incremental_refresh_picks_up_new_and_changed_papers(engine: SearchEngine) -> None:
    store = engine.store
    store.upsert_papers(
        [make_paper("2501.90003", title="Quokka locomotion dynamics", abstract="Quokkas hop.")]
    )
    embed_pending(store, HashEmbedder())
    n, v = engine.refresh()
    assert n == 1 and v == 1
    assert engine.search("quokka", mode="keyword").hits[0].paper.id == "2501.90003"
    store.upsert_papers(
        [make_paper("2501.90003", version=2, title="Wombat burrows", abstract="Wombats dig.")]
    )
    embed_pending(store, HashEmbedder())
    engine.refresh()
    assert engine.search("quokka", mode="keyword").hits == []
    assert engine.search("wombat", mode="semantic").hits[0].paper.id == "2501.90003"


def test_indexes_survive_reopen_and_rebuild(engine: SearchEngine) -> None:
    engine.close()  # saves what the vector index has not saved yet (a server does on its way out)
    again = SearchEngine(engine.settings, engine.store, HashEmbedder())
    assert again.refresh() == (0, 0)  # nothing to do: both indexes were saved
    assert again.vectors.n == engine.vectors.n and again.vectors.graph_n == again.vectors.n
    before = [h.paper.id for h in again.search("masked autoencoders", mode="hybrid").hits]
    again.rebuild()
    assert [h.paper.id for h in again.search("masked autoencoders", mode="hybrid").hits] == before
    # the module's engine shares this index: let it see the rebuilt one now, not after its reader's reload delay
    engine.keyword.reload()


def test_rrf_fuse() -> None:
    fused = rrf_fuse([["a", "b", "c"], ["c", "a"]], [1.0, 1.0], 60)
    assert [p for p, _, _ in fused] == ["a", "c", "b"]
    assert fused[0][2] == [1, 2]
    assert np.isclose(fused[0][1], 1 / 61 + 1 / 62)


def test_vectors_that_went_stale_while_closed_are_not_served(settings: Settings, store: Store) -> None:
    emb = HashEmbedder()
    store.upsert_papers(
        [
            make_paper("2501.00001", title="Quokka", abstract="Quokkas hop."),
            make_paper("2501.00002", title="Wombat", abstract="Wombats dig."),
        ]
    )
    embed_pending(store, emb)
    SearchEngine(settings, store, emb).refresh()
    # the text changes and nobody re-embeds it before the next start
    store.upsert_papers([make_paper("2501.00001", version=2, title="Platypus", abstract="Platypuses swim.")])
    engine = SearchEngine(settings, store, emb)
    engine.refresh()
    ids = [h.paper.id for h in engine.search("quokka hop", mode="semantic", limit=5).hits]
    assert ids == ["2501.00002"]


def test_convex_fuse() -> None:
    from paperwire.search.fusion import convex_fuse

    fused = convex_fuse([("a", 10.0), ("b", 8.0), ("c", 0.0)], [("c", 0.9), ("b", 0.85), ("d", 0.7)], 0.5)
    scores = {p: s for p, s, _ in fused}
    assert fused[0][0] == "b"  # high in both lists beats first in one
    assert np.isclose(scores["b"], 0.5 * 0.8 + 0.5 * 0.75) and np.isclose(scores["a"], 0.5)
    assert np.isclose(scores["d"], 0.0) and dict((p, r) for p, _, r in fused)["c"] == [3, 1]


def test_concurrent_searches_while_papers_arrive(settings: Settings, store: Store) -> None:
    """Readers on many threads (a connection each) while a writer adds papers and refreshes the indexes."""
    import threading

    emb = HashEmbedder()
    store.upsert_papers(real_papers(300))
    embed_pending(store, emb)
    engine = SearchEngine(settings, store, emb)
    engine.refresh()
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                for mode in ("keyword", "semantic", "hybrid"):
                    res = engine.search("learning", mode=mode, categories=["cs.CV"], limit=5)  # type: ignore[arg-type]
                    assert all(h.paper.title for h in res.hits)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(6)]
    for t in threads:
        t.start()
    for i in range(5):
        store.upsert_papers([make_paper(f"2502.{i:05d}", title=f"Learning thing {i}", categories=("cs.CV",))])
        embed_pending(store, emb)
        engine.refresh()
    stop.set()
    for t in threads:
        t.join(30)
    assert not errors, errors[0]
    assert engine.search("thing", mode="keyword", limit=10).total == 5


def test_keyword_hits_resolve_to_ids_with_or_without_memory(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from paperwire.search import keyword
    from paperwire.search.keyword import KeywordIndex
    from paperwire.search.query import parse_query

    papers = [make_paper(f"2501.{i:05d}", title=f"graph study number {i}") for i in range(1, 31)]
    writer = KeywordIndex(tmp_path / "kw")
    writer.add((i, p) for i, p in enumerate(papers, start=1))
    expected = {p.id for p in papers}
    hits, total = writer.search(parse_query("graph"), limit=50)
    assert total == 30 and {h.paper_id for h in hits} == expected  # ids it learned while indexing

    reader = KeywordIndex(tmp_path / "kw")  # as another process: has learned nothing yet
    assert {h.paper_id for h in reader.search(parse_query("graph"), limit=50)[0]} == expected
    assert set(reader._id_of.values()) == expected  # read from the stored documents once, then remembered

    monkeypatch.setattr(keyword, "id_key", lambda pid: 7)  # every id collides on one key
    clash = KeywordIndex(tmp_path / "kw")
    assert clash.learn_id("2501.00001") == 7 and clash.learn_id("2501.00002") == 7
    assert clash._id_of[7] == ""  # ambiguous: such keys are always read from the document
    assert clash.matching_ids(parse_query("number"), among=["2501.00001", "2501.00002"]) == {
        "2501.00001",
        "2501.00002",
    }


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_deep_offsets_are_refused_or_empty_never_a_crash(engine: SearchEngine, mode: str) -> None:
    from paperwire.search.hybrid import MAX_RESULTS

    for offset in (10**10, 10**30):  # tantivy once tried to allocate 16 bytes for every skipped result
        with pytest.raises(QueryError, match="too deep"):
            engine.search("model", mode=mode, offset=offset)  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="too deep"):
        engine.search("model", mode=mode, limit=10**10)  # type: ignore[arg-type]
    first = engine.search("model", mode=mode, limit=5)  # type: ignore[arg-type]
    past = engine.search("model", mode=mode, offset=MAX_RESULTS - 10, limit=10)  # type: ignore[arg-type]
    assert past.hits == [] and past.offset == MAX_RESULTS - 10
    everything = engine.search("model", mode=mode, limit=MAX_RESULTS)  # type: ignore[arg-type]
    assert len(everything.hits) == everything.total <= engine.keyword.num_docs()
    if mode == "keyword":  # (the other modes count the candidates they fused, which grow with depth)
        assert past.total == everything.total == first.total
    by_date = engine.search("model", mode=mode, sort="date", offset=first.total - 1, limit=1)  # type: ignore[arg-type]
    assert len(by_date.hits) == 1  # the last one, as the daily list's "next day" asks for


def test_an_index_built_from_another_database_is_rebuilt(tmp_path: Path) -> None:
    """A home pointed at a copy of its database: the copy's sequence numbers mean nothing to the old index."""
    from paperwire.store import open_url
    from tests.conftest import make_paper

    home = tmp_path / "home"
    first = open_url(f"sqlite:///{tmp_path / 'a.db'}")
    first.upsert_papers([make_paper(f"2501.{i:05d}", title=f"alpha {i}") for i in range(1, 6)])
    for i in range(6, 11):  # many commits: the index's mark runs ahead of a fresh copy's
        first.upsert_papers([make_paper(f"2501.{i:05d}", title=f"alpha {i}")])
    settings = Settings(home=home, load_sample=False)
    SearchEngine(settings, first, HashEmbedder()).refresh()
    first.close()
    copy = open_url(f"sqlite:///{tmp_path / 'b.db'}")  # the "copy": another database, one commit
    copy.upsert_papers([make_paper(f"2501.{i:05d}", title=f"alpha {i}") for i in range(1, 11)])
    copy.upsert_papers([make_paper("2502.00001", title="beta arrives after the switch")])
    eng = SearchEngine(settings, copy, HashEmbedder())
    eng.refresh()
    assert [h.paper.id for h in eng.search("beta", mode="keyword").hits] == ["2502.00001"]
    assert eng.keyword.store_id == copy.store_id()
    copy.close()


@pytest.mark.parametrize(
    "text", ["masked autoencoders", "Kaiming He masked autoencoder", "graph neural networks"]
)
def test_words_alone_rank_as_they_do_under_a_filter_that_keeps_everything(
    engine: SearchEngine, text: str
) -> None:
    from paperwire.search.query import parse_query

    kw = engine.keyword
    alone, total = kw.search(parse_query(text), limit=50)  # one flat union of term clauses
    kept, _ = kw.search(parse_query(text + " after:1990-01-01"), limit=50)  # words nested under a filter
    assert alone and total >= len(alone)
    assert [h.paper_id for h in alone] == [h.paper_id for h in kept]
    assert [round(h.score, 4) for h in alone] == [round(h.score, 4) for h in kept]
    uncounted, zero = kw.search(parse_query(text), limit=50, count=False)  # what hybrid asks: hits, no count
    assert [h.paper_id for h in uncounted] == [h.paper_id for h in alone] and zero == 0


def test_words_in_most_papers_do_not_rank_unless_the_query_has_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paperwire.search import keyword
    from paperwire.search.keyword import KeywordIndex
    from paperwire.search.query import parse_query

    papers = [
        make_paper(f"2501.{i:05d}", title=f"Paper {i}", abstract="A model of things." if i % 5 else "Other.")
        for i in range(1, 41)
    ] + [make_paper("2501.00099", title="Quantization", abstract="We quantize weights to 4 bits.")]
    kw = KeywordIndex(tmp_path / "kw")
    kw.add(enumerate(papers, 1))
    monkeypatch.setattr(keyword, "COMMON_MIN_DOCS", 10)
    assert kw.informative(kw.terms("model quantization")) == ["quantiz"]  # "model": in 32 of 41 papers
    hits, total = kw.search(parse_query("model quantization"), limit=50)
    assert [h.paper_id for h in hits] == ["2501.00099"] and total == 1
    hits, total = kw.search(parse_query("model"), limit=50)  # nothing else: it ranks
    assert total == 32
    monkeypatch.setattr(keyword, "COMMON_MIN_DOCS", 1000)  # too few papers to tell: every word ranks
    _, total = kw.search(parse_query("model quantization"), limit=50)
    assert total == 33
