"""Stand-ins for Hugging Face's daily papers API and the arXiv API, answering from recorded responses.

``HfLists`` serves api/daily_papers from tests/fixtures/hf-daily-papers/ (or lists a test gives it) by date;
``ArxivIds`` serves api/query id lookups from the recorded exchanges in tests/fixtures/arxiv/api/, any id_list:
each id with a recording gets its recorded entry, the others nothing (arXiv's answer for an id it lacks).
Both are plain ``httpx.MockTransport`` handlers; ``replay_app`` serves them over real HTTP(S) for the tests
that run `paperwire` in a subprocess.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

FIXTURES = Path(__file__).parent / "fixtures"
HF = FIXTURES / "hf-daily-papers"
API = FIXTURES / "arxiv" / "api"
RECORDED_DAYS = ("2024-05-28", "2025-01-15", "2025-06-10", "2026-08-20")
# arXiv ids whose API answers are recorded (single-id lookups, new style)
ARXIV_RECORDED = ("0808.05394", "1605.08386", "1707.08567")


def hf_items(day: str) -> list[dict[str, Any]]:
    """The recorded list of ``day`` as JSON."""
    items: list[dict[str, Any]] = json.loads((HF / f"daily_papers_{day}.json").read_text("utf-8"))
    return items


def items_naming(ids: list[str], upvotes: list[int], day: str = "2026-08-20") -> list[dict[str, Any]]:
    """Recorded items of ``day`` made to name other papers (ids whose arXiv answers are recorded) with
    other upvotes, in Hugging Face's order if the upvotes fall."""
    base = hf_items(day)
    out = []
    for n, (pid, up) in enumerate(zip(ids, upvotes, strict=True)):
        item = copy.deepcopy(base[n % len(base)])
        item["paper"]["id"] = pid
        item["paper"]["upvotes"] = up
        out.append(item)
    return out


class HfLists:
    """api/daily_papers by date, a page (``p``, ``limit``) at a time: the recorded lists, ``lists`` a test
    set, else an empty list; ``fail`` answers every request with that status (0: a refused connection)."""

    def __init__(self, lists: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.lists = {day: hf_items(day) for day in RECORDED_DAYS}
        self.lists.update(lists or {})
        self.asked: list[str] = []  # the dates asked for, in order
        self.fail: int | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        day = request.url.params.get("date", "")
        self.asked.append(day)
        if self.fail == 0:
            raise httpx.ConnectError("connection refused (the test's network is down)", request=request)
        if self.fail is not None:
            return httpx.Response(self.fail, text="unavailable")
        limit = int(request.url.params.get("limit", 50))  # the API's default page: 50
        page = int(request.url.params.get("p", 0))
        return httpx.Response(200, json=self.lists.get(day, [])[page * limit : (page + 1) * limit])


def _entries() -> tuple[str, dict[str, str]]:
    """The recorded empty feed's text, and the recorded <entry> of each single id."""
    empty = ""
    entries: dict[str, str] = {}
    for path in API.glob("*.json"):
        exchange = json.loads(path.read_text("utf-8"))
        id_list = httpx.URL(exchange["url"]).params["id_list"]
        body = exchange["body"].encode("latin-1").decode("utf-8")  # stored decoded as Latin-1
        if id_list == "0000.0000":
            empty = body
        elif "," not in id_list:
            found = re.search(r"<entry>.*?</entry>", body, re.DOTALL)
            if found:
                entries[id_list] = found.group(0)
    return empty, entries


class ArxivIds:
    """api/query?id_list=...: the recorded entry of each asked id that has one; ``fail`` as in HfLists."""

    def __init__(self) -> None:
        self.empty, self.entries = _entries()
        self.asked: list[list[str]] = []
        self.fail: int | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        ids = request.url.params["id_list"].split(",")
        self.asked.append(ids)
        if self.fail == 0:
            raise httpx.ConnectError("connection refused (the test's network is down)", request=request)
        if self.fail is not None:
            return httpx.Response(self.fail, text="unavailable")
        found = "".join(self.entries[i] for i in ids if i in self.entries)
        body = self.empty.replace("</feed>", found + "</feed>")
        return httpx.Response(200, content=body.encode(), headers={"Content-Type": "application/atom+xml"})


Handler = Callable[[httpx.Request], httpx.Response]


@contextmanager
def replay_app(routes: dict[str, Handler], certfile: str | None = None) -> Iterator[str]:
    """Serve ``routes`` (path -> MockTransport handler) on 127.0.0.1 (TLS with ``certfile``); yields the base
    URL."""

    class Handle(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            handler = routes.get(parts.path)
            if handler is None:
                self.send_error(404)
                return
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            try:
                response = handler(httpx.Request("GET", f"https://replay.test{parts.path}", params=params))
            except httpx.TransportError:
                self.close_connection = True
                return
            body = response.content
            self.send_response(response.status_code)
            self.send_header("Content-Type", response.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
    scheme = "http"
    if certfile is not None:
        import ssl

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
