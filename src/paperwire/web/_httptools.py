"""uvicorn's httptools protocol with a bounded request head (imported only where httptools is installed).

See web/server.py for why. It leans on a few of uvicorn's protocol internals (``on_url``, ``url``,
``send_400_response``, ``server_state.default_headers``); tests/web/test_server.py runs it in a real server.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from paperwire.web.server import HTTPTOOLS_MAX_URL, LINGER_BYTES, LINGER_SECONDS, MAX_HEAD_BYTES, refusal


class _URLTooLong(Exception):
    """Raised inside the parser's on_url callback: the parser stops, uvicorn calls send_400_response."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Refuses a URL over HTTPTOOLS_MAX_URL (414) and a head over MAX_HEAD_BYTES (431) as they arrive, and
    answers a request it cannot parse with paperwire's 400 rather than uvicorn's bare text."""

    _head_bytes = 0  # bytes received since the current request began, while its head is incomplete
    _in_head = True
    _refused = False
    _too_long = 0  # the status to answer when the parser stopped on purpose
    _lingered = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > HTTPTOOLS_MAX_URL:
            self._too_long = 414
            self.url = (self.url or url)[:8]  # enough to tell the API from pages
            raise _URLTooLong
        super().on_url(url)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._refused:  # answered already: read what the client is still sending, then close
            self._lingered += len(data)
            if self._lingered > LINGER_BYTES:
                self.transport.close()
            return
        super().data_received(data)
        if self._in_head and not self._refused and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse(431)

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this when the parser fails: on purpose (too long), or on a malformed request
        self._refuse(self._too_long or 400)

    def _refuse(self, status: int) -> None:
        """Answer ``status`` and close, reading (and dropping) the rest of the request for a moment first:
        closing with unread data would reset the connection, and the client might never see the answer."""
        self._refused = True
        head = [b"%s: %s" % (name, value) for name, value in self.server_state.default_headers]
        self.transport.write(refusal(status, self.url.startswith(b"/api"), head))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, self.transport.close)
