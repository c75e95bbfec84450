"""Search latency per mode over a paperwire home (default: a fresh one holding ../shared's 74,728 papers).

Prints p50/p95/p99 in ms for keyword, semantic and hybrid over 100 varied real-style queries (natural
language, phrases, authors, filters), including the query embedding. Embedding the whole corpus takes
~90 min on a 2-core CPU, so papers without a vector can be given one (--fill): random unit vectors (no
structure at all: HNSW's worst case), or the real model's vectors of the titles alone (real structure,
~15x faster to make); the report says when it did. Use a separate --home per fill.

    python benchmarks/search_latency.py [--home DIR] [--papers FILE] [--fill none|random|titles] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PAPERS = ROOT.parent / "shared" / "data" / "arxiv-cs" / "papers.jsonl.gz"

NATURAL = [
    "depth estimation from a single image",
    "large language model reasoning with reinforcement learning",
    "diffusion models for video generation",
    "efficient attention for long context transformers",
    "robot manipulation from human demonstrations",
    "3D gaussian splatting for dynamic scenes",
    "retrieval augmented generation hallucination",
    "vision language models for document understanding",
    "speculative decoding speedup",
    "graph neural networks for molecules",
    "federated learning privacy",
    "medical image segmentation with foundation models",
    "autonomous driving trajectory prediction",
    "text to speech synthesis",
    "mixture of experts routing",
    "model quantization to 4 bits",
    "self-supervised pretraining for images",
    "benchmark for code generation agents",
    "multi-agent collaboration with LLMs",
    "neural radiance fields from sparse views",
    "image editing with text instructions",
    "continual learning catastrophic forgetting",
    "preference optimization DPO alignment",
    "point cloud object detection",
    "adversarial robustness of classifiers",
    "time series forecasting with transformers",
    "open vocabulary semantic segmentation",
    "sign language recognition",
    "tokenization for multilingual models",
    "protein structure prediction",
]
STRUCTURED = [
    '"masked autoencoder" -video',
    'author:"Kaiming He"',
    "cat:cs.RO diffusion policy",
    "cat:cs.CL after:2026-01 instruction tuning",
    '"chain of thought" reasoning',
    "world models cat:cs.LG",
    "before:2025-06 segmentation",
    '"gaussian splatting" -avatar',
    "cat:cs.CV after:2026-05 video",
    'author:"Yann LeCun"',
]


def queries(papers: list[dict], n: int, seed: int = 7) -> list[str]:
    """NATURAL + STRUCTURED + title-derived queries (4-6 words of a real title), n in all."""
    rng = random.Random(seed)
    out = list(NATURAL) + list(STRUCTURED)
    while len(out) < n:
        words = [w.strip(":,.()").replace('"', "") for w in rng.choice(papers)["title"].split() if len(w) > 3]
        if len(words) >= 4:
            out.append(" ".join(rng.sample(words, min(len(words), rng.randint(4, 6)))).lower())
    return out[:n]


def fill_vectors(pw: Any, how: str) -> int:
    """Give papers without a vector one (see --fill); returns how many were filled."""
    model = pw.engine.model_name
    filled = 0
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    while how != "none" and (tasks := pw.store.pending_embeddings(model, 2048)):
        if how == "random":
            v = rng.standard_normal((len(tasks), 384)).astype(np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
        else:
            papers = pw.store.get_papers([t.paper_id for t in tasks])
            v = pw.engine.embedder.embed_batch([papers[t.paper_id].title for t in tasks])
        pw.store.save_embeddings(model, [(t.paper_id, t.text_hash) for t in tasks], v)
        filled += len(tasks)
        print(f"  {filled} vectors filled ({how}), {time.perf_counter() - t0:.0f} s", flush=True)
    return filled


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.array(xs), p))


def corpus_args(ap: argparse.ArgumentParser) -> None:
    """--home, --database-url, --papers and --fill, shared with web_load.py."""
    ap.add_argument("--home", type=Path, default=ROOT / "benchmarks" / "out" / "full-home")
    ap.add_argument(
        "--database-url",
        default=None,
        help="the store to search (e.g. postgresql://USER:PASSWORD@/DB?host=SOCKETDIR, filled with `paperwire "
        "db copy --to URL`); default: PAPERWIRE_DATABASE_URL, else the home's SQLite file. The indexes "
        "still live in --home: use a separate home per database",
    )
    ap.add_argument("--papers", type=Path, default=PAPERS)
    ap.add_argument(
        "--fill",
        choices=["none", "random", "titles"],
        default="none",
        help="vectors for papers without one: random unit vectors (no structure: HNSW's worst case), or "
        "the real model's vectors of the titles alone (real structure, ~15x faster than full text)",
    )


def prepare(home: Path, papers: Path, fill: str, database_url: str | None = None) -> tuple[Any, int]:
    """Ingest ``papers`` into ``home`` (nothing to do when already there), fill missing vectors as asked,
    bring the indexes up to date; returns the open paperwire and how many vectors were filled.

    ``database_url``: the store (None: the settings' own, from PAPERWIRE_DATABASE_URL or the home)."""
    from paperwire.app_context import open_paperwire
    from paperwire.config import Settings
    from paperwire.ingest import ingest_file

    extra = {"database_url": database_url} if database_url else {}  # a paperwire without the setting runs too
    pw = open_paperwire(Settings(home=home, load_sample=False, **extra), first_run=False, graph="inline")
    t0 = time.perf_counter()
    rep = ingest_file(pw.store, papers)
    if rep.read:
        print(f"ingested {rep.summary()} in {time.perf_counter() - t0:.1f} s", flush=True)
    filled = fill_vectors(pw, fill)
    t0 = time.perf_counter()
    pw.engine.refresh()
    print(f"indexes refreshed in {time.perf_counter() - t0:.1f} s", flush=True)
    return pw, filled


def sample_queries(papers: Path, n: int) -> list[str]:
    """``n`` queries made from the first 20,000 papers of ``papers``."""
    with gzip.open(papers, "rt") as fh:
        sample = [json.loads(line) for _, line in zip(range(20000), fh, strict=False)]
    return queries(sample, n)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    corpus_args(ap)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("-n", type=int, default=100)
    args = ap.parse_args()
    if not args.papers.exists():
        print(f"skipped: {args.papers} not found (needs ../shared beside the repo)", file=sys.stderr)
        return 0
    pw, filled = prepare(args.home, args.papers, args.fill, args.database_url)
    qs = sample_queries(args.papers, args.n)
    emb = pw.engine.embedder
    emb.embed_query("warm up")
    n_papers = pw.store.count_papers()
    n_vec = len(pw.engine.vectors)
    print(
        f"corpus: {n_papers} papers, {n_vec} vectors ({filled} filled: {args.fill}), {len(qs)} queries x {args.repeat}"
    )
    base: dict[str, float] = {}
    print(f"{'mode':<9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean':>8}")
    for mode in ("keyword", "semantic", "hybrid"):
        lat: list[float] = []
        for _ in range(args.repeat):
            for q in qs:
                pw.engine.forget_query_vectors()  # every search pays for its query embedding
                t = time.perf_counter()
                pw.engine.search(q, mode=mode, limit=10)  # type: ignore[arg-type]
                lat.append((time.perf_counter() - t) * 1000)
        base[mode] = pct(lat, 50)
        print(
            f"{mode:<9} {pct(lat, 50):8.2f} {pct(lat, 95):8.2f} {pct(lat, 99):8.2f} {statistics.mean(lat):8.2f}"
        )
    lat = []
    for q in qs:
        t = time.perf_counter()
        emb.embed_query(q)
        lat.append((time.perf_counter() - t) * 1000)
    print(f"query embedding alone: p50 {pct(lat, 50):.2f} ms, p95 {pct(lat, 95):.2f} ms")
    print(f"hybrid / keyword p50 ratio: {base['hybrid'] / base['keyword']:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
