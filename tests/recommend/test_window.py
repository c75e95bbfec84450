"""WindowRecommender: one window's work shared by many libraries, over a real store and vector index (the test
embedder's vectors); the papers are test_recommend_api.py's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import numpy as np
import pytest

from paperwire.app_context import Paperwire, open_paperwire
from paperwire.config import Settings
from paperwire.recommend import LibraryError, RankParams, Recommendation, WindowRecommender, recommend
from paperwire.recommend.rank import Background
from paperwire.store import open_store
from tests.conftest import database
from tests.embedders import HashEmbedder
from tests.recommend.test_recommend_api import LIB_IDS, LIBRARY, NEW, OLD, UNEMBEDDED
from tests.web.conftest import fill

LDA = RankParams(classifier="lda")
LOGISTIC = RankParams(classifier="logistic")


@pytest.fixture(scope="module")
def pw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Paperwire]:
    path = tmp_path_factory.mktemp("rec-window")
    with database() as url:
        settings = Settings(home=path, database_url=url, load_sample=False, rate_limit_per_minute=0)
        fill(path, LIBRARY + OLD + NEW, url)
        store = open_store(settings)
        store.upsert_papers([UNEMBEDDED])  # stored, no vector: embedded for the call
        store.close()
        opened = open_paperwire(settings, embedder=HashEmbedder(), first_run=False)
        try:
            yield opened
        finally:
            opened.close()


def shape(recs: list[Recommendation]) -> list[tuple[str, float, list[str]]]:
    return [(r.paper.id, round(r.score, 9), r.because) for r in recs]


CALLS: list[dict[str, Any]] = [
    {"library_ids": LIB_IDS, "limit": 10},
    {"library_ids": LIB_IDS, "exclude": ["2502.00001"], "less_like": ["2502.00002"], "limit": 10},
    {"library_ids": LIB_IDS, "more_like": ["2502.00003"], "limit": 3},
    {"library_ids": ["2501.00104"], "limit": 2},
    {"library_ids": [UNEMBEDDED.id, "2501.00101", "2409.99999"], "limit": 5},
    {"library_ids": LIB_IDS[:3], "exclude": [p.id for p in NEW], "limit": 5},  # nothing left
]


@pytest.mark.parametrize("params", [LOGISTIC, LDA], ids=["logistic", "lda"])
def test_one_window_for_many_libraries_gives_what_recommend_gives(pw: Paperwire, params: RankParams) -> None:
    wr = WindowRecommender(pw)
    assert wr.window.since == date(2025, 2, 1) and wr.window.until == date(2025, 2, 7)
    assert wr.candidates == 5
    for _ in range(2):  # reused, in any order: no call leaks into the next
        for call in CALLS:
            assert shape(wr.recommend(**call, params=params)) == shape(recommend(pw, **call, params=params))
    assert wr.recommend(**CALLS[-1], params=params) == []
    wide = WindowRecommender(pw, since=date(2025, 1, 1))
    assert shape(wide.recommend(LIB_IDS, limit=30, params=params)) == shape(
        recommend(pw, LIB_IDS, since=date(2025, 1, 1), limit=30, params=params)
    )


def test_the_lda_path_ranks_the_librarys_topic_first(pw: Paperwire) -> None:
    # this background is 16 papers, 3 of them the library's near-identical graph papers: a covariance of so
    # few papers in 256 dimensions is shrunk nearly all the way (at least dim / (dim + n)), whatever the
    # shrinkage asked for (test_rank.py plants a cluster against a large background)
    lda = RankParams(classifier="lda", shrinkage=0.0)
    wr = WindowRecommender(pw)
    ids = [r.paper.id for r in wr.recommend(LIB_IDS, limit=10, params=lda)]
    assert set(ids[:2]) == {"2502.00001", "2502.00002"}  # graphs: most of the library
    alone = RankParams(classifier="lda", shrinkage=0.0, blend=1.0)  # the classifier alone agrees
    assert {r.paper.id for r in wr.recommend(LIB_IDS, limit=2, params=alone)} == {"2502.00001", "2502.00002"}
    # "not interested" in a graph paper: speech leads
    ids = [r.paper.id for r in wr.recommend(LIB_IDS, less_like=["2502.00002"], limit=10, params=lda)]
    assert ids[0] == "2502.00005" and "2502.00002" not in ids


def test_the_shared_background_is_made_once(pw: Paperwire, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[int] = []
    real = Background.of.__func__  # type: ignore[attr-defined]

    def counted(cls: type[Background], rows: np.ndarray) -> Background:
        made.append(len(rows))
        out: Background = real(cls, rows)
        return out

    monkeypatch.setattr(Background, "of", classmethod(counted))
    since = date(2025, 2, 3)  # a window no other test used: its background is not cached yet
    wr = WindowRecommender(pw, since=since)
    for call in CALLS[:4]:
        wr.recommend(**call, params=LOGISTIC)  # the logistic classifier needs none
    assert made == []
    for call in CALLS[:4]:
        wr.recommend(**call, params=LDA)
    assert len(made) == 1
    # later recommenders of the same window (and recommend()) reuse it; another window has its own
    WindowRecommender(pw, since=since).recommend(LIB_IDS, params=LDA)
    recommend(pw, LIB_IDS, since=since, params=LDA)
    assert len(made) == 1
    recommend(pw, LIB_IDS, since=date(2025, 1, 25), params=LDA)
    assert len(made) == 2
    # the background is the papers outside the window: here every live one outside it
    bg = WindowRecommender(pw, since=since).background()
    assert bg is not None and bg.n == made[0] == len(LIBRARY) + len(OLD) + 1  # and 2502.00006


def test_a_bad_library_is_refused_by_the_window_too(pw: Paperwire) -> None:
    wr = WindowRecommender(pw)
    with pytest.raises(LibraryError, match="the library is empty"):
        wr.recommend([])
    with pytest.raises(LibraryError, match="none of the library's 1 papers"):
        wr.recommend(["2409.99999"])
