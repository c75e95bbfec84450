"""Build known-item dev sets for hybrid-search tuning from the real arXiv papers in ../shared (reproducibly).

    python benchmarks/build_devsets.py [--papers ../shared/data/arxiv-cs/papers.jsonl.gz] [--out DIR]

Two BEIR-layout directories (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv) that `paperwire eval beir DIR
--split SPLIT` scores. One right answer per query; half of each kind's queries are `...dev` (tune on these),
the other half `...test` (report these). Nothing comes from SciFact.

- known-title/ (splits dev, test): a paper's title searched against papers indexed WITHOUT their titles
  (abstract only): the reader remembers what the paper is called, and must find it by what it says.
- known-item/ (title + abstract indexed), two kinds of query over one corpus (embedded once):
  - splits sentence-dev, sentence-test: one sentence from inside a paper's abstract (not its first), with
    every word of the title taken out: the reader remembers a passage, not the coined names;
  - splits keywords-dev, keywords-test: five of the abstract's rarer words (not in the title), in random
    order: a reader's jotted keywords.

The corpus is a seeded sample of the papers; the same seed gives the same files byte for byte.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PAPERS = ROOT.parent / "shared" / "data" / "arxiv-cs" / "papers.jsonl.gz"
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_STOP_WORDS = (
    "a an and are as at be been but by can do does for from has have how in into is it its of on or our over "
    "such than that the their these this those through to under up via was we were what when where which while "
    "with within without"
)
STOP = frozenset(_STOP_WORDS.split())


def load(path: Path) -> list[dict[str, object]]:
    """Papers with a usable title and abstract, in file order."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            o = json.loads(line)
            title = " ".join(str(o.get("title") or "").split())
            abstract = " ".join(str(o.get("summary") or "").split())
            if len(title) > 10 and len(abstract) > 200:
                out.append({"id": o["id"], "title": title, "abstract": abstract})
    return out


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return [w.lower() for w in _WORD.findall(text)]


def sentence_query(p: dict[str, object], rng: random.Random) -> str | None:
    """A sentence from inside the abstract with the title's words removed, or None if none is long enough."""
    title_words = set(words(str(p["title"]))) - STOP
    sentences = _SENTENCE.split(str(p["abstract"]))[1:]  # not the first: that one often restates the title
    rng.shuffle(sentences)
    for s in sentences:
        kept = [w for w in s.split() if w.strip(".,;:()[]'\"").lower() not in title_words]
        if 10 <= len(kept) <= 40:  # what a reader would type (the query language takes at most 64 terms)
            return " ".join(kept)
    return None


def keyword_query(p: dict[str, object], df: Counter[str], n_docs: int, rng: random.Random) -> str | None:
    """Five of the abstract's rarer words that are not in the title, shuffled."""
    title_words = set(words(str(p["title"])))
    cands = sorted(
        {w for w in words(str(p["abstract"])) if w not in STOP and w not in title_words and len(w) > 3},
        key=lambda w: (math.log(n_docs / df[w]), w),
        reverse=True,
    )
    # skip the very rarest (often a coined name or a typo): take from the next band
    band = cands[3:15]
    if len(band) < 5:
        return None
    picked = rng.sample(band, 5)
    return " ".join(picked)


def write_set(
    out: Path, corpus: list[dict[str, object]], kinds: dict[str, list[tuple[str, str, str]]], titles: bool
) -> None:
    """One BEIR directory; each kind's queries (id, text, relevant doc) alternate between its dev and test split."""
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    with (out / "corpus.jsonl").open("w", encoding="utf-8") as fh:
        for p in corpus:
            row = {"_id": p["id"], "title": p["title"] if titles else "", "text": p["abstract"]}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    with (out / "queries.jsonl").open("w", encoding="utf-8") as fh:
        for queries in kinds.values():
            for qid, text, _ in queries:
                fh.write(json.dumps({"_id": qid, "text": text}, ensure_ascii=False) + "\n")
    for kind, queries in kinds.items():
        for split, part in (("dev", queries[0::2]), ("test", queries[1::2])):
            name = f"{kind}-{split}" if kind else split
            with (out / "qrels" / f"{name}.tsv").open("w", encoding="utf-8") as fh:
                fh.write("query-id\tcorpus-id\tscore\n")
                for qid, _, doc in part:
                    fh.write(f"{qid}\t{doc}\t1\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--papers", type=Path, default=DEFAULT_PAPERS)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "devsets")
    ap.add_argument("--corpus-size", type=int, default=5000)
    ap.add_argument("--queries", type=int, default=600, help="per set (half dev, half test)")
    ap.add_argument("--seed", type=int, default=20261128)
    args = ap.parse_args()
    if not args.papers.exists():
        print(f"skipped: {args.papers} not found", file=sys.stderr)
        return 0
    rng = random.Random(args.seed)
    papers = load(args.papers)
    corpus = sorted(rng.sample(papers, args.corpus_size), key=lambda p: str(p["id"]))
    df: Counter[str] = Counter()
    for p in corpus:
        df.update(set(words(f"{p['title']} {p['abstract']}")))
    order = list(corpus)
    rng.shuffle(order)
    title_q = [(f"t{i}", str(p["title"]), str(p["id"])) for i, p in enumerate(order[: args.queries])]
    sent_q: list[tuple[str, str, str]] = []
    kw_q: list[tuple[str, str, str]] = []
    for p in order[args.queries :]:
        if len(sent_q) < args.queries and (s := sentence_query(p, rng)):
            sent_q.append((f"s{len(sent_q)}", s, str(p["id"])))
        elif len(kw_q) < args.queries and (k := keyword_query(p, df, len(corpus), rng)):
            kw_q.append((f"k{len(kw_q)}", k, str(p["id"])))
        if len(sent_q) >= args.queries and len(kw_q) >= args.queries:
            break
    write_set(args.out / "known-title", corpus, {"": title_q}, titles=False)
    write_set(args.out / "known-item", corpus, {"sentence": sent_q, "keywords": kw_q}, titles=True)
    for name, qs in (("known-title", title_q), ("known-item sentence", sent_q), ("known-item keywords", kw_q)):
        print(f"{name}: {len(corpus)} papers, {len(qs)} queries (half dev, half test); e.g. {qs[0][1]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
