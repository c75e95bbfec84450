"""Signing in and out, the account page, exporting and deleting one's data, and the admin's outbox."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from paperwire.errors import NotFoundError, QueryError, SignInError
from paperwire.mail import mask_address
from paperwire.mail.outbox import OutboxMailer
from paperwire.models import User
from paperwire.web.routes.pages import render
from paperwire.web.security import HostPolicy, allowed_hosts
from paperwire.web.sessions import UserDep, clear_session, current_user, session_id, set_session
from paperwire.web.site import Site, SiteDep

router = APIRouter(include_in_schema=False)

MAX_NAME = 60


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site only (never //other.site or a scheme)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 500:
        return "/library"
    return value


def link_base(site: Site, request: Request) -> str | None:
    """Where mailed links point: ``base_url``; else the address this request came to, unless the server answers
    to any host name (then a requester could name their own host and receive another's link: None)."""
    if site.settings.base_url:
        return site.settings.base_url
    policy = HostPolicy(allowed_hosts(site.settings))
    if policy.any or policy.suffixes:
        return None
    return str(request.base_url)


def client_address(request: Request) -> str:
    """The client's address, as the per-client limits key it."""
    return request.client.host if request.client else "unknown"


@router.get("/sign-in")
def sign_in_form(
    request: Request, site: SiteDep, next: Annotated[str | None, Query(max_length=500)] = None
) -> Response:
    return render(site, request, "sign_in.html", next=safe_next(next), error=None, address="")


@router.post("/sign-in")
def sign_in_request(
    request: Request,
    site: SiteDep,
    email: Annotated[str, Form(max_length=320)],
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    base = link_base(site, request)
    if base is None:
        message = (
            "signing in is not available: this server answers to any host name, so its operator must set "
            "PAPERWIRE_BASE_URL for the links it mails"
        )
        return render(site, request, "sign_in.html", 503, next=safe_next(next), error=message, address="")
    try:
        site.signin.request_link(email, client_address(request), base, safe_next(next))
    except QueryError as exc:
        return render(
            site, request, "sign_in.html", 400, next=safe_next(next), error=str(exc), address=email[:320]
        )
    # the same answer whether or not a mail went out (A1)
    return render(site, request, "sign_in_sent.html", address=email.strip().lower()[:320])


@router.get("/sign-in/confirm")
def sign_in_confirm_page(
    request: Request,
    site: SiteDep,
    token: Annotated[str, Query(max_length=1000)] = "",
    next: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    # a mail scanner that opens the link signs nobody in: the page asks for one click (A1, M3)
    address = site.signin.address_of(token)
    return render(site, request, "sign_in_confirm.html", token=token, next=safe_next(next), address=address)


@router.post("/sign-in/confirm")
def sign_in_confirm(
    request: Request,
    site: SiteDep,
    token: Annotated[str, Form(max_length=1000)],
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    try:
        _, session = site.signin.confirm(token)
    except SignInError as exc:
        return render(site, request, "sign_in.html", 400, next=safe_next(next), error=str(exc), address="")
    old = current_user(request)
    if old is not None:  # one browser, one session: the one it had ends here
        site.signin.sign_out(old, session_id(request))
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session(request, response, session)
    return response


@router.post("/sign-out")
def sign_out(
    request: Request, site: SiteDep, everywhere: Annotated[str | None, Form(max_length=3)] = None
) -> Response:
    user = current_user(request)
    if user is not None:
        site.signin.sign_out(user, session_id(request), everywhere=everywhere == "1")
    response = RedirectResponse("/", status_code=303)
    clear_session(request, response)
    return response


def _account_page(
    site: Site, request: Request, user: User, status: int = 200, error: str | None = None
) -> Response:
    store = site.pw.store
    return render(
        site,
        request,
        "account.html",
        status,
        user=user,
        sessions=store.count_sessions(user.id),
        saved=len(store.library(user.id)),
        upvotes=len(store.upvoted(user.id)),
        error=error,
    )


@router.get("/account")
def account(request: Request, site: SiteDep, user: UserDep) -> Response:
    return _account_page(site, request, user)


@router.post("/account/name")
def account_name(
    request: Request, site: SiteDep, user: UserDep, name: Annotated[str, Form(max_length=MAX_NAME)] = ""
) -> Response:
    site.pw.store.set_user(user.id, name=" ".join(name.split()))
    return RedirectResponse("/account", status_code=303)


def account_data(site: SiteDep, user_id: int) -> dict[str, Any]:
    """Everything paperwire holds about a user (A5), as JSON-ready data."""
    store = site.pw.store
    user = store.get_user(user_id)
    if user is None:
        raise NotFoundError("no such account")
    return {
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "account": {
            "email": user.email,
            "name": user.name,
            "status": user.status,
            "admin": user.is_admin,
            "created_at": user.created_at.isoformat(),
            "last_sign_in": user.last_sign_in.isoformat() if user.last_sign_in else None,
            "sessions": store.count_sessions(user.id),
        },
        "library": [
            {
                "paper": i.paper_id,
                "saved_at": i.saved_at.isoformat(),
                "tags": list(i.tags),
                "note": i.note,
                "read_at": i.read_at.isoformat() if i.read_at else None,
            }
            for i in store.library(user.id)
        ],
        "upvotes": sorted(store.upvoted(user.id)),
        "collections": [
            {
                "name": c.name,
                "public": c.public,
                "created_at": c.created_at.isoformat(),
                "papers": store.collection_papers(c.id),
            }
            for c in store.collections(user.id)
        ],
        "comments": [
            {"paper": c.paper_id, "body": c.body, "created_at": c.created_at.isoformat(), "hidden": c.hidden}
            for c in store.user_comments(user.id)
        ],
        "feedback": store.feedback(user.id),
    }


@router.get("/account/export.json")
def account_export(site: SiteDep, user: UserDep) -> Response:
    body = json.dumps(account_data(site, user.id), ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={
            "content-disposition": 'attachment; filename="paperwire-account.json"',
            "cache-control": "no-store",
        },
    )


@router.post("/account/delete")
def account_delete(
    request: Request, site: SiteDep, user: UserDep, confirm: Annotated[str, Form(max_length=320)] = ""
) -> Response:
    if confirm.strip().lower() != user.email:
        return _account_page(site, request, user, 400, "type your address to confirm: nothing was deleted")
    site.pw.store.delete_user(user.id)
    response = RedirectResponse("/", status_code=303)
    clear_session(request, response)
    return response


def _local(request: Request) -> bool:
    try:
        return bool(request.client) and ipaddress.ip_address(request.client.host).is_loopback  # type: ignore[union-attr]
    except ValueError:
        return False


@router.get("/admin/outbox")
def outbox(request: Request, site: SiteDep, user: UserDep) -> Response:
    # an admin, on this machine: the outbox holds other people's sign-in links
    if not user.is_admin or not _local(request):
        raise NotFoundError("no such page")
    items = OutboxMailer(site.settings.outbox_dir, site.settings.mail_from).items()
    return render(site, request, "outbox.html", items=items, masked=mask_address)
