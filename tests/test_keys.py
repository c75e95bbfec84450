"""The secret key: generated once into the home and kept, never printed, never weak on a reachable server."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from paperwire.config import Settings
from paperwire.errors import ConfigError
from paperwire.keys import KEY_FILE, check_serving_key, is_loopback, secret_key, weakness

STRONG = "k3J9-xq7PzL0vR2mN8tY5wB1cD4eF6gH"


def test_an_unset_key_is_generated_once_kept_and_private(tmp_path: Path) -> None:
    s = Settings(home=tmp_path / "home", load_sample=False)
    first = secret_key(s)
    assert len(first) >= 60 and weakness(first) is None
    assert secret_key(s) == first == secret_key(Settings(home=tmp_path / "home", load_sample=False))
    mode = stat.S_IMODE((tmp_path / "home" / KEY_FILE).stat().st_mode)
    assert mode == 0o600
    assert secret_key(Settings(home=tmp_path / "other", load_sample=False)) != first


def test_a_set_key_wins_and_is_never_printed(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, load_sample=False, secret_key=SecretStr(STRONG))
    assert secret_key(s) == STRONG and not (tmp_path / KEY_FILE).exists()
    assert STRONG not in repr(s) and STRONG not in str(s.model_dump())
    env = {**os.environ, "PAPERWIRE_HOME": str(tmp_path), "PAPERWIRE_SECRET_KEY": STRONG}
    shown = subprocess.run(
        [sys.executable, "-m", "paperwire", "settings"], env=env, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0 and "PAPERWIRE_SECRET_KEY" in shown.stdout and STRONG not in shown.stdout


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("changeme", "placeholder"),
        ("short-key", "9 characters"),
        ("ab" * 20, "too few characters"),
        (STRONG, None),
    ],
)
def test_weakness(key: str, why: str | None) -> None:
    got = weakness(key)
    assert (got is None) if why is None else (got is not None and why in got)


def test_a_weak_key_is_refused_only_where_others_can_reach(tmp_path: Path) -> None:
    weak = SecretStr("changeme")
    for host in ("127.0.0.1", "localhost", "::1", "[::1]"):
        assert is_loopback(host)
        check_serving_key(Settings(home=tmp_path, load_sample=False, secret_key=weak, host=host))
    for host in ("0.0.0.0", "::", "192.0.2.10", "papers.example.org"):
        assert not is_loopback(host)
        with pytest.raises(ConfigError, match="too weak to serve"):
            check_serving_key(Settings(home=tmp_path, load_sample=False, secret_key=weak, host=host))
    check_serving_key(Settings(home=tmp_path, load_sample=False, host="0.0.0.0"))  # unset: generated, strong
    check_serving_key(
        Settings(home=tmp_path, load_sample=False, secret_key=SecretStr(STRONG), host="0.0.0.0")
    )


def test_serve_refuses_a_weak_key_before_listening(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PAPERWIRE_HOME": str(tmp_path),
        "PAPERWIRE_LOAD_SAMPLE": "0",
        "PAPERWIRE_SECRET_KEY": "secret",
    }
    r = subprocess.run(
        [sys.executable, "-m", "paperwire", "serve", "--host", "0.0.0.0", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "too weak to serve on 0.0.0.0" in r.stderr and "Traceback" not in r.stderr


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from paperwire.config import Settings; "
        "from paperwire.keys import secret_key; "
        "print(secret_key(Settings(home=Path(sys.argv[1]), load_sample=False)))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    keys = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert len(keys) == 1 and weakness(keys.pop()) is None
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]  # no temporary files left behind


def test_a_blank_key_is_unset_and_a_broken_key_file_is_one_clear_error(tmp_path: Path) -> None:
    blank = Settings(home=tmp_path / "a", load_sample=False, secret_key=SecretStr("  "))
    assert blank.secret_key is None and weakness(secret_key(blank)) is None
    home = tmp_path / "b"
    home.mkdir()
    (home / KEY_FILE).write_bytes(b"\xff\xfe not ascii")
    with pytest.raises(ConfigError, match="cannot read the secret key"):
        secret_key(Settings(home=home, load_sample=False))
    (home / KEY_FILE).write_text("short\n")
    with pytest.raises(ConfigError, match=r"the key in .*secret_key is too weak"):
        check_serving_key(Settings(home=home, load_sample=False, host="0.0.0.0"))
