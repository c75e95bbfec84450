"""The digest on the web: subscribe (the banner form and POST /api/subscriptions), confirm, manage, and
unsubscribe (a page with a button, and RFC 8058's one-click POST: no cookie, no CSRF token, no redirect)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from paperwire.digest.compose import DigestPrefs
from paperwire.digest.deliver import DigestSender, prefs_json, prefs_of
from paperwire.errors import DigestPrefsError, QueryError, SignInError
from paperwire.jobs.digest import digest_base_url
from paperwire.mail import get_mailer
from paperwire.search.query import parse_query
from paperwire.web.routes.accounts import client_address, link_base
from paperwire.web.routes.pages import render
from paperwire.web.sessions import UserDep, current_user
from paperwire.web.site import Site, SiteDep

router = APIRouter()

TOKEN = Annotated[str, Query(max_length=300)]


def _prefs(
    watches: list[str] | str = (),  # type: ignore[assignment]
    categories: list[str] | str = (),  # type: ignore[assignment]
    trending: int = 10,
    frequency: str = "daily",
    hour: int = 8,
    timezone: str = "UTC",
    weekday: int = 5,
    send_empty: bool = False,
    for_you: bool = False,
) -> DigestPrefs:
    """Preferences from a form or JSON, checked: each watch must parse in the query language, each category
    be one (QueryError / DigestPrefsError, both 400s)."""
    ws = [w.strip() for w in (watches.splitlines() if isinstance(watches, str) else watches) if w.strip()]
    cats = [
        c.strip() for c in (categories.split(",") if isinstance(categories, str) else categories) if c.strip()
    ]
    for w in ws:
        parse_query(w)
    if cats:
        cats = list(parse_query("", categories=cats).categories)
    return DigestPrefs(
        watches=tuple(ws),
        categories=tuple(cats),
        trending_n=trending,
        frequency=frequency,  # type: ignore[arg-type]
        hour=hour,
        timezone=timezone,
        weekday=weekday,
        send_empty=send_empty,
        for_you=for_you,
    )


def bad_link(site: Site, request: Request, exc: Exception) -> Response:
    """The page a confirm, manage or unsubscribe link that cannot be used answers (400)."""
    return render(site, request, "digest_message.html", 400, title="That link did not work", message=str(exc))


def _base(site: Site, request: Request) -> str:
    base = link_base(site, request)
    if base is None:
        raise QueryError("subscribing is not available: the operator must set PAPERWIRE_BASE_URL")
    return base


# -- subscribing ---------------------------------------------------------------------------------------


@router.post("/subscribe", include_in_schema=False)
def subscribe_form(
    request: Request,
    site: SiteDep,
    email: Annotated[str, Form(max_length=320)],
    category: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    me = current_user(request)
    try:
        prefs = _prefs(categories=category, for_you=me is not None)
        site.subscriptions.request(
            email, prefs, client_address(request), _base(site, request), me.id if me else None
        )
    except (QueryError, DigestPrefsError) as exc:
        return render(site, request, "digest_message.html", 400, title="That did not work", message=str(exc))
    return render(
        site,
        request,
        "digest_message.html",
        title="Check your mail",
        message="If this address can receive the digest, a mail asking you to confirm is on its way. "
        "Nothing is sent until you confirm.",
    )


class SubscriptionRequest(BaseModel):
    """What POST /api/subscriptions takes."""

    email: str = Field(max_length=320)
    watches: list[Annotated[str, Field(max_length=300)]] = Field(default_factory=list, max_length=20)
    categories: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=50)
    trending: int = Field(10, ge=0, le=50)
    frequency: Literal["daily", "weekly"] = "daily"
    hour: int = Field(8, ge=0, le=23)
    timezone: str = Field("UTC", max_length=64)
    weekday: int = Field(5, ge=0, le=6)


@router.post(
    "/api/subscriptions", status_code=202, summary="Subscribe an address to the digest (double opt-in)"
)
def subscribe_api(request: Request, site: SiteDep, body: SubscriptionRequest) -> dict[str, Any]:
    prefs = _prefs(
        body.watches, body.categories, body.trending, body.frequency, body.hour, body.timezone, body.weekday
    )
    me = current_user(request)
    site.subscriptions.request(
        body.email, prefs, client_address(request), _base(site, request), me.id if me else None
    )
    return {"status": "check your mail: nothing is sent until the address confirms"}


# -- confirming and managing ---------------------------------------------------------------------------


@router.get("/digest/confirm", include_in_schema=False)
def confirm_page(request: Request, site: SiteDep, token: TOKEN = "") -> Response:
    # a mail scanner that opens the link confirms nothing: the page asks for one click (M3)
    return render(site, request, "digest_confirm.html", token=token)


@router.post("/digest/confirm", include_in_schema=False)
def confirm(request: Request, site: SiteDep, token: Annotated[str, Form(max_length=300)]) -> Response:
    try:
        sub = site.subscriptions.confirm(token)
    except SignInError as exc:
        return bad_link(site, request, exc)
    manage = f"/digest/manage?token={site.subscriptions.tokens.manage(sub)}"
    return render(
        site, request, "digest_message.html", title="You are subscribed",
        message="Your first digest comes with the next arXiv announcement, at your delivery hour.", link=manage,
    )  # fmt: skip


@router.get("/digest/manage", include_in_schema=False)
def manage_page(request: Request, site: SiteDep, token: TOKEN = "") -> Response:
    try:
        sub = site.subscriptions.tokens.read("manage", token, site.pw.store)
    except SignInError as exc:
        return bad_link(site, request, exc)
    return render(
        site,
        request,
        "digest_manage.html",
        sub=sub,
        prefs=prefs_of(sub),
        token=token,
        saved=False,
        error=None,
    )


@router.post("/digest/manage", include_in_schema=False)
def manage(
    request: Request,
    site: SiteDep,
    token: Annotated[str, Form(max_length=300)],
    watches: Annotated[str, Form(max_length=7000)] = "",
    categories: Annotated[str, Form(max_length=2000)] = "",
    trending: Annotated[int, Form(ge=0, le=50)] = 10,
    frequency: Annotated[Literal["daily", "weekly"], Form()] = "daily",
    hour: Annotated[int, Form(ge=0, le=23)] = 8,
    timezone: Annotated[str, Form(max_length=64)] = "UTC",
    weekday: Annotated[int, Form(ge=0, le=6)] = 5,
    send_empty: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    try:
        sub = site.subscriptions.tokens.read("manage", token, site.pw.store)
    except SignInError as exc:
        return bad_link(site, request, exc)
    old = prefs_of(sub)
    try:
        prefs = _prefs(
            watches, categories, trending, frequency, hour, timezone, weekday, send_empty == "1", old.for_you
        )
    except (QueryError, DigestPrefsError) as exc:
        return render(
            site,
            request,
            "digest_manage.html",
            400,
            sub=sub,
            prefs=old,
            token=token,
            saved=False,
            error=str(exc),
        )
    site.pw.store.set_subscriber_prefs(sub.id, prefs_json(prefs))
    site.subscriptions.keep_watches(prefs.watches)  # embedded now (off the request), not in the digest pass
    return render(
        site, request, "digest_manage.html", sub=sub, prefs=prefs, token=token, saved=True, error=None
    )


# -- a signed-in subscriber's preview ----------------------------------------------------------------

# the digest's HTML is a mail: inline styles, no script, no remote anything; served as such, nothing else allowed
PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


@router.get("/digest/preview", include_in_schema=False)
def preview(request: Request, site: SiteDep, user: UserDep) -> Response:
    sub = site.pw.store.subscriber_by_email(user.email)
    if sub is None or sub.status not in ("active", "pending"):
        return render(
            site, request, "digest_message.html", 404, title="No digest for you yet",
            message="Subscribe with the form on the home page (with your account's address) to get one.",
        )  # fmt: skip
    sender = DigestSender(site.pw, get_mailer(site.settings), digest_base_url(site.pw))
    _, rendered = sender.preview(sub)
    return HTMLResponse(
        rendered.html, headers={"content-security-policy": PREVIEW_CSP, "cache-control": "no-store"}
    )


# -- unsubscribing -------------------------------------------------------------------------------------


@router.get("/digest/unsubscribe/{token}", include_in_schema=False)
def unsubscribe_page(request: Request, site: SiteDep, token: str) -> Response:
    # GET never unsubscribes (mail scanners prefetch links: M3): a page with one button
    return render(site, request, "digest_unsubscribe.html", token=token[:300])


@router.post("/digest/unsubscribe/{token}", include_in_schema=False)
def unsubscribe(request: Request, site: SiteDep, token: str) -> Response:
    # RFC 8058 one-click: no cookie, no CSRF token, never a redirect, the same answer every time (M2)
    try:
        site.subscriptions.unsubscribe(token[:300], "unsubscribe link")
    except SignInError as exc:
        return bad_link(site, request, exc)
    return render(
        site, request, "digest_message.html", title="Unsubscribed",
        message="You will get no more digests. You can subscribe again any time from the home page.",
    )  # fmt: skip
