"""Who may sign up: the operator's choice (settings.signup): invited addresses only, allowed domains, or anyone."""

from __future__ import annotations

from paperwire.config import Settings
from paperwire.models import User


def domains(settings: Settings) -> list[str]:
    """The configured sign-up domains, lower case."""
    return [d.strip().lower().lstrip("@.") for d in settings.signup_domains.split(",") if d.strip()]


def may_sign_in(settings: Settings, email: str, user: User | None) -> bool:
    """Whether a sign-in link may be sent to ``email``: a known account that is not disabled, or a new
    address the sign-up policy admits."""
    if user is not None:
        return user.status != "disabled"
    if settings.signup == "open":
        return True
    if settings.signup == "domains":
        host = email.rpartition("@")[2]
        return any(host == d or host.endswith("." + d) for d in domains(settings))
    return False
