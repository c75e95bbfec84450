"""How `paperwire serve` runs uvicorn: which proxy headers it believes, and how long a request head may be.

Proxy headers: uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise, so any local client
could name itself anyone and walk past the per-client rate limit. Here no proxy header is believed unless
``trusted_proxies`` names the proxies.

Access log: uvicorn's, without the client's address (AnonymousAccessLog): nothing written says who read what.

Request heads: uvicorn's httptools protocol keeps no limit of its own. It gathers the URL by appending each
piece that arrives (quadratic: a 100 MB URL cost 16 s of CPU and 220 MB here, the event loop blocked), then
refuses any URL over 65,535 bytes (httptools cannot parse more) with a bare "Invalid HTTP request received.".
Its subclass in _httptools.py stops a URL at that size and a head (URL and headers) at MAX_HEAD_BYTES as they
arrive, and answers paperwire's own 414 or 431 (and 400 to a request it cannot parse) with the security headers. Shorter URLs reach the app, which
refuses those over security.MAX_URL_BYTES (8 KiB) with its own 414 page.
"""

from __future__ import annotations

import copy
import http
import json
import logging
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from paperwire.config import Settings
from paperwire.web.security import SECURITY_HEADERS

HTTPTOOLS_MAX_URL = 65_535  # httptools cannot parse a longer URL
MAX_HEAD_BYTES = 128 * 1024  # request line and headers together (h11's own default is 16 KiB)
LINGER_SECONDS = 2.0  # after refusing a head, how long to read and drop the rest before closing
LINGER_BYTES = 64 * 1024 * 1024  # ...and how much of it at most


def trusted_proxies(settings: Settings) -> list[str]:
    """The proxies whose forwarding headers are believed (``trusted_proxies``), as a list."""
    return [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` (after the app) serving ``settings``."""
    proxies = trusted_proxies(settings)
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or None,
        "http": http_protocol(),
        "log_config": log_config(),
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,  # where h11 serves instead (no httptools)
    }


class AnonymousAccessLog(logging.Filter):
    """uvicorn's access log without the client's address: which page was asked and its status are kept,
    never who asked (a paper page's address with a reader's IP would say who read what; views.py), and
    without the secrets some addresses carry (a sign-in link's token, a collection's share token: A5)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            args = list(record.args)  # (client_addr, method, path, http_version, status)
            args[0] = "-"
            if len(args) > 2 and isinstance(args[2], str):
                args[2] = redact_path(args[2])
            record.args = tuple(args)
        return True


_SECRET_QUERY = re.compile(r"([?&]token=)[^&#\s]*", re.IGNORECASE)
_SHARE_PATH = re.compile(r"^/c/[^/?#\s]+")


def redact_path(path: str) -> str:
    """An address as the access log keeps it: sign-in and share tokens replaced by ``[redacted]``."""
    return _SHARE_PATH.sub("/c/[redacted]", _SECRET_QUERY.sub(r"\1[redacted]", path))


def log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration, its access log passed through AnonymousAccessLog."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["anonymous"] = {"()": AnonymousAccessLog}
    config["loggers"]["uvicorn.access"]["filters"] = ["anonymous"]
    # paperwire's own notes (the vector index loading, its graph being built) beside uvicorn's
    config["loggers"]["paperwire"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def http_protocol() -> Any:
    """uvicorn's httptools protocol with a bounded head (_httptools.py); "h11" where httptools is missing."""
    try:
        from paperwire.web._httptools import BoundedHttpToolsProtocol
    except ImportError:
        return "h11"
    return BoundedHttpToolsProtocol


_REFUSALS = {
    400: ("That request did not work", "that is not an HTTP request this paperwire can read"),
    414: ("That address is too long", "the address (URL) is too long for this paperwire"),
    431: ("That request is too long", "the request head (its headers) is too long for this paperwire"),
}


@cache
def _body(status: int, api: bool) -> tuple[bytes, str]:
    title, message = _REFUSALS[status]
    if api:
        return json.dumps({"status": status, "error": message}).encode(), "application/json"
    from paperwire.web.site import make_templates

    page = make_templates().env.get_template("error.html").render(title=title, message=message, q="")
    return page.encode(), "text/html; charset=utf-8"


def refusal(status: int, api: bool, extra_headers: Sequence[bytes] = ()) -> bytes:
    """A whole HTTP/1.1 answer refusing a request head (400: unreadable, 414, 431: too long) and closing
    the connection: JSON for the API, else the error page, with the security headers."""
    body, ctype = _body(status, api)
    lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}".encode(), *extra_headers]
    lines += [f"{k}: {v}".encode() for k, v in SECURITY_HEADERS.items()]
    lines += [f"content-type: {ctype}".encode(), b"content-length: %d" % len(body), b"connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
