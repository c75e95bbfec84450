"""Quoted phrases match the text as written, stop words included (issue 7)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from paperwire.config import Settings
from paperwire.search.hybrid import SearchEngine
from paperwire.search.keyword import KeywordIndex
from paperwire.search.query import parse_query
from paperwire.store import Store
from tests.conftest import engine_over, make_paper
from tests.embedders import HashEmbedder

PAPERS = [
    make_paper("2501.00001", title="Regularization of Gaussian Splatting", abstract="We add a prior."),
    make_paper("2501.00002", title="Regularization for Gaussian Splatting", abstract="We add a loss."),
    make_paper("2501.00003", title="Regularization Gaussian Splatting", abstract="We add a penalty."),
    make_paper(
        "2501.00004",
        title="Depth priors",
        abstract="A study of the regularization of Gaussian splatting with depth.",
    ),
    make_paper("2501.00005", title="Unrelated", abstract="Protein folding in the cell."),
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchEngine]:
    with engine_over(tmp_path_factory.mktemp("phrases"), PAPERS) as eng:
        yield eng


def ids(engine: SearchEngine, text: str, mode: str = "keyword") -> set[str]:
    return {h.paper.id for h in engine.search(text, mode=mode, limit=50).hits}  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_phrase_with_a_stop_word_matches_only_that_wording(engine: SearchEngine, mode: str) -> None:
    # the title as written, and the same words inside an abstract; never "for" nor no word in between
    assert ids(engine, '"Regularization of Gaussian Splatting"', mode) == {"2501.00001", "2501.00004"}
    assert ids(engine, '"Regularization for Gaussian Splatting"', mode) == {"2501.00002"}
    assert ids(engine, '"Regularization Gaussian Splatting"', mode) == {"2501.00003"}


def test_phrase_without_stop_words_still_matches_everywhere(engine: SearchEngine) -> None:
    assert ids(engine, '"gaussian splatting"') == {"2501.00001", "2501.00002", "2501.00003", "2501.00004"}


def test_excluded_phrase_with_a_stop_word(engine: SearchEngine) -> None:
    assert ids(engine, 'splatting -"regularization of gaussian"') == {"2501.00002", "2501.00003"}
    for mode in ("semantic", "hybrid"):  # these rank papers without the word too; never the excluded ones
        got = ids(engine, 'splatting -"of gaussian"', mode)
        assert {"2501.00002", "2501.00003"} <= got and not got & {"2501.00001", "2501.00004"}, mode


def test_phrase_of_stop_words_only_is_a_phrase_like_any_other(engine: SearchEngine) -> None:
    # "of the" is matched as written: papers holding those two words in a row, nothing else
    assert ids(engine, '"of the"') == {"2501.00004"}
    assert ids(engine, '"in the"') == {"2501.00005"}
    assert ids(engine, 'splatting -"of the"') == {"2501.00001", "2501.00002", "2501.00003"}
    assert ids(engine, '"the"') == {"2501.00004", "2501.00005"}  # one stop word: that word, anywhere
    # plain stop words still rank nothing, as before
    assert engine.search("of the", mode="keyword").hits == []


def test_phrase_is_reported_as_matched(engine: SearchEngine) -> None:
    res = engine.search('"Regularization of Gaussian Splatting"', mode="keyword")
    assert all(h.matched_terms == ["Regularization of Gaussian Splatting"] for h in res.hits)
    res = engine.search('"of the"', mode="keyword")
    assert [h.matched_terms for h in res.hits] == [["of the"]]


def test_title_boost_still_counts_with_the_title_analyzer(engine: SearchEngine) -> None:
    kw = engine.keyword
    assert kw.title_boost > 0
    hits, _ = kw.search(parse_query("regularization"), limit=10)
    scores = {h.paper_id: h.score for h in hits}
    # every one says "regularization" once; the four with it in the title rank above the abstract-only one
    assert set(scores) == {"2501.00001", "2501.00002", "2501.00003", "2501.00004"}
    assert min(scores[p] for p in ("2501.00001", "2501.00002", "2501.00003")) > scores["2501.00004"]
    plain = KeywordIndex(engine.settings.home / "noboost", title_boost=0.0)
    plain.add(enumerate(PAPERS, 1))
    unboosted = {h.paper_id: h.score for h in plain.search(parse_query("regularization"), limit=10)[0]}
    assert all(scores[p] > unboosted[p] for p in ("2501.00001", "2501.00002", "2501.00003"))


def test_index_of_an_older_schema_is_rebuilt_from_the_store(settings: Settings, store: Store) -> None:
    store.upsert_papers(PAPERS)
    SearchEngine(settings, store, HashEmbedder()).refresh()
    meta = settings.index_dir / "keyword" / "paperwire.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "schema": 3}))  # as the old layout left it
    again = SearchEngine(settings, store, HashEmbedder())
    assert again.keyword.num_docs() == 0  # dropped: a stale layout is never searched
    assert again.refresh()[0] == len(PAPERS)
    assert ids(again, '"Regularization of Gaussian Splatting"') == {"2501.00001", "2501.00004"}
