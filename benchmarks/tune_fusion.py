"""Tune hybrid fusion (RRF k and list weights) on a BEIR train split; report the chosen setting on test.

    python benchmarks/tune_fusion.py [../shared/data/scifact]

Tunes on --tune-split only (default train) and prints the test figures of the best setting and of the defaults.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path, nargs="?", default=ROOT.parent / "shared" / "data" / "scifact")
    ap.add_argument("--home", type=Path, default=ROOT / "benchmarks" / "out" / "eval-home")
    ap.add_argument("--tune-split", default="train")
    ap.add_argument("--test-split", default="test")
    args = ap.parse_args()
    if not (args.dataset / "corpus.jsonl").exists():
        print(f"skipped: {args.dataset} not found", file=sys.stderr)
        return 0
    from paperwire.config import Settings
    from paperwire.embed import get_embedder
    from paperwire.evaluate import evaluate, open_dataset

    settings = Settings(home=args.home, load_sample=False)
    engine = open_dataset(args.dataset, settings, get_embedder(settings))
    embed_query = engine.embedder.embed_query
    cache: dict[str, object] = {}

    def cached(text: str):  # type: ignore[no-untyped-def]
        # the grid re-asks the same queries: embed each once
        if text not in cache:
            cache[text] = embed_query(text)
        return cache[text]

    engine.embedder.embed_query = cached  # type: ignore[method-assign]
    base = engine.settings
    for tb in (0.0, 0.25, 0.5, 1.0):
        engine.keyword.title_boost = tb
        s = evaluate(engine, args.dataset, args.tune_split, ["keyword"])[0]
        print(f"{args.tune_split}: title_boost={tb} keyword nDCG@10 {s.ndcg_at_10:.4f}", flush=True)
    engine.keyword.title_boost = base.title_boost
    grid: list[dict[str, object]] = [
        {"fusion": "rrf", "rrf_k": k, "semantic_weight": ws, "keyword_weight": 1.0}
        for k, ws in itertools.product((5, 10, 20, 60), (0.75, 1.0, 1.25, 1.5))
    ] + [{"fusion": "convex", "convex_alpha": a / 100} for a in range(30, 85, 5)]
    results = []
    for i, cfg in enumerate(grid):
        engine.settings = base.model_copy(update=cfg)
        s = evaluate(engine, args.dataset, args.tune_split, ["hybrid"])[0]
        results.append((s.ndcg_at_10, i))
        print(f"{args.tune_split}: {cfg} nDCG@10 {s.ndcg_at_10:.4f}", flush=True)
    best_score, best_i = max(results)
    best = grid[best_i]
    print(f"best on {args.tune_split}: {best} nDCG@10 {best_score:.4f}")
    for label, cfg in (("defaults", {}), ("tuned", best)):
        engine.settings = base.model_copy(update=cfg)
        for s in evaluate(engine, args.dataset, args.test_split, ["keyword", "semantic", "hybrid"]):
            print(
                f"{args.test_split} [{label} {cfg}] {s.mode:<9} nDCG@10 {s.ndcg_at_10:.4f} "
                f"Recall@100 {s.recall_at_100:.4f} MRR@10 {s.mrr_at_10:.4f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
