"""`paperwire ingest hf-daily` end to end: real subprocesses over a real home, Hugging Face and arXiv served
over TLS on 127.0.0.1 from recorded answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from paperwire.config import Settings
from paperwire.store import Store, open_store
from tests.conftest import database_env
from tests.hf_replay import HF, ArxivIds, HfLists, items_naming, replay_app


@dataclass
class Upstream:
    """The replayed services and the environment that points paperwire at them."""

    hf: HfLists
    arxiv: ArxivIds
    env: dict[str, str]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(server certificate chain with key, CA bundle) for 127.0.0.1."""
    d = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(d / "server.pem"))
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    return str(d / "server.pem"), str(d / "ca.pem")


@pytest.fixture
def upstream(tls: tuple[str, str]) -> Iterator[Upstream]:
    hf, arxiv = HfLists(), ArxivIds()
    with replay_app({"/api/daily_papers": hf, "/api/query": arxiv}, certfile=tls[0]) as base:
        yield Upstream(
            hf,
            arxiv,
            {
                "SSL_CERT_FILE": tls[1],  # the replay's CA: the client's certificate check stays on
                "PAPERWIRE_HF_DAILY_ENDPOINT": f"{base}/api/daily_papers",
                "PAPERWIRE_API_ENDPOINT": f"{base}/api/query",
                "PAPERWIRE_OAI_ENDPOINT": f"{base}/oai",
                "PAPERWIRE_REQUEST_INTERVAL": "0",
                "PAPERWIRE_HF_REQUEST_INTERVAL": "0",
                "PAPERWIRE_HTTP_MAX_RETRIES": "0",
                "PAPERWIRE_CONTACT_EMAIL": "tests@example.org",
            },
        )


@pytest.fixture
def home(tmp_path: Path, database_url: str | None) -> Iterator[tuple[Path, str | None]]:
    yield tmp_path / "h", database_url


def run(home: tuple[Path, str | None], env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = {
        **os.environ,
        **database_env(home[1]),
        **env,
        "PAPERWIRE_HOME": str(home[0]),
        "PAPERWIRE_LOAD_SAMPLE": "0",
    }
    return subprocess.run(
        [sys.executable, "-m", "paperwire", *args], env=full, capture_output=True, text=True, timeout=300
    )


def opened(home: tuple[Path, str | None]) -> Store:
    return open_store(Settings(home=home[0], database_url=home[1], load_sample=False))


def test_a_days_list_is_stored_and_its_papers_fetched_from_arxiv(
    home: tuple[Path, str | None], upstream: Upstream
) -> None:
    upstream.hf.lists["2025-06-10"] = items_naming(["1605.08386", "1707.08567", "2506.99999"], [9, 5, 1])
    r = run(home, upstream.env, "ingest", "hf-daily", "--date", "2025-06-10", "--no-embed")
    assert r.returncode == 0, r.stderr
    assert (
        "3 observations stored from 1 daily lists; 2 papers new to the store (fetched from the arXiv API), "
        "1 still queued; 0 bad records skipped"
    ) in r.stdout
    assert "not on arXiv (yet), still queued: 2506.99999" in r.stderr
    assert upstream.hf.asked == ["2025-06-10"]
    assert sorted(upstream.arxiv.asked[0]) == ["1605.08386", "1707.08567", "2506.99999"]
    assert json.loads(run(home, upstream.env, "status", "--json").stdout)["papers"] == 2

    # later the same day: another point of history; only the paper still missing is asked for again
    upstream.hf.lists["2025-06-10"][0]["paper"]["upvotes"] = 14
    r = run(home, upstream.env, "ingest", "hf-daily", "--date", "2025-06-10", "--no-embed")
    assert r.returncode == 0, r.stderr
    assert upstream.arxiv.asked[1] == ["2506.99999"]
    store = opened(home)
    try:
        assert [h.upvotes for h in store.signal_history("1605.08386")] == [9, 14]
        assert store.papers_missing_for_signals() == ["2506.99999"]
    finally:
        store.close()


def test_a_range_of_days_and_no_fetch(home: tuple[Path, str | None], upstream: Upstream) -> None:
    r = run(
        home, upstream.env, "ingest", "hf-daily", "--from", "2024-05-27", "--to", "2024-05-29", "--no-fetch"
    )
    assert r.returncode == 0, r.stderr
    assert upstream.hf.asked == ["2024-05-27", "2024-05-28", "2024-05-29"]
    assert "15 observations stored from 3 daily lists; 0 papers new to the store" in r.stdout
    assert "15 still queued" in r.stdout and upstream.arxiv.asked == []


def test_a_file_with_a_bad_record_stores_the_rest_and_exits_4(
    home: tuple[Path, str | None], upstream: Upstream, tmp_path: Path
) -> None:
    items = json.loads((HF / "daily_papers_2025-01-15.json").read_text("utf-8"))
    items[1]["paper"]["githubRepo"] = "javascript:alert(1)"
    path = tmp_path / "saved.json"
    path.write_text(json.dumps(items))
    r = run(
        home, upstream.env, "ingest", "hf-daily", "--file", str(path), "--date", "2025-01-15", "--no-fetch"
    )
    assert r.returncode == 4, r.stderr
    assert (
        "skipped item 2 (2501.08187): paper.githubRepo 'javascript:alert(1)' is not an http(s) URL"
        in r.stderr
    )
    assert "9 observations stored from 1 daily lists" in r.stdout and "1 bad records skipped" in r.stdout
    store = opened(home)
    try:
        (point,) = store.signal_history("2501.08313")
        assert point.observed_at.isoformat() == "2025-01-15T23:59:00+00:00"
    finally:
        store.close()


def test_a_recorded_answer_file_takes_its_day_from_its_name(
    home: tuple[Path, str | None], upstream: Upstream
) -> None:
    r = run(
        home,
        upstream.env,
        "ingest",
        "hf-daily",
        "--file",
        str(HF / "daily_papers_2026-08-20.json"),
        "--no-fetch",
    )
    assert r.returncode == 0, r.stderr
    assert "15 observations stored from 1 daily lists" in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--date", "2025-13-01"), "--date '2025-13-01': give a day as YYYY-MM-DD"),
        (("--date", "2999-01-01"), "is in the future"),
        (("--from", "2025-02-01", "--to", "2025-01-01"), "--from 2025-02-01 is after --to 2025-01-01"),
        (("--to", "2025-01-01"), "--to needs --from"),
        (("--date", "2025-01-01", "--from", "2024-12-01"), "give either --date or --from/--to"),
        (("--file", "x.json", "--from", "2024-12-01"), "leave out --from and --to"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    home: tuple[Path, str | None], upstream: Upstream, args: tuple[str, ...], message: str
) -> None:
    r = run(home, upstream.env, "ingest", "hf-daily", *args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert upstream.hf.asked == []


def test_hugging_face_unreachable_is_one_line_and_exit_1(
    home: tuple[Path, str | None], upstream: Upstream
) -> None:
    upstream.hf.fail = 0  # the connection is dropped
    r = run(home, upstream.env, "ingest", "hf-daily", "--date", "2025-06-10")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].startswith("error: ") and "Traceback" not in r.stderr
    assert "0 observations stored from 0 daily lists" in r.stdout
