"""The JSON API now lives in :mod:`paperwire.web.routes.api`, served with the pages by :mod:`paperwire.web.app`.

``paperwire.api.app.create_app`` is kept so existing imports keep working; it builds the same combined app.
"""

from __future__ import annotations

from paperwire.web.app import create_app

__all__ = ["create_app"]
