"""Ingest throughput: metadata only (records/s into the store + keyword index), then with embeddings (docs/s).

    python benchmarks/ingest_speed.py [--papers FILE] [--embed-n 512] [--database-url URL]

The store is a fresh SQLite file in a temp home, or (--database-url) the database at URL, which should be
empty (a paper already there is counted unchanged, not stored). Both figures come from the same run;
compare them as a ratio, the machine is shared.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAPERS = ROOT.parent / "shared" / "data" / "arxiv-cs" / "papers.jsonl.gz"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--papers", type=Path, default=PAPERS)
    ap.add_argument("--embed-n", type=int, default=512, help="papers to embed for the embedding figure")
    ap.add_argument(
        "--database-url",
        default=None,
        help="store into this database (e.g. postgresql://USER:PASSWORD@/DB?host=SOCKETDIR; best a fresh "
        "empty one) instead of a new SQLite file in the temp home; the keyword index stays in the temp home",
    )
    args = ap.parse_args()
    if not args.papers.exists():
        print(f"skipped: {args.papers} not found (needs ../shared beside the repo)", file=sys.stderr)
        return 0
    from paperwire.config import Settings
    from paperwire.embed import get_embedder
    from paperwire.ingest import embed_pending, ingest_file
    from paperwire.search.hybrid import SearchEngine
    from paperwire.store import open_store

    home = Path(tempfile.mkdtemp(prefix="pw-ingest-bench-"))
    try:
        # default: the temp home's own SQLite file
        settings = Settings(home=home, database_url=args.database_url, load_sample=False)
        store = open_store(settings)
        print(f"store: {type(store).__name__}", flush=True)
        t = time.perf_counter()
        rep = ingest_file(store, args.papers)
        t_store = time.perf_counter() - t
        engine = SearchEngine(settings, store)
        t = time.perf_counter()
        engine.keyword.add(store.iter_papers())
        t_index = time.perf_counter() - t
        n = rep.read
        print(
            f"metadata: {n} papers stored in {t_store:.1f} s ({n / t_store:.0f}/s); keyword index {t_index:.1f} s "
            f"({n / t_index:.0f}/s); together {n / (t_store + t_index):.0f} papers/s"
        )
        t = time.perf_counter()
        rep2 = ingest_file(store, args.papers, restart=True)
        t_re = time.perf_counter() - t
        print(
            f"re-ingest of the same file: {rep2.result.unchanged} unchanged, {rep2.result.updated} updated, {t_re:.1f} s"
        )
        emb = get_embedder(settings)
        emb.embed_batch(["warm up"])
        t = time.perf_counter()
        done = embed_pending(store, emb, limit=args.embed_n)
        t_emb = time.perf_counter() - t
        print(
            f"embedding ({emb.name}, {getattr(emb, 'precision', '?')}): {done} papers in {t_emb:.1f} s = "
            f"{done / t_emb:.1f} docs/s; metadata is {(n / (t_store + t_index)) / (done / t_emb):.0f}x faster"
        )
        est = n / (done / t_emb) / 60
        print(
            f"at that rate the whole file embeds in about {est:.0f} min; keyword search works after "
            f"{(t_store + t_index) / 60:.1f} min"
        )
        store.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
