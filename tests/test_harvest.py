"""Harvest runs into a real store: pages committed with their checkpoint, resume after failure, incremental from."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from paperwire.config import Settings
from paperwire.errors import UpstreamHTTPError
from paperwire.harvest import fetch_by_ids, harvest_set
from paperwire.sources.http import reset_pacing
from paperwire.store import Store

OAI = Path(__file__).parent / "fixtures" / "arxiv" / "oai"
API = Path(__file__).parent / "fixtures" / "arxiv" / "api"
PAGE1 = (OAI / "ListRecords_oai_dc_set-cs_from-2024-01-25_with_resumptionToken.xml").read_bytes()
PAGE2 = (OAI / "functional__arxiv__fixtures__http_server__records__arxiv-physics-hep-ex.xml").read_bytes()


@pytest.fixture(autouse=True)
def _pacing() -> Iterator[None]:
    reset_pacing()
    yield
    reset_pacing()


class Arxiv:
    """A stand-in for arXiv's OAI-PMH endpoint answering with recorded pages."""

    def __init__(self, fail_page2: bool = False) -> None:
        self.fail_page2 = fail_page2
        self.requests: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        self.requests.append(params)
        if "resumptionToken" in params:
            if self.fail_page2:
                return httpx.Response(500)
            return httpx.Response(200, content=PAGE2)
        return httpx.Response(200, content=PAGE1)


def test_harvest_commits_pages_resumes_and_goes_incremental(settings: Settings, store: Store) -> None:
    s = settings.model_copy(update={"http_max_retries": 0})
    arxiv = Arxiv(fail_page2=True)
    with pytest.raises(UpstreamHTTPError):
        harvest_set(store, s, "cs", from_date="2024-01-25", transport=httpx.MockTransport(arxiv))
    assert store.count_papers() == 5  # page 1 is in, with the token to go on from
    saved = json.loads(store.get_checkpoint("oai:arXiv:cs:resume") or "{}")
    assert saved["token"] == "6960524|1001"

    arxiv.fail_page2 = False
    report = harvest_set(store, s, "cs", transport=httpx.MockTransport(arxiv))
    assert arxiv.requests[-1] == {"verb": "ListRecords", "resumptionToken": "6960524|1001"}
    assert store.count_papers() == 8 and "next harvest starts from 2024-01-27" in report
    assert store.get_checkpoint("oai:arXiv:cs:resume") is None

    harvest_set(store, s, "cs", transport=httpx.MockTransport(arxiv))
    first = arxiv.requests[-2]
    assert first["from"] == "2024-01-27" and first["set"] == "cs" and first["metadataPrefix"] == "arXiv"
    assert store.count_papers() == 8  # the same pages again change nothing


def test_first_harvest_needs_a_start(settings: Settings, store: Store) -> None:
    from paperwire.errors import PaperwireError

    with pytest.raises(PaperwireError, match="--from"):
        harvest_set(store, settings, "cs", transport=httpx.MockTransport(Arxiv()))


def test_fetch_by_ids_stores_papers_and_reports_missing(settings: Settings, store: Store) -> None:
    recorded = json.loads((API / "id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json").read_text())

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(recorded["status_code"], content=recorded["body"].encode("latin-1"))

    got = fetch_by_ids(
        store,
        settings,
        ["https://arxiv.org/abs/0808.05394", "1707.08567"],
        transport=httpx.MockTransport(handler),
    )
    assert len(got.papers) == 1 and got.missing == ["0808.05394"] and got.refused == []
    p = store.get_paper("1707.08567")
    assert p is not None and p.title and p.sources == ("arxiv-api",)


def test_a_bad_record_from_the_api_is_refused_not_reported_missing(settings: Settings, store: Store) -> None:
    recorded = json.loads((API / "id_1707.08567_s0_m100_6a1afebfc6a3.json").read_text())
    body = recorded["body"].encode("latin-1")
    start = body.index(b"<summary>") + len(b"<summary>")
    body = body[:start] + b"x" * 30_000 + body[body.index(b"</summary>") :]  # past the abstract limit

    got = fetch_by_ids(
        store,
        settings,
        ["1707.08567"],
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body)),
    )
    assert got.papers == [] and got.missing == []
    assert len(got.refused) == 1 and got.refused[0].startswith("1707.08567: abstract has 30,000 characters")
    assert store.count_papers() == 0
