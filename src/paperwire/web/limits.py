"""Request bodies past a path's limit are refused (413) before they are read whole: a Content-Length over it at
once, a body without one (chunked) as soon as it passes the limit. Upload endpoints name their limit here."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Refuse = Callable[[Request, int, str, Mapping[str, str]], Response]


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Caps the request body of the paths in ``limits`` (path -> bytes)."""

    def __init__(self, app: ASGIApp, limits: Mapping[str, int], refuse: Refuse) -> None:
        self.app = app
        self.limits = dict(limits)
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limits.get(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        message = f"that upload is over {limit // (1024 * 1024)} MB: split it, or import it in parts"
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self.refuse(Request(scope), 413, message, {})(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return msg

        async def watched(msg: Message) -> None:
            nonlocal started
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if started:
                raise
            await self.refuse(Request(scope), 413, message, {})(scope, receive, send)
