"""`paperwire recommend --library FILE` end to end, in real subprocesses over the demo sample (its real
MiniLM vectors: the model itself is never loaded, since every library paper has a vector)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperwire.ingest import sample_dir
from tests.conftest import database, database_env

SPLATTING = "gaussian splatting"


def run(home: Path, url: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **database_env(url),
        "PAPERWIRE_HOME": str(home),
        "PAPERWIRE_LOAD_SAMPLE": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "paperwire", *args], env=env, capture_output=True, text=True, timeout=300
    )


def sample_ids(words: str, n: int) -> list[str]:
    """The first ``n`` papers of the demo sample whose title has ``words``, oldest listing first."""
    rows = []
    with gzip.open(sample_dir() / "sample-papers.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if words in r["title"].lower():
                rows.append((r["_listing_date"], r["id"]))
    return [pid for _, pid in sorted(rows)[:n]]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str | None, Path]]:
    """A home holding the demo sample, and a library file of its oldest Gaussian splatting papers."""
    path = tmp_path_factory.mktemp("rec-cli")
    lib = path / "library.txt"
    lib.write_text("\n".join([*sample_ids(SPLATTING, 4), "https://arxiv.org/abs/2401.99999v1"]) + "\n")
    with database() as url:
        yield path / "home", url, lib


def test_recommend_lists_ids_titles_and_reasons(home: tuple[Path, str | None, Path]) -> None:
    path, url, lib = home
    r = run(path, url, "recommend", "--library", str(lib), "-n", "5")
    assert r.returncode == 0, r.stderr
    library = set(sample_ids(SPLATTING, 4))
    text = " ".join(r.stdout.split())
    assert "4 library papers matched of 5 entries" in text
    assert "unmatched: line 5: arXiv id 2401.99999 is not in this paperwire" in text
    ranked = [line.split()[1] for line in r.stdout.splitlines() if line[:3].strip().rstrip(".").isdigit()]
    assert len(ranked) == 5 and not set(ranked) & library
    because = [line.split()[1] for line in r.stdout.splitlines() if line.strip().startswith("because")]
    assert len(because) == 5 and set(because) <= library


def test_recommend_json_and_unmatched_on_stderr(home: tuple[Path, str | None, Path]) -> None:
    path, url, lib = home
    r = run(path, url, "recommend", "--library", str(lib), "-n", "3", "--json", "--since", "2026-06-01")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)  # nothing but the JSON on stdout
    assert "2401.99999" in r.stderr
    assert body["since"] == "2026-06-01" and body["until"] >= "2026-06-01"
    assert body["library"]["matched"] == 4 and body["library"]["unmatched"][0]["code"]
    recs = body["recommendations"]
    assert len(recs) == 3 and all(body["since"] <= x["announced"] <= body["until"] for x in recs)
    library = set(sample_ids(SPLATTING, 4))
    assert all(x["because"] and {b["id"] for b in x["because"]} <= library for x in recs)
    assert all(SPLATTING in (x["title"] + x["abstract"]).lower() for x in recs[:2])
    assert [x["score"] for x in recs] == sorted((x["score"] for x in recs), reverse=True)


def test_recommend_errors_are_one_line(home: tuple[Path, str | None, Path], tmp_path: Path) -> None:
    path, url, lib = home
    bad_day = run(path, url, "recommend", "--library", str(lib), "--since", "June")
    assert bad_day.returncode == 2 and "--since 'June'" in bad_day.stderr
    none_here = tmp_path / "none.bib"
    none_here.write_text("@article{x, title={Nothing we hold}, eprint={2401.99998}}\n")
    r = run(path, url, "recommend", "--library", str(none_here))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "none of the library's 1 entry is a paper in this paperwire (first: x: " in r.stderr
    missing = run(path, url, "recommend", "--library", str(tmp_path / "nope.bib"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr
