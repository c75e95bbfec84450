"""/api/recommend and recommend() over a real store and vector index (the test embedder's vectors)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient

from paperwire.app_context import open_paperwire
from paperwire.config import Settings
from paperwire.recommend import LibraryError, recommend
from paperwire.store import open_store
from paperwire.web.app import create_app
from tests.conftest import database, make_paper
from tests.embedders import HashEmbedder
from tests.web.conftest import fill

GRAPH = "graph neural networks message passing molecules atoms bonds"
VIDEO = "diffusion video generation frames motion temporal"
SPEECH = "speech recognition audio acoustic phonemes transcription"

LIBRARY = [  # read in January: graphs (three papers) and speech (one)
    make_paper(
        "2501.00101",
        title="Graph networks for molecules",
        abstract=GRAPH + " chemistry",
        announced=date(2025, 1, 6),
    ),
    make_paper(
        "2501.00102",
        title="Message passing on molecular graphs",
        abstract=GRAPH + " property",
        announced=date(2025, 1, 7),
    ),
    make_paper(
        "2501.00103",
        title="Equivariant graph networks",
        abstract=GRAPH + " symmetry",
        announced=date(2025, 1, 8),
    ),
    make_paper(
        "2501.00104",
        title="Speech recognition at scale",
        abstract=SPEECH + " scale",
        announced=date(2025, 1, 9),
    ),
]
OTHER = [
    "robot grasping manipulation arms",
    "database query optimisation indexes",
    "compiler register allocation loops",
    "protein folding structure residues",
    "traffic forecasting roads sensors",
    "quantum circuits qubits gates",
    "recommender systems users items",
    "weather climate precipitation models",
    "legal documents contracts clauses",
    "tabular data gradient boosting",
]
OLD = [  # other January papers, on other topics: the classifier's background
    make_paper(f"2501.002{i:02d}", title=f"Study {i}", abstract=words, announced=date(2025, 1, 10))
    for i, words in enumerate(OTHER)
]
NEW = [  # the window: the week up to 2025-02-07
    make_paper(
        "2502.00001",
        title="Graph networks predict molecular bonds",
        abstract=GRAPH + " prediction",
        announced=date(2025, 2, 5),
    ),
    make_paper(
        "2502.00002", title="Message passing for atoms", abstract=GRAPH + " new", announced=date(2025, 2, 6)
    ),
    make_paper(
        "2502.00003", title="Video diffusion with motion", abstract=VIDEO + " new", announced=date(2025, 2, 6)
    ),
    make_paper(
        "2502.00004", title="Temporal video generation", abstract=VIDEO + " other", announced=date(2025, 2, 7)
    ),
    make_paper(
        "2502.00005",
        title="Acoustic speech transcription",
        abstract=SPEECH + " new",
        announced=date(2025, 2, 7),
    ),
    make_paper(
        "2502.00006",
        title="Old graph paper outside the window",
        abstract=GRAPH + " outside",
        announced=date(2025, 1, 20),
    ),
]
LIB_IDS = [p.id for p in LIBRARY]
UNEMBEDDED = make_paper(
    "2401.00500", title="Phoneme transcription", abstract=SPEECH + " older", announced=date(2024, 1, 2)
)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    path = tmp_path_factory.mktemp("rec")
    with database() as url:
        settings = Settings(home=path, database_url=url, load_sample=False, rate_limit_per_minute=0)
        fill(path, LIBRARY + OLD + NEW, url)
        store = open_store(settings)  # one paper stored after the embedding: it has no vector yet
        store.upsert_papers([UNEMBEDDED])
        store.close()
        yield settings


@pytest.fixture(scope="module")
def api(home: Settings) -> Iterator[TestClient]:
    app = create_app(home, embedder=HashEmbedder(), background_embed=False)
    with TestClient(app, base_url="http://localhost") as c:
        yield c


def test_recommend_ranks_the_window_by_the_library(home: Settings) -> None:
    pw = open_paperwire(home, embedder=HashEmbedder(), first_run=False)
    try:
        recs = recommend(pw, LIB_IDS, limit=10)
        ids = [r.paper.id for r in recs]
        # the window ends at the newest day and is a week long: the January graph paper is not in it
        assert set(ids) == {"2502.00001", "2502.00002", "2502.00003", "2502.00004", "2502.00005"}
        assert set(ids[:2]) == {"2502.00001", "2502.00002"}  # graphs: most of the library
        graph = next(r for r in recs if r.paper.id == "2502.00001")
        assert graph.because and set(graph.because) <= {"2501.00101", "2501.00102", "2501.00103"}
        speech = next(r for r in recs if r.paper.id == "2502.00005")
        assert speech.because == ["2501.00104"]
        # dismissed papers never come back; "not interested" pushes graphs below speech
        recs = recommend(pw, LIB_IDS, exclude=["2502.00001"], less_like=["2502.00002"], limit=10)
        ids = [r.paper.id for r in recs]
        assert "2502.00001" not in ids and "2502.00002" not in ids
        assert ids[0] == "2502.00005"
        # "more like this" a video paper lifts the other video paper above speech
        recs = recommend(pw, LIB_IDS, more_like=["2502.00003"], limit=10)
        ids = [r.paper.id for r in recs]
        assert "2502.00003" not in ids and ids.index("2502.00004") < ids.index("2502.00005")
        # a longer window takes the January graph paper in; library papers never come back
        ids = [r.paper.id for r in recommend(pw, LIB_IDS, since=date(2025, 1, 1), limit=30)]
        assert "2502.00006" in ids[:4] and not set(ids) & set(LIB_IDS)
        # a tiny library works (similarity alone)
        recs = recommend(pw, ["2501.00104"], limit=2)
        assert recs[0].paper.id == "2502.00005" and recs[0].because == ["2501.00104"]
    finally:
        pw.close()


def test_a_library_paper_without_a_vector_is_embedded_for_the_call(home: Settings) -> None:
    pw = open_paperwire(home, embedder=HashEmbedder(), first_run=False)
    try:
        assert pw.store.get_embedding("test-hash", UNEMBEDDED.id) is None
        recs = recommend(pw, [UNEMBEDDED.id], limit=1)
        assert recs[0].paper.id == "2502.00005" and recs[0].because == [UNEMBEDDED.id]
        assert pw.store.get_embedding("test-hash", UNEMBEDDED.id) is None  # nothing was written
    finally:
        pw.close()


def test_empty_and_unknown_libraries_are_clear_errors(home: Settings) -> None:
    pw = open_paperwire(home, embedder=HashEmbedder(), first_run=False)
    try:
        with pytest.raises(LibraryError, match="the library is empty"):
            recommend(pw, [])
        with pytest.raises(LibraryError, match="none of the library's 1 papers is in this paperwire"):
            recommend(pw, ["2409.99999"])
        assert LibraryError("x").http_status == 400 and LibraryError("x").exit_code == 2
    finally:
        pw.close()


def test_get_recommends_for_ids(api: TestClient) -> None:
    r = api.get("/api/recommend", params={"id": [*LIB_IDS, "2409.99999", "arXiv:2501.00101v2"], "n": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["since"] == "2025-02-01" and body["until"] == "2025-02-07"
    assert body["library"]["entries"] == 5 and body["library"]["matched"] == 4
    assert [u["entry"] for u in body["library"]["unmatched"]] == ["2409.99999"]
    recs = body["recommendations"]
    assert len(recs) == 2 and {x["id"] for x in recs} == {"2502.00001", "2502.00002"}
    first = recs[0]
    assert first["title"] and isinstance(first["score"], float)
    assert 1 <= len(first["because"]) <= 3
    assert all(b["id"] in LIB_IDS[:3] and b["title"] for b in first["because"])


def test_get_takes_a_window(api: TestClient) -> None:
    r = api.get("/api/recommend", params={"id": LIB_IDS, "since": "2025-01-15", "until": "2025-01-31"})
    assert r.status_code == 200, r.text
    assert [x["id"] for x in r.json()["recommendations"]] == ["2502.00006"]


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({}, 422, "id"),
        ({"id": "not-an-id"}, 400, "not an arXiv id"),
        ({"id": "2409.99999"}, 400, "none of the library"),
        ({"id": "2501.00101", "n": "0"}, 422, "n"),
        ({"id": "2501.00101", "n": "101"}, 422, "n"),
        ({"id": "2501.00101", "since": "2025-13-01"}, 422, "since"),
        ({"id": "2501.00101", "since": "2025-02-07", "until": "2025-02-01"}, 400, "after the window's end"),
    ],
)
def test_get_refuses_bad_input_clearly(
    api: TestClient, params: dict[str, str], status: int, words: str
) -> None:
    r = api.get("/api/recommend", params=params)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]


def test_get_bounds_the_number_of_ids(api: TestClient) -> None:
    r = api.get("/api/recommend?" + "&".join(f"id=2501.{i:05d}" for i in range(1001)))
    assert r.status_code in (414, 422), r.text  # the address cap (8 KB) or the ids' cap (1,000)


BIBTEX = """@article{graphs2025,
  title = {Graph networks for molecules},
  author = {Doe, Jane},
  eprint = {2501.00101},
  archivePrefix = {arXiv},
}
@article{msg,
  title = {Message passing on molecular graphs},
  author = {Roe, Richard},
  journal = {arXiv preprint arXiv:2501.00102},
}
@book{unknown,
  title = {A book nobody here has},
  author = {Nobody, N.},
}
"""


def test_post_takes_a_library_file_without_a_csrf_token(api: TestClient) -> None:
    r = api.post(
        "/api/recommend?n=3",
        content=BIBTEX.encode(),
        headers={"content-type": "application/x-bibtex", "sec-fetch-site": "cross-site"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["library"]["matched"] == 2
    assert [u["entry"] for u in body["library"]["unmatched"]] == ["unknown"]
    assert body["library"]["unmatched"][0]["reason"]
    assert [x["id"] for x in body["recommendations"]][:2] in (
        ["2502.00001", "2502.00002"],
        ["2502.00002", "2502.00001"],
    )
    ids = api.post("/api/recommend?format=ids&n=1", content=b"2501.00104\n")
    assert ids.status_code == 200 and ids.json()["recommendations"][0]["id"] == "2502.00005"


def test_post_refuses_large_empty_and_unreadable_bodies(api: TestClient) -> None:
    big = api.post("/api/recommend", content=b"2501.00101\n" * (2 * 2**20 // 11 + 1))
    assert big.status_code == 413 and "larger than 2 MB" in big.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it comes
        for _ in range(3):
            yield b"x" * 2**20

    streamed = api.post("/api/recommend", content=chunks())
    assert streamed.status_code == 413
    assert api.post("/api/recommend", content=b"  \n").status_code == 400
    binary = api.post("/api/recommend", content=b"\x00\x01\x02" * 100)
    assert binary.status_code == 400 and "binary" in binary.json()["error"]
    assert api.post("/api/recommend?format=csv", content=b"2501.00101").status_code == 422
    nothing = api.post("/api/recommend", content=b"2409.99999\n")
    assert nothing.status_code == 400 and "none of the library's 1 entry" in nothing.json()["error"]


def test_openapi_marks_post_as_changing_nothing(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    post = spec["paths"]["/api/recommend"]["post"]
    assert "no CSRF token" in post["summary"]
    assert "application/x-bibtex" in post["requestBody"]["content"]
    assert "get" in spec["paths"]["/api/recommend"]


def test_store_is_untouched_by_recommendations(home: Settings, api: TestClient) -> None:
    store = open_store(home)
    try:
        before = store.count_papers()
        api.post("/api/recommend", content=b"2501.00101\n")
        assert store.count_papers() == before
    finally:
        store.close()
