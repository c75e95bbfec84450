"""Dense vector search: an HNSW index (hnswlib) for plain queries, exact numpy scans under filters.

The vectors live in the store; this index is derived from them, kept on disk beside the keyword index,
and brought up to date incrementally (new papers added, re-embedded ones replaced, stale ones dropped).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import hnswlib
import numpy as np

from paperwire.search.keyword import date_key
from paperwire.store.base import Store

_M = 32
_EF_CONSTRUCTION = 128
_EF_SEARCH = 128


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
        self.mat = np.zeros((0, 0), dtype=np.float32)
        self.alive = np.zeros(0, dtype=bool)
        self._live = 0  # alive.sum(), counted when it changes (every search asks)
        self.dates = np.zeros(0, dtype=np.int64)
        self.cat_rows: dict[str, np.ndarray] = {}
        self.hnsw: hnswlib.Index | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._live

    @property
    def dim(self) -> int:
        """Vector dimension (0 when empty)."""
        return int(self.mat.shape[1]) if self.mat.ndim == 2 and self.mat.size else 0

    def sync(self, store: Store) -> int:
        """Bring the index up to date with the store's current vectors; returns rows added or changed."""
        # read the store first: searches wait only while the arrays and the graph change
        ids, vecs = store.load_embeddings(self.model)
        facets = list(store.iter_facets())
        with self._lock, _dir_lock(self.dir):
            changed = self._sync(ids, vecs)
            self._live = int(self.alive.sum())
            self._load_facets(facets)
            return changed

    def _sync(self, ids: list[str], vecs: np.ndarray) -> int:
        if not ids:  # no current vectors at all: nothing may be served
            gone = np.nonzero(self.alive)[0]
            for lab in gone:
                assert self.hnsw is not None
                self.hnsw.mark_deleted(int(lab))
            self.alive[:] = False
            return len(gone)
        dim = int(vecs.shape[1])
        if self.hnsw is None:
            self._open(dim)
        assert self.hnsw is not None
        if self.mat.size and self.mat.shape[1] != dim:
            self._reset(dim)
            assert self.hnsw is not None
        cur = dict.fromkeys(ids)
        for pid in cur:
            if pid not in self.label_of:
                self.label_of[pid] = len(self.ids)
                self.ids.append(pid)
        # grow the dense copy, then find re-embedded rows by comparing vectors
        n = len(self.ids)
        if self.mat.shape[0] < n:
            grown = np.zeros((n, dim), dtype=np.float32)
            grown[: self.mat.shape[0]] = self.mat if self.mat.size else 0
            self.mat = grown
            alive = np.zeros(n, dtype=bool)
            alive[: self.alive.shape[0]] = self.alive
            self.alive = alive
        old_labels = np.array([self.label_of[pid] for pid in ids], dtype=np.int64)
        diff = np.abs(self.mat[old_labels] - vecs).max(axis=1) > 1e-6
        was_alive = self.alive.copy()
        upd_labels = old_labels[diff]
        self.mat[old_labels] = vecs
        self.alive[:] = False
        self.alive[old_labels] = True
        changed = 0
        if len(upd_labels):
            if self.hnsw.get_max_elements() < n:
                self.hnsw.resize_index(max(n, int(self.hnsw.get_max_elements() * 1.5)))
            # hnswlib updates an existing label in place, undeleting it if it was deleted
            self.hnsw.add_items(self.mat[upd_labels], upd_labels, replace_deleted=False)
            changed = len(upd_labels)
        for lab in np.nonzero(was_alive & ~self.alive)[0]:
            try:
                self.hnsw.mark_deleted(int(lab))
            except RuntimeError:  # already deleted in the saved index
                continue
            changed += 1
        if changed or not (self.dir / "hnsw.bin").exists():
            self._save()
        return changed

    def _open(self, dim: int) -> None:
        meta_path = self.dir / "meta.json"
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
            if meta.get("model") == self.model and meta.get("dim") == dim:
                self.ids = list(json.loads((self.dir / "labels.json").read_text()))
                self.label_of = {pid: i for i, pid in enumerate(self.ids)}
                self.hnsw = hnswlib.Index(space="ip", dim=dim)
                self.hnsw.load_index(str(self.dir / "hnsw.bin"), max_elements=max(len(self.ids), 1))
                self.hnsw.set_ef(_EF_SEARCH)
                n = len(self.ids)
                self.mat = np.zeros((n, dim), dtype=np.float32)
                if n:
                    self.mat[:] = np.asarray(self.hnsw.get_items(list(range(n))), dtype=np.float32)
                # every saved label counts as live until the sync below drops the ones gone stale
                self.alive = np.ones(n, dtype=bool)
                return
        self._reset(dim)

    def _reset(self, dim: int) -> None:
        self.ids, self.label_of = [], {}
        self.mat = np.zeros((0, dim), dtype=np.float32)
        self.alive = np.zeros(0, dtype=bool)
        self.hnsw = hnswlib.Index(space="ip", dim=dim)
        self.hnsw.init_index(
            max_elements=1024, ef_construction=_EF_CONSTRUCTION, M=_M, allow_replace_deleted=False
        )
        self.hnsw.set_ef(_EF_SEARCH)

    def _save(self) -> None:
        assert self.hnsw is not None
        self.dir.mkdir(parents=True, exist_ok=True)
        # write beside, then rename: a crash never leaves a half-written index in place
        # (temporary names of this process's own: a CLI and a server may save at the same time)
        tag = f"tmp{os.getpid()}"
        self.hnsw.save_index(str(self.dir / f"hnsw.bin.{tag}"))
        (self.dir / f"labels.json.{tag}").write_text(json.dumps(self.ids))
        (self.dir / f"hnsw.bin.{tag}").replace(self.dir / "hnsw.bin")
        (self.dir / f"labels.json.{tag}").replace(self.dir / "labels.json")
        (self.dir / "meta.json").write_text(
            json.dumps({"model": self.model, "dim": self.dim, "count": len(self.ids)})
        )

    def _load_facets(self, facets: Iterable[tuple[str, object, list[str]]]) -> None:
        n = len(self.ids)
        dates = np.zeros(n, dtype=np.int64)
        cats: dict[str, list[int]] = {}
        for pid, d, categories in facets:
            lab = self.label_of.get(pid)
            if lab is None:
                continue
            dates[lab] = date_key(d)  # type: ignore[arg-type]
            for c in categories:
                cats.setdefault(c, []).append(lab)
        self.dates = dates
        self.cat_rows = {c: np.array(rows, dtype=np.int64) for c, rows in cats.items()}

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
        m = self.alive.copy()
        if categories:
            cm = np.zeros_like(m)
            for c in categories:
                rows = self.cat_rows.get(c)
                if rows is not None:
                    cm[rows] = True
            m &= cm
        if after:
            m &= self.dates >= after
        if before:
            m &= self.dates <= before
        if ids is not None:
            im = np.zeros_like(m)
            labs = [self.label_of[i] for i in ids if i in self.label_of]
            im[labs] = True
            m &= im
        return m

    def search(self, qvec: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[VectorHit]:
        """The ``k`` nearest papers by cosine similarity, within ``mask`` when given (exact scan)."""
        with self._lock:  # a sync may be growing the arrays or the graph
            return self._search(qvec, k, mask)

    def _search(self, qvec: np.ndarray, k: int, mask: np.ndarray | None) -> list[VectorHit]:
        if mask is not None and mask.shape[0] < self.alive.shape[0]:  # rows added since the mask was made
            mask = np.concatenate([mask, np.zeros(self.alive.shape[0] - mask.shape[0], dtype=bool)])
        if not len(self) or k <= 0:
            return []
        q = np.asarray(qvec, dtype=np.float32).reshape(-1)
        if mask is None and self.hnsw is not None:
            k = min(k, len(self))
            self.hnsw.set_ef(max(_EF_SEARCH, k))
            labels, dists = self.hnsw.knn_query(q, k=k, num_threads=1)  # no thread spawned per query
            return [
                VectorHit(self.ids[int(lab)], float(1.0 - d))
                for lab, d in zip(labels[0], dists[0], strict=True)
            ]
        allowed = self.alive if mask is None else mask
        n_allowed = int(allowed.sum())
        if not n_allowed:
            return []
        # one pass over the whole matrix beats gathering the allowed rows first (no 100 MB copy)
        scores = self.mat @ q
        scores[~allowed] = -np.inf
        k = min(k, n_allowed)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [VectorHit(self.ids[int(i)], float(scores[i])) for i in top]

    def vector(self, paper_id: str) -> np.ndarray | None:
        """The stored vector of a paper, if indexed."""
        lab = self.label_of.get(paper_id)
        return None if lab is None or not self.alive[lab] else self.mat[lab]
