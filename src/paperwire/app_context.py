"""Opening paperwire: settings -> store -> (first-run sample) -> search engine. Shared by the CLI and the API."""

from __future__ import annotations

from dataclasses import dataclass

from paperwire.config import Settings
from paperwire.embed import Embedder, vector_space
from paperwire.ingest import load_sample
from paperwire.search.hybrid import SearchEngine
from paperwire.store import Store, open_store


@dataclass
class Paperwire:
    """An open paperwire: its settings, store and search engine."""

    settings: Settings
    store: Store
    engine: SearchEngine

    def close(self) -> None:
        """Release the store."""
        self.store.close()


def open_paperwire(settings: Settings, embedder: Embedder | None = None, first_run: bool = True) -> Paperwire:
    """Open the store (loading the demo sample into an empty one when allowed) and its indexes."""
    store = open_store(settings)
    if first_run and settings.load_sample and store.count_papers() == 0:
        model = (
            embedder.name
            if embedder is not None
            else vector_space(settings.embedding_model, settings.embedding_max_length)
        )
        load_sample(store, model_name=model)  # its vectors load only if they are this vector space's
    engine = SearchEngine(settings, store, embedder)
    engine.refresh()
    return Paperwire(settings, store, engine)
