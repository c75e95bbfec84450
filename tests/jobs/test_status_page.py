"""Job runs on the pages: /about and /api/status show each job's last run and warn about failures (J1, J2)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from paperwire.config import Settings
from paperwire.store import Store
from paperwire.web.app import create_app
from tests.embedders import HashEmbedder


def test_about_and_api_status_show_the_last_runs_and_warn_about_a_failure(
    store: Store, settings: Settings
) -> None:
    ok = store.start_job_run("refresh-index", "web-1")
    store.finish_job_run(ok, "ok", {"papers": 12, "vectors": 3}, None)
    bad = store.start_job_run("embed", "worker-1")
    store.finish_job_run(bad, "failed", {}, "EmbeddingError: <b>model</b> missing")
    app = create_app(
        settings.model_copy(update={"rate_limit_per_minute": 0}), HashEmbedder(), background_embed=False
    )
    with TestClient(app, base_url="http://localhost") as client:
        st = client.get("/api/status").json()
        jobs = {j["job"]: j for j in st["jobs"]}
        assert jobs["refresh-index"]["last_counts"] == {"papers": 12, "vectors": 3}
        assert jobs["refresh-index"]["warning"] is None
        assert jobs["embed"]["last_outcome"] == "failed"
        assert jobs["embed"]["warning"] == "the last run failed: EmbeddingError: <b>model</b> missing"
        page = client.get("/about").text
        assert "papers 12, vectors 3" in page
        assert 'role="alert"' in page and "&lt;b&gt;model&lt;/b&gt; missing" in page  # escaped (W1)
        assert "<b>model</b>" not in page


def test_a_server_records_its_own_background_runs(settings: Settings) -> None:
    s = settings.model_copy(update={"refresh_interval": 0, "rate_limit_per_minute": 0})
    with TestClient(create_app(s, HashEmbedder()), base_url="http://localhost") as client:
        import time

        deadline = time.time() + 30
        while time.time() < deadline:
            jobs = {j["job"]: j for j in client.get("/api/status").json()["jobs"]}
            if all(jobs[n]["last_outcome"] == "ok" for n in ("embed", "refresh-index")):
                break
            time.sleep(0.2)
        assert jobs["embed"]["last_outcome"] == "ok" and jobs["refresh-index"]["last_outcome"] == "ok"
