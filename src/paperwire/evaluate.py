"""Retrieval quality on BEIR-layout datasets (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv)."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from paperwire.config import Settings
from paperwire.embed import Embedder
from paperwire.errors import IngestError, NotFoundError, QueryError
from paperwire.ingest import embed_pending
from paperwire.models import Paper
from paperwire.search.hybrid import Mode, SearchEngine
from paperwire.search.query import parse_query
from paperwire.store import open_store


@dataclass
class ModeScores:
    """Mean metrics of one mode over the queries with judgements (empty ones included, as misses)."""

    mode: str
    ndcg_at_10: float
    recall_at_100: float
    mrr_at_10: float
    queries: int
    empty_queries: int = 0  # nothing left to search once the query syntax was taken out: scored 0
    refused_queries: int = (
        0  # refused by the query language (too long) or read as a missing arXiv id: scored 0
    )

    def as_json(self) -> dict[str, object]:
        """The JSON object scripts read."""
        return {
            "mode": self.mode,
            "ndcg@10": round(self.ndcg_at_10, 4),
            "recall@100": round(self.recall_at_100, 4),
            "mrr@10": round(self.mrr_at_10, 4),
            "queries": self.queries,
            "empty_queries": self.empty_queries,
            "refused_queries": self.refused_queries,
        }


def read_jsonl(path: Path) -> Iterator[dict[str, object]]:
    """Objects of a JSON-lines file."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """query id -> {doc id: relevance}."""
    out: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as fh:
        rows = csv.reader(fh, delimiter="\t")
        for row in rows:
            if not row or row[0] in ("query-id", "query_id"):
                continue
            out.setdefault(row[0], {})[row[1]] = int(row[2])
    return out


def ndcg_at(ranked: list[str], rel: dict[str, int], k: int = 10) -> float:
    """nDCG@k with graded relevance (BEIR's trec_eval definition)."""
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((r for r in rel.values() if r > 0), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], rel: dict[str, int], k: int = 100) -> float:
    """Share of the relevant documents found in the top k."""
    relevant = {d for d, r in rel.items() if r > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr_at(ranked: list[str], rel: dict[str, int], k: int = 10) -> float:
    """Reciprocal rank of the first relevant document in the top k."""
    for i, d in enumerate(ranked[:k]):
        if rel.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def open_dataset(
    dataset: Path,
    settings: Settings,
    embedder: Embedder,
    on_progress: Callable[[int, int], None] | None = None,
) -> SearchEngine:
    """Load a BEIR corpus into its own store under the home directory (reused, so vectors are made once)."""
    corpus = dataset / "corpus.jsonl"
    if not corpus.exists():
        raise IngestError(f"{dataset} is not a BEIR dataset: no corpus.jsonl")
    home = settings.home / "eval" / dataset.resolve().name
    # its own SQLite file under the home, whatever database the settings name
    eval_settings = settings.model_copy(update={"home": home, "database_url": None})
    store = open_store(eval_settings)
    papers = [
        Paper(
            id=str(o["_id"]),
            title=str(o.get("title") or ""),
            abstract=str(o.get("text") or ""),
            sources=("beir",),
        )
        for o in read_jsonl(corpus)
    ]
    for i in range(0, len(papers), 5000):
        store.upsert_papers(papers[i : i + 5000])
    pending = store.count_pending_embeddings(embedder.name)
    if pending:
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if on_progress:
                on_progress(done, pending)

        embed_pending(store, embedder, on_progress=tick)
    engine = SearchEngine(eval_settings, store, embedder, graph="inline")
    engine.refresh()
    return engine


def evaluate(
    engine: SearchEngine,
    dataset: Path,
    split: str,
    modes: list[Mode],
    query_filter: Callable[[dict[str, object]], bool] | None = None,
) -> list[ModeScores]:
    """Mean nDCG@10, Recall@100 and MRR@10 per mode over the split's judged queries.

    A query with nothing left to search once the query-language syntax is taken out (only ``-`` or ``"``)
    is a miss: 0 on every metric, counted in the mean and in ``empty_queries``; so is one the query language
    refuses (too long, too many terms), counted in ``refused_queries``.
    """
    qrels_path = dataset / "qrels" / f"{split}.tsv"
    if not qrels_path.exists():
        raise IngestError(f"no qrels for split {split!r} in {dataset}")
    qrels = load_qrels(qrels_path)
    queries = {
        str(o["_id"]): str(o["text"]) for o in read_jsonl(dataset / "queries.jsonl") if str(o["_id"]) in qrels
    }
    empty = {qid for qid, text in queries.items() if is_empty_query(text)}
    out = []
    for mode in modes:
        n = r = m = 0.0
        refused = 0
        for qid, text in queries.items():
            if qid in empty:
                continue  # a miss: adds 0
            try:
                ranked = run_query(engine, text, mode, 100)
            except (QueryError, NotFoundError):
                refused += 1  # a miss too (too long, or read as an arXiv id this corpus lacks)
                continue
            n += ndcg_at(ranked, qrels[qid])
            r += recall_at(ranked, qrels[qid])
            m += mrr_at(ranked, qrels[qid])
        k = max(len(queries), 1)
        out.append(ModeScores(mode, n / k, r / k, m / k, len(queries), len(empty), refused))
    return out


def query_text(text: str) -> str:
    """A natural-language query as query-language text: quotes, colons and leading dashes taken out, so
    every word is searched as a word."""
    safe = text.replace('"', " ").replace(":", " ")
    return " ".join(w.lstrip("-") for w in safe.split())


def is_empty_query(text: str) -> bool:
    """Whether nothing is left to search in ``text`` once its query-language syntax is taken out."""
    try:
        q = parse_query(query_text(text))
    except QueryError:
        return False  # not empty: refused (and counted as such) when it is run
    return q.paper_id is None and not (q.has_text or q.has_constraints)


def run_query(engine: SearchEngine, text: str, mode: Mode, k: int) -> list[str]:
    """Ranked ids for a natural-language query (query-language syntax characters are taken literally)."""
    res = engine.search(query_text(text), mode=mode, limit=k)
    return [h.paper.id for h in res.hits]
