"""A real `paperwire serve` process (uvicorn, httptools): what only a real server shows (W7, W8)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.serving import running_server
from tests.web.conftest import HOSTILE, fill

LIMITED = {
    "PAPERWIRE_LOAD_SAMPLE": "0",
    "PAPERWIRE_RATE_LIMIT_PER_MINUTE": "1",
    "PAPERWIRE_RATE_LIMIT_BURST": "4",
}


def _codes(base: str, url: str | list[str], forwarded: list[str]) -> list[int]:
    urls = url if isinstance(url, list) else [url] * len(forwarded)
    with httpx.Client(base_url=base, timeout=30) as c:
        return [
            c.get(u, headers={"X-Forwarded-For": ip}).status_code
            for u, ip in zip(urls, forwarded, strict=True)
        ]


def test_rotating_x_forwarded_for_does_not_escape_the_rate_limit(tmp_path: Path) -> None:
    fill(tmp_path, HOSTILE)
    with running_server(tmp_path, env=LIMITED) as (base, _):
        # the start-up check spent one of the 4; then each "client" is really this one, on any page
        urls = ["/api/papers/2501.00001", "/paper/2501.00001", "/author/Ada%20Lovelace"]
        urls += ["/feed/cs.LG.xml", "/", "/api/search?q=graph"]
        codes = _codes(base, urls, [f"203.0.113.{i}" for i in range(1, 7)])
        assert codes == [200, 200, 200, 429, 429, 429]
        with httpx.Client(base_url=base, timeout=30) as c:  # static files stay outside the limit
            assert c.get("/static/style.css").status_code == 200
            assert c.get("/favicon.ico").status_code == 200


def test_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    fill(tmp_path, HOSTILE)
    env = {**LIMITED, "PAPERWIRE_TRUSTED_PROXIES": "127.0.0.1"}
    with running_server(tmp_path, env=env) as (base, _):
        # behind a trusted proxy each client has its own bucket...
        assert _codes(base, "/", [f"203.0.113.{i}" for i in range(1, 9)]) == [200] * 8
        # ...and one client is limited like any other
        assert _codes(base, "/", ["198.51.100.7"] * 6) == [200, 200, 200, 200, 429, 429]
