"""The JSON API in process (real store, real indexes, test embedder)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from paperwire.config import Settings
from paperwire.store import Store
from paperwire.web.app import create_app
from tests.conftest import database_env, make_paper
from tests.embedders import HashEmbedder


@pytest.fixture
def client(settings: Settings, store: Store) -> Iterator[TestClient]:
    store.upsert_papers(
        [
            make_paper(
                "2501.00001", title="<img src=x onerror=alert(1)> Graph networks", abstract="</script> graphs"
            ),
            make_paper("2501.00002", title="Diffusion models for video", categories=("cs.CV",)),
        ]
    )
    app = create_app(settings.model_copy(update={"load_sample": False}), embedder=HashEmbedder())
    with TestClient(app, base_url="http://localhost") as c:  # a loopback name: allowed by default
        yield c


def test_search_and_paper(client: TestClient) -> None:
    r = client.get("/api/search", params={"q": "graph networks", "mode": "keyword"})
    assert r.status_code == 200
    body = r.json()
    assert body["hits"][0]["paper"]["id"] == "2501.00001"
    # JSON carries third-party text as data; the content type keeps browsers from rendering it
    assert r.headers["content-type"].startswith("application/json")
    p = client.get("/api/papers/arXiv:2501.00002v1").json()
    assert p["title"] == "Diffusion models for video" and p["abs_url"] == "https://arxiv.org/abs/2501.00002"


def test_background_embedding_makes_semantic_search_work(client: TestClient) -> None:
    import time

    deadline = time.time() + 20
    while client.get("/api/status").json()["vector_indexed"] < 2 and time.time() < deadline:
        time.sleep(0.1)
    r = client.get("/api/search", params={"q": "video diffusion", "mode": "semantic"})
    assert r.json()["hits"][0]["paper"]["id"] == "2501.00002"
    assert r.json()["semantic_share"] is None  # one list alone: no mix
    mixed = client.get("/api/search", params={"q": "video diffusion"}).json()
    assert mixed["mode"] == "hybrid" and 0.05 <= mixed["semantic_share"] <= 0.95
    sim = client.get("/api/papers/2501.00002/similar").json()
    assert [h["paper"]["id"] for h in sim["hits"]] == ["2501.00001"]


def test_papers_another_process_ingests_become_searchable_while_serving(settings: Settings) -> None:
    """A cron `paperwire ingest` beside a running server: the server embeds and indexes what it wrote."""
    import os
    import subprocess
    import sys
    import time

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "kaggle-snapshot-sample.jsonl"
    live = settings.model_copy(update={"load_sample": False, "refresh_interval": 0.2})
    with TestClient(create_app(live, embedder=HashEmbedder()), base_url="http://localhost") as c:
        assert c.get("/api/status").json()["papers"] == 0
        env = {
            **os.environ,
            **database_env(settings.database_url),
            "PAPERWIRE_HOME": str(settings.home),
            "PAPERWIRE_LOAD_SAMPLE": "0",
        }
        r = subprocess.run(
            [sys.executable, "-m", "paperwire", "ingest", "file", str(fixture), "--no-embed"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr  # the CLI and the server share the index writer in turn
        q = "Sparsity-certifying Graph Decompositions"

        def top(mode: str) -> str | None:
            hits = c.get("/api/search", params={"q": q, "mode": mode}).json()["hits"]
            return hits[0]["paper"]["id"] if hits else None

        deadline = time.time() + 60
        while time.time() < deadline and (
            c.get("/api/status").json()["vector_indexed"] < 200 or top("keyword") is None
        ):
            time.sleep(0.2)
        st = c.get("/api/status").json()
        assert st["papers"] == 200 and st["vector_indexed"] == 200 and st["pending_embeddings"] == 0
        assert top("keyword") == "0704.0002" and top("semantic") == "0704.0002"


def test_a_busy_index_writer_is_waited_for_then_reported(tmp_path: Path) -> None:
    from paperwire.errors import IndexBusyError
    from paperwire.search.keyword import KeywordIndex

    first = KeywordIndex(tmp_path / "kw")
    held = first.index.writer(heap_size=15_000_000, num_threads=1)  # as another process would
    second = KeywordIndex(tmp_path / "kw", lock_wait=0.5)
    with pytest.raises(IndexBusyError, match="another paperwire process"):
        second.add([(1, make_paper("2501.00001"))])
    assert second.seq == 0  # nothing half-done
    del held
    import gc

    gc.collect()  # the writer's lock goes with it
    assert second.add([(1, make_paper("2501.00001"))]) == 1 and second.seq == 1


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"q": ""}, 422),
        ({"q": "x", "limit": 0}, 422),
        ({"q": "x", "limit": "ten"}, 422),
        ({"q": "x", "mode": "fuzzy"}, 422),
        ({"q": "x" * 2000}, 422),
        ({"q": '"unbalanced'}, 400),
        ({"q": "after:nope"}, 400),
        ({"q": "2101.99999"}, 404),
    ],
)
def test_bad_requests_get_clear_4xx(client: TestClient, params: dict[str, object], status: int) -> None:
    r = client.get("/api/search", params=params)
    assert r.status_code == status
    assert r.json()["error"]


def test_unknown_paper_is_404(client: TestClient) -> None:
    assert client.get("/api/papers/2101.99999").status_code == 404
    assert client.get("/api/papers/not-an-id").status_code == 400
