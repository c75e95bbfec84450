"""Admission control: the costly requests (searches, paper pages) run a few at a time, the rest queue.

On a small machine, more searches at once than cores only share the GIL and the CPU: each takes longer
and the tail grows (measured on 2 cores: 32 clients, p95 924 ms with 40 at once, 490 ms with 4). The
waiting happens in the event loop, holding no thread, so static files and cheap pages pass by.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send


def is_costly_path(path: str) -> bool:
    """Requests that search: the search page and feeds, the JSON API, paper pages (similar papers), trending."""
    return (
        path in ("/search", "/api", "/trending")
        or path.startswith(("/search/", "/api/", "/paper/", "/author/", "/feed", "/trending/"))
        or path == "/"
    )


class AdmissionMiddleware:
    """Lets at most ``limit`` costly requests run at once; the others wait their turn, first come first."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_costly_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # made on first use, inside the server's event loop
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)
