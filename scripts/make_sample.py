"""Build the demo sample shipped in src/paperwire/data/ from ../shared/data (run once by a developer).

Picks the most recent listing days plus recent papers with Hugging Face upvote records, writes them in the
listing format, writes their upvote observations, and embeds them with paperwire's own embedder (fp32), so
a fresh install searches at once. `python scripts/make_sample.py --check` re-embeds a few and compares.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "src" / "paperwire" / "data"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--recent-from", default="2026-06-15", help="include every paper listed on/after this day"
    )
    ap.add_argument(
        "--hf-from", default="2026-04-01", help="include HF-upvoted papers listed on/after this day"
    )
    ap.add_argument("--check", action="store_true", help="verify shipped vectors against fresh fp32 ones")
    args = ap.parse_args()

    from paperwire.embed import SentenceTransformerEmbedder
    from paperwire.sources.snapshot import parse_record

    if args.check:
        return check(SentenceTransformerEmbedder(precision="fp32"))
    if not SHARED.exists():
        print(f"needs {SHARED}", file=sys.stderr)
        return 1
    hf: dict[str, list[dict]] = {}
    with gzip.open(SHARED / "hf-daily-papers.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            hf.setdefault(d["paper"]["id"], []).append(d)
    chosen: list[str] = []
    with gzip.open(SHARED / "arxiv-cs" / "papers.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            day = d["_listing_date"]
            if day >= args.recent_from or (d["id"] in hf and day >= args.hf_from):
                chosen.append(line)
    OUT.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(OUT / "sample-papers.jsonl.gz", "wb", mtime=0) as gz:
        gz.write("".join(chosen).encode())
    papers = [parse_record(json.loads(line)) for line in chosen]
    ids = {p.id for p in papers}
    signals = sample_signals(ids)
    with gzip.GzipFile(OUT / "sample-hf-signals.jsonl.gz", "wb", mtime=0) as gz:
        gz.write("".join(json.dumps(s) + "\n" for s in signals).encode())
    emb = SentenceTransformerEmbedder(precision="fp32")
    order = sorted(range(len(papers)), key=lambda i: len(papers[i].embedding_text))
    vecs = np.zeros((len(papers), emb.dim), dtype=np.float32)
    for s in range(0, len(order), 256):
        idx = order[s : s + 256]
        vecs[idx] = emb.embed_batch([papers[i].embedding_text for i in idx])
        print(f"embedded {min(s + 256, len(order))}/{len(order)}", file=sys.stderr)
    np.savez_compressed(
        OUT / "sample-vectors.npz",
        model=np.array(emb.name),
        ids=np.array([p.id for p in papers]),
        text_hashes=np.array([p.text_hash for p in papers]),
        vectors=vecs.astype(np.float16),
    )
    print(f"{len(papers)} papers, {len(signals)} upvote records, vectors {vecs.shape}")
    return 0


def sample_signals(ids: set[str]) -> list[dict[str, object]]:
    """The Hugging Face observations of the sample's papers, read as `paperwire ingest hf-daily --file` reads
    them (each list's day, its listing times, dated 23:59 UTC of the day), in paper then time order."""
    from paperwire.sources.hf_daily import read_file

    out = []
    for daily in read_file(SHARED / "hf-daily-papers.jsonl.gz").lists:
        for s in daily.signals:
            if s.paper_id in ids:
                out.append(
                    {
                        "paper_id": s.paper_id,
                        "source": s.source,
                        "observed_at": s.observed_at.isoformat(),
                        "listed_on": s.listed_on.isoformat() if s.listed_on else None,
                        "listed_at": s.listed_at.isoformat() if s.listed_at else None,
                        "upvotes": s.upvotes,
                        "comments": s.comments,
                        "github_repo": s.github_repo,
                        "github_stars": s.github_stars,
                        "project_page": s.project_page,
                    }
                )
    out.sort(key=lambda o: (str(o["paper_id"]), str(o["observed_at"])))
    return out


def check(emb: object) -> int:
    """Re-embed 50 sample papers and compare with the shipped vectors (float16 storage)."""
    from paperwire.sources.snapshot import iter_records

    with np.load(OUT / "sample-vectors.npz") as z:
        ids = list(z["ids"])
        vecs = z["vectors"].astype(np.float32)
    papers = {
        p.id: p for _, p in iter_records(OUT / "sample-papers.jsonl.gz") if not isinstance(p, Exception)
    }
    pick = ids[:: max(1, len(ids) // 50)][:50]
    fresh = emb.embed_batch([papers[i].embedding_text for i in pick])  # type: ignore[attr-defined]
    shipped = vecs[[ids.index(i) for i in pick]]
    shipped /= np.linalg.norm(shipped, axis=1, keepdims=True)
    cos = (fresh * shipped).sum(axis=1)
    print(f"cosine shipped vs fresh fp32 over {len(pick)} papers: min {cos.min():.6f} mean {cos.mean():.6f}")
    return 0 if cos.min() >= 0.999 else 1


if __name__ == "__main__":
    raise SystemExit(main())
