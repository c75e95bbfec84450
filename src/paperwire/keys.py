"""The site's secret key: the one that signs tokens (sign-in links, unsubscribe links, CSRF).

Where ``PAPERWIRE_SECRET_KEY`` is unset, a strong key is generated into the home directory on first use (a
file only its owner may read) and kept there, so links stay valid across restarts. A key that is set but weak
(short, or a well-known placeholder) is refused for a server others can reach.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import secrets
from pathlib import Path

from paperwire.config import Settings
from paperwire.errors import ConfigError

log = logging.getLogger(__name__)

KEY_FILE = "secret_key"
MIN_LENGTH = 32
_PLACEHOLDERS = frozenset({"changeme", "change-me", "secret", "secret-key", "secretkey", "dev", "development",
                           "test", "password", "paperwire", "insecure", "default"})  # fmt: skip


def secret_key(settings: Settings) -> str:
    """The key in force: ``secret_key`` when set, else the one kept in (or now generated into) the home."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.home / KEY_FILE
    if path.exists():
        return _read(path)
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        # written whole under a private name, then linked into place: a reader never sees half a key, and when
        # two processes start at once the first link wins and both use its key
        tmp = settings.home / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_urlsafe(48) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot keep a secret key in {path}: {exc.strerror or exc}") from None
    return _read(path)


def _read(path: Path) -> str:
    try:
        key = path.read_text(encoding="ascii").strip()
        mode = path.stat().st_mode & 0o077
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"cannot read the secret key in {path}: {exc}") from None
    if not key:
        raise ConfigError(f"{path} is empty: delete it to have a new key made, or set PAPERWIRE_SECRET_KEY")
    if mode:
        log.warning("%s can be read by others (mode %o); chmod 600 it", path, path.stat().st_mode & 0o777)
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
    """Refuse to serve others (a non-loopback address) with a weak key; generate one if unset."""
    key = secret_key(settings)
    why = weakness(key)
    if why and not is_loopback(settings.host):
        where = (
            "PAPERWIRE_SECRET_KEY"
            if settings.secret_key is not None
            else f"the key in {settings.home / KEY_FILE}"
        )
        raise ConfigError(
            f"{where} is too weak to serve on {settings.host}: {why}. Set PAPERWIRE_SECRET_KEY to a long random "
            'one (python -c "import secrets; print(secrets.token_urlsafe(48))"), or unset it and delete '
            f"{settings.home / KEY_FILE} to have one generated"
        )
