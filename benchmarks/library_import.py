"""Library import speed and accuracy: a 10,000-entry BibTeX file matched against the 74,728 real papers.

    python benchmarks/library_import.py [--papers FILE] [--entries 10000] [--work DIR] [--seed 7]

The papers of ../shared/data/arxiv-cs go into a fresh SQLite store and keyword index (or those under --work,
built once and reused). That data has no DOIs, so one paper in six is given a made-up journal DOI
(10.5555/pw.ID): the DOI lookup is then exercised as a real one would be. The BibTeX file mixes, from real
papers: arXiv ids in the spellings people use (eprint, "arXiv preprint arXiv:ID" journals, abs/pdf links with
versions, notes, arXiv DOIs), journal DOIs, and titles only, with noise (case, LaTeX accents and braces,
dropped punctuation, a typo); and entries that must not match: ids of papers not in the store (fetching is
off), made-up titles, DOIs nobody has, empty entries and a broken block. Every entry's right answer is known,
so the figures include wrong matches and misses, not only counts. Only reading and matching are timed.
Without ../shared the benchmark says so and exits 0.
"""

from __future__ import annotations

import argparse
import gzip
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAPERS = ROOT.parent / "shared" / "data" / "arxiv-cs" / "papers.jsonl.gz"
sys.path.insert(0, str(ROOT / "src"))

from paperwire.library.formats import read_library  # noqa: E402
from paperwire.library.latex import text_to_latex  # noqa: E402
from paperwire.library.match import match_entries  # noqa: E402
from paperwire.models import Paper  # noqa: E402
from paperwire.search.keyword import KeywordIndex  # noqa: E402
from paperwire.sources.snapshot import parse_line  # noqa: E402
from paperwire.store import Store, open_url  # noqa: E402

ACCENTS = {"e": "\\'{e}", "a": '\\"{a}', "o": '{\\"o}', "u": '\\"u', "c": "\\c{c}"}


def load_papers(path: Path) -> list[Paper]:
    out = []
    with gzip.open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            p = parse_line(line, n)
            if isinstance(p, Paper):
                out.append(replace(p, doi=f"10.5555/pw.{p.id}") if n % 6 == 0 else p)
    return out


def build(work: Path, papers_path: Path) -> tuple[Store, KeywordIndex, list[Paper], float]:
    t = time.perf_counter()
    fresh = not (work / "paperwire.db").exists()
    store = open_url(f"sqlite:///{work / 'paperwire.db'}")
    index = KeywordIndex(work / "index")
    papers = load_papers(papers_path)
    if fresh:
        for i in range(0, len(papers), 5000):
            store.upsert_papers(papers[i : i + 5000])
        index.add(store.iter_papers(), heap_mb=256)
    return store, index, papers, time.perf_counter() - t


def noisy_title(title: str, rng: random.Random) -> str:
    """A title as people's libraries hold it: case, punctuation, LaTeX braces and accents, now and then a typo."""
    t = title
    r = rng.random()
    if r < 0.25:
        t = t.lower()
    elif r < 0.35:
        t = t.upper()
    if rng.random() < 0.3:
        t = t.replace(":", "").replace(",", "").replace("-", " ")
    if rng.random() < 0.2 and len(t) > 20:  # one typo: a swapped pair or a dropped letter
        k = rng.randrange(5, len(t) - 5)
        t = t[:k] + t[k + 1] + t[k] + t[k + 2 :] if rng.random() < 0.5 else t[:k] + t[k + 1 :]
    t = text_to_latex(t, protect_case=True)
    if rng.random() < 0.2:
        t = "".join(ACCENTS.get(c, c) if rng.random() < 0.05 else c for c in t)
    return t


def make_library(papers: list[Paper], n: int, seed: int) -> tuple[str, list[str | None]]:
    """(BibTeX text, the right paper id of each entry in order, None where nothing should match)."""
    rng = random.Random(seed)
    with_doi = [p for p in papers if p.doi]
    pool = rng.sample(papers, min(len(papers), n))
    blocks: list[str] = []
    truth: list[str | None] = []
    for i in range(n):
        p = pool[i % len(pool)]
        kind = rng.random()
        authors = " and ".join(
            f"{a.split()[-1]}, {' '.join(a.split()[:-1])}" if len(a.split()) > 1 else a for a in p.authors[:5]
        )
        fields = {
            "author": text_to_latex(authors),
            "year": str((p.announced or p.published).year if (p.announced or p.published) else 2025),
        }
        expect: str | None = p.id
        if kind < 0.35:  # an arXiv id, the ways tools and people write it
            fields["title"] = "{" + text_to_latex(p.title) + "}"
            style = rng.randrange(5)
            if style == 0:
                fields |= {
                    "eprint": p.id,
                    "archivePrefix": "arXiv",
                    "primaryClass": p.primary_category or "cs.LG",
                }
            elif style == 1:
                fields["journal"] = f"arXiv preprint arXiv:{p.id}"
            elif style == 2:
                fields["url"] = f"https://arxiv.org/pdf/{p.id}v{rng.randint(1, 3)}"
            elif style == 3:
                fields["note"] = f"arXiv:{p.id} [{p.primary_category or 'cs.LG'}]"
            else:
                fields["doi"] = f"10.48550/arXiv.{p.id}"
        elif kind < 0.47:  # a journal DOI (some with no title)
            q = rng.choice(with_doi)
            expect = q.id
            fields["doi"] = q.doi.upper() if rng.random() < 0.2 else q.doi  # type: ignore[union-attr]
            if rng.random() < 0.7:
                fields["title"] = text_to_latex(q.title)
        elif kind < 0.85:  # the title only
            fields["title"] = noisy_title(p.title, rng)
        elif kind < 0.89:  # an arXiv id the store lacks (fetching off)
            fields |= {
                "eprint": f"2401.{rng.randrange(100000):05d}",
                "archivePrefix": "arXiv",
                "title": "{Some paper of 2024}",
            }
            expect = None
        elif kind < 0.96:  # a made-up title: words of two real titles
            other = rng.choice(papers).title.split()
            words = p.title.split()
            fields["title"] = text_to_latex(" ".join(words[: len(words) // 2] + other[len(other) // 2 :]))
            expect = None
        elif kind < 0.98:  # a DOI nobody has, no title
            fields = {"doi": f"10.9999/unknown.{i}", "year": "2020"}
            expect = None
        else:  # nothing to match by
            fields = {"year": "2021", "publisher": "Nobody"}
            expect = None
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields.items())
        blocks.append(f"@article{{entry{i},\n{body}\n}}\n")
        truth.append(expect)
    # one broken block at the end (an unclosed brace): reported, not fatal
    blocks.append("@article{broken,\n  title = {Never closed\n")
    truth.append(None)
    return "\n".join(blocks), truth


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--papers", type=Path, default=PAPERS)
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=None, help="keep the store and index here and reuse them")
    args = ap.parse_args()
    if not args.papers.exists():
        print(f"skipped: {args.papers} is not here (the shared data sits beside the checkout)")
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="pw-library-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        store, index, papers, setup_s = build(work, args.papers)
        print(
            f"setup: {len(papers):,} papers in the store and keyword index ({setup_s:.1f} s, not timed below)"
        )
        text, truth = make_library(papers, args.entries, args.seed)
        data = text.encode()
        print(f"library: {len(truth):,} BibTeX entries, {len(data) / 2**20:.1f} MB")

        t0 = time.perf_counter()
        entries = read_library(data, "library.bib")
        t1 = time.perf_counter()
        report = match_entries(entries, store, index, fetch=None)
        t2 = time.perf_counter()

        print(f"read:  {t1 - t0:6.2f} s  ({len(entries):,} entries)")
        print(f"match: {t2 - t1:6.2f} s")
        print(f"total: {t2 - t0:6.2f} s  (budget 30 s)")
        print(
            f"matched {len(report.matched):,}: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(report.matched_by.items()))
        )
        print(
            f"unmatched {len(report.unmatched):,}: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(report.unmatched_by.items()))
        )

        got: dict[int, str] = {}
        for m in report.matched:
            got[id(m.entry)] = m.paper_id
        outcome: Counter[str] = Counter()
        wrong = []
        for e, want in zip(entries, truth, strict=True):
            have = got.get(id(e))
            if want is None:
                outcome["correctly unmatched" if have is None else "false match"] += 1
                if have is not None:
                    wrong.append((e.title, have))
            elif have == want:
                outcome["right paper"] += 1
            elif have is None:
                outcome["missed"] += 1
                wrong.append((e.title, f"missed {want}"))
            else:
                outcome["wrong paper"] += 1
                wrong.append((e.title, f"{have} instead of {want}"))
        print("accuracy: " + ", ".join(f"{k} {v:,}" for k, v in sorted(outcome.items())))
        for title, what in wrong[:8]:
            print(f"  {what}: {title!r}")
        scores = sorted(m.score for m in report.matched if m.how == "title")
        if scores:
            print(f"title scores: min {scores[0]:.3f}, median {scores[len(scores) // 2]:.3f}")
        store.close()
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
