"""`paperwire trending` end to end, in real subprocesses over a real home holding the demo sample."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import database, database_env


def run(home: tuple[Path, str | None], *args: str) -> subprocess.CompletedProcess[str]:
    path, url = home
    env = {**os.environ, **database_env(url), "PAPERWIRE_HOME": str(path), "PAPERWIRE_LOAD_SAMPLE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "paperwire", "trending", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str | None]]:
    """A home whose first command loads the demo sample (months old: the clock is past its data)."""
    with database() as url:
        yield tmp_path_factory.mktemp("trending-cli"), url


def test_the_demo_sample_trends_this_week_as_of_its_newest_data(home: tuple[Path, str | None]) -> None:
    r = run(home, "--json", "-n", "10")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["window"] == "week" and out["sort"] == "score" and out["clock_past_data"] is True
    assert out["newest_data"] >= out["as_of"]
    assert out["total"] >= 20 and len(out["entries"]) == 10  # a meaningful list, not the one late straggler
    first = out["entries"][0]
    assert first["rank"] == 1 and first["reasons"][0].startswith("+") and first["paper"]["title"]
    scores = [e["score"] for e in out["entries"]]
    assert scores == sorted(scores, reverse=True)


def test_today_by_announcement_order_in_one_category(home: tuple[Path, str | None]) -> None:
    r = run(home, "--window", "today", "--sort", "announced", "-c", "cs.CV", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["day"] and out["category"] == "cs.CV" and out["total"] >= 1
    assert all("cs.CV" in e["paper"]["categories"] for e in out["entries"])
    announced = [(e["paper"]["announced"] or "9999", e["paper"]["id"]) for e in out["entries"]]
    assert announced == sorted(announced)
    r = run(home, "--window", "today", "--day", out["day"], "--json")
    assert json.loads(r.stdout)["day"] == out["day"]


def test_the_table_names_the_window_and_says_the_clock_is_past_the_data(
    home: tuple[Path, str | None],
) -> None:
    r = run(home, "--window", "all", "-n", "3")
    assert r.returncode == 0, r.stderr
    assert "by upvotes" in r.stdout and "the clock is past the newest data" in r.stdout
    assert "upvotes on Hugging Face" in r.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("--window", "year"),
        ("--window", "all", "--sort", "stars"),
        ("-c", "nonsense!"),
        ("--day", "2026-13-01"),
    ],
)
def test_bad_options_exit_2_with_one_line(home: tuple[Path, str | None], args: tuple[str, ...]) -> None:
    r = run(home, *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("error:") and len(r.stderr.strip().splitlines()) == 1
