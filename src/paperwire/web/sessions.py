"""Who is asking: the session cookie (A2) and the signed-in user of a request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from paperwire.accounts.tokens import csrf_token
from paperwire.errors import SignInRequired
from paperwire.models import User
from paperwire.web.site import get_site

COOKIE = "paperwire_session"
_UNSET = object()


def session_id(request: Request) -> str | None:
    """The session cookie's value, if any (bounded: a cookie is never read past 100 characters)."""
    value = request.cookies.get(COOKIE)
    return value if value and len(value) <= 100 else None


def current_user(request: Request) -> User | None:
    """The signed-in user, or None; read once per request."""
    got = getattr(request.state, "user", _UNSET)
    if got is _UNSET:
        sid = session_id(request)
        got = get_site(request).signin.user_of(sid) if sid else None
        request.state.user = got
    return got  # type: ignore[return-value]


def require_user(request: Request) -> User:
    """The signed-in user, or SignInRequired (a page then offers the sign-in form; the API answers 401)."""
    user = current_user(request)
    if user is None:
        raise SignInRequired("sign in first: this needs an account")
    return user


def set_session(request: Request, response: Response, session: str) -> None:
    """Give the browser its new session: HttpOnly, SameSite=Lax, Secure over https (A2)."""
    response.set_cookie(
        COOKIE,
        session,
        max_age=int(get_site(request).settings.session_idle_days * 86400),
        httponly=True,
        samesite="lax",
        secure=_https(request),
        path="/",
    )


def clear_session(request: Request, response: Response) -> None:
    """Forget the session cookie in the browser."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=_https(request))


def _https(request: Request) -> bool:
    """Whether the site is served over https: this request came so, or the operator's base_url says so (a TLS
    proxy whose headers paperwire is not told to believe still serves the browser https)."""
    base = get_site(request).settings.base_url or ""
    return request.url.scheme == "https" or base.startswith("https://")


def csrf_for(request: Request) -> str:
    """The CSRF token of this request's session ("" without one): scripts send it as X-CSRF-Token."""
    sid = session_id(request)
    return csrf_token(get_site(request).signin.key, sid) if sid else ""


UserDep = Annotated[User, Depends(require_user)]
MaybeUserDep = Annotated[User | None, Depends(current_user)]
