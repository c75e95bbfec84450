"""What every route shares: the open paperwire (thread-safe: a store connection per thread) and the templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import jinja2
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from paperwire.app_context import Paperwire
from paperwire.config import Settings
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
    return Jinja2Templates(env=env)


@dataclass
class Site:
    """The state of one running app (set up at startup by the lifespan)."""

    settings: Settings
    templates: Jinja2Templates = field(default_factory=make_templates)
    views: ViewCounter = field(init=False)
    _pw: Paperwire | None = None

    def __post_init__(self) -> None:
        self.views = ViewCounter(enabled=self.settings.count_views)

    def attach(self, pw: Paperwire | None) -> None:
        """Set (at startup) or clear (at shutdown) the open paperwire the routes use."""
        self._pw = pw

    def absolute(self, request: Request, path: str) -> str:
        """An absolute link to ``path`` (with its query): on ``base_url`` when set, else on the address
        the request came to (its host is one the operator allowed: security.HostPolicy)."""
        base = self.settings.base_url or str(request.base_url)
        return base.rstrip("/") + path

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
