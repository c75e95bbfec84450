"""arXiv API lookups against recorded export.arxiv.org exchanges."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from paperwire.config import Settings
from paperwire.errors import NotFoundError, QueryError, UpstreamHTTPError
from paperwire.sources.arxiv_api import FetchResult, fetch_papers, parse_atom
from paperwire.sources.http import PoliteClient, reset_pacing

API = Path(__file__).resolve().parents[1] / "fixtures" / "arxiv" / "api"
EMPTY_FEED = "id_0000.0000_s0_m100_8b51d9633a68.json"


def recorded(name: str) -> tuple[int, bytes]:
    """(status, body bytes) of a recorded exchange; bodies were stored decoded as Latin-1, so re-encode so."""
    exchange = json.loads((API / name).read_text(encoding="utf-8"))
    return exchange["status_code"], exchange["body"].encode("latin-1")


def recordings() -> dict[str, tuple[int, bytes]]:
    """Every recorded exchange keyed by the id_list it asked for."""
    table = {}
    for path in API.glob("*.json"):
        url = httpx.URL(json.loads(path.read_text(encoding="utf-8"))["url"])
        table[url.params["id_list"]] = recorded(path.name)
    return table


class Recorder:
    """Answers from the recordings by id_list (unknown lists get the recorded empty feed)."""

    def __init__(self) -> None:
        self.table = recordings()
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body = self.table.get(request.url.params["id_list"], recorded(EMPTY_FEED))
        return httpx.Response(status, content=body, headers={"Content-Type": "application/atom+xml"})

    def id_lists(self) -> list[str]:
        return [r.url.params["id_list"] for r in self.requests]


@pytest.fixture(autouse=True)
def _fresh_pacing() -> Iterator[None]:
    reset_pacing()
    yield
    reset_pacing()


@pytest.fixture
def settings() -> Settings:
    return Settings(
        request_interval=0.0,
        http_max_retries=2,
        # recorded arXiv answers served without arXiv's 3 s pacing: a host that is not arXiv's own
        api_endpoint="https://export.arxiv-replay.test/api/query",
        oai_endpoint="https://oaipmh.arxiv-replay.test/oai",
        contact_email="tests@example.org",
    )


def fetch(recorder: Recorder, settings: Settings, refs: list[str]) -> FetchResult:
    with PoliteClient(settings, transport=httpx.MockTransport(recorder.handler)) as client:
        return fetch_papers(client, settings, refs)


# ---- parsing ---------------------------------------------------------------------------------------------


def test_parse_new_style_entry() -> None:
    (paper,) = parse_atom(recorded("id_1605.08386_s0_m100_199195aa31ad.json")[1])
    assert paper.id == "1605.08386"
    assert paper.version == 1
    assert paper.title == "Heat-bath random walks with Markov bases"
    assert paper.authors == ("Caprice Stanley", "Tobias Windisch")
    assert paper.categories == ("math.CO", "math.ST")
    assert (paper.published, paper.updated) == (date(2016, 5, 26), date(2016, 5, 26))
    assert paper.comment == "20 pages, 3 figures"
    assert paper.abstract.startswith("Graphs on lattice points")
    assert paper.sources == ("arxiv-api",)


def test_parse_old_style_entry_with_journal_ref() -> None:
    (paper,) = parse_atom(recorded("id_astro-ph_0601001_s0_m100_3150dca9dc76.json")[1])
    assert paper.id == "astro-ph/0601001"
    assert paper.journal_ref == "ActaAstron.56:1-50,2006"
    assert paper.categories == ("astro-ph",)
    assert paper.abstract.startswith("We derive")  # leading blanks trimmed
    assert paper.authors[2] == "B. Scott Gaudi"  # affiliations are not part of the name


def test_parse_versioned_old_style_entry() -> None:
    (paper,) = parse_atom(recorded("id_quant-ph_0201082v1_s0_m100_86989fe779ef.json")[1])
    assert (paper.id, paper.version) == ("quant-ph/0201082", 1)
    assert paper.categories == ("quant-ph", "cs.PL")


def test_a_title_of_zero_is_kept() -> None:
    (paper,) = parse_atom(recorded("id_2104.12255v1_s0_m100_6ae69987ffe1.json")[1])
    assert paper.title == "0"
    assert paper.comment is None


def test_utf8_names_survive() -> None:
    (paper,) = parse_atom(recorded("id_1707.08567_s0_m100_6a1afebfc6a3.json")[1])
    assert "Dirk Wübben" in paper.authors
    assert len(paper.authors) == 34


def test_parse_2016_entry_with_doi_and_wrapped_title() -> None:
    (paper,) = parse_atom((API / "id_list=1111.2011v2.xml").read_bytes())
    assert (paper.id, paper.version) == ("1111.2011", 2)
    assert paper.title == (
        "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    )
    assert paper.doi == "10.1103/PhysRevB.85.115117"
    assert paper.journal_ref == "Phys. Rev. B 85, 115117 (2012)"
    assert paper.categories == ("cond-mat.str-el", "cond-mat.stat-mech")
    assert (paper.published, paper.updated) == (date(2011, 11, 8), date(2012, 4, 2))


def test_primary_category_leads_even_when_listed_later() -> None:
    feed = b"""<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
      <entry><id>http://arxiv.org/abs/2401.01234v3</id><title>T</title><summary>S</summary>
      <category term="cs.LG"/><category term="cs.CL"/><arxiv:primary_category term="cs.CL"/></entry></feed>"""
    (paper,) = parse_atom(feed)
    assert paper.categories == ("cs.CL", "cs.LG")
    assert paper.version == 3


def test_error_entry_and_empty_feed_give_no_paper() -> None:
    status, body = recorded("id_abc_s0_m100_b79c8dcf6bc3.json")
    assert status == 400
    assert b"incorrect id format" in body
    assert parse_atom(body) == []
    assert parse_atom(recorded(EMPTY_FEED)[1]) == []


# ---- fetching --------------------------------------------------------------------------------------------


def test_fetch_by_pasted_link(settings: Settings) -> None:
    recorder = Recorder()
    result = fetch(recorder, settings, ["https://arxiv.org/abs/1605.08386"])
    assert [p.id for p in result.papers] == ["1605.08386"]
    assert result.missing == []
    (request,) = recorder.requests
    assert request.url.params["max_results"] == "1"
    assert request.url.host == "export.arxiv-replay.test"  # the configured endpoint
    result.raise_for_missing()  # nothing missing: no error


def test_fetch_old_and_versioned_ids(settings: Settings) -> None:
    recorder = Recorder()
    result = fetch(recorder, settings, ["astro-ph/0601001"])
    assert [p.id for p in result.papers] == ["astro-ph/0601001"]
    result = fetch(recorder, settings, ["arXiv:quant-ph/0201082v1"])
    assert [(p.id, p.version) for p in result.papers] == [("quant-ph/0201082", 1)]
    result = fetch(recorder, settings, ["https://arxiv.org/pdf/2104.12255v1.pdf"])
    assert [(p.id, p.title) for p in result.papers] == [("2104.12255", "0")]
    assert recorder.id_lists() == ["astro-ph/0601001", "quant-ph/0201082v1", "2104.12255v1"]


def test_unknown_id_is_reported_missing(settings: Settings) -> None:
    recorder = Recorder()
    result = fetch(recorder, settings, ["0808.05394", "1707.08567"])
    assert recorder.id_lists() == ["0808.05394,1707.08567"]
    assert [p.id for p in result.papers] == ["1707.08567"]
    assert result.missing == ["0808.05394"]
    with pytest.raises(NotFoundError, match=r"0808\.05394"):
        result.raise_for_missing()


def test_malformed_id_is_refused_before_any_request(settings: Settings) -> None:
    recorder = Recorder()
    with pytest.raises(QueryError, match="abc"):
        fetch(recorder, settings, ["1605.08386", "abc"])
    assert recorder.requests == []


def test_http_400_for_a_malformed_id_is_not_retried(settings: Settings) -> None:
    recorder = Recorder()
    with (
        PoliteClient(settings, transport=httpx.MockTransport(recorder.handler)) as client,
        pytest.raises(UpstreamHTTPError) as info,
    ):
        client.get(settings.api_endpoint, {"id_list": "abc", "start": 0, "max_results": 1})
    assert info.value.status == 400
    assert len(recorder.requests) == 1


def test_ids_are_batched_by_100_and_deduplicated(settings: Settings) -> None:
    recorder = Recorder()
    refs = [f"2401.{n:05d}" for n in range(150)] + ["https://arxiv.org/abs/2401.00000"]
    result = fetch(recorder, settings, refs)
    sizes = [len(ids.split(",")) for ids in recorder.id_lists()]
    assert sizes == [100, 50]
    assert [r.url.params["max_results"] for r in recorder.requests] == ["100", "50"]
    assert len(result.missing) == 150
    assert result.papers == []
