"""Schemathesis fuzzes the JSON API from its own OpenAPI schema: whatever it sends, never a 5xx (W8)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from paperwire.config import Settings
from paperwire.web.app import create_app
from tests.conftest import database
from tests.embedders import HashEmbedder
from tests.web.conftest import HOSTILE, fill

HOME = Path(tempfile.mkdtemp(prefix="paperwire-fuzz-"))


def make_app(database_url: str | None) -> FastAPI:
    return create_app(
        # schemathesis's client asks for Host: testserver
        Settings(
            home=HOME,
            database_url=database_url,
            load_sample=False,
            rate_limit_per_minute=0,
            allowed_hosts="testserver",
        ),
        embedder=HashEmbedder(),
        background_embed=False,
    )


# library files posted as themselves (POST /api/recommend): text, as the plain-text serializer sends it
schemathesis.serializer.alias("application/x-bibtex", "text/plain")
schemathesis.serializer.alias("application/vnd.citationstyles.csl+json", "text/plain")

# The schema is read at collection time, without running an app (from_asgi would run its lifespan, which opens
# a store); the calls go to the fixture's app, over the module's own database (made only if the tests run).
schema = schemathesis.openapi.from_dict(make_app(None).openapi())


@pytest.fixture(scope="module")
def app() -> Iterator[FastAPI]:
    try:
        with database() as url:
            fill(HOME, HOSTILE, url)
            served = make_app(url)
            with TestClient(served):  # the lifespan opens the store; schemathesis's own client calls the app
                yield served
    finally:
        shutil.rmtree(HOME, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
def test_api_never_answers_5xx(case: Any, app: FastAPI) -> None:
    response = case.call(app=app)
    assert response.status_code < 500, (case.path, case.query, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert body.get("error") or body.get("detail"), body
