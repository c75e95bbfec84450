"""Opening paperwire: settings -> store -> (first-run sample) -> search engine. Shared by the CLI and the API."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from paperwire.config import Settings
from paperwire.embed import Embedder, vector_space
from paperwire.ingest import load_sample
from paperwire.search.hybrid import SearchEngine
from paperwire.search.semantic import GraphBuild
from paperwire.store import Store, open_store

if TYPE_CHECKING:
    from paperwire.trending import Trending


@dataclass
class Paperwire:
    """An open paperwire: its settings, store and search engine."""

    settings: Settings
    store: Store
    engine: SearchEngine
    _trending: Trending | None = field(default=None, init=False, repr=False)
    _trending_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _counts: tuple[tuple[int, int], dict[str, Any]] | None = field(default=None, init=False, repr=False)
    _counts_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def trending(self) -> Trending:
        """Trending lists and popularity over this store (made on first use; its snapshot is computed on
        first need, then refreshed by the background job)."""
        with self._trending_lock:
            if self._trending is None:
                from paperwire.trending import Trending

                self._trending = Trending(self.store, self.settings)
            return self._trending

    def store_counts(self) -> dict[str, Any]:
        """Papers, vectors, papers waiting for one, the newest announcement: counted again only when papers or
        vectors changed (counting what waits scans every paper: a second at a million, too much for each
        status request)."""
        model = self.engine.model_name
        c = self.store.vector_cursor(model)
        key = (c.papers, c.vectors)
        with self._counts_lock:
            if self._counts is None or self._counts[0] != key:
                newest = self.store.latest_announced()
                self._counts = (
                    key,
                    {
                        "papers": self.store.count_papers(),
                        "embedded": self.store.count_embeddings(model),
                        "pending_embeddings": self.store.count_pending_embeddings(model),
                        "newest_announced": newest.isoformat() if newest else None,
                    },
                )
            return dict(self._counts[1])

    def popularity(self, paper_ids: Sequence[str]) -> dict[str, float]:
        """Each paper's popularity (the search's "popular" sort and lift read it)."""
        return self.trending.popularity(paper_ids)

    def close(self) -> None:
        """Stop background index work, save what the vector index has not saved, release the store."""
        self.engine.close()
        self.store.close()


def open_paperwire(
    settings: Settings,
    embedder: Embedder | None = None,
    first_run: bool = True,
    *,
    serving: bool = False,
    graph: GraphBuild | None = None,
) -> Paperwire:
    """Open the store (loading the demo sample into an empty one when allowed) and the search engine.

    The indexes load on first use, so a command that only writes papers never reads a vector. ``serving``
    (a server): load them now, and build a missing vector graph in the background while exact scans answer.
    ``graph``: how a missing graph is built (default: in the background when serving, else only when small;
    "inline": now, whatever its size, as benchmarks want)."""
    store = open_store(settings)
    if first_run and settings.load_sample and store.count_papers() == 0:
        model = (
            embedder.name
            if embedder is not None
            else vector_space(settings.embedding_model, settings.embedding_max_length)
        )
        load_sample(store, model_name=model)  # its vectors load only if they are this vector space's
    engine = SearchEngine(settings, store, embedder, graph or ("background" if serving else "auto"))
    if serving:
        engine.refresh()
    pw = Paperwire(settings, store, engine)
    engine.popularity = pw.popularity
    return pw
