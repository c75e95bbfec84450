"""Embedders for tests: a tiny deterministic one that needs no model (the real one is paperwire.embed)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

_STOP = frozenset(
    [
        "the",
        "and",
        "are",
        "for",
        "that",
        "with",
        "this",
        "from",
        "our",
        "we",
        "which",
        "these",
        "their",
        "has",
        "have",
        "was",
        "were",
        "its",
        "can",
        "not",
    ]
)


class HashEmbedder:
    """A tiny deterministic bag-of-words embedder for tests: same words, similar vectors; no model."""

    def __init__(self, dim: int = 256, name: str = "test-hash") -> None:
        self.dim = dim
        self.name = name

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for word in text.lower().split():
            word = word.strip(".,;:()[]\"'")
            if len(word) < 3 or word in _STOP:
                continue
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            v[h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        n = float(np.linalg.norm(v))
        if n == 0:
            v[0] = 1.0
            n = 1.0
        return v / n

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed documents."""
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query."""
        return self._vec(text)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed several queries."""
        return self.embed_batch(texts)
