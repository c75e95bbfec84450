"""A real `paperwire` server process on 127.0.0.1: for the end-to-end tests and benchmarks/web_load.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx


class ServerFailed(RuntimeError):
    """The server process exited, or did not answer in time."""


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(
    home: Path,
    *,
    args: tuple[str, ...] = ("serve",),
    database_url: str | None = None,
    env: Mapping[str, str | None] | None = None,
    timeout: float = 120.0,
    log_name: str = "serve.log",
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``python -m paperwire ARGS`` over ``home`` until /api/status answers; yields (base URL, process).

    ``database_url``: the database it serves (PAPERWIRE_DATABASE_URL; None: whatever the environment
    names, by default the home's own SQLite file). ``env`` adds settings (a value of None removes the
    variable). Output goes to ``home/log_name``.
    """
    port = free_port()
    full = {
        **os.environ,
        "PAPERWIRE_HOME": str(home),
        "PAPERWIRE_HOST": "127.0.0.1",
        "PAPERWIRE_PORT": str(port),
    }
    if database_url:
        full["PAPERWIRE_DATABASE_URL"] = database_url
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    log_path = home / log_name
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "paperwire", *args], env=full, stdout=log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            started = time.time()
            while True:
                try:
                    httpx.get(f"{base}/api/status", timeout=2).raise_for_status()
                    break
                except httpx.HTTPError:
                    if proc.poll() is not None:
                        raise ServerFailed(f"the server exited:\n{log_path.read_text()}") from None
                    if time.time() - started > timeout:
                        raise ServerFailed(
                            f"the server did not come up in {timeout:.0f} s; see {log_path}"
                        ) from None
                    time.sleep(0.5)
            yield base, proc
        finally:
            proc.terminate()
            proc.wait(timeout=30)
