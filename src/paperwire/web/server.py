"""How `paperwire serve` runs uvicorn: which proxy headers it believes.

uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise, so any local client could name itself
anyone and walk past the per-client rate limit. Here no proxy header is believed unless ``trusted_proxies``
names the proxies.
"""

from __future__ import annotations

from typing import Any

from paperwire.config import Settings


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
    }
