"""The vector index over a real store: read once in batches, then only what changed; rows beyond the graph
searched exactly; a background build; the saved state and when it is not trusted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from paperwire.config import Settings
from paperwire.search import semantic
from paperwire.search.facets import Facets
from paperwire.search.keyword import date_key
from paperwire.search.semantic import VectorIndex
from paperwire.store import Store, VectorCursor, open_store
from tests.conftest import database, make_paper

DIM = 16


class Reads:
    """A store whose vector reads are counted (how many rows each sync read)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.rows = 0
        self.full_loads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def iter_vectors(
        self, model: str, since: VectorCursor | None = None, batch: int = 10_000
    ) -> Iterator[Any]:
        if since is None:
            self.full_loads += 1
        for b in self.store.iter_vectors(model, since, batch=batch):
            self.rows += len(b)
            yield b


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with database() as url:
        s = open_store(Settings(home=tmp_path, load_sample=False, database_url=url))
        try:
            yield s
        finally:
            s.close()


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def add(store: Store, ids: list[str], vecs: np.ndarray, **kw: Any) -> None:
    papers = [make_paper(pid, **kw) for pid in ids]
    store.upsert_papers(papers)
    store.save_embeddings("m", [(p.id, p.text_hash) for p in papers], vecs)


def exact(index: VectorIndex, q: np.ndarray, k: int) -> list[str]:
    n = index.n
    scores = index.mat[:n] @ q
    scores[~index.alive[:n]] = -np.inf
    return [index.ids[i] for i in np.argsort(-scores, kind="stable")[:k]]


def test_a_refresh_reads_only_what_changed(store: Store, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    ids = [f"2501.{i:05d}" for i in range(1, 301)]
    add(store, ids, unit(rng, 300))
    reads = Reads(store)
    index = VectorIndex(tmp_path / "idx", "m")
    assert index.sync(reads, store.store_id()) == 300  # type: ignore[arg-type]
    assert reads.full_loads == 1 and reads.rows == 300 and len(index) == 300
    reads.rows = 0
    assert index.sync(reads, store.store_id()) == 0 and reads.rows == 0  # type: ignore[arg-type]
    # one new paper: a refresh reads it (and nothing else), and it is searchable at once
    new = unit(rng, 1)
    add(store, ["2502.00001"], new)
    assert index.sync(reads, store.store_id()) == 1  # type: ignore[arg-type]
    assert reads.rows <= 2 and reads.full_loads == 1  # (its vector, and its paper: the same row twice)
    assert index.search(new[0], 1)[0].paper_id == "2502.00001"
    # its text changes: the stale vector leaves the index until it is embedded again
    store.upsert_papers([make_paper("2502.00001", version=2, abstract="Something else.")])
    index.sync(store, store.store_id())
    assert len(index) == 300 and all(h.paper_id != "2502.00001" for h in index.search(new[0], 300))
    assert index.vector("2502.00001") is None
    again = store.get_papers(["2502.00001"])["2502.00001"]
    store.save_embeddings("m", [(again.id, again.text_hash)], new)
    index.sync(store, store.store_id())
    assert index.search(new[0], 1)[0].paper_id == "2502.00001" and len(index) == 301


def test_filters_follow_changed_dates_and_categories(store: Store, tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    add(store, ["2501.00001"], unit(rng, 1), categories=("cs.CV",), announced=None)
    add(store, [f"2501.{i:05d}" for i in range(2, 51)], unit(rng, 49), categories=("cs.CV",))
    add(store, [f"2501.{i:05d}" for i in range(51, 101)], unit(rng, 50), categories=("cs.CL",))
    index = VectorIndex(tmp_path / "idx", "m")
    index.sync(store, store.store_id())
    q = unit(rng, 1)[0]
    cv = index.mask(["cs.CV"])
    assert cv is not None and int(cv.sum()) == 50
    assert all(h.paper_id <= "2501.00050" for h in index.search(q, 100, cv))
    # a paper moves to cs.CL and learns its announcement date (same text: its vector stays)
    store.upsert_papers([make_paper("2501.00001", categories=("cs.CL",), announced=date(2026, 3, 1))])
    index.sync(store, store.store_id())
    cv, cl = index.mask(["cs.CV"]), index.mask(["cs.CL"])
    assert cv is not None and cl is not None and int(cv.sum()) == 49 and int(cl.sum()) == 51
    late = index.mask(after=date_key(date(2026, 1, 1)))
    assert late is not None and [index.ids[i] for i in np.nonzero(late)[0]] == ["2501.00001"]
    assert [h.paper_id for h in index.search(q, 10, late)] == ["2501.00001"]  # a narrow filter: rows gathered
    assert {h.paper_id for h in index.search(q, 100, cl)} == {index.ids[i] for i in np.nonzero(cl)[0]}
    both = index.mask(["cs.CV", "cs.CL"], before=date_key(date(2025, 12, 31)))
    assert both is not None and int(both.sum()) == 99


def test_rows_beyond_the_graph_are_searched_exactly(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(3)
    add(store, [f"2501.{i:05d}" for i in range(1, 201)], unit(rng, 200))
    monkeypatch.setattr(semantic, "INLINE_GRAPH_ROWS", 50)
    index = VectorIndex(tmp_path / "idx", "m")
    index.sync(store, store.store_id())  # "auto", as a command: too many rows to build a graph for here
    assert index.graph_n == 0 and index.building and index.state()["graph"] == 0
    for q in unit(rng, 5):
        assert [h.paper_id for h in index.search(q, 10)] == exact(index, q, 10)
    index.extend_graph()
    add(store, [f"2502.{i:05d}" for i in range(1, 31)], unit(rng, 30))
    index.sync(store, store.store_id())  # 30 new rows: few, added to the graph here
    assert index.graph_n == index.n == 230 and not index.building
    monkeypatch.setattr(semantic, "INLINE_GRAPH_ROWS", 0)
    add(store, ["2503.00001"], unit(rng, 1))
    index.sync(store, store.store_id())
    assert index.graph_n == 230 and index.n == 231  # the new row waits outside the graph...
    q = index.vector("2503.00001")
    assert q is not None and index.search(q, 3)[0].paper_id == "2503.00001"  # ... and is found all the same
    # the newest rows are searched exactly beside the graph too, never twice in one answer
    index.extend_graph()
    monkeypatch.setattr(semantic, "FRESH_ROWS", 5)
    hits = index.search(q, 10)
    assert hits[0].paper_id == "2503.00001" and len({h.paper_id for h in hits}) == 10


def test_a_background_build_then_a_restart_from_the_saved_index(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(4)
    add(store, [f"2501.{i:05d}" for i in range(1, 2001)], unit(rng, 2000), categories=("cs.LG",))
    monkeypatch.setattr(semantic, "INLINE_GRAPH_ROWS", 100)
    index = VectorIndex(tmp_path / "idx", "m")
    index.sync(store, store.store_id(), graph="background")
    for q in unit(rng, 3):  # while it builds, searches are exact over what the graph lacks
        assert len(index.search(q, 10)) == 10
    assert index.wait_built(timeout=120) and index.state() == {
        "vectors": 2000,
        "graph": 2000,
        "building": False,
    }
    assert (index.dir / "meta.json").exists()  # saved once built
    add(store, ["2502.00001"], unit(rng, 1), categories=("cs.CV",))
    index.sync(store, store.store_id(), graph="background")
    index.close()  # saves the change it has not saved
    reads = Reads(store)
    again = VectorIndex(tmp_path / "idx", "m")
    assert again.sync(reads, store.store_id()) == 0  # type: ignore[arg-type]
    assert reads.full_loads == 0 and reads.rows == 0  # the saved index, nothing read from the store
    assert again.n == 2001 and again.graph_n == 2001 and np.array_equal(again.mat[:2001], index.mat[:2001])
    m = again.mask(["cs.LG"])
    assert m is not None and int(m.sum()) == 2000
    for q in unit(rng, 3):
        assert [h.paper_id for h in again.search(q, 5)] == [h.paper_id for h in index.search(q, 5)]


def test_a_saved_index_is_not_trusted_when_it_does_not_fit(store: Store, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    add(store, [f"2501.{i:05d}" for i in range(1, 101)], unit(rng, 100))
    index = VectorIndex(tmp_path / "idx", "m")
    index.sync(store, store.store_id())
    index.close()
    meta = index.dir / "meta.json"
    good = meta.read_text()
    # a crash between the renames: the files disagree on the row count
    meta.write_text(good.replace('"count": 100', '"count": 99'))
    reads = Reads(store)
    assert VectorIndex(tmp_path / "idx", "m").sync(reads, store.store_id()) == 100  # type: ignore[arg-type]
    assert reads.full_loads == 1
    # another database (a home pointed at a copy): its sequences mean nothing here
    meta.write_text(good)
    reads = Reads(store)
    assert VectorIndex(tmp_path / "idx", "m").sync(reads, "another-store") == 100  # type: ignore[arg-type]
    assert reads.full_loads == 1
    # a running index that finds its database changed under it reads it anew
    reads = Reads(store)
    index.sync(reads, "another-store")  # type: ignore[arg-type]
    assert reads.full_loads == 1 and len(index) == 100


def test_facets_patch_and_fold_agree() -> None:
    rng = np.random.default_rng(6)
    cats = ["a", "b", "c", "d"]
    truth: dict[int, tuple[str, ...]] = {}
    f = Facets()
    f.grow(500)
    start = [tuple(c for c in cats if rng.random() < 0.4) for _ in range(500)]
    f.append(0, ["2025-01-01"] * 500, start)
    f.seal()
    truth.update(enumerate(start))
    for _ in range(300):
        row = int(rng.integers(500))
        truth[row] = tuple(c for c in cats if rng.random() < 0.4)
        f.set(row, "2025-02-02", truth[row])
    for want in (["a"], ["b", "d"], ["zz"]):
        expected = np.array([not set(want).isdisjoint(truth[r]) for r in range(500)])
        assert np.array_equal(f.category_mask(want, 500), expected)
        assert np.array_equal(f.category_rows(want, 500), np.flatnonzero(expected))  # patched rows too
        assert np.array_equal(f.category_rows(want, 200), np.flatnonzero(expected[:200]))
        f.fold()
        assert np.array_equal(f.category_mask(want, 500), expected)
        assert np.array_equal(f.category_rows(want, 500), np.flatnonzero(expected))


def test_a_broad_filter_walks_the_graph_and_a_narrow_one_scans(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(5)
    add(store, [f"2501.{i:05d}" for i in range(1, 301)], unit(rng, 300), categories=("cs.CV",))
    add(store, [f"2502.{i:05d}" for i in range(1, 101)], unit(rng, 100), categories=("cs.CL",))
    add(store, ["2503.00001"], unit(rng, 1), categories=("cs.RO",))
    index = VectorIndex(tmp_path / "idx", "m")
    index.sync(store, store.store_id(), "inline")
    assert index.graph_n == index.n == 401
    monkeypatch.setattr(semantic, "FRESH_ROWS", 0)  # the graph's answer alone
    monkeypatch.setattr(semantic, "WALK_ROW_COST", 1)  # a walk as cheap as a scan: a broad filter walks
    walks: list[bool] = []
    walk = index._walk

    def spy(q: np.ndarray, k: int, allowed: np.ndarray | None) -> object:
        got = walk(q, k, allowed)
        walks.append(got is not None)
        return got

    monkeypatch.setattr(index, "_walk", spy)
    calls: list[dict[str, Any]] = []

    class Graph:  # hnswlib's graph, its walks recorded
        def __init__(self, graph: Any) -> None:
            self.graph = graph

        def __getattr__(self, name: str) -> Any:
            return getattr(self.graph, name)

        def knn_query(self, *args: Any, **kw: Any) -> Any:
            calls.append(kw)
            return self.graph.knn_query(*args, **kw)

    index.graph = Graph(index.graph)  # type: ignore[assignment]
    cv, ro = index.mask(["cs.CV"]), index.mask(["cs.RO"])
    assert cv is not None and ro is not None
    for q in unit(rng, 5):
        hits = index.search(q, 10, cv)  # 300 rows allowed: the graph is walked, skipping the others
        assert all(h.paper_id.startswith("2501.") for h in hits) and len(hits) == 10
        allowed = [index.ids[i] for i in np.nonzero(cv)[0]]
        best = [p for p in exact(index, q, 401) if p in allowed][:10]
        assert len(set(best) & {h.paper_id for h in hits}) >= 9  # approximate, nearly exact on 400 rows
    assert walks == [True] * 5
    # the walk asked for more rows than it keeps, and never called back into Python for each row it met
    assert len(calls) == 5 and all(c.get("filter") is None and c["k"] > 10 for c in calls)
    hits = index.search(unit(rng, 1)[0], 10, ro)  # one row allowed: gathered and scanned exactly
    assert [h.paper_id for h in hits] == ["2503.00001"] and walks[-1] is False


def test_listed_rows_allow_what_the_mask_allows_and_search_alike(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(8)
    add(store, [f"2501.{i:05d}" for i in range(1, 201)], unit(rng, 200), categories=("cs.CV",))
    add(store, [f"2502.{i:05d}" for i in range(1, 151)], unit(rng, 150), categories=("cs.CL", "cs.AI"))
    add(store, [f"2503.{i:05d}" for i in range(1, 51)], unit(rng, 50), categories=("cs.RO",), announced=None)
    index = VectorIndex(tmp_path / "idx", "m")
    index.sync(store, store.store_id(), "inline")
    # changes after the full load: a paper moves category (the facets' patch) and gets a date; one is
    # rewritten (its vector, made for the old text, leaves the index)
    store.upsert_papers(
        [
            make_paper("2501.00007", categories=("cs.RO",), announced=date(2026, 2, 2)),
            make_paper("2502.00003", categories=("cs.CL", "cs.AI"), abstract="Rewritten."),
        ]
    )
    index.sync(store, store.store_id(), "inline")
    monkeypatch.setattr(semantic, "WALK_ROW_COST", 1)
    some = {f"2501.{i:05d}" for i in range(1, 300, 3)} | {"2502.00003", "nope"}
    cases: list[tuple[Any, ...]] = [
        (["cs.CV"], None, None, None),
        (["cs.RO"], None, None, None),
        (["cs.AI", "cs.RO"], None, None, None),
        (["cs.RO"], date_key(date(2026, 1, 1)), None, None),
        (["cs.CV", "cs.RO"], None, date_key(date(2025, 12, 31)), None),
        (None, None, None, some),
        (["cs.CV"], None, None, some),
        (["cs.XX"], None, None, None),
    ]
    assert not index.alive[index.label_of["2502.00003"]]
    queries = unit(rng, 3)
    for cats, after, before, ids in cases:
        mask = index.mask(cats, after, before, ids)
        rows = index.rows(cats, after, before, ids)
        assert mask is not None and rows is not None
        assert np.array_equal(rows, np.flatnonzero(mask & index.alive[: index.n])), (cats, after, before)
        for q in queries:
            by_rows = [(h.paper_id, round(h.similarity, 5)) for h in index.search(q, 10, rows=rows)]
            by_mask = [(h.paper_id, round(h.similarity, 5)) for h in index.search(q, 10, mask)]
            if rows.size < 100:  # scanned exactly, both ways
                assert by_rows == by_mask
            else:  # walked, both ways, within the filter
                assert {p for p, _ in by_rows} <= {index.ids[r] for r in rows}
                assert len({p for p, _ in by_rows} & {p for p, _ in by_mask}) >= 9
    assert index.rows() is None
    # rows listed before a sync that drops one of them: the dropped one is not served
    listed = index.rows(["cs.CV"])
    assert listed is not None
    store.upsert_papers([make_paper("2501.00002", categories=("cs.CV",), abstract="Rewritten too.")])
    index.sync(store, store.store_id(), "inline")
    served = {h.paper_id for h in index.search(queries[0], 400, rows=listed)}
    assert "2501.00002" not in served and len(served) == listed.size - 1
