"""`paperwire worker` beside `paperwire serve --no-jobs`: another process's ingest becomes searchable, by
words at once and by meaning once the worker (not the server) has embedded it. Real processes, real model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from paperwire.config import Settings
from tests.serving import running_server

NEW = {
    "id": "2511.99999",
    "title": "Counting penguins from drone imagery with density maps",
    "abstract": "We estimate how many emperor penguins a colony holds from aerial photographs taken by drones, "
    "regressing a density map whose integral is the count.",
    "authors": "Ada Lovelace",
    "categories": "cs.CV",
    "versions": [{"version": "v1", "created": "Mon, 24 Nov 2025 10:00:00 GMT"}],
    "update_date": "2025-11-24",
}


def _env(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "PAPERWIRE_HOME": str(settings.home), "PAPERWIRE_REFRESH_INTERVAL": "1"}
    if settings.database_url:
        env["PAPERWIRE_DATABASE_URL"] = settings.database_url
    return env


def _found(base: str, query: str, mode: str) -> bool:
    r = httpx.get(f"{base}/api/search", params={"q": query, "mode": mode, "limit": 5}, timeout=30)
    r.raise_for_status()
    return NEW["id"] in [h["paper"]["id"] for h in r.json()["hits"]]


def _wait(check: object, timeout: float = 90.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.5)
    return False


def test_a_worker_beside_a_server_without_jobs_makes_another_process_ingest_searchable(
    settings: Settings, tmp_path: Path
) -> None:
    settings.home.mkdir(parents=True)
    env = _env(settings)
    extra = {k: v for k, v in env.items() if k.startswith("PAPERWIRE_")}
    with running_server(settings.home, args=("serve", "--no-jobs"), env=extra) as (base, _):
        f = tmp_path / "new.jsonl"
        f.write_text(json.dumps(NEW) + "\n")
        ingest = subprocess.run(
            [sys.executable, "-m", "paperwire", "ingest", "file", str(f), "--no-embed"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert ingest.returncode == 0, ingest.stderr
        assert _wait(lambda: _found(base, "penguins drone", "keyword")), (
            "the server did not pick up the ingest"
        )
        time.sleep(3)  # three turns of the server's jobs: with --no-jobs it embeds nothing
        status = httpx.get(f"{base}/api/status", timeout=10).json()
        assert status["pending_embeddings"] == 1
        embed = next(j for j in status["jobs"] if j["job"] == "embed")
        assert embed["last_outcome"] is None and "is a `paperwire worker` running" in embed["warning"]
        assert not _found(base, "estimating the number of birds in aerial photos", "semantic")

        worker = subprocess.Popen(
            [sys.executable, "-m", "paperwire", "worker"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert _wait(
                lambda: _found(base, "estimating the number of birds in aerial photos", "semantic"),
                timeout=180,
            ), "the worker's vectors never reached the server's index"
            status = httpx.get(f"{base}/api/status", timeout=10).json()
            assert status["pending_embeddings"] == 0
            embed = next(j for j in status["jobs"] if j["job"] == "embed")
            assert embed["last_outcome"] == "ok" and f":{worker.pid}:" in embed["last_runner"]
            refresh = next(j for j in status["jobs"] if j["job"] == "refresh-index")
            assert refresh["last_outcome"] == "ok" and refresh["warning"] is None
        finally:
            worker.terminate()
            out, _ = worker.communicate(timeout=60)
        assert worker.returncode == 0, out
        assert "worker stopped" in out


def test_worker_once_embeds_everything_and_status_shows_the_run(settings: Settings, tmp_path: Path) -> None:
    env = {**_env(settings), "PAPERWIRE_LOAD_SAMPLE": "false"}
    f = tmp_path / "new.jsonl"
    f.write_text(json.dumps(NEW) + "\n")
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "paperwire", *a], env=env, capture_output=True, text=True, timeout=300
    )
    assert run("ingest", "file", str(f), "--no-embed").returncode == 0
    worker = run("worker", "--once")
    assert worker.returncode == 0, worker.stderr
    st = run("status", "--json")
    assert st.returncode == 0, st.stderr
    body = json.loads(st.stdout)
    assert body["pending_embeddings"] == 0 and body["embedded"] == 1
    embed = next(j for j in body["jobs"] if j["job"] == "embed")
    assert embed["last_outcome"] == "ok" and embed["last_counts"] == {"embedded": 1}
    text = run("status")
    assert "job embed" in text.stdout and text.returncode == 0


def test_a_worker_with_digests_sends_the_digests_due_once(settings: Settings, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from paperwire.store import open_store

    env = {**_env(settings), "PAPERWIRE_LOAD_SAMPLE": "false", "PAPERWIRE_DIGEST_WAIT_HOURS": "0"}
    store = open_store(settings)
    try:  # whatever today is: a quiet window sends the "nothing new" note, a listing not here goes out late
        prefs = {"categories": ["cs.CV"], "trending_n": 0, "hour": 0, "timezone": "UTC", "send_empty": True}
        sub = store.subscribe("w@example.org", json.dumps(prefs), datetime.now(UTC))
        store.set_subscriber_status(sub.id, "active", datetime.now(UTC))
    finally:
        store.close()
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "paperwire", *a], env=env, capture_output=True, text=True, timeout=300
    )
    assert run("worker", "--once").returncode == 0
    assert not list((settings.home / "outbox").glob("*.eml"))  # a plain worker sends no digest
    for _ in range(2):
        worker = run("worker", "--once", "--digests")
        assert worker.returncode == 0, worker.stderr
    [mail] = list((settings.home / "outbox").glob("*.eml"))  # once, however often it runs
    assert "To: w@example.org" in mail.read_text()
    body = json.loads(run("status", "--json").stdout)
    digest = next(j for j in body["jobs"] if j["job"] == "digest")
    assert digest["last_outcome"] == "ok" and body["digest"]["last_run"] == digest["last_started"]
    assert body["digest"]["deliveries_7d"] == {"sent": 1}
