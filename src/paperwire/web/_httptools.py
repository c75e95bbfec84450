"""uvicorn's httptools protocol with a bounded request head (imported only where httptools is installed).

See web/server.py for why. It leans on a few of uvicorn's protocol internals (``on_url``, ``url``,
``send_400_response``, ``server_state.default_headers``); tests/web/test_server.py runs it in a real server.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from paperwire.web.server import HTTPTOOLS_MAX_URL, LINGER_BYTES, LINGER_SECONDS, MAX_HEAD_BYTES, refusal


class _HeadTooLong(Exception):
    """Raised inside a parser callback (URL or header): the parser stops, uvicorn calls send_400_response."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Refuses a URL over HTTPTOOLS_MAX_URL (414) and a head over MAX_HEAD_BYTES (431) as they arrive, and
    answers a request it cannot parse with paperwire's 400 rather than uvicorn's bare text.

    The head is measured in the parser's callbacks (the URL as it arrives, each header when complete), so
    pipelined requests in one read are measured one by one. A single header still arriving over several reads
    is held inside httptools until it is complete: those reads are counted too, so it cannot grow unbounded.
    A refusal waits for the responses to requests before it on the same connection (HTTP keeps their order).
    """

    _head_bytes = 0  # the current request's URL and complete headers so far
    _pending_bytes = 0  # reads that ended inside the current head (what the parser may be holding)
    _began = 0  # requests begun on this connection
    _in_head = True
    _refused = False
    _pending_status = 0  # a refusal waiting for earlier responses
    _too_long = 0  # the status to answer when the parser stopped on purpose
    _lingered = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes, self._pending_bytes = True, 0, 0
        self._began += 1

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > HTTPTOOLS_MAX_URL:
            self._too_long = 414
            self.url = (self.url or url)[:8]  # enough to tell the API from pages
            raise _HeadTooLong
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count(self, n: int) -> None:
        self._head_bytes += n
        if self._head_bytes > MAX_HEAD_BYTES:
            self._too_long = 431
            raise _HeadTooLong

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._refused:  # answered (or about to be): read what the client is still sending, then close
            self._lingered += len(data)
            if self._lingered > LINGER_BYTES:
                self.transport.close()
            return
        began, in_head = self._began, self._in_head
        super().data_received(data)
        # a read that began and ended inside one request's head: the parser may hold all of it
        if in_head and self._in_head and began == self._began and not self._refused:
            self._pending_bytes += len(data)
            if self._pending_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
                self._refuse(431)

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this when the parser fails: on purpose (too long), or on a malformed request
        self._refuse(self._too_long or 400)

    def _refuse(self, status: int) -> None:
        """Answer ``status`` once every earlier response on this connection is out, then close."""
        self._refused = True
        if self._busy():
            self._pending_status = status  # on_response_complete answers when the last one is out
            return
        self._answer(status)

    def _busy(self) -> bool:
        return bool(self.pipeline) or (self.cycle is not None and not self.cycle.response_complete)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._pending_status and not self._busy() and not self.transport.is_closing():
            status, self._pending_status = self._pending_status, 0
            self._answer(status)

    def _answer(self, status: int) -> None:
        """Write the refusal and close, reading (and dropping) the rest of the request for a moment first:
        closing with unread data would reset the connection, and the client might never see the answer."""
        head = [b"%s: %s" % (name, value) for name, value in self.server_state.default_headers]
        self.transport.write(refusal(status, self.url.startswith(b"/api"), head))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, self.transport.close)
