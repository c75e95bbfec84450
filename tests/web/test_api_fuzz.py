"""Schemathesis fuzzes the JSON API from its own OpenAPI schema: whatever it sends, never a 5xx (W8)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from paperwire.config import Settings
from paperwire.web.app import create_app
from tests.embedders import HashEmbedder
from tests.web.conftest import HOSTILE, fill

# The schema is read at collection time (create_app touches no file until its lifespan starts); the fixture
# below fills the home and runs the lifespan around the calls.
HOME = Path(tempfile.mkdtemp(prefix="paperwire-fuzz-"))
APP = create_app(
    # schemathesis's client asks for Host: testserver
    Settings(home=HOME, load_sample=False, rate_limit_per_minute=0, allowed_hosts="testserver"),
    embedder=HashEmbedder(),
    background_embed=False,
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def started() -> Iterator[None]:
    fill(HOME, HOSTILE)
    try:
        with TestClient(APP):  # the lifespan opens the store; schemathesis's own client calls the same app
            yield
    finally:
        shutil.rmtree(HOME, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
def test_api_never_answers_5xx(case: Any) -> None:
    response = case.call()
    assert response.status_code < 500, (case.path, case.query, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert body.get("error") or body.get("detail"), body
