"""HEAD on every GET route: feed readers and link checkers ask with it before (or instead of) a GET.

FastAPI's routes answer only the methods they declare; this middleware runs a HEAD request as a GET and
drops the body, so the answer has the GET's status and headers (Content-Length included) and no body.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadMiddleware:
    """Answers HEAD as GET would, without the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # a streamed body: only its end is passed on, empty
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        # marked, so what only a reader's GET should do (count a view: views.py) can tell
        await self.app({**scope, "method": "GET", "paperwire.head": True}, receive, send_without_body)
