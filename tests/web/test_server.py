"""A real `paperwire serve` process (uvicorn, httptools): what only a real server shows (W7, W8)."""

from __future__ import annotations

import re
import socket
import time
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


def test_rotating_x_forwarded_for_does_not_escape_the_rate_limit(
    tmp_path: Path, database_url: str | None
) -> None:
    fill(tmp_path, HOSTILE, database_url)
    with running_server(tmp_path, database_url=database_url, env=LIMITED) as (base, _):
        # the start-up check spent one or two of the 4; then each "client" is really this one, on any page
        urls = ["/api/papers/2501.00001", "/paper/2501.00001", "/author/Ada%20Lovelace"]
        urls += ["/feed/cs.LG.xml", "/", "/api/search?q=graph"]
        codes = _codes(base, urls, [f"203.0.113.{i}" for i in range(1, 7)])
        # (start-up may have retried its check on a slow machine: 2 or 3 left, never a fresh bucket per IP)
        assert codes in ([200, 200, 200, 429, 429, 429], [200, 200, 429, 429, 429, 429]), codes
        with httpx.Client(base_url=base, timeout=30) as c:  # static files stay outside the limit
            assert c.get("/static/style.css").status_code == 200
            assert c.get("/favicon.ico").status_code == 200


def test_a_trusted_proxy_names_the_client(tmp_path: Path, database_url: str | None) -> None:
    fill(tmp_path, HOSTILE, database_url)
    env = {**LIMITED, "PAPERWIRE_TRUSTED_PROXIES": "127.0.0.1"}
    with running_server(tmp_path, database_url=database_url, env=env) as (base, _):
        # behind a trusted proxy each client has its own bucket...
        assert _codes(base, "/", [f"203.0.113.{i}" for i in range(1, 9)]) == [200] * 8
        # ...and one client is limited like any other
        assert _codes(base, "/", ["198.51.100.7"] * 6) == [200, 200, 200, 200, 429, 429]


def _raw(base: str, head: bytes, chunk: int = 65536) -> tuple[bytes, float]:
    """Send a raw request head as fast as the server takes it; the answer (b"" if the connection was reset
    before one came) and the seconds it took."""
    host, port = base.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=30) as s:
        try:
            for i in range(0, len(head), chunk):
                s.sendall(head[i : i + chunk])
        except OSError:  # the server refused and closed while we were still sending
            pass
        answer = b""
        try:
            while data := s.recv(65536):
                answer += data
        except OSError:
            pass
    return answer, time.monotonic() - started


def _status_and_body(answer: bytes) -> tuple[int, dict[str, str], str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body.decode()


def test_over_long_requests_get_paperwire_answers_from_a_real_server(
    tmp_path: Path, database_url: str | None
) -> None:
    fill(tmp_path, HOSTILE, database_url)
    env = {"PAPERWIRE_LOAD_SAMPLE": "0", "PAPERWIRE_RATE_LIMIT_PER_MINUTE": "0"}  # (many requests below)
    with running_server(tmp_path, database_url=database_url, env=env) as (base, proc):
        # up to 64 KiB the app sees the request and refuses it with its full page (over 8 KiB)
        for n in (9_000, 60_000):
            r = httpx.get(f"{base}/search", params={"q": "a" * n}, timeout=30)
            assert r.status_code == 414 and "<!doctype html>" in r.text and "too long" in r.text
            assert r.headers["x-content-type-options"] == "nosniff"
        # past what httptools can parse, the server's protocol answers paperwire's 414 itself, quickly
        for n, path in (
            (100_000, b"/search"),
            (1_000_000, b"/search"),
            (20_000_000, b"/search"),
            (1_000_000, b"/api/search"),
        ):
            head = b"GET " + path + b"?q=" + b"a" * n + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            answer, _ = _raw(base, head)
            status, headers, body = _status_and_body(answer)
            assert status == 414, answer[:200]
            assert headers["content-security-policy"].startswith("default-src 'self'")
            assert headers["x-content-type-options"] == "nosniff"
            if path.startswith(b"/api"):
                assert headers["content-type"] == "application/json" and '"status": 414' in body
            else:
                assert headers["content-type"].startswith("text/html") and "<!doctype html>" in body
        # and headers past 128 KiB in all: 431
        many = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"b" * 4000) for i in range(64))
        answer, _ = _raw(base, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + many + b"\r\n")
        status, headers, body = _status_and_body(answer)
        assert status == 431 and "<!doctype html>" in body and headers["x-content-type-options"] == "nosniff"
        # ... also when the whole head arrives in one read
        answer, _ = _raw(base, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + many + b"\r\n", chunk=1 << 30)
        assert _status_and_body(answer)[0] == 431
        # pipelined requests are measured one by one: 150 small ones in one write (140 KB) are all answered
        one = b"GET /about HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"p" * 900 + b"\r\n\r\n"
        last = b"GET /about HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        answer, _ = _raw(base, one * 150 + last, chunk=1 << 30)
        statuses = [int(x) for x in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]
        assert statuses == [200] * 151, set(statuses)
        # a refusal waits for the answer to the request before it on the same connection
        answer, _ = _raw(base, one + b"GET /search?q=" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", chunk=1 << 30)
        assert answer.startswith(b"HTTP/1.1 200 OK") and answer.count(b"HTTP/1.1 414") == 1
        assert answer.index(b"HTTP/1.1 414") > answer.index(b"</html>")
        # what is not HTTP at all gets paperwire's 400, not uvicorn's bare text
        status, headers, body = _status_and_body(_raw(base, b"NOT HTTP AT ALL\r\n\r\n")[0])
        assert status == 400 and "<!doctype html>" in body and headers["x-content-type-options"] == "nosniff"
        # a Host nobody allowed gets the 400 page, and a HEAD no body
        r = httpx.get(f"{base}/feed.xml", headers={"Host": "evil.example"}, timeout=30)
        assert r.status_code == 400 and "PAPERWIRE_ALLOWED_HOSTS" in r.text
        r = httpx.head(f"{base}/about", timeout=30)
        assert r.status_code == 200 and r.content == b"" and int(r.headers["content-length"]) > 0
        assert proc.poll() is None
        assert httpx.get(f"{base}/api/status", timeout=30).status_code == 200  # still serving
