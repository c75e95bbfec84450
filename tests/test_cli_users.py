"""`paperwire users` in a real process over a real store: invite, list, admin, disable, a sign-in link."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from paperwire.accounts.signin import SignIn
from paperwire.accounts.tokens import digest
from paperwire.config import Settings
from paperwire.errors import SignInError
from paperwire.store import open_store
from tests.test_cli import Home, fresh, run  # noqa: F401  (fresh: the fixture)


def _settings(home: Home) -> Settings:
    return Settings(home=home.path, database_url=home.database_url, load_sample=False)


def test_invite_list_admin_disable_and_link(fresh: Home) -> None:  # noqa: F811
    r = run(fresh, "users", "invite", "Boss@Example.org", "--admin")
    assert r.returncode == 0, r.stderr
    assert "boss@example.org: invited (admin)" in r.stdout
    assert run(fresh, "users", "invite", "bad address").returncode != 0
    r = run(fresh, "users", "list", "--json")
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(u["email"], u["status"], u["admin"]) for u in rows] == [("boss@example.org", "invited", True)]

    # the operator's link signs the invited admin in, once (no mail needed for the first admin)
    r = run(fresh, "users", "link", "boss@example.org", "--base-url", "https://papers.example.org")
    assert r.returncode == 0, r.stderr
    link = r.stdout.strip()
    assert link.startswith("https://papers.example.org/sign-in/confirm?token=")
    token = parse_qs(urlsplit(link).query)["token"][0]
    settings = _settings(fresh)
    store = open_store(settings)
    try:
        signin = SignIn(settings, store)
        user, session = signin.confirm(token)
        assert user.email == "boss@example.org" and store.get_user(user.id).status == "active"  # type: ignore[union-attr]
        try:
            signin.confirm(token)
            raise AssertionError("a link works once")
        except SignInError:
            pass
        assert signin.user_of(session) is not None

        # disabling ends the sessions at once; enabling does not bring them back
        assert run(fresh, "users", "disable", "boss@example.org").returncode == 0
        assert signin.user_of(session) is None
        assert run(fresh, "users", "link", "boss@example.org").returncode == 2
        assert run(fresh, "users", "enable", "boss@example.org").returncode == 0
        assert signin.user_of(session) is None
        assert run(fresh, "users", "revoke-admin", "boss@example.org").returncode == 0
        assert not store.user_by_email("boss@example.org").is_admin  # type: ignore[union-attr]
        assert run(fresh, "users", "grant-admin", "nobody@example.org").returncode == 3
    finally:
        store.close()


def test_sign_in_nonces_are_kept_hashed_and_expire(fresh: Home) -> None:  # noqa: F811
    settings = _settings(fresh)
    store = open_store(settings)
    try:
        store.add_user("a@example.org", "active")
        signin = SignIn(settings, store)
        link = signin.link_for("a@example.org", "http://localhost")
        token = parse_qs(urlsplit(link).query)["token"][0]
        nonce_hash, address = signin.tokens.read(token)
        assert address == "a@example.org" and len(nonce_hash) == 64
        # a nonce is spent once; an expired one never
        later = datetime.now(UTC) + timedelta(minutes=settings.sign_in_link_minutes + 1)
        assert store.use_sign_in_nonce(nonce_hash, later) is None
        assert store.use_sign_in_nonce(nonce_hash, datetime.now(UTC)) == "a@example.org"
        assert store.use_sign_in_nonce(nonce_hash, datetime.now(UTC)) is None
        assert store.use_sign_in_nonce(digest("never issued"), datetime.now(UTC)) is None
    finally:
        store.close()
