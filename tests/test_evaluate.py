"""BEIR evaluation over a tiny dataset written here (a deterministic embedder: no model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperwire.config import Settings
from paperwire.evaluate import evaluate, ndcg_at, open_dataset
from tests.embedders import HashEmbedder

CORPUS = [
    {"_id": "d1", "title": "Aspirin and the heart", "text": "Aspirin reduces the risk of heart attack."},
    {"_id": "d2", "title": "Gaussian splatting", "text": "Rendering scenes with Gaussian splats."},
    {"_id": "d3", "title": "Protein folding", "text": "Predicting protein structure with deep learning."},
]
QUERIES = [
    {"_id": "q1", "text": "aspirin heart attack"},
    {"_id": "q2", "text": "-"},  # nothing left once the query syntax is taken out
    {"_id": "q3", "text": '"'},
    {"_id": "q4", "text": ' - " -- '},
    {"_id": "q5", "text": "protein structure"},
    {"_id": "q6", "text": "-"},  # not judged in the split: not counted at all
]
QRELS = {"q1": "d1", "q2": "d2", "q3": "d3", "q4": "d1", "q5": "d3"}


def write_dataset(root: Path) -> Path:
    """A BEIR-layout dataset with two queries that are empty once their syntax is removed."""
    root.mkdir(parents=True)
    (root / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in CORPUS))
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUERIES))
    (root / "qrels").mkdir()
    rows = "".join(f"{q}\t{d}\t1\n" for q, d in QRELS.items())
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + rows)
    return root


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_empty_queries_are_scored_as_misses_not_an_abort(tmp_path: Path, mode: str) -> None:
    dataset = write_dataset(tmp_path / "tiny")
    settings = Settings(home=tmp_path / "home", load_sample=False)
    engine = open_dataset(dataset, settings, HashEmbedder())
    [s] = evaluate(engine, dataset, "test", [mode])  # type: ignore[list-item]
    assert s.mode == mode and s.queries == 5 and s.empty_queries == 3
    # q1 and q5 find their paper first; the three empty ones count, each with nDCG 0
    assert s.ndcg_at_10 == pytest.approx(2 / 5) and s.mrr_at_10 == pytest.approx(2 / 5)
    assert s.recall_at_100 == pytest.approx(2 / 5)
    assert s.as_json()["empty_queries"] == 3 and s.as_json()["queries"] == 5


def test_ndcg_of_a_miss_is_zero() -> None:
    assert ndcg_at([], {"d1": 1}) == 0.0
    assert ndcg_at(["d1"], {"d1": 1}) == 1.0


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_queries_the_query_language_refuses_are_misses_too(tmp_path: Path, mode: str) -> None:
    root = tmp_path / "long"
    root.mkdir()
    (root / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in CORPUS))
    queries = [
        {"_id": "q1", "text": "aspirin heart attack"},
        {"_id": "q2", "text": " ".join(["protein"] * 65)},  # 65 terms: more than a search takes
        {"_id": "q3", "text": "2401.01234"},  # read as an arXiv id that this corpus lacks
    ]
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (root / "qrels").mkdir()
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\nq3\td3\t1\n")
    engine = open_dataset(root, Settings(home=tmp_path / "home", load_sample=False), HashEmbedder())
    [s] = evaluate(engine, root, "test", [mode])  # type: ignore[list-item]
    assert (s.queries, s.refused_queries, s.empty_queries) == (3, 2, 0)
    assert s.ndcg_at_10 == pytest.approx(1 / 3) and s.as_json()["refused_queries"] == 2
