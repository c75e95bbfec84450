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


def test_the_status_says_when_digests_come_next_and_warns_when_they_cannot(
    store: Store, settings: Settings
) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    now = datetime.now(UTC)
    sub = store.subscribe("s@example.org", '{"hour": 7, "timezone": "Europe/Paris", "trending_n": 3}', now)
    store.set_subscriber_status(sub.id, "active", now)
    run = store.start_job_run("digest", "web-1")
    store.finish_job_run(run, "ok", {"sent": 0, "deferred": 3, "waiting": 2}, None)
    app = create_app(
        settings.model_copy(update={"rate_limit_per_minute": 0}), HashEmbedder(), background_embed=False
    )
    with TestClient(app, base_url="http://localhost") as client:
        d = client.get("/api/status").json()["digest"]
        nxt = datetime.fromisoformat(d["next_delivery"])
        assert now < nxt and nxt.astimezone(ZoneInfo("Europe/Paris")).hour == 7
        announce = datetime.fromisoformat(d["next_announcement"]).astimezone(ZoneInfo("America/New_York"))
        assert announce > now and (announce.hour, announce.weekday() < 4 or announce.weekday() == 6) == (
            20,
            True,
        )
        assert d["last_run_counts"] == {"sent": 0, "deferred": 3, "waiting": 2} and d["last_run"]
        said = " | ".join(d["warnings"])
        assert "could not hand 3 digests to the mail server" in said
        assert "left 2 digests waiting" in said and "has not been harvested yet" in said
        page = client.get("/about").text
        assert "Next runs" in page and "the next digests fall due" in page
        assert page.count('role="alert"') >= 3 and "could not hand 3 digests" in page
