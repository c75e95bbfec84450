"""What every route shares: the open paperwire (thread-safe: a store connection per thread) and the templates."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import jinja2
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from paperwire.accounts.signin import SignIn
from paperwire.app_context import Paperwire
from paperwire.config import Settings
from paperwire.digest.subscribe import Subscriptions
from paperwire.web.render import author_url, strip_bidi
from paperwire.web.views import ViewCounter

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def make_templates() -> Jinja2Templates:
    """Jinja2 templates with autoescape on for every template (W1), whatever its file name.

    Third-party text (titles, authors, abstracts, comments) sits in <bdi> elements, so bidi controls in it
    (U+202E) cannot reorder the page around it.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["author_url"] = author_url
    env.filters["nobidi"] = strip_bidi  # for plain text such as the <title>, where <bdi> cannot go
    return Jinja2Templates(env=env, context_processors=[_who])


def _who(request: Request) -> dict[str, object]:
    """What every page knows of its reader: ``me`` (the signed-in user or None) and ``csrf`` (their token)."""
    from paperwire.web.sessions import csrf_for, current_user

    site: Site | None = getattr(request.app.state, "site", None)
    if site is None or site._signin is None:  # an error page before startup or after shutdown
        return {"me": None, "csrf": ""}
    try:
        return {"me": current_user(request), "csrf": csrf_for(request)}
    except Exception:  # the store is down: the error page still renders, signed out
        return {"me": None, "csrf": ""}


class RenderCache:
    """Rendered bodies kept while the object they were rendered from is still the one served (compared by
    identity): trending lists change only with a new snapshot (trending/service.py keeps each page's list
    object until then), so their pages need rendering once per snapshot, not once per request. LRU, bounded."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[object, bytes]] = OrderedDict()

    def get(self, key: Hashable, source: object) -> bytes | None:
        """The body rendered for ``key`` from ``source`` itself, if kept."""
        with self._lock:
            got = self._items.get(key)
            if got is None or got[0] is not source:
                return None
            self._items.move_to_end(key)
            return got[1]

    def put(self, key: Hashable, source: object, body: bytes) -> None:
        """Keep ``body``, rendered for ``key`` from ``source``."""
        with self._lock:
            self._items[key] = (source, body)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


@dataclass
class Site:
    """The state of one running app (set up at startup by the lifespan)."""

    settings: Settings
    templates: Jinja2Templates = field(default_factory=make_templates)
    views: ViewCounter = field(init=False)
    rendered: RenderCache = field(default_factory=RenderCache)  # trending pages and API bodies
    _pw: Paperwire | None = None
    _signin: SignIn | None = None
    _subscriptions: Subscriptions | None = None

    def __post_init__(self) -> None:
        self.views = ViewCounter(enabled=self.settings.count_views)

    def attach(self, pw: Paperwire | None) -> None:
        """Set (at startup) or clear (at shutdown) the open paperwire the routes use."""
        self._pw = pw
        if self._signin is not None:
            self._signin.close()
        if self._subscriptions is not None:
            self._subscriptions.close()
        self._signin = SignIn(self.settings, pw.store) if pw is not None else None
        self._subscriptions = None
        if pw is not None:
            from paperwire.digest.deliver import keep_watch_vectors

            self._subscriptions = Subscriptions(
                self.settings,
                pw.store,
                embed_watches=lambda watches: keep_watch_vectors(pw, watches, datetime.now(UTC)),
            )

    def absolute(self, request: Request, path: str) -> str:
        """An absolute link to ``path`` (with its query): on ``base_url`` when set, else on the address
        the request came to (its host is one the operator allowed: security.HostPolicy)."""
        base = self.settings.base_url or str(request.base_url)
        return base.rstrip("/") + path

    @property
    def signin(self) -> SignIn:
        """Sign-in links and sessions (after startup)."""
        if self._signin is None:
            raise RuntimeError("paperwire is not open yet (the app's lifespan has not started)")
        return self._signin

    @property
    def subscriptions(self) -> Subscriptions:
        """Digest subscriptions (after startup)."""
        if self._subscriptions is None:
            raise RuntimeError("paperwire is not open yet (the app's lifespan has not started)")
        return self._subscriptions

    @property
    def pw(self) -> Paperwire:
        """The open paperwire (after startup)."""
        if self._pw is None:
            raise RuntimeError("paperwire is not open yet (the app's lifespan has not started)")
        return self._pw


def get_site(request: Request) -> Site:
    """The Site of the app serving ``request``."""
    site: Site = request.app.state.site
    return site


SiteDep = Annotated[Site, Depends(get_site)]
