"""Security headers (W4) and rate limits (W7), in process."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from paperwire.config import Settings
from paperwire.web.app import create_app
from paperwire.web.security import TokenBucket, is_limited_path
from paperwire.web.site import make_templates
from tests.embedders import HashEmbedder
from tests.web.conftest import HOSTILE, fill


@pytest.mark.parametrize(
    "url", ["/", "/search?q=graph", "/paper/2501.00001", "/api/status", "/static/style.css", "/nope"]
)
def test_security_headers_everywhere(web: TestClient, url: str) -> None:
    h = web.get(url).headers
    csp = h["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"


def test_templates_autoescape() -> None:
    env = make_templates().env
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"


def test_token_bucket_refills_with_time() -> None:
    now = [0.0]
    bucket = TokenBucket(per_minute=60, burst=2, clock=lambda: now[0])
    assert bucket.take("a") == 0 and bucket.take("a") == 0
    wait = bucket.take("a")
    assert wait == pytest.approx(1.0)
    assert bucket.take("b") == 0  # per client
    now[0] += 1.0
    assert bucket.take("a") == 0
    assert bucket.take("a") > 0


def test_token_bucket_forgets_idle_clients() -> None:
    now = [0.0]
    bucket = TokenBucket(per_minute=60, burst=1, clock=lambda: now[0], max_keys=10)
    for i in range(11):
        bucket.take(f"c{i}")
    now[0] += 5
    bucket.take("late")
    assert len(bucket._buckets) == 1


@pytest.mark.parametrize(
    "path",
    ["/search", "/search/feed.xml", "/api/search", "/api/status", "/", "/paper/2501.00001", "/author/A",
     "/feed.xml", "/feed/cs.CV.xml", "/about", "/nowhere"],
)  # fmt: skip
def test_every_page_feed_and_api_path_is_limited(path: str) -> None:
    assert is_limited_path(path)


@pytest.mark.parametrize("path", ["/static/style.css", "/static/katex/katex.min.js", "/favicon.ico"])
def test_static_files_are_not_limited(path: str) -> None:
    assert not is_limited_path(path)


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path, database_url: str | None) -> None:
    fill(tmp_path, HOSTILE, database_url)
    settings = Settings(
        home=tmp_path,
        database_url=database_url,
        load_sample=False,
        rate_limit_per_minute=1,
        rate_limit_burst=3,
    )
    app = create_app(settings, embedder=HashEmbedder(), background_embed=False)
    with TestClient(app, base_url="http://localhost") as c:
        for _ in range(3):
            assert c.get("/api/status").status_code == 200
        r = c.get("/api/search", params={"q": "graph"})
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["status"] == 429 and "too many requests" in r.json()["error"]
        assert r.headers["x-content-type-options"] == "nosniff"
        page = c.get("/search", params={"q": "graph"})  # the same client's bucket covers the search page
        assert page.status_code == 429 and "retry-after" in page.headers
        assert c.get("/").status_code == 429  # nor does browsing get past it
        assert c.get("/paper/2501.00001").status_code == 429
        assert c.get("/static/style.css").status_code == 200  # static files are outside the limit


def test_the_server_runs_at_most_web_threads_searches_at_once_and_nothing_else_waits(
    tmp_path: Path, database_url: str | None
) -> None:
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    fill(tmp_path, HOSTILE, database_url)
    settings = Settings(
        home=tmp_path, database_url=database_url, load_sample=False, rate_limit_per_minute=0, web_threads=2
    )
    assert Settings(home=tmp_path).web_threads_in_force >= 4
    app = create_app(settings, embedder=HashEmbedder(), background_embed=False)
    with TestClient(app, base_url="http://localhost") as c:
        engine = c.app.state.site.pw.engine  # type: ignore[attr-defined]
        real, lock, now, most = engine.search, threading.Lock(), [0], [0]

        def slow_search(*a, **k):  # type: ignore[no-untyped-def]
            with lock:
                now[0] += 1
                most[0] = max(most[0], now[0])
            time.sleep(0.2)
            with lock:
                now[0] -= 1
            return real(*a, **k)

        engine.search = slow_search
        done: list[str] = []

        def get(url: str) -> int:
            code = c.get(url).status_code
            done.append(url)
            return code

        with ThreadPoolExecutor(9) as pool:
            searches = [pool.submit(get, f"/api/search?q=graph+{i}") for i in range(8)]
            while not most[0]:  # the searches have begun
                time.sleep(0.01)
            css = pool.submit(get, "/static/style.css")
            assert css.result() == 200
            assert [f.result() for f in searches] == [200] * 8  # all answered: the others waited their turn
        assert most[0] == 2
        # a static file does not queue behind searches: it came back while most of them still waited
        assert done.index("/static/style.css") < 4


def test_host_policy_reads_configured_hosts_by_name_and_refuses_tricks() -> None:
    import pytest

    from paperwire.errors import ConfigError
    from paperwire.web.security import HostPolicy

    p = HostPolicy(["localhost", "[2001:db8::1]", "example.org:8443", "*.lab.example"])
    for ok in ("localhost", "localhost:8000", "[2001:db8::1]:80", "example.org", "a.lab.example:443"):
        assert p.allows(ok), ok
    for bad in (
        "evil.com\\@localhost",
        "evil.com@localhost",
        "localhost/x",
        "lab.example",
        "[::1]",
        "",
        None,
    ):
        assert not p.allows(bad), bad
    with pytest.raises(ConfigError):
        HostPolicy(["exa mple.org"])
