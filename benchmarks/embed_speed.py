"""Paper-embedding speed and accuracy of ``SentenceTransformerEmbedder`` on this CPU.

Embeds ``--n`` real arXiv texts ("title. abstract", full length) with each variant and prints
docs/s, the ratio to fp32 measured in the same run, and the min/mean cosine of every vector to the
fp32 reference. Shared machines are noisy: variants are run in interleaved rounds and the median
is reported; compare ratios, not absolute figures.

    .venv/bin/python benchmarks/embed_speed.py --n 256 --batch-size 32
    .venv/bin/python benchmarks/embed_speed.py --variants fp32 --compare-batch-sizes 8,16
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PAPERS = REPO.parent / "shared" / "data" / "arxiv-cs" / "papers.jsonl.gz"
MIN_COSINE = 0.999


def load_texts(path: Path, n: int) -> list[str]:
    texts: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            title, summary = (d.get("title") or "").strip(), (d.get("summary") or "").strip()
            if title or summary:
                texts.append(f"{title}. {summary}")
            if len(texts) >= n:
                break
    return texts


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=256, help="texts to embed (default 256)")
    p.add_argument("--batch-size", type=int, default=32, help="batch size of every variant (default 32)")
    p.add_argument("--papers", type=Path, default=DEFAULT_PAPERS, help="papers.jsonl.gz (title, summary)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--rounds", type=int, default=2, help="interleaved timing rounds; the median is shown")
    p.add_argument(
        "--variants", default="fp32,auto,bf16", help="comma-separated precisions (default fp32,auto,bf16)"
    )
    p.add_argument(
        "--compare-batch-sizes", default="", help="extra fp32 rows at these batch sizes, e.g. 8,16"
    )
    args = p.parse_args()

    if not args.papers.is_file():
        sys.exit(
            f"papers file not found: {args.papers} (pass --papers PATH to a .jsonl.gz with title, summary)"
        )
    texts = load_texts(args.papers, args.n)
    if not texts:
        sys.exit(f"no texts with a title or summary in {args.papers}")

    from paperwire.embed import SentenceTransformerEmbedder, cpu_has_native_bf16

    variants: list[tuple[str, str, int]] = [("fp32", "fp32", args.batch_size)]
    for v in (v.strip() for v in args.variants.split(",")):
        if v and v != "fp32":
            variants.append((v, v, args.batch_size))
    for bs in (int(b) for b in args.compare_batch_sizes.split(",") if b.strip()):
        if bs != args.batch_size:
            variants.append((f"fp32 bs{bs}", "fp32", bs))

    embedders = {}
    for label, precision, bs in variants:
        emb = SentenceTransformerEmbedder(precision=precision, batch_size=bs, threads=args.threads)
        emb.embed_batch(texts[:16])  # warm-up
        embedders[label] = emb
        if label != "fp32":
            label = f"{label} (= {emb.precision})" if precision == "auto" else label
        print(f"loaded {label}", file=sys.stderr)

    rates: dict[str, list[float]] = {label: [] for label, _, _ in variants}
    vectors: dict[str, np.ndarray] = {}
    for r in range(args.rounds):
        for label, _, _ in variants:
            t0 = time.perf_counter()
            vecs = embedders[label].embed_batch(texts)
            rates[label].append(len(texts) / (time.perf_counter() - t0))
            vectors.setdefault(label, vecs)
            print(f"round {r + 1}: {label:<14} {rates[label][-1]:7.2f} docs/s", file=sys.stderr)

    ref = vectors["fp32"]
    base = statistics.median(rates["fp32"])
    print(
        f"\n{len(texts)} texts, full length (max_seq_length "
        f"{embedders['fp32']._model.max_seq_length}), {args.threads} threads, {args.rounds} round(s); "
        f"native bf16: {cpu_has_native_bf16()}"
    )
    print(f"{'variant':<16} {'docs/s':>8} {'vs fp32':>8} {'min cos':>9} {'mean cos':>9}  ok")
    for label, _, _ in variants:
        cos = np.sum(vectors[label] * ref, axis=1)
        rate = statistics.median(rates[label])
        name = f"auto={embedders[label].precision}" if label == "auto" else label
        ok = "yes" if float(cos.min()) >= MIN_COSINE else "NO"
        print(f"{name:<16} {rate:8.2f} {rate / base:7.2f}x {cos.min():9.5f} {cos.mean():9.5f}  {ok}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
