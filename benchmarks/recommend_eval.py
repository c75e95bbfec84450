"""Offline evaluation of recommendations "for you" on simulated libraries from real co-authorship.

For a split day T, an author's papers announced before T are their library and the same author's papers
announced in the week from T (T .. T+6) are what they would want; the candidates are every paper of that week.
Each library is scored by recall@20 and nDCG@20 (binary gains) for paperwire's method (paperwire.recommend,
end to end through ``recommend(pw, ...)`` on the test split) and two baselines measured in the same run:

- popular: the week's papers by the project's popularity (``pw.popularity``: Hugging Face upvotes and local
  signals, as the trending code weighs them), ties by id;
- mean-vector: nearest neighbours of the library's mean vector.

Split days are weekly; the earlier half is the tuning split, the later half the held-out test split, reported
with the tuned parameters and never tuned on. Authors with more than --max-library papers are left out (mostly
different people sharing one name).

Two classifiers are compared (RankParams.classifier): the logistic regression (its defaults, tuned before by
--full-grid) and shared-background LDA, whose shrinkage and blend are searched on the tuning split. On the test
split every variant runs end to end through one ``WindowRecommender`` per split week (the digest's way), and the
logistic default also through ``recommend()`` (one call a library: the old way; it must give the same lists);
each library runs every variant in turn, so the machine's noise falls on all alike, and the times are ms a
library (median, p95) with their ratio to the old way. --full-grid instead searches the old grid of the
logistic blend (720 settings, ~15 min) and reports that.

Needs MiniLM vectors of the 74,728 papers of ../shared/data/arxiv-cs: --home PATH reuses a paperwire home that
holds them (its vectors are checked: a home whose vectors disagree with the model is refused); otherwise one
is built in benchmarks/out/recommend-home (ingest, Hugging Face signals, embedding: 2-4 h on a busy 2-core
machine at 5-10 docs/s). Only papers with a vector take part, and only split days whose weeks are fully embedded (a build in progress embeds
the newest first), so a partly embedded home gives a smaller but sound evaluation; the report says which.

    nice -n 10 python benchmarks/recommend_eval.py [--home PATH] [--per-split 100] [--tune-per-split 60] [--no-tune]
        [--full-grid] [--json]

With the 25,600 real vectors of benchmarks/out/recommend-home: ~5 min on a busy 2-core machine (--full-grid ~18).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PAPERS = DATA / "arxiv-cs" / "papers.jsonl.gz"
HF = DATA / "hf-daily-papers.jsonl.gz"
K = 20
WEEK = 7


def build_home(home: Path) -> None:
    """Ingest the corpus and the Hugging Face signals into ``home`` and embed every paper (resumable)."""
    from paperwire.app_context import open_paperwire
    from paperwire.config import Settings
    from paperwire.embed import get_embedder
    from paperwire.ingest import embed_pending, ingest_file
    from paperwire.signals import ingest_signal_file

    settings = Settings(home=home, load_sample=False)
    pw = open_paperwire(settings, first_run=False)
    try:
        rep = ingest_file(pw.store, PAPERS)
        print(f"ingest: {rep.summary()}", flush=True)
        if not pw.store.count_signals() and HF.exists():
            ingest_signal_file(pw.store, HF)
        t0 = time.perf_counter()
        n = embed_pending(
            pw.store, get_embedder(settings), on_progress=lambda k: print(f"  embedded {k} more", flush=True)
        )
        print(f"embedded {n} papers in {time.perf_counter() - t0:.0f} s", flush=True)
    finally:
        pw.close()


def check_vectors(pw: Any, ids: list[str]) -> float:
    """The least cosine between stored vectors and the model's own of a few papers (random vectors: ~0)."""
    papers = pw.store.get_papers(ids)
    texts = [papers[i].embedding_text for i in ids]
    fresh = pw.engine.embedder.embed_batch(texts)
    stored = np.stack([pw.engine.vectors.vector(i) for i in ids])
    return float((fresh * stored).sum(axis=1).min())


def metrics(ranked: list[str], wanted: set[str]) -> tuple[float, float]:
    """recall@K and nDCG@K (binary gains) of a ranked list."""
    top = ranked[:K]
    hits = [1.0 if pid in wanted else 0.0 for pid in top]
    dcg = sum(h / np.log2(i + 2) for i, h in enumerate(hits))
    idcg = sum(1.0 / np.log2(i + 2) for i in range(min(K, len(wanted))))
    return sum(hits) / len(wanted), dcg / idcg


def day_of(key: int) -> date:
    return date(key // 10000, key // 100 % 100, key % 100)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, help="a paperwire home holding the corpus and its MiniLM vectors")
    ap.add_argument(
        "--per-split", type=int, default=100, help="test libraries sampled per split day (default 100)"
    )
    ap.add_argument(
        "--tune-per-split", type=int, default=60, help="tuning libraries per split day (default 60)"
    )
    ap.add_argument(
        "--history-days", type=int, default=28, help="days of papers before the first split day (default 28)"
    )
    ap.add_argument("--min-library", type=int, default=3, help="least library papers (default 3)")
    ap.add_argument("--max-library", type=int, default=150, help="most library papers (default 150)")
    ap.add_argument("--no-tune", action="store_true", help="use RankParams' defaults, search no grid")
    ap.add_argument(
        "--full-grid", action="store_true", help="search the old grid of the logistic blend (~15 min)"
    )
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object at the end")
    args = ap.parse_args()
    if args.home is None and not PAPERS.exists():
        print(f"skipped: {PAPERS} is absent (it comes with ../shared)")
        return 0
    home = args.home or ROOT / "benchmarks" / "out" / "recommend-home"
    if args.home is None:
        build_home(home)

    from paperwire.app_context import open_paperwire
    from paperwire.config import Settings
    from paperwire.recommend import RankParams, recommend
    from paperwire.recommend.rank import (
        _z,
        centroid_scores,
        classifier_scores,
        lda_scores,
        recency_weights,
        similarity,
    )
    from paperwire.recommend.service import WindowRecommender, _background, _ordinals

    t_start = time.perf_counter()
    pw = open_paperwire(Settings(home=home, load_sample=False), first_run=False)
    pw.engine.ready(vectors=True)
    vi = pw.engine.vectors
    live = {pid for pid, lab in vi.label_of.items() if vi.alive[lab]}
    print(f"home {home}: {pw.store.count_papers():,} papers, {len(live):,} with a vector", flush=True)
    if not live:
        print("no vectors: embed the home first")
        return 1
    probe = sorted(live)[:: max(1, len(live) // 8)][:8]
    agree = check_vectors(pw, probe)
    print(
        f"stored vectors vs the model's own, least cosine over {len(probe)} papers: {agree:.4f}", flush=True
    )
    if agree < 0.99:
        print("refused: this home's vectors are not the model's (random or title-only fills?)")
        return 1

    # who wrote what, when (the date vector filters use: announced, else submitted)
    by_author: dict[str, list[tuple[int, str]]] = defaultdict(list)
    per_day: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # day -> [papers, embedded]
    for _, p in pw.store.iter_papers():
        when = p.announced or p.published or p.updated
        if when is None:
            continue
        key = when.year * 10000 + when.month * 100 + when.day
        per_day[key][0] += 1
        if p.id in live:
            per_day[key][1] += 1
            for a in dict.fromkeys(p.authors):
                by_author[a].append((key, p.id))
    days = sorted(per_day)
    # the oldest day from which every day is embedded (a build embeds the newest first)
    full_from = days[-1]
    for day in reversed(days):
        if per_day[day][1] < per_day[day][0]:
            break
        full_from = day
    first, last = day_of(full_from), day_of(days[-1])
    print(f"fully embedded: {first} .. {last}", flush=True)
    splits = []
    t = first + timedelta(days=args.history_days)  # every library may reach back this far
    while t + timedelta(days=WEEK - 1) <= last:
        splits.append(t)
        t += timedelta(days=WEEK)
    if len(splits) < 2:
        print("too few fully embedded weeks for a tuning and a test split")
        return 1
    half = len(splits) // 2
    tune_days, test_days = splits[:half], splits[half:]

    def libraries(t: date, rng: np.random.Generator, most: int) -> list[tuple[str, list[str], list[str]]]:
        lo = t.year * 10000 + t.month * 100 + t.day
        e = t + timedelta(days=WEEK - 1)
        hi = e.year * 10000 + e.month * 100 + e.day
        out = []
        for a, items in by_author.items():
            lib = [pid for k, pid in items if k < lo]
            want = [pid for k, pid in items if lo <= k <= hi]
            if want and args.min_library <= len(lib) <= args.max_library:
                out.append((a, lib, want))
        out.sort()
        if len(out) > most:
            pick = rng.choice(len(out), most, replace=False)
            out = [out[i] for i in sorted(pick)]
        return out

    def split_data(t: date) -> dict[str, Any]:
        e = t + timedelta(days=WEEK - 1)
        mask = vi.mask(
            after=t.year * 10000 + t.month * 100 + t.day, before=e.year * 10000 + e.month * 100 + e.day
        )
        assert mask is not None
        rows = np.nonzero(mask)[0]
        ids = [vi.ids[r] for r in rows]
        pop = pw.popularity(ids)
        by_pop = sorted(ids, key=lambda i: (-pop.get(i, 0.0), i))
        return {
            "mask": mask,
            "rows": rows,
            "ids": ids,
            "cand": vi.mat[rows],
            "days": _ordinals(vi.facets.dates[rows]),
            "popular": by_pop,
        }

    def lib_arrays(lib: list[str]) -> tuple[np.ndarray, np.ndarray]:
        labs = [vi.label_of[i] for i in lib]
        return vi.mat[labs], _ordinals(vi.facets.dates[labs])

    def baselines(sd: dict[str, Any], lib: list[str], want: set[str]) -> dict[str, tuple[float, float]]:
        vecs, _ = lib_arrays(lib)
        mean = vecs.mean(axis=0)
        mean /= np.linalg.norm(mean) or 1.0
        s = sd["cand"] @ mean
        top = np.argsort(-s, kind="stable")[:K]
        return {
            "popular": metrics(sd["popular"], want),
            "mean-vector": metrics([sd["ids"][i] for i in top], want),
        }

    rng = np.random.default_rng(20260701)
    empty = np.zeros((0, vi.dim), dtype=np.float32)
    tuned: dict[str, list[dict[str, Any]]] = {}
    n_tune = 0

    def full_grid() -> RankParams:
        """The old grid: the logistic classifier's blend, the neighbours, the recency, the regularisation."""
        nonlocal n_tune
        # -- tuning split: a grid over the blend, the neighbours, the recency and the regularisation ----------------
        # (the classifier and the similarity are computed once per library and setting, then blended)
        blends = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0) if not args.no_tune else (RankParams().blend,)
        centroids = (0.0, 0.25, 0.5, 0.75, 1.0) if not args.no_tune else (RankParams().centroid,)
        top_ks = (1, 3, 5) if not args.no_tune else (RankParams().top_k,)
        l2s = (0.1, 1.0) if not args.no_tune else (RankParams().l2,)
        lives = (None, 60.0) if not args.no_tune else (RankParams().half_life_days,)
        fresh = (0.0, 0.3) if not args.no_tune else (RankParams().freshness,)
        tune_scores: dict[tuple[Any, ...], list[tuple[float, float]]] = defaultdict(list)
        t0 = time.perf_counter()
        for t in tune_days:
            sd = split_data(t)
            neg = _background(vi.n, vi.alive, sd["mask"], [t.isoformat()], vi.mat)
            cd = sd["days"].astype(np.float64)
            span = float(cd.max() - cd.min()) or 1.0
            fresh_term = (cd - cd.min()) / span
            for _, lib, want in libraries(t, rng, args.tune_per_split):
                vecs, ldays = lib_arrays(lib)
                wanted = set(want)
                n_tune += 1
                for h in lives:
                    base = RankParams(classifier="logistic", half_life_days=h)
                    w = recency_weights(ldays, len(lib), base)
                    cen = _z(centroid_scores(sd["cand"], vecs, w, empty, base))
                    knn = {
                        k: _z(similarity(sd["cand"], vecs, w, empty, replace(base, top_k=k))[1])
                        for k in top_ks
                    }
                    clfs = {}
                    for l2 in l2s:
                        c = classifier_scores(vecs, sd["cand"], w, neg, empty, empty, replace(base, l2=l2))
                        clfs[l2] = _z(c) if c is not None else None
                    for k, kz in knn.items():
                        for ce in centroids:
                            sz = (1 - ce) * kz + ce * cen
                            for l2, cz in clfs.items():
                                for b in blends:
                                    sc = sz if cz is None or b == 0 else b * cz + (1 - b) * sz
                                    for f in fresh:
                                        s2 = sc + f * fresh_term if f else sc
                                        top = np.argpartition(-s2, K)[:K]
                                        top = top[np.argsort(-s2[top], kind="stable")]
                                        tune_scores[(b, ce, k, l2, h, f)].append(
                                            metrics([sd["ids"][i] for i in top], wanted)
                                        )
        mean_ndcg = {key: float(np.mean([n for _, n in v])) for key, v in tune_scores.items()}
        ranked_settings = sorted(tune_scores, key=lambda key: -mean_ndcg[key])
        chosen = ranked_settings[0]
        best = RankParams(
            classifier="logistic",
            blend=chosen[0],
            centroid=chosen[1],
            top_k=chosen[2],
            l2=chosen[3],
            half_life_days=chosen[4],
            freshness=chosen[5],
        )
        print(
            f"tuning: {n_tune} libraries on {len(tune_days)} split days ({tune_days[0]} .. {tune_days[-1]}), "
            f"{len(tune_scores)} settings in {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        families = {
            "best": ranked_settings[:5],
            "classifier alone": [x for x in ranked_settings if x[0] == 1.0][:1],
            "nearest library papers alone": [x for x in ranked_settings if x[0] == 0.0 and x[1] == 0.0][:1],
            "mean vector alone (recency-weighted)": [
                x for x in ranked_settings if x[0] == 0.0 and x[1] == 1.0
            ][:1],
        }
        for family, keys in families.items():
            print(f"  {family}:")
            for key in keys:
                r_, n_ = np.mean(tune_scores[key], axis=0)
                print(
                    f"    blend {key[0]} centroid {key[1]} top_k {key[2]} l2 {key[3]} half-life {key[4]} "
                    f"freshness {key[5]}: recall@20 {r_:.4f} nDCG@20 {n_:.4f}"
                )
                tuned.setdefault(family, []).append(
                    {"setting": list(key), "recall@20": round(float(r_), 4), "ndcg@20": round(float(n_), 4)}
                )
        return best

    def classifier_grid() -> tuple[RankParams, RankParams]:
        """LDA's shrinkage and blend searched on the tuning split (the rest at RankParams' defaults), the
        logistic default scored beside it; returns (the best LDA, the best LDA at the default blend)."""
        nonlocal n_tune
        base = RankParams()
        shrinks = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0) if not args.no_tune else (base.shrinkage,)
        blends = (0.2, 0.4, 0.6, 0.8, 1.0) if not args.no_tune else (base.blend,)
        scores: dict[tuple[Any, ...], list[tuple[float, float]]] = defaultdict(list)
        t0 = time.perf_counter()
        for t in tune_days:
            sd = split_data(t)
            wr = WindowRecommender(pw, t, t + timedelta(days=WEEK - 1))
            bg = wr.background()
            neg = _background(vi.n, vi.alive, sd["mask"], [t.isoformat()], vi.mat)
            for _, lib, want in libraries(t, rng, args.tune_per_split):
                vecs, ldays = lib_arrays(lib)
                wanted = set(want)
                n_tune += 1
                w = recency_weights(ldays, len(lib), base)
                sz = _z(similarity(sd["cand"], vecs, w, empty, base)[1])
                views: dict[tuple[Any, ...], np.ndarray | None] = {
                    ("logistic", base.l2): classifier_scores(vecs, sd["cand"], w, neg, empty, empty, base)
                }
                for sh in shrinks:
                    views[("lda", sh)] = lda_scores(
                        vecs, sd["cand"], w, bg, empty, empty, replace(base, classifier="lda", shrinkage=sh)
                    )
                for (kind, knob), c in views.items():
                    cz = _z(c) if c is not None else None
                    for b in blends if kind == "lda" else (base.blend,):
                        sc = sz if cz is None else b * cz + (1 - b) * sz
                        top = np.argpartition(-sc, K)[:K]
                        top = top[np.argsort(-sc[top], kind="stable")]
                        scores[(kind, knob, b)].append(metrics([sd["ids"][i] for i in top], wanted))
        mean_ndcg = {key: float(np.mean([n for _, n in v])) for key, v in scores.items()}
        order = sorted(scores, key=lambda key: -mean_ndcg[key])
        print(
            f"tuning: {n_tune} libraries on {len(tune_days)} split days ({tune_days[0]} .. {tune_days[-1]}), "
            f"{len(scores)} settings in {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        lda = [k for k in order if k[0] == "lda"]
        at_blend = [k for k in lda if k[2] == base.blend]
        for family, keys in {
            "logistic (defaults)": [k for k in order if k[0] == "logistic"],
            "lda, best": lda[:5],
            f"lda at blend {base.blend}, by shrinkage": at_blend,
        }.items():
            print(f"  {family}:")
            for key in keys:
                r_, n_ = np.mean(scores[key], axis=0)
                print(
                    f"    {key[0]} {'l2' if key[0] == 'logistic' else 'shrinkage'} {key[1]} blend {key[2]}: "
                    f"recall@20 {r_:.4f} nDCG@20 {n_:.4f}"
                )
                tuned.setdefault(family, []).append(
                    {"setting": list(key), "recall@20": round(float(r_), 4), "ndcg@20": round(float(n_), 4)}
                )
        best = replace(base, classifier="lda", shrinkage=lda[0][1], blend=lda[0][2])
        best_at_blend = replace(base, classifier="lda", shrinkage=at_blend[0][1])
        return best, best_at_blend

    # -- the variants: tuned on the tuning split --------------------------------------------------------------
    variants: dict[str, RankParams] = {}
    if args.full_grid:
        variants["logistic, full grid"] = full_grid()
    else:
        lda_best, lda_at_blend = classifier_grid()
        variants["logistic"] = replace(RankParams(), classifier="logistic")
        variants["lda"] = lda_best
        if lda_at_blend != lda_best:
            variants[f"lda, blend {lda_at_blend.blend}"] = lda_at_blend
    for name, vp in variants.items():
        print(f"{name}: {vp}", flush=True)

    # -- held-out test split: the variants end to end, the baselines beside them ----------------------------------
    old_way = "logistic via recommend()"
    first_variant = next(iter(variants))
    test: dict[str, list[tuple[float, float]]] = defaultdict(list)
    latency: dict[str, list[float]] = defaultdict(list)
    window_s: list[float] = []
    mismatches = 0
    n_test = 0
    lib_sizes: list[int] = []
    for t in test_days:
        sd = split_data(t)
        until = t + timedelta(days=WEEK - 1)
        t1 = time.perf_counter()
        wr = WindowRecommender(pw, t, until)
        wr.background()
        window_s.append(time.perf_counter() - t1)
        for _, lib, want in libraries(t, rng, args.per_split):
            wanted = set(want)
            n_test += 1
            lib_sizes.append(len(lib))
            t1 = time.perf_counter()
            old = recommend(pw, lib, since=t, until=until, limit=K, params=variants[first_variant])
            latency[old_way].append(time.perf_counter() - t1)
            for name, vp in variants.items():
                t1 = time.perf_counter()
                recs = wr.recommend(lib, limit=K, params=vp)
                latency[name].append(time.perf_counter() - t1)
                test[name].append(metrics([r.paper.id for r in recs], wanted))
                if name == first_variant and [r.paper.id for r in recs] != [r.paper.id for r in old]:
                    mismatches += 1
            for name, m in baselines(sd, lib, wanted).items():
                test[name].append(m)
    pw.close()

    def ms(name: str, q: float) -> float:
        return round(1000 * float(np.percentile(latency[name], q)), 2)

    figures: dict[str, Any] = {
        "home": str(home),
        "embedded_days": [first.isoformat(), last.isoformat()],
        "tune_split_days": [d.isoformat() for d in tune_days],
        "test_split_days": [d.isoformat() for d in test_days],
        "tune_libraries": n_tune,
        "test_libraries": n_test,
        "library_size_median": float(np.median(lib_sizes)) if lib_sizes else 0.0,
        "variants": {name: vp.__dict__ for name, vp in variants.items()},
        "tuning": tuned,
        "window_setup_ms_p50": round(1000 * float(np.median(window_s)), 1),
        "window_vs_recommend_mismatches": mismatches,
        "total_s": 0.0,
        "test": {},
    }
    print(
        f"\ntest: {n_test} libraries on {len(test_days)} split days ({test_days[0]} .. {test_days[-1]}), "
        f"median library {figures['library_size_median']:.0f} papers; a WindowRecommender (window and "
        f"background) took {figures['window_setup_ms_p50']} ms a week, median"
    )
    print(f"{'method':<28} {'recall@20':>10} {'nDCG@20':>10} {'ms p50':>8} {'ms p95':>8} {'x old p50':>9}")
    base_p50 = ms(old_way, 50)
    ref = np.asarray(test[first_variant])
    for name in (old_way, *variants, "mean-vector", "popular"):
        row: dict[str, Any] = {}
        if name in test:
            vals = np.asarray(test[name])
            r_, n_ = vals.mean(axis=0)
            d = vals - ref  # paired with the first variant, library by library
            half = 1.96 * d.std(axis=0, ddof=1) / np.sqrt(len(d))
            row = {
                "recall@20": round(float(r_), 4),
                "ndcg@20": round(float(n_), 4),
                "vs_first_recall_ci95": [
                    round(float(d[:, 0].mean() - half[0]), 4),
                    round(float(d[:, 0].mean() + half[0]), 4),
                ],
                "vs_first_ndcg_ci95": [
                    round(float(d[:, 1].mean() - half[1]), 4),
                    round(float(d[:, 1].mean() + half[1]), 4),
                ],
            }
        if name in latency:
            row |= {
                "ms_p50": ms(name, 50),
                "ms_p95": ms(name, 95),
                "x_old_p50": round(ms(name, 50) / base_p50, 3),
            }
        figures["test"][name] = row
        cells = [
            f"{row['recall@20']:>10.4f}" if "recall@20" in row else f"{'(same)':>10}",
            f"{row['ndcg@20']:>10.4f}" if "ndcg@20" in row else f"{'(same)':>10}",
            f"{row['ms_p50']:>8.2f}" if "ms_p50" in row else f"{'':>8}",
            f"{row['ms_p95']:>8.2f}" if "ms_p95" in row else f"{'':>8}",
            f"{row['x_old_p50']:>9.3f}" if "x_old_p50" in row else f"{'':>9}",
        ]
        print(f"{name:<28} " + " ".join(cells))
    for name in variants:
        if name != first_variant:
            row = figures["test"][name]
            print(
                f"{name} - {first_variant}, paired 95% interval: recall@20 {row['vs_first_recall_ci95']}, "
                f"nDCG@20 {row['vs_first_ndcg_ci95']}"
            )
    print(f"lists of {first_variant!r} that differ between WindowRecommender and recommend(): {mismatches}")
    figures["total_s"] = round(time.perf_counter() - t_start, 1)
    print(f"total {figures['total_s']} s")
    if args.json:
        sys.stdout.write(json.dumps(figures) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
