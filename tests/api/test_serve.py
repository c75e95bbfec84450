"""A real `paperwire` process: first run loads the demo sample, then serves the API on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_first_run_loads_sample_and_serves(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PAPERWIRE_HOME": str(tmp_path), "PAPERWIRE_PORT": str(port)}
    env.pop("PAPERWIRE_LOAD_SAMPLE", None)
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperwire"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.time()
        status = None
        while time.time() - started < 120:
            try:
                status = httpx.get(f"{base}/api/status", timeout=2).json()
                break
            except httpx.HTTPError:
                assert proc.poll() is None, (tmp_path / "serve.log").read_text()
                time.sleep(0.5)
        assert status is not None, "server did not come up in 120 s"
        assert status["papers"] > 1000 and status["embedded"] == status["papers"]
        r = httpx.get(f"{base}/api/search", params={"q": "depth estimation from a single image"}, timeout=30)
        assert r.status_code == 200
        body = r.json()
        assert body["mode"] == "hybrid" and len(body["hits"]) == 10
        assert any(h["why"]["semantic_rank"] for h in body["hits"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
