"""Study and fit hybrid fusion offline: both top-100 lists of every query, taken once, then fused many ways.

    python benchmarks/build_devsets.py            # the known-item dev sets (once)
    python benchmarks/fusion_study.py [--home DIR] [--fit]

Tuning data: SciFact train and the dev splits of the known-item sets. Reported: every split, test ones included,
but nothing is ever fitted on a test split. With --fit it fits the adaptive formula's weights (search/fusion.py)
and prints them for pasting into ADAPTIVE_BIAS / ADAPTIVE_WEIGHTS; without it, it scores the shipped ones.
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DEVSETS = ROOT / "benchmarks" / "out" / "devsets"
# (label, dataset dir, split, used for fitting)
SETS = [
    ("scifact train", SHARED / "scifact", "train", True),
    ("scifact test", SHARED / "scifact", "test", False),
    ("title dev", DEVSETS / "known-title", "dev", True),
    ("title test", DEVSETS / "known-title", "test", False),
    ("sentence dev", DEVSETS / "known-item", "sentence-dev", True),
    ("sentence test", DEVSETS / "known-item", "sentence-test", False),
    ("keywords dev", DEVSETS / "known-item", "keywords-dev", True),
    ("keywords test", DEVSETS / "known-item", "keywords-test", False),
]
ALPHAS = np.linspace(0.0, 1.0, 21)


def collect(home: Path, depth: int) -> dict[str, list[dict[str, Any]]]:
    """Per set: each query's relevance judgements, both lists with raw scores, and its signals."""
    from paperwire.config import Settings
    from paperwire.embed import get_embedder
    from paperwire.evaluate import load_qrels, open_dataset, query_text, read_jsonl
    from paperwire.search.query import parse_query

    settings = Settings(home=home, load_sample=False)
    embedder = get_embedder(settings)
    engines: dict[Path, Any] = {}
    out: dict[str, list[dict[str, Any]]] = {}
    for label, ds, split, _ in SETS:
        if not (ds / "corpus.jsonl").exists():
            print(f"skipped {label}: {ds} not found (python benchmarks/build_devsets.py)", file=sys.stderr)
            continue
        if ds not in engines:
            engines[ds] = open_dataset(ds, settings, embedder)
        engine = engines[ds]
        qrels = load_qrels(ds / "qrels" / f"{split}.tsv")
        rows = []
        for o in read_jsonl(ds / "queries.jsonl"):
            qid = str(o["_id"])
            if qid not in qrels:
                continue
            q = parse_query(query_text(str(o["text"])))
            kw, _ = engine.keyword.search(q, limit=depth)
            sem = engine._semantic(q, depth)
            kw_pairs = [(h.paper_id, h.score) for h in kw]
            sem_pairs = [(h.paper_id, h.similarity) for h in sem]
            sig = engine.signals(q, kw_pairs, sem_pairs)
            rows.append({"rel": qrels[qid], "kw": kw_pairs, "sem": sem_pairs, "sig": sig.vector()})
        out[label] = rows
        print(f"collected {label}: {len(rows)} queries", flush=True)
    return out


def ndcg10(ranked: list[str], rel: dict[str, int]) -> float:
    from paperwire.evaluate import ndcg_at

    return ndcg_at(ranked, rel)


def score(rows: list[dict[str, Any]], fuse: Any) -> float:
    """Mean nDCG@10 of a fusion function over a set."""
    return float(np.mean([ndcg10([p for p, *_ in fuse(r)], r["rel"]) for r in rows])) if rows else 0.0


def grid(rows: list[dict[str, Any]], norm: str) -> np.ndarray:
    """nDCG@10 of every query at every alpha of ALPHAS (queries x alphas)."""
    from paperwire.search.fusion import convex_fuse

    g = np.zeros((len(rows), len(ALPHAS)))
    for i, r in enumerate(rows):
        for j, a in enumerate(ALPHAS):
            g[i, j] = ndcg10([p for p, *_ in convex_fuse(r["kw"], r["sem"], float(a), norm)[:10]], r["rel"])
    return g


def fit(data: dict[str, list[dict[str, Any]]], grids: dict[str, np.ndarray]) -> tuple[float, list[float]]:
    """Weights of alpha = sigmoid(b + w.x) that maximise the mean (over fitting sets) of mean nDCG@10."""
    from scipy.optimize import minimize

    fit_sets = [label for label, *_, used in SETS if used and label in data]
    xs = {lb: np.array([r["sig"] for r in data[lb]]) for lb in fit_sets}
    allx = np.vstack(list(xs.values()))
    mu, sd = allx.mean(0), allx.std(0) + 1e-9

    def objective(theta: np.ndarray) -> float:
        b, w = theta[0], theta[1:]
        total = 0.0
        for lb in fit_sets:
            z = b + ((xs[lb] - mu) / sd) @ w
            a = np.clip(1 / (1 + np.exp(-np.clip(z, -30, 30))), 0.05, 0.95)
            pos = a * (len(ALPHAS) - 1)
            lo = np.floor(pos).astype(int)
            hi = np.minimum(lo + 1, len(ALPHAS) - 1)
            t = pos - lo
            g = grids[lb]
            rows = np.arange(len(g))
            total += float(np.mean((1 - t) * g[rows, lo] + t * g[rows, hi]))
        return -total / len(fit_sets) + 1e-3 * float(np.sum(theta[1:] ** 2))  # a little shrinkage

    best: Any = None
    rng = np.random.default_rng(0)
    starts = [np.zeros(allx.shape[1] + 1)] + [rng.normal(0, 1, allx.shape[1] + 1) for _ in range(11)]
    for x0 in starts:
        res = minimize(objective, x0, method="Powell", options={"maxiter": 20000, "xtol": 1e-3, "ftol": 1e-6})
        if best is None or res.fun < best.fun:
            best = res
    b_std, w_std = best.x[0], best.x[1:]
    weights = (w_std / sd).tolist()
    bias = float(b_std - np.sum(w_std * mu / sd))
    return bias, weights


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, default=ROOT / "benchmarks" / "out" / "eval-home")
    ap.add_argument("--depth", type=int, default=100)
    ap.add_argument("--fit", action="store_true", help="fit the adaptive weights (on train/dev splits only)")
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / "out" / "fusion-lists.pkl")
    ap.add_argument("--recollect", action="store_true", help="take the lists again (after an index change)")
    args = ap.parse_args()
    if not (SHARED / "scifact" / "corpus.jsonl").exists():
        print(f"skipped: {SHARED} not found", file=sys.stderr)
        return 0
    if args.cache.exists() and not args.recollect:
        data = pickle.loads(args.cache.read_bytes())
    else:
        data = collect(args.home, args.depth)
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        args.cache.write_bytes(pickle.dumps(data))
    from paperwire.search import fusion

    grids = {lb: grid(rows, "zscore") for lb, rows in data.items()}
    bias, weights = fusion.ADAPTIVE_BIAS, list(fusion.ADAPTIVE_WEIGHTS)
    if args.fit:
        bias, weights = fit(data, grids)
        print(f"ADAPTIVE_BIAS = {bias:.4f}")
        print(f"ADAPTIVE_WEIGHTS = ({', '.join(f'{w:.4f}' for w in weights)})")

    def adaptive(r: dict[str, Any]) -> Any:
        z = bias + sum(w * x for w, x in zip(weights, r["sig"], strict=True))
        a = min(fusion.ALPHA_MAX, max(fusion.ALPHA_MIN, 1 / (1 + math.exp(-max(-30, min(30, z))))))
        return fusion.convex_fuse(r["kw"], r["sem"], a, "zscore")

    variants: list[tuple[str, Any]] = [
        ("keyword", lambda r: r["kw"]),
        ("semantic", lambda r: r["sem"]),
        ("minmax a=.4 (old default)", lambda r: fusion.convex_fuse(r["kw"], r["sem"], 0.4)),
        ("zscore a=.3", lambda r: fusion.convex_fuse(r["kw"], r["sem"], 0.3, "zscore")),
        ("rrf k=60", lambda r: fusion.rrf_fuse([[p for p, _ in r["kw"]], [p for p, _ in r["sem"]]], [1, 1], 60)),
        ("adaptive", adaptive),
    ]
    labels = list(data)
    print(f"{'nDCG@10':<28}" + "".join(f"{lb:>15}" for lb in labels))
    for name, fn in variants:
        print(f"{name:<28}" + "".join(f"{score(data[lb], fn):>15.4f}" for lb in labels), flush=True)
    print(f"{'oracle per-query alpha':<28}" + "".join(f"{grids[lb].max(1).mean():>15.4f}" for lb in labels))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
