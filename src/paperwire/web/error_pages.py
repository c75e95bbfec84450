"""paperwire's own answer to every error: JSON under /api/, an HTML page elsewhere; never a traceback (W8).

Middleware refusals (bad Host, an over-long address, too many requests) and the exception handlers all answer
through ``error_response``; the security headers come from SecurityMiddleware, or are added here for the 500
answer, which is sent from outside it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from paperwire.web.security import SECURITY_HEADERS
from paperwire.web.site import Site

log = logging.getLogger("paperwire.web")

TITLES = {
    400: "That request did not work",
    404: "Page not found",
    405: "That request did not work",
    414: "That address is too long",
    422: "That request did not work",
    429: "Too many requests",
    500: "Something went wrong",
}

# the last resort when even the error page cannot be rendered: no template, no site state
_BARE_500 = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Something went wrong · paperwire'
    "</title></head><body><h1>Something went wrong</h1><p>internal error</p></body></html>\n"
)


def is_api_path(path: str) -> bool:
    """The JSON API's paths: their errors are JSON."""
    return path == "/api" or path.startswith("/api/")


def error_response(
    site: Site,
    request: Request,
    status: int,
    message: str,
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The error answer for ``request``: ``{"status", "error"}`` under /api/, else the error page."""
    if is_api_path(request.url.path):
        return JSONResponse({"status": status, "error": message}, status_code=status, headers=headers)
    from paperwire.web.routes.pages import error_page  # the pages import this module's callers

    page = error_page(site, request, status, title or TITLES.get(status, TITLES[400]), message)
    if headers:
        page.headers.update(headers)
    return page


def internal_error(site: Site, request: Request) -> Response:
    """The 500 answer to an unexpected exception (Starlette logs it), with the security headers."""
    try:
        response = error_response(site, request, 500, "internal error")
    except Exception:  # the error page itself failed: a fixed page, still ours
        log.exception("the error page failed")
        response = HTMLResponse(_BARE_500, status_code=500)
    response.headers.update(SECURITY_HEADERS)
    return response
