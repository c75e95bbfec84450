"""`paperwire users`: the operator's view of accounts: list, invite, make admin, disable, print a sign-in link."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from paperwire.models import User
from paperwire.store.base import Store

users_app = typer.Typer(
    help="Accounts: list them, invite addresses, grant or take admin, disable or enable, print a sign-in link.",
    no_args_is_help=True,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

Address = Annotated[str, typer.Argument(help="The account's mail address.")]


def _store() -> Store:
    from paperwire.cli import settings  # at call time: cli imports this module
    from paperwire.store import open_store

    return open_store(settings())


def _user(store: Store, address: str) -> User:
    from paperwire.mail import normalise_address

    user = store.user_by_email(normalise_address(address))
    if user is None:
        err.print(f"[red]no account for {escape(address)}[/red] (invite it with `paperwire users invite`)")
        raise typer.Exit(3)
    return user


@users_app.command("list")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per account.")] = False,
) -> None:
    """Every account: address, status (invited, active, disabled), admin, created, last sign-in."""
    store = _store()
    try:
        users = store.list_users()
    finally:
        store.close()
    if as_json:
        for u in users:
            row = {
                "id": u.id,
                "email": u.email,
                "name": u.name,
                "status": u.status,
                "admin": u.is_admin,
                "created_at": u.created_at.isoformat(),
                "last_sign_in": u.last_sign_in.isoformat() if u.last_sign_in else None,
            }
            print(json.dumps(row))
        return
    table = Table("id", "address", "status", "admin", "created", "last sign-in")
    for u in users:
        table.add_row(
            str(u.id),
            escape(u.email),
            u.status,
            "yes" if u.is_admin else "",
            u.created_at.strftime("%Y-%m-%d"),
            u.last_sign_in.strftime("%Y-%m-%d %H:%M") if u.last_sign_in else "never",
        )
    out.print(table if users else "no accounts yet: `paperwire users invite ADDRESS --admin`")


@users_app.command("invite")
def invite_cmd(
    address: Address,
    admin: Annotated[bool, typer.Option("--admin", help="Make the account an admin.")] = False,
) -> None:
    """Let an address sign up (whatever the sign-up setting): it signs in by asking for a link on /sign-in."""
    from paperwire.mail import normalise_address

    store = _store()
    try:
        email = normalise_address(address)
        user = store.add_user(email, "invited", is_admin=admin)
        if admin and not user.is_admin:
            store.set_user(user.id, is_admin=True)
        state = "invited" if user.status == "invited" else f"already {user.status}"
        out.print(f"{escape(email)}: {state}{' (admin)' if admin or user.is_admin else ''}")
    finally:
        store.close()


def _set(address: str, **change: object) -> None:
    store = _store()
    try:
        user = _user(store, address)
        store.set_user(user.id, **change)  # type: ignore[arg-type]
        done = ", ".join(f"{k.replace('is_', '')}={v}" for k, v in change.items())
        out.print(f"{escape(user.email)}: {done}")
    finally:
        store.close()


@users_app.command("grant-admin")
def grant_admin_cmd(address: Address) -> None:
    """Make an account an admin (hides comments; reads the outbox from this machine)."""
    _set(address, is_admin=True)


@users_app.command("revoke-admin")
def revoke_admin_cmd(address: Address) -> None:
    """Take admin away from an account."""
    _set(address, is_admin=False)


@users_app.command("disable")
def disable_cmd(address: Address) -> None:
    """Disable an account: its sessions end at once and it cannot sign in (its data stays)."""
    _set(address, status="disabled")


@users_app.command("enable")
def enable_cmd(address: Address) -> None:
    """Enable a disabled account again."""
    _set(address, status="active")


@users_app.command("link")
def link_cmd(
    address: Address,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url", help="The site's address; default: PAPERWIRE_BASE_URL or the serve address."
        ),
    ] = None,
) -> None:
    """Print a fresh sign-in link for an account (works once, like a mailed one): the first admin's way in."""
    from paperwire.accounts.signin import SignIn
    from paperwire.cli import settings

    s = settings()
    store = _store()
    try:
        user = _user(store, address)
        if user.status == "disabled":
            err.print(f"[red]{escape(user.email)} is disabled[/red]: `paperwire users enable` it first")
            raise typer.Exit(2)
        base = base_url or s.base_url or f"http://{s.host}:{s.port}"
        print(SignIn(s, store).link_for(user.email, base))
    finally:
        store.close()
