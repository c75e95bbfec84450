"""The site's secret key: the one that signs tokens (sign-in links, unsubscribe links, CSRF).

Where ``PAPERWIRE_SECRET_KEY`` is unset, a strong key is generated into the home directory on first use (a
file only its owner may read) and kept there, so links stay valid across restarts. A key that is set but weak
(short, or a well-known placeholder) is refused for a server others can reach.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

from paperwire.config import Settings
from paperwire.errors import ConfigError

KEY_FILE = "secret_key"
MIN_LENGTH = 32
_PLACEHOLDERS = frozenset({"changeme", "change-me", "secret", "secret-key", "secretkey", "dev", "development",
                           "test", "password", "paperwire", "insecure", "default"})  # fmt: skip


def secret_key(settings: Settings) -> str:
    """The key in force: ``secret_key`` when set, else the one kept in (or now generated into) the home."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.home / KEY_FILE
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    settings.home.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:  # O_EXCL: when two processes start at once, the first key written is the one both use
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return key


def _read(path: Path) -> str:
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise ConfigError(f"{path} is empty: delete it to have a new key made, or set PAPERWIRE_SECRET_KEY")
    return key


def weakness(key: str) -> str | None:
    """Why ``key`` is too weak to guard a public server, or None."""
    if key.strip().lower() in _PLACEHOLDERS:
        return "it is a well-known placeholder"
    if len(key) < MIN_LENGTH:
        return f"it has {len(key)} characters (at least {MIN_LENGTH})"
    if len(set(key)) < 8:
        return "it repeats too few characters"
    return None


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach an address ``host`` listens on."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_serving_key(settings: Settings) -> None:
    """Refuse to serve others (a non-loopback address) with a weak configured key; generate one if unset."""
    key = secret_key(settings)
    why = weakness(key)
    if why and not is_loopback(settings.host):
        raise ConfigError(
            f"PAPERWIRE_SECRET_KEY is too weak to serve on {settings.host}: {why}. Set a long random one "
            '(python -c "import secrets; print(secrets.token_urlsafe(48))"), or unset it to have one '
            f"generated into {settings.home / KEY_FILE}"
        )
