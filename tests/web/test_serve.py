"""A real `paperwire` process: first run loads the demo sample, then serves the API on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.serving import running_server


def test_first_run_loads_sample_and_serves(tmp_path: Path, database_url: str | None) -> None:
    # `paperwire` alone serves; the sample setting is left to its default (on)
    env = {"PAPERWIRE_LOAD_SAMPLE": None}
    with running_server(tmp_path, args=(), database_url=database_url, env=env) as (base, _):
        status = httpx.get(f"{base}/api/status", timeout=10).json()
        assert status["papers"] > 1000 and status["embedded"] == status["papers"]
        r = httpx.get(f"{base}/api/search", params={"q": "depth estimation from a single image"}, timeout=30)
        assert r.status_code == 200
        body = r.json()
        assert body["mode"] == "hybrid" and len(body["hits"]) == 10
        assert any(h["why"]["semantic_rank"] for h in body["hits"])
