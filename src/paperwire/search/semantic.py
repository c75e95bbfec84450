"""Dense vector search: an HNSW graph (hnswlib) for plain queries, exact numpy scans under filters.

The vectors live in the store; this index is derived from them. It reads them once, streamed in batches
into one preallocated matrix, and after that only what changed: the store gives every saved vector and
every changed paper a change sequence, and the index keeps the cursor it has read up to (S4: nothing
committed later has a lower one). A refresh after one new paper reads one row, at any corpus size.

Rows are labels 0..n-1 of one float32 matrix; the HNSW graph covers the first ``graph_n`` of them. Rows
beyond (papers added since the graph was built, or all of them while a large graph is still being built in
the background) are searched exactly and merged in, so a search never misses a paper the index holds. The
graph, the row ids, which rows are live and the facets are saved beside the keyword index with the cursor
they are up to, so a restart loads them and reads only the changes since.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import hnswlib
import numpy as np

from paperwire.search.facets import Facets
from paperwire.store.base import EmbeddingStore, VectorBatch, VectorCursor

log = logging.getLogger("paperwire.search")

_M = 32
_EF_CONSTRUCTION = 128
_EF_SEARCH = 128
_FORMAT = 2  # 2: state.npz + cursor in meta.json (1: labels.json, no cursor: read anew)
GRAPH_CHUNK = 256  # rows added to the graph per hold of the search lock (~0.3 s at a million rows)
INLINE_GRAPH_ROWS = 20_000  # rows missing from the graph that a sync adds itself; more: a build (background)
FRESH_ROWS = 20_000  # the newest rows, also searched exactly (a few ms): a paper just added is always found
# A filtered search (categories, dates, authors) either walks the graph for the nearest rows of all, as many
# more as the filter's share of the graph asks (x WALK_MARGIN), and keeps the allowed ones; or scores every
# allowed row exactly. It walks when that costs less: one row a walk returns costs about as much as scoring
# WALK_ROW_COST allowed rows (measured at a million rows: 20 us vs 0.5 us). So a broad filter walks and a
# narrow one scans. (hnswlib's own filter calls back into Python for every row it meets, taking the GIL each
# time: beside a thread busy in Python, filtered walks of a 50,000-row graph took 3.7-31x as long as unfiltered.)
WALK_MARGIN = 1.5
WALK_ROW_COST = 40
# allowed rows are scored this many at a time through one kept buffer: a fresh array the size of all of them
# (60 MB for 40,000 rows) costs more to fault in than the scoring itself
GATHER_ROWS = 2048

GraphBuild = Literal["auto", "inline", "background"]


@dataclass
class VectorHit:
    """A paper id with its cosine similarity to the query."""

    paper_id: str
    similarity: float


@contextmanager
def _dir_lock(path: Path) -> Iterator[None]:
    """Hold the index directory against other processes (a CLI and a server) while reading or saving."""
    path.mkdir(parents=True, exist_ok=True)
    with (path / ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _slug(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", model)[:80]


class VectorIndex:
    """Vectors of one model, with per-row dates and categories for filtering."""

    def __init__(self, index_dir: Path, model: str) -> None:
        self.dir = index_dir / f"vectors-{_slug(model)}"
        self.model = model
        self.ids: list[str] = []  # label -> paper id
        self.label_of: dict[str, int] = {}
        self.n = 0  # rows in use (labels 0..n-1); the arrays below have room for more
        self.mat = np.zeros((0, 0), dtype=np.float32)
        self.alive = np.zeros(0, dtype=bool)
        self.facets = Facets()
        self.graph: hnswlib.Index | None = None
        self.graph_n = 0  # rows 0..graph_n-1 are in the graph (their live ones, with their current vector)
        self.cursor: VectorCursor | None = None  # where the store was read up to
        self.store_id: str | None = None  # the database the cursor belongs to
        self._live = 0  # alive[:n].sum()
        self._graph_live = 0  # alive[:graph_n].sum(): what the graph can return
        self._unsaved = 0  # rows changed since the saved state
        self._lock = threading.Lock()  # searches, and every step that changes what they read
        self._mutate = threading.RLock()  # syncs, graph steps and saves, one at a time
        self._builder: threading.Thread | None = None
        self._stop = threading.Event()  # the running builder's: set, it stops at its next chunk
        self._gathered = np.zeros((0, 0), dtype=np.float32)  # _scan_rows's buffer (under the search lock)

    def __len__(self) -> int:
        return self._live

    @property
    def dim(self) -> int:
        """Vector dimension (0 when empty)."""
        return int(self.mat.shape[1]) if self.mat.ndim == 2 and self.mat.size else 0

    @property
    def building(self) -> bool:
        """Whether rows are waiting to join the graph (searched exactly meanwhile)."""
        return self.graph_n < self.n

    def state(self) -> dict[str, int | bool]:
        """What the status page says about this index."""
        return {"vectors": self._live, "graph": self._graph_live, "building": self.building}

    # -- keeping up with the store ------------------------------------------------------------

    def sync(self, store: EmbeddingStore, store_id: str, graph: GraphBuild = "auto") -> int:
        """Bring the index up to the store's current vectors; returns rows added, changed or dropped.

        The first sync loads the saved index (or reads every vector); later ones read only changes. Rows
        missing from the graph are added here when few (or always: ``graph="inline"``); when many, by a
        background thread (``"background"``: a server) or not at all (``"auto"``: a short-lived command
        searches them exactly)."""
        with self._mutate:
            now = store.vector_cursor(self.model)  # read first: what arrives later is the next sync's
            if self.cursor is not None and (
                store_id != self.store_id
                or now.vectors < self.cursor.vectors
                or now.papers < self.cursor.papers
            ):
                self._clear()  # another database (a home pointed at a copy), or one restored from a backup
            changed = 0
            if self.cursor is None:
                with _dir_lock(self.dir):
                    loaded = self._load_saved(store_id)
                if not loaded:
                    changed = self._full_load(store, store_id, now)
            changed += self._read_changes(store, now)
            self._unsaved += changed
            if graph == "inline" or self.n - self.graph_n <= INLINE_GRAPH_ROWS:
                self.extend_graph()
            elif graph == "background":
                self._start_builder()
            self._maybe_save()
            return changed

    def _clear(self) -> None:
        self.stop_builder(wait=False)  # it waits for the lock this sync holds, then sees it must stop
        with self._lock:
            self.ids, self.label_of, self.n = [], {}, 0
            self.mat = np.zeros((0, 0), dtype=np.float32)
            self.alive = np.zeros(0, dtype=bool)
            self.facets = Facets()
            self.graph, self.graph_n = None, 0
            self.cursor, self.store_id = None, None
            self._live = self._graph_live = 0
            self._unsaved = 0

    def _full_load(self, store: EmbeddingStore, store_id: str, cursor: VectorCursor) -> int:
        """Every current vector, streamed in batches into one preallocated matrix (``cursor``: read before)."""
        expected = store.count_embeddings(self.model)  # stale ones too: an upper bound, give or take
        t0 = time.perf_counter()
        for batch in store.iter_vectors(self.model, None):
            with self._lock:
                if not self.mat.size:
                    self._allocate(batch.vectors.shape[1], expected + max(1024, expected // 50))
                first = self.n
                self._ensure(first + len(batch))
                self.mat[first : first + len(batch)] = batch.vectors
                self.alive[first : first + len(batch)] = True
                self.ids.extend(batch.ids)
                self.label_of.update(zip(batch.ids, range(first, first + len(batch)), strict=True))
                self.facets.append(first, batch.dates, batch.categories)
                self.n += len(batch)
                self._live = self.n
        self.facets.seal()
        self.cursor, self.store_id = cursor, store_id
        if self.n:
            log.info("read %d vectors of %s in %.1f s", self.n, self.model, time.perf_counter() - t0)
        return self.n

    def _read_changes(self, store: EmbeddingStore, cursor: VectorCursor) -> int:
        """Apply what changed in the store since the cursor, up to ``cursor`` (read before)."""
        assert self.cursor is not None
        if cursor == self.cursor:
            return 0
        changed: set[str] = set()  # a row may come twice (its vector saved and its paper changed)
        for batch in store.iter_vectors(self.model, self.cursor):
            changed |= self._apply(batch)
        self.cursor = cursor
        return len(changed)

    def _apply(self, batch: VectorBatch) -> set[str]:
        """One batch of changed rows: new and re-embedded vectors in, stale ones out."""
        with self._lock:
            if not self.mat.size:
                self._allocate(batch.vectors.shape[1], len(batch) + 1024)
            to_graph: list[int] = []
            changed: set[str] = set()
            for i, pid in enumerate(batch.ids):
                lab = self.label_of.get(pid)
                if batch.current[i]:
                    if lab is None:
                        lab = self.n
                        self._ensure(lab + 1)
                        self.ids.append(pid)
                        self.label_of[pid] = lab
                        self.n += 1
                    self.mat[lab] = batch.vectors[i]
                    self.alive[lab] = True
                    self.facets.set(lab, batch.dates[i], batch.categories[i])
                    if lab < self.graph_n:
                        to_graph.append(lab)
                    changed.add(pid)
                elif lab is not None and self.alive[lab]:
                    self.alive[lab] = False
                    if lab < self.graph_n and self.graph is not None:
                        # RuntimeError: never added (it was not live when the graph passed it)
                        with suppress(RuntimeError):
                            self.graph.mark_deleted(lab)
                    changed.add(pid)
            if to_graph and self.graph is not None:
                # hnswlib updates an existing label in place, undeleting it if it was deleted
                labels = np.array(sorted(set(to_graph)), dtype=np.int64)
                self.graph.add_items(self.mat[labels], labels, num_threads=1)
            self._count()
            return changed

    def _count(self) -> None:
        self._live = int(self.alive[: self.n].sum())
        self._graph_live = int(self.alive[: self.graph_n].sum())

    def _allocate(self, dim: int, capacity: int) -> None:
        self.mat = np.zeros((capacity, dim), dtype=np.float32)
        self.alive = np.zeros(capacity, dtype=bool)
        self.facets.grow(capacity)

    def _ensure(self, rows: int) -> None:
        """Room for ``rows`` rows (grown by a quarter at least: a copy now and then, not per row)."""
        cap = self.mat.shape[0]
        if rows <= cap:
            return
        new = max(rows, cap + cap // 4, 1024)
        grown = np.zeros((new, self.mat.shape[1]), dtype=np.float32)
        grown[: self.n] = self.mat[: self.n]
        self.mat = grown
        alive = np.zeros(new, dtype=bool)
        alive[: self.n] = self.alive[: self.n]
        self.alive = alive
        self.facets.grow(new)

    # -- the graph ------------------------------------------------------------------------------

    def extend_graph(self, stop: Callable[[], bool] | None = None) -> int:
        """Add the rows beyond the graph to it, a chunk per hold of the search lock; returns rows added."""
        added = 0
        while True:
            with self._mutate:
                if self.graph_n >= self.n or (stop is not None and stop()):
                    break
                with self._lock:
                    if self.graph is None or self.graph.dim != self.dim:
                        self.graph = hnswlib.Index(space="ip", dim=self.dim)
                        self.graph.init_index(
                            max_elements=max(self.mat.shape[0], 1),
                            ef_construction=_EF_CONSTRUCTION,
                            M=_M,
                            allow_replace_deleted=False,
                        )
                        self.graph.set_ef(_EF_SEARCH)
                        self.graph_n = 0
                    end = min(self.n, self.graph_n + GRAPH_CHUNK)
                    if self.graph.get_max_elements() < end:
                        self.graph.resize_index(max(self.mat.shape[0], end))
                    rows = np.arange(self.graph_n, end, dtype=np.int64)
                    rows = rows[self.alive[rows]]
                    if rows.size:
                        self.graph.add_items(self.mat[rows], rows)
                    added += end - self.graph_n
                    self.graph_n = end
                    self._count()
        return added

    def _start_builder(self) -> None:
        if self._builder is not None and self._builder.is_alive() and not self._stop.is_set():
            return
        stop = self._stop = threading.Event()  # its own: one told to stop may still be finishing a chunk

        def build() -> None:
            t0 = time.perf_counter()
            log.info("building the vector graph: %d rows to add", self.n - self.graph_n)
            added = self.extend_graph(stop=stop.is_set)
            if not stop.is_set():
                log.info("vector graph built: %d rows in %.0f s", added, time.perf_counter() - t0)
                with self._mutate:
                    self._maybe_save(force=True)

        self._builder = threading.Thread(target=build, daemon=True, name="paperwire-vector-graph")
        self._builder.start()

    def stop_builder(self, wait: bool = True) -> None:
        """Stop a background graph build (a later sync starts it again where it stopped)."""
        self._stop.set()
        if wait and self._builder is not None:
            self._builder.join()
            self._builder = None

    def wait_built(self, timeout: float | None = None) -> bool:
        """Wait for a background graph build; True when the graph covers every row."""
        if self._builder is not None:
            self._builder.join(timeout)
        return not self.building

    # -- saved state ----------------------------------------------------------------------------

    def _maybe_save(self, force: bool = False) -> None:
        """Save when the graph is complete and enough changed (a restart then reads only what follows)."""
        if self.cursor is None or self.building or self.graph is None:
            return
        saved = (self.dir / "meta.json").exists()
        if force or not saved or self._unsaved >= max(1000, self.n // 100):
            with _dir_lock(self.dir):
                self._save()
            self._unsaved = 0

    def close(self) -> None:
        """Stop a background build and save what is not yet saved."""
        self.stop_builder()
        with self._mutate:
            if self._unsaved:
                self._maybe_save(force=True)

    def _save(self) -> None:
        assert self.graph is not None and self.cursor is not None
        self.dir.mkdir(parents=True, exist_ok=True)
        # write beside, then rename: a crash never leaves a half-written file in place; meta.json goes last
        # and names the row count the others must have, so a crash between the renames reads as no index
        tag = f"tmp{os.getpid()}"
        n = self.n
        self.graph.save_index(str(self.dir / f"hnsw.bin.{tag}"))
        with (self.dir / f"vectors.{tag}.npy").open("wb") as fh:
            np.save(fh, self.mat[:n])  # written from the matrix itself, no copy
        with (self.dir / f"state.{tag}.npz").open("wb") as fh:
            arrays: dict[str, Any] = {"ids": np.array(self.ids[:n], dtype=str), "alive": self.alive[:n]}
            arrays.update(self.facets.arrays(n))
            np.savez(fh, **arrays)
        (self.dir / f"hnsw.bin.{tag}").replace(self.dir / "hnsw.bin")
        (self.dir / f"state.{tag}.npz").replace(self.dir / "state.npz")
        (self.dir / f"vectors.{tag}.npy").replace(self.dir / "vectors.npy")
        meta = {
            "format": _FORMAT,
            "model": self.model,
            "dim": self.dim,
            "count": n,
            "live": self._live,
            "graph": self.graph.get_current_count(),
            "cursor": [self.cursor.vectors, self.cursor.papers],
            "store": self.store_id,
        }
        (self.dir / f"meta.json.{tag}").write_text(json.dumps(meta))
        (self.dir / f"meta.json.{tag}").replace(self.dir / "meta.json")
        (self.dir / "labels.json").unlink(missing_ok=True)  # format 1

    def _load_saved(self, store_id: str) -> bool:
        """The saved index, when it is this model's, from this database, and whole; False otherwise."""
        try:
            meta = json.loads((self.dir / "meta.json").read_text())
        except (OSError, ValueError):
            return False
        if (
            meta.get("format") != _FORMAT
            or meta.get("model") != self.model
            or meta.get("store") != store_id
            or not meta.get("dim")
        ):
            return False
        t0 = time.perf_counter()
        try:
            with np.load(self.dir / "state.npz") as z:
                ids = [str(x) for x in z["ids"]]
                alive = z["alive"].astype(bool)
                n = len(ids)
                if n != int(meta["count"]) or alive.shape[0] != n:
                    return False
                capacity = n + max(1024, n // 50)
                facets = Facets.from_arrays(z, capacity)
            dim = int(meta["dim"])
            graph = hnswlib.Index(space="ip", dim=dim)
            graph.load_index(str(self.dir / "hnsw.bin"), max_elements=capacity)
            if graph.get_current_count() != int(meta["graph"]):
                return False
            graph.set_ef(_EF_SEARCH)
            mat = np.zeros((capacity, dim), dtype=np.float32)
            _read_matrix(self.dir / "vectors.npy", mat[:n])
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            log.warning(
                "the saved vector index in %s cannot be used (%s): reading the vectors anew", self.dir, exc
            )
            return False
        with self._lock:
            self.ids, self.label_of, self.n = ids, {pid: i for i, pid in enumerate(ids)}, n
            self.mat = mat
            self.alive = np.zeros(capacity, dtype=bool)
            self.alive[:n] = alive
            self.facets = facets
            self.graph, self.graph_n = graph, n
            self.cursor = VectorCursor(int(meta["cursor"][0]), int(meta["cursor"][1]))
            self.store_id = store_id
            self._count()
        log.info("loaded the saved vector index (%d rows) in %.1f s", n, time.perf_counter() - t0)
        return True

    # -- queries ------------------------------------------------------------------------------

    def mask(
        self,
        categories: list[str] | None = None,
        after: int | None = None,
        before: int | None = None,
        ids: set[str] | None = None,
    ) -> np.ndarray | None:
        """Rows allowed by the filters, or None when nothing filters."""
        if not (categories or after or before or ids is not None):
            return None
        with self._lock:
            n = self.n
            m = self.alive[:n].copy()
            if categories:
                m &= self.facets.category_mask(categories, n)
            dates = self.facets.dates[:n]
            if after:
                m &= dates >= after
            if before:
                m &= dates <= before
            if ids is not None:
                im = np.zeros_like(m)
                labs = [self.label_of[i] for i in ids if i in self.label_of]
                im[labs] = True
                m &= im
        return m

    def rows(
        self,
        categories: list[str] | None = None,
        after: int | None = None,
        before: int | None = None,
        ids: set[str] | None = None,
    ) -> np.ndarray | None:
        """The live rows in any of ``categories``, among the papers ``ids`` and within the dates (each when
        given), sorted (int64); None without categories or ids (dates alone: :meth:`mask`). Made from the
        per-category rows and the ids, so a narrow filter costs as many steps as it allows, not a pass over
        every row."""
        if not categories and ids is None:
            return None
        with self._lock:
            n = self.n
            if ids is not None:
                rows = np.unique(
                    np.fromiter(
                        (lab for i in ids if (lab := self.label_of.get(i)) is not None), dtype=np.int64
                    )
                )
                if categories:
                    rows = np.intersect1d(rows, self.facets.category_rows(categories, n), assume_unique=True)
            else:
                assert categories
                rows = self.facets.category_rows(categories, n)
            rows = rows[self.alive[rows]]
            if after or before:
                dates = self.facets.dates[rows]
                rows = rows[(dates >= (after or 0)) & (dates <= (before or np.iinfo(np.int32).max))]
            return rows

    def search(
        self, qvec: np.ndarray, k: int, mask: np.ndarray | None = None, *, rows: np.ndarray | None = None
    ) -> list[VectorHit]:
        """The ``k`` nearest papers by cosine similarity, within ``mask`` (a bool per row) or ``rows`` (sorted
        row numbers, :meth:`rows`) when given: the graph walked when they leave many of its rows, else every
        allowed row scored exactly."""
        with self._lock:  # a sync may be growing the arrays or the graph
            if rows is not None:
                if not self._live or k <= 0:
                    return []
                rows = rows[rows < self.n]
                rows = rows[self.alive[rows]]  # a sync since they were listed may have dropped some
                if self._walk_depth(k, int(np.searchsorted(rows, self.graph_n))) is None:
                    return [VectorHit(self.ids[lab], s) for lab, s in self._scan_rows(qvec, k, rows)]
                mask = np.zeros(self.n, dtype=bool)
                mask[rows] = True
            return self._search(qvec, k, mask)

    def _walk_depth(self, k: int, allowed_in_graph: int) -> int | None:
        """How many nearest rows a walk must return for ``k`` of ``allowed_in_graph`` allowed rows to be among
        them; None when an exact scan of the allowed rows costs less (see WALK_ROW_COST) or there is no graph."""
        if self.graph is None or not self._graph_live or not allowed_in_graph:
            return None
        if allowed_in_graph >= self._graph_live:
            return min(k, self._graph_live)
        depth = int(np.ceil(k * WALK_MARGIN * self._graph_live / allowed_in_graph))
        return None if depth * WALK_ROW_COST > allowed_in_graph else min(depth, self._graph_live)

    def _search(self, qvec: np.ndarray, k: int, mask: np.ndarray | None) -> list[VectorHit]:
        if not self._live or k <= 0:
            return []
        q = np.asarray(qvec, dtype=np.float32).reshape(-1)
        n = self.n
        if mask is not None and mask.shape[0] < n:  # rows added since the mask was made
            mask = np.concatenate([mask, np.zeros(n - mask.shape[0], dtype=bool)])
        allowed = self.alive[:n] if mask is None else mask[:n] & self.alive[:n]
        hits = self._walk(q, k, None if mask is None else allowed)
        if hits is None:  # no graph, or a narrow filter: every allowed row scanned exactly
            return [VectorHit(self.ids[lab], s) for lab, s in self._scan(q, k, 0, n, allowed)]
        # rows not in the graph yet, and the newest rows (the graph's greedy walk may not reach a row just
        # added): searched exactly, merged in
        lo = min(self.graph_n, max(0, n - FRESH_ROWS))
        if lo < n:
            seen = {lab for lab, _ in hits}
            hits += [h for h in self._scan(q, k, lo, n, allowed[lo:n]) if h[0] not in seen]
            hits.sort(key=lambda h: -h[1])
            hits = hits[:k]
        return [VectorHit(self.ids[lab], s) for lab, s in hits]

    def _walk(self, q: np.ndarray, k: int, allowed: np.ndarray | None) -> list[tuple[int, float]] | None:
        """The graph's nearest rows (only ``allowed`` ones when given); None when the graph should not be
        walked: none yet, or a filter leaving too few of its rows (an exact scan of those is cheaper), or a walk
        that met too few of them."""
        in_graph = self._graph_live if allowed is None else int(allowed[: self.graph_n].sum())
        depth = self._walk_depth(k, in_graph)
        if depth is None or self.graph is None:
            return None
        self.graph.set_ef(max(_EF_SEARCH, depth))
        try:
            labels, dists = self.graph.knn_query(q, k=depth, num_threads=1)  # no thread per query
        except RuntimeError:  # fewer rows reachable than asked for (deleted ones): scan instead
            return None
        found, sims = labels[0].astype(np.int64), 1.0 - dists[0]
        if allowed is not None:
            keep = allowed[found]
            found, sims = found[keep][:k], sims[keep][:k]
            if found.size < min(k, in_graph):
                return None
        return list(zip(found.tolist(), sims.tolist(), strict=True))

    def _scan(self, q: np.ndarray, k: int, lo: int, hi: int, allowed: np.ndarray) -> list[tuple[int, float]]:
        """Exact top ``k`` of rows ``lo..hi-1`` where ``allowed``: the allowed rows gathered when they are few
        (a narrow filter reads a sliver of the matrix), else one pass over every row (no big copy)."""
        n_allowed = int(allowed.sum())
        if not n_allowed:
            return []
        if n_allowed * 8 <= hi - lo:
            return self._scan_rows(q, k, lo + np.flatnonzero(allowed))
        scores = self.mat[lo:hi] @ q
        scores[~allowed] = -np.inf
        return [(lo + int(i), float(scores[i])) for i in _top(scores, min(k, n_allowed))]

    def _scan_rows(self, qvec: np.ndarray, k: int, rows: np.ndarray) -> list[tuple[int, float]]:
        """Exact top ``k`` of ``rows`` (sorted, all below n), gathered a chunk at a time into one kept buffer."""
        if not rows.size or k <= 0:
            return []
        q = np.asarray(qvec, dtype=np.float32).reshape(-1)
        if self._gathered.shape[1] != self.dim:
            self._gathered = np.zeros((GATHER_ROWS, self.dim), dtype=np.float32)
        scores = np.empty(rows.size, dtype=np.float32)
        for i in range(0, rows.size, GATHER_ROWS):
            part = rows[i : i + GATHER_ROWS]
            buf = self._gathered[: part.size]
            np.take(self.mat, part, axis=0, out=buf, mode="clip")  # "clip": no check, so no hidden copy
            np.dot(buf, q, out=scores[i : i + part.size])
        return [(int(rows[i]), float(scores[i])) for i in _top(scores, min(k, rows.size))]

    def vector(self, paper_id: str) -> np.ndarray | None:
        """The stored vector of a paper, if indexed."""
        lab = self.label_of.get(paper_id)
        return None if lab is None or not self.alive[lab] else self.mat[lab].copy()


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest scores, highest first (ties: in position order)."""
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top], kind="stable")]


def _read_matrix(path: Path, out: np.ndarray) -> None:
    """Read a float32 .npy matrix of ``out``'s shape straight into ``out`` (no second copy in memory: the
    rows of hnswlib's graph come out at ~45 us each, a minute at a million; a memory map would count twice)."""
    with path.open("rb") as fh:
        version = np.lib.format.read_magic(fh)
        shape, fortran, dtype = (
            np.lib.format.read_array_header_1_0(fh)
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0(fh)
        )
        if tuple(shape) != out.shape or fortran or dtype != np.float32:
            raise ValueError(f"{path.name} holds {shape} {dtype}, expected {out.shape} float32")
        view = out.data.cast("B")  # out is C-contiguous: its rows, byte by byte
        got = 0
        while got < len(view):
            k = fh.readinto(view[got:])
            if not k:
                raise ValueError(f"{path.name} is cut short")
            got += k


def saved_count(index_dir: Path, model: str) -> int | None:
    """How many live vectors the saved index of ``model`` holds, without loading it (None: none saved)."""
    try:
        meta = json.loads((index_dir / f"vectors-{_slug(model)}" / "meta.json").read_text())
        return int(meta["live"]) if meta.get("format") == _FORMAT else None
    except (OSError, ValueError, KeyError):
        return None
