"""The `paperwire` command end to end, in real subprocesses over a real home directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import database, database_env

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Home:
    """A home directory and the database its commands use (None: the home's own SQLite file)."""

    path: Path
    database_url: str | None


def run(home: Home, *args: str, sample: bool = False) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **database_env(home.database_url),
        "PAPERWIRE_HOME": str(home.path),
        "PAPERWIRE_LOAD_SAMPLE": "1" if sample else "0",
    }
    return subprocess.run(
        [sys.executable, "-m", "paperwire", *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    with database() as url:
        h = Home(tmp_path_factory.mktemp("cli"), url)
        r = run(h, "ingest", "file", str(FIXTURES / "kaggle-snapshot-sample.jsonl"), "--no-embed")
        assert r.returncode == 0, r.stderr
        assert "200 records read: 200 new" in r.stdout
        yield h


@pytest.fixture
def fresh(tmp_path: Path, database_url: str | None) -> Home:
    """An empty home of the test's own."""
    return Home(tmp_path / "h", database_url)


def test_keyword_search_works_before_embeddings(home: Home) -> None:
    r = run(home, "search", "diphoton production cross sections", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["hits"][0]["paper"]["id"] == "0704.0001"
    assert out["mode"] == "keyword" and out["notes"]  # says why it fell back


def test_search_filters_and_explain(home: Home) -> None:
    r = run(home, "search", "graph", "--category", "math.CO", "--explain", "--mode", "keyword")
    assert r.returncode == 0, r.stderr
    assert "keyword rank 1" in r.stdout and "math.CO" in r.stdout


def test_bad_query_is_one_line_not_a_traceback(home: Home) -> None:
    r = run(home, "search", 'after:2026-13-40 "x')
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "error:" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_page_far_past_the_end_is_one_line_not_a_crash(home: Home) -> None:
    # tantivy used to abort the process allocating 16 bytes for every skipped result (160 GB here)
    for args in (["--page", "1000000000"], ["--page", "1000000000", "--json"], ["--page", "10" * 20]):
        r = run(home, "search", "gaussian", *args)
        assert r.returncode == 2, (args, r.returncode, r.stderr[-500:])
        assert "Traceback" not in r.stderr and "error:" in r.stderr and "--page" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and not r.stdout
    r = run(home, "search", "gaussian", "--page", "1000", "--limit", "1000", "--mode", "keyword")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "no results"
    r = run(home, "search", "gaussian", "--page", "0")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_unknown_paper_exit_code(home: Home) -> None:
    r = run(home, "similar", "2101.99999")
    assert r.returncode == 3 and "not in this paperwire" in r.stderr


def test_bad_records_are_reported_and_the_rest_goes_in(tmp_path: Path, fresh: Home) -> None:
    f = tmp_path / "mixed.jsonl"
    good = (FIXTURES / "kaggle-snapshot-sample.jsonl").read_text().splitlines()[:3]
    f.write_text("\n".join([good[0], "{oops", good[1], '{"id": "x"}', good[2]]) + "\n")
    listed = tmp_path / "bad.jsonl"
    r = run(fresh, "ingest", "file", str(f), "--no-embed", "--bad-records", str(listed))
    assert r.returncode == 4, r.stderr  # done, but some records were skipped
    assert "3 new" in r.stdout and "2 skipped as bad" in r.stdout
    assert "line 2" in r.stderr and "line 4" in r.stderr
    rows = [json.loads(x) for x in listed.read_text().splitlines()]
    assert [x["line"] for x in rows] == [2, 4] and rows[0]["reason"].startswith("not JSON")
    again = run(fresh, "ingest", "file", str(f), "--no-embed", "--bad-records", str(listed))
    assert again.returncode == 0 and "0 records read (resumed after line 5)" in again.stdout
    assert len(listed.read_text().splitlines()) == 2  # a resumed run adds to the list, never empties it
    nowhere = run(fresh, "ingest", "file", str(f), "--bad-records", str(tmp_path / "no" / "dir" / "x"))
    assert nowhere.returncode == 1 and "Traceback" not in nowhere.stderr and "cannot write" in nowhere.stderr


def test_bad_settings_are_one_line_each(tmp_path: Path) -> None:
    env = {**os.environ, "PAPERWIRE_HOME": str(tmp_path), "PAPERWIRE_REQUEST_INTERVAL": "0.5"}
    r = subprocess.run(
        [sys.executable, "-m", "paperwire", "status"], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: invalid setting: PAPERWIRE_REQUEST_INTERVAL=0.5 s is below the 3 s")
    env = {
        **os.environ,
        "PAPERWIRE_HOME": str(tmp_path),
        "PAPERWIRE_ARXIV_HOLIDAYS": "2027-01-01, 2027-13-01",
    }
    r = subprocess.run(
        [sys.executable, "-m", "paperwire", "status"], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "PAPERWIRE_ARXIV_HOLIDAYS: not a date: '2027-13-01'" in r.stderr


def test_missing_file(tmp_path: Path, fresh: Home) -> None:
    r = run(fresh, "ingest", "file", str(tmp_path / "nope.jsonl"))
    assert r.returncode == 1 and "no such file" in r.stderr


def test_status_and_settings(home: Home) -> None:
    st = json.loads(run(home, "status", "--json").stdout)
    assert st["papers"] == 200 and st["keyword_indexed"] == 200
    r = run(home, "settings")
    assert "PAPERWIRE_EMBEDDING_MODEL" in r.stdout and "PAPERWIRE_REQUEST_INTERVAL" in r.stdout


# runs the CLI in a process where reading any vector (or the vector index) ends it with status 97
_NO_VECTORS = """
import sys
from paperwire.search.semantic import VectorIndex
from paperwire.store.sql import SQLStore
def refuse(*args, **kwargs):
    print("a vector was read", file=sys.stderr)
    raise SystemExit(97)
SQLStore.iter_vectors = refuse
VectorIndex.sync = refuse
from paperwire.cli import main
sys.argv = ["paperwire", *sys.argv[1:]]
main()
"""


def test_ingest_and_status_never_read_a_vector(fresh: Home, tmp_path: Path) -> None:
    import numpy as np

    from paperwire.config import Settings
    from paperwire.embed import vector_space
    from paperwire.store import open_store

    assert (
        run(fresh, "ingest", "file", str(FIXTURES / "kaggle-snapshot-sample.jsonl"), "--no-embed").returncode
        == 0
    )
    settings = Settings(home=fresh.path, load_sample=False, database_url=fresh.database_url)
    store = open_store(settings)
    try:  # every paper gets a vector, as after `paperwire embed`
        model = vector_space(settings.embedding_model, settings.embedding_max_length)
        tasks = store.pending_embeddings(model, 1000)
        vecs = np.random.default_rng(0).standard_normal((len(tasks), 384)).astype(np.float32)
        store.save_embeddings(
            model, [(t.paper_id, t.text_hash) for t in tasks], vecs / np.linalg.norm(vecs, axis=1)[:, None]
        )
    finally:
        store.close()
    one = tmp_path / "one.jsonl"
    one.write_text(
        '{"id": "2511.00001", "title": "A new paper", "summary": "Its abstract.", "authors": ["A B"]}\n'
    )
    env = {
        **os.environ,
        **database_env(fresh.database_url),
        "PAPERWIRE_HOME": str(fresh.path),
        "PAPERWIRE_LOAD_SAMPLE": "0",
    }
    for args in (
        ["ingest", "file", str(one), "--no-embed"],
        ["search", "a new paper", "--mode", "keyword"],
        ["daily", "--json"],
        ["status", "--json"],
    ):
        r = subprocess.run(
            [sys.executable, "-c", _NO_VECTORS, *args], env=env, capture_output=True, text=True, timeout=300
        )
        assert r.returncode in (0, 1), (args, r.returncode, r.stderr)  # status exits 1 for a job warning
    st = json.loads(r.stdout)
    assert st["papers"] == 201 and st["keyword_indexed"] == 201 and st["embedded"] == 200
    assert st["vector_index"] == {"vectors": None, "graph": None, "building": None}  # none loaded, none saved
    # beside a running server whose embed job ran moments ago, an ingest leaves the embedding to it: the
    # model (torch) never loads here
    store = open_store(settings)
    try:
        run_id = store.start_job_run("embed", "host:1:server")
        store.finish_job_run(run_id, "ok", {"embedded": 0}, None)
    finally:
        store.close()
    two = tmp_path / "two.jsonl"
    two.write_text(
        '{"id": "2511.00002", "title": "Another paper", "summary": "Its abstract.", "authors": ["A B"]}\n'
    )
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['torch'] = None\n" + _NO_VECTORS,
            "ingest",
            "file",
            str(two),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "the embed job of host:1:server embeds new papers" in " ".join(r.stdout.split())
    # the guard works: similar papers do read vectors
    r = subprocess.run(
        [sys.executable, "-c", _NO_VECTORS, "similar", "0704.0001"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 97


def test_every_setting_is_documented_in_the_readme() -> None:
    from paperwire.config import Settings

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    missing = [n for n in Settings.model_fields if f"`PAPERWIRE_{n.upper()}`" not in readme]
    assert not missing, f"README lacks: {missing}"


@pytest.mark.slow
def test_eval_beir_scores_empty_queries_as_misses(tmp_path: Path, fresh: Home) -> None:
    from tests.test_evaluate import write_dataset

    dataset = write_dataset(tmp_path / "tiny")
    r = run(fresh, "eval", "beir", str(dataset), "--mode", "keyword", "--json")
    assert r.returncode == 0, r.stderr
    scores = json.loads(r.stdout)
    assert scores["mode"] == "keyword" and scores["queries"] == 5 and scores["empty_queries"] == 3
    assert scores["ndcg@10"] == 0.4
    r = run(fresh, "eval", "beir", str(dataset), "--mode", "keyword")
    assert r.returncode == 0, r.stderr
    assert "(5 queries, test; 3 empty after removing query syntax, scored 0)" in r.stdout


def test_daily_lists_a_day_as_the_home_page_does(home: Home) -> None:
    r = run(home, "daily", "-n", "2", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["day"] == d["latest"] and d["next"] is None  # the latest day, nothing after it
    assert d["total"] >= 1 and len(d["papers"]) == min(2, d["total"])
    shown = run(home, "daily", "-n", "2")
    assert shown.returncode == 0 and f"papers announced {d['day']}" in shown.stdout
    assert d["papers"][0]["id"] in shown.stdout
    if d["previous"]:
        earlier = json.loads(run(home, "daily", "--day", d["previous"], "--json").stdout)
        assert earlier["day"] == d["previous"] and earlier["next"] == d["day"]
    if d["previous"]:  # a day written without leading zeros is the same day
        y, m, dd = (int(x) for x in d["previous"].split("-"))
        assert (
            json.loads(run(home, "daily", "--day", f"{y}-{m}-{dd}", "--json").stdout)["day"] == d["previous"]
        )
    assert json.loads(run(home, "daily", "-c", "", "--json").stdout)["category"] is None
    assert run(home, "eval", "beir", str(home.path), "--mode", "bogus").returncode == 2
    bad = run(home, "daily", "--day", "2026-07")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.stderr


def test_daily_by_upvotes_follows_hugging_face_and_keeps_the_day(fresh: Home) -> None:
    by_upvotes = json.loads(
        run(fresh, "daily", "--sort", "upvotes", "-n", "100", "--json", sample=True).stdout
    )
    day = by_upvotes["day"]
    announced: list[dict[str, object]] = []
    for page in range(1, -(-int(by_upvotes["total"]) // 100) + 1):  # the whole day, page by page
        r = run(fresh, "daily", "--day", day, "-n", "100", "--page", str(page), "--json", sample=True)
        announced += json.loads(r.stdout)["papers"]
    assert len(announced) == by_upvotes["total"]
    votes = [p["upvotes"] for p in by_upvotes["papers"]]
    listed = [v for v in votes if v is not None]
    assert listed and listed == sorted(listed, reverse=True)  # the demo's last day has Hugging Face papers
    assert len(listed) == sum(p["upvotes"] is not None for p in announced)  # all of them, on the first page
    assert (
        votes[: len(listed)] == listed
    )  # papers Hugging Face never listed come after, in announcement order
    rest = [p["id"] for p in by_upvotes["papers"] if p["upvotes"] is None]
    assert rest == [p["id"] for p in announced if p["upvotes"] is None][: len(rest)]
    bad = run(fresh, "daily", "--sort", "hot")
    assert bad.returncode == 2 and "unknown sort" in bad.stderr
