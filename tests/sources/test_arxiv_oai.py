"""OAI-PMH parsing and harvesting against recorded arXiv responses (docs/reliability.md H3, H4)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from paperwire.config import Settings
from paperwire.errors import QueryError, SourceError, UnsafeXMLError
from paperwire.sources.arxiv_oai import (
    PAGE_ATTEMPTS,
    OaiError,
    OaiPage,
    harvest,
    oai_date,
    parse_list_records,
    split_author_list,
)
from paperwire.sources.http import PoliteClient, reset_pacing

OAI = Path(__file__).resolve().parents[1] / "fixtures" / "arxiv" / "oai"
OAI_DC_PAGE = OAI / "ListRecords_oai_dc_set-cs_from-2024-01-25_with_resumptionToken.xml"
HEP_EX = OAI / "functional__arxiv__fixtures__http_server__records__arxiv-physics-hep-ex.xml"
SINGLE = OAI / "functional__arxiv__fixtures__http_server__records__arxiv-single.xml"
MANY = OAI / "unit__responses__arxiv__sample_arxiv_record.xml"
THREE_DOIS = OAI / "unit__responses__arxiv__sample_arxiv_record0.xml"

TOKEN = "6960524|1001"
TOKEN_ELEMENT = re.compile(rb"<resumptionToken[^>]*>[^<]*</resumptionToken>")
RECORDS = re.compile(rb"<record>.*</record>\s*", re.DOTALL)

# Hand-written in arXiv's documented arXivRaw layout (no recorded arXivRaw response was available); the values
# are those of arXiv's first new-style paper.
ARXIV_RAW = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<responseDate>2024-02-01T10:00:00Z</responseDate>
<request verb="ListRecords" metadataPrefix="arXivRaw">https://oaipmh.arxiv.org/oai</request>
<ListRecords>
<record><header><identifier>oai:arXiv.org:0704.0001</identifier><datestamp>2008-11-13</datestamp>
<setSpec>physics:hep-ph</setSpec></header>
<metadata><arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/">
<id>0704.0001</id><submitter>Pavel Nadolsky</submitter>
<version version="v1"><date>Mon, 2 Apr 2007 19:18:42 GMT</date><size>424kb</size></version>
<version version="v2"><date>Tue, 24 Jul 2007 20:10:27 GMT</date><size>424kb</size></version>
<title>Calculation of prompt diphoton production cross sections at Tevatron and
  LHC energies</title>
<authors>C. Bal\\'azs, E. L. Berger, P. M. Nadolsky (Argonne, SMU), C.-P. Yuan</authors>
<categories>hep-ph</categories><comments>37 pages, 15 figures; published version</comments>
<journal-ref>Phys.Rev.D76:013009,2007</journal-ref><doi>10.1103/PhysRevD.76.013009</doi>
<abstract>  A fully differential calculation in perturbative quantum chromodynamics is
presented.</abstract>
</arXivRaw></metadata></record>
<record><header status="deleted"><identifier>oai:arXiv.org:0704.0002</identifier>
<datestamp>2024-01-01</datestamp></header></record>
</ListRecords>
</OAI-PMH>"""


def oai_error(code: str, message: str = "") -> bytes:
    return (
        '<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        "<responseDate>2024-02-01T10:00:00Z</responseDate>"
        '<request verb="ListRecords">https://oaipmh.arxiv.org/oai</request>'
        f'<error code="{code}">{message}</error></OAI-PMH>'
    ).encode()


def last_page(body: bytes, cursor: int = 5, size: int = 10) -> bytes:
    """The recorded page turned into the final page of a list: an empty resumptionToken (as OAI-PMH does)."""
    replacement = f'<resumptionToken cursor="{cursor}" completeListSize="{size}"></resumptionToken>'.encode()
    return TOKEN_ELEMENT.sub(replacement, body)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def _fresh_pacing() -> Iterator[None]:
    reset_pacing()
    yield
    reset_pacing()


def make_settings(request_interval: float = 0.0) -> Settings:
    return Settings(
        request_interval=request_interval,
        http_max_retries=2,
        http_backoff_cap=10.0,
        # recorded arXiv answers served without arXiv's 3 s pacing: a host that is not arXiv's own
        oai_endpoint="https://oaipmh.arxiv-replay.test/oai",
        api_endpoint="https://export.arxiv-replay.test/api/query",
        contact_email="tests@example.org",
    )


class Server:
    """Serves one answer per request from a script keyed on the resumptionToken, and records every request."""

    def __init__(self, script: dict[str | None, list[httpx.Response | bytes]]) -> None:
        self.script = script
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []
        self.fake = FakeTime()

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(self.fake.now)
        answers = self.script[request.url.params.get("resumptionToken")]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return answer if isinstance(answer, httpx.Response) else httpx.Response(200, content=answer)

    def client(self, settings: Settings) -> PoliteClient:
        return PoliteClient(
            settings,
            transport=httpx.MockTransport(self.handler),
            clock=self.fake.clock,
            sleep=self.fake.sleep,
        )

    def tokens(self) -> list[str | None]:
        return [r.url.params.get("resumptionToken") for r in self.requests]


def run_harvest(
    server: Server,
    settings: Settings | None = None,
    resume_token: str | None = None,
    on_page: Callable[[OaiPage, str | None], None] | None = None,
) -> str:
    settings = settings or make_settings()
    with server.client(settings) as client:
        return harvest(
            client,
            settings,
            set_spec="cs",
            from_date="2024-01-25",
            metadata_prefix="oai_dc",
            resume_token=resume_token,
            on_page=on_page,
        )


# ---- parsing ---------------------------------------------------------------------------------------------


def test_parse_oai_dc_page() -> None:
    page = parse_list_records(OAI_DC_PAGE.read_bytes())
    assert page.response_date == "2024-01-27T17:53:42Z"
    assert page.resumption_token == TOKEN
    assert page.complete_list_size == 1162
    assert page.cursor == 0
    assert [p.id for p in page.papers] == [
        "1303.2033",
        "2401.14034",
        "2401.14036",
        "2401.14038",
        "2401.14040",
    ]
    first = page.papers[0]
    assert first.title == "Extended Fourier analysis of signals"
    assert first.authors == ("Vilnis Liepins",)
    assert first.comment == "32 pages, 9 figures"
    assert first.abstract.startswith("This summary of the doctoral thesis")
    assert not first.abstract.endswith(" ")
    # Two dc:date elements: submitted 2013, revised 2024.
    assert (first.published, first.updated, first.version) == (date(2013, 3, 8), date(2024, 1, 23), 2)
    assert first.categories == ()  # oai_dc only has prose subjects
    assert first.sources == ("arxiv-oai",)
    second = page.papers[1]
    assert second.authors[:2] == ("Chuankun Li", "Shuai Li")
    assert (second.version, second.updated, second.comment) == (1, None, None)


def test_parse_arxiv_format_list() -> None:
    page = parse_list_records(HEP_EX.read_bytes())
    assert page.response_date == "2017-12-14T13:00:41Z"
    assert page.resumption_token is None
    assert len(page.papers) == 3
    paper = page.papers[0]
    assert paper.id == "1706.05371"
    # Hard line break and indentation in the title are collapsed.
    assert (
        paper.title
        == "Evaluation of Silicon Photomultipliers for use as Photosensors in Liquid Xenon Detectors"
    )
    assert paper.authors[0] == "Tyler Anderson"
    assert len(paper.authors) == 13
    assert paper.categories == ("physics.ins-det", "hep-ex")
    assert paper.primary_category == "physics.ins-det"
    assert (paper.published, paper.updated) == (date(2017, 6, 16), date(2017, 12, 12))
    assert paper.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert paper.comment == "10 pages, 9 figures"
    assert "\n" not in paper.abstract
    assert paper.version == 1  # the arXiv format does not carry the version


def test_parse_get_record_with_journal_ref_and_doi() -> None:
    page = parse_list_records(SINGLE.read_bytes())
    (paper,) = page.papers
    assert paper.id == "1401.2122"
    assert paper.authors == ("A. Sergyeyev",)
    assert paper.categories[0] == "math.AP"
    assert paper.journal_ref == "Lett. Math. Phys. 108 (2018), no. 2, 359-376"
    assert paper.doi == "10.1007/s11005-017-1013-4"
    assert paper.comment is not None and "(v5)" in paper.comment


def test_record_without_namespace_declaration_and_author_without_forenames() -> None:
    page = parse_list_records(MANY.read_bytes())
    assert len(page.papers) == 12
    first = page.papers[0]  # its <arXiv> has no xmlns, so it sits in the OAI namespace
    assert first.id == "1601.03238"
    assert first.authors[0] == "Planck Collaboration"
    assert first.authors[1] == "Jieci Wang"
    assert first.categories == ("quant-ph", "gr-qc", "hep-th")
    assert all(p.title and p.abstract for p in page.papers)


def test_several_dois_keep_the_first() -> None:
    (paper,) = parse_list_records(THREE_DOIS.read_bytes()).papers
    assert paper.doi == "10.1103/PhysRevD.93.016005"
    assert paper.journal_ref == "Phys.Rev. D93 (2015) 016005"


def test_parse_arxiv_raw_versions_and_deletions() -> None:
    page = parse_list_records(ARXIV_RAW)
    (paper,) = page.papers
    assert paper.id == "0704.0001"
    assert paper.version == 2
    assert (paper.published, paper.updated) == (date(2007, 4, 2), date(2007, 7, 24))
    assert paper.authors == ("C. Bal\\'azs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan")
    assert (
        paper.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert paper.doi == "10.1103/PhysRevD.76.013009"
    assert page.deleted == ["0704.0002"]
    assert page.record_count == 2


def test_split_author_list() -> None:
    assert split_author_list("A. One, B. Two (MIT, Caltech) and C. Three") == ("A. One", "B. Two", "C. Three")
    # "and" inside a word is not a separator
    assert split_author_list("Alexandra Band") == ("Alexandra Band",)
    assert split_author_list("") == ()


def test_no_records_match_is_an_empty_result() -> None:
    page = parse_list_records(oai_error("noRecordsMatch", "No records match"))
    assert page.papers == []
    assert page.resumption_token is None
    assert page.response_date == "2024-02-01T10:00:00Z"


def test_other_oai_errors_raise() -> None:
    with pytest.raises(OaiError, match="badResumptionToken") as info:
        parse_list_records(oai_error("badResumptionToken", "expired"))
    assert info.value.code == "badResumptionToken"
    assert isinstance(info.value, SourceError)


def test_not_oai_at_all_raises() -> None:
    with pytest.raises(SourceError, match="not an OAI-PMH"):
        parse_list_records(b"<html><body>maintenance</body></html>")


def test_unusable_record_is_skipped_not_fatal() -> None:
    body = OAI_DC_PAGE.read_bytes().replace(
        b"<dc:title>Extended Fourier analysis of signals</dc:title>", b"", 1
    )
    page = parse_list_records(body)
    assert page.skipped == ["1303.2033"]
    assert len(page.papers) == 4


def test_oai_date() -> None:
    assert oai_date("2024-01-27T17:53:42Z") == "2024-01-27"
    assert oai_date(date(2024, 1, 2)) == "2024-01-02"
    with pytest.raises(QueryError):
        oai_date("yesterday")


# ---- harvesting ------------------------------------------------------------------------------------------


def test_two_page_harvest_follows_the_token_and_checkpoints_each_page() -> None:
    body = OAI_DC_PAGE.read_bytes()
    server = Server({None: [body], TOKEN: [last_page(body)]})
    calls: list[tuple[int, str | None, int]] = []

    def on_page(page: OaiPage, next_token: str | None) -> None:
        # The request count at callback time proves the page is committed before the next is fetched.
        calls.append((len(page.papers), next_token, len(server.requests)))

    result = run_harvest(server, on_page=on_page)
    assert result == "2024-01-27T17:53:42Z"
    assert calls == [(5, TOKEN, 1), (5, None, 2)]
    first, second = server.requests
    assert dict(first.url.params) == {
        "verb": "ListRecords",
        "metadataPrefix": "oai_dc",
        "set": "cs",
        "from": "2024-01-25",
    }
    # resumptionToken is exclusive: the follow-up request carries nothing else.
    assert dict(second.url.params) == {"verb": "ListRecords", "resumptionToken": TOKEN}


def test_killed_harvest_resumes_from_the_saved_token() -> None:
    body = OAI_DC_PAGE.read_bytes()
    saved: list[str | None] = []

    class Killed(Exception):
        pass

    def commit_then_die(page: OaiPage, next_token: str | None) -> None:
        saved.append(next_token)
        raise Killed

    with pytest.raises(Killed):
        run_harvest(Server({None: [body], TOKEN: [last_page(body)]}), on_page=commit_then_die)
    assert saved == [TOKEN]

    server = Server({TOKEN: [last_page(body)]})
    pages: list[OaiPage] = []
    run_harvest(server, resume_token=saved[-1], on_page=lambda page, token: pages.append(page))
    assert server.tokens() == [TOKEN]
    assert len(pages) == 1


def test_failed_page_is_retried_with_the_same_token_after_retry_after() -> None:
    body = OAI_DC_PAGE.read_bytes()
    server = Server(
        {None: [body], TOKEN: [httpx.Response(503, headers={"Retry-After": "1"}), last_page(body)]}
    )
    next_tokens: list[str | None] = []
    run_harvest(
        server, settings=make_settings(request_interval=3.0), on_page=lambda p, t: next_tokens.append(t)
    )
    assert server.tokens() == [None, TOKEN, TOKEN]
    assert 1.0 in server.fake.sleeps
    # Retry-After was honoured and the 3 s politeness interval still held between every pair of requests.
    gaps = [b - a for a, b in zip(server.times, server.times[1:], strict=False)]
    assert all(gap >= 3.0 for gap in gaps)
    assert next_tokens == [TOKEN, None]


def test_garbled_page_is_fetched_again() -> None:
    body = OAI_DC_PAGE.read_bytes()
    server = Server({None: [body], TOKEN: [last_page(body)[:500], last_page(body)]})
    pages: list[OaiPage] = []
    run_harvest(server, on_page=lambda page, token: pages.append(page))
    assert server.tokens() == [None, TOKEN, TOKEN]
    assert len(pages) == 2


def test_empty_page_in_the_middle_of_a_result_set_is_not_trusted() -> None:
    body = OAI_DC_PAGE.read_bytes()
    # The server claims 1162 records but page two comes back empty and without a token.
    empty = RECORDS.sub(b"", last_page(body, cursor=5, size=1162))
    assert b"<record>" not in empty
    server = Server({None: [body], TOKEN: [empty]})
    committed: list[str | None] = []
    with pytest.raises(SourceError, match="empty page"):
        run_harvest(server, on_page=lambda page, token: committed.append(token))
    assert server.tokens() == [None] + [TOKEN] * PAGE_ATTEMPTS
    assert committed == [TOKEN]  # the checkpoint still points at the untrusted page


def test_empty_page_that_still_has_a_token_is_not_trusted() -> None:
    empty_with_token = RECORDS.sub(b"", OAI_DC_PAGE.read_bytes())
    server = Server({None: [empty_with_token]})
    committed: list[OaiPage] = []
    with pytest.raises(SourceError, match="resumptionToken"):
        run_harvest(server, on_page=lambda page, token: committed.append(page))
    assert len(server.requests) == PAGE_ATTEMPTS
    assert committed == []


def test_empty_page_is_retried_and_a_good_answer_accepted() -> None:
    body = OAI_DC_PAGE.read_bytes()
    empty = RECORDS.sub(b"", last_page(body, cursor=5, size=1162))
    server = Server({None: [body], TOKEN: [empty, last_page(body)]})
    pages: list[OaiPage] = []
    run_harvest(server, on_page=lambda page, token: pages.append(page))
    assert [len(p.papers) for p in pages] == [5, 5]
    assert server.tokens() == [None, TOKEN, TOKEN]


def test_no_records_match_ends_the_harvest_quietly() -> None:
    server = Server({None: [oai_error("noRecordsMatch")]})
    pages: list[tuple[OaiPage, str | None]] = []
    result = run_harvest(server, on_page=lambda page, token: pages.append((page, token)))
    assert result == "2024-02-01T10:00:00Z"
    assert len(pages) == 1 and pages[0][0].papers == [] and pages[0][1] is None
    assert len(server.requests) == 1


def test_no_records_match_after_a_token_is_not_trusted() -> None:
    body = OAI_DC_PAGE.read_bytes()
    server = Server({None: [body], TOKEN: [oai_error("noRecordsMatch")]})
    with pytest.raises(SourceError):
        run_harvest(server)
    assert server.tokens().count(TOKEN) == PAGE_ATTEMPTS


def test_oai_error_is_not_retried() -> None:
    body = OAI_DC_PAGE.read_bytes()
    server = Server({None: [body], TOKEN: [oai_error("badResumptionToken", "expired")]})
    with pytest.raises(OaiError):
        run_harvest(server)
    assert server.tokens() == [None, TOKEN]


def test_unsafe_xml_is_not_retried() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><OAI-PMH>&a;</OAI-PMH>'
    server = Server({None: [bomb]})
    with pytest.raises(UnsafeXMLError):
        run_harvest(server)
    assert len(server.requests) == 1


def test_a_token_that_repeats_itself_stops_the_harvest() -> None:
    body = OAI_DC_PAGE.read_bytes()
    server = Server({None: [body], TOKEN: [body]})
    with pytest.raises(SourceError, match="same resumptionToken"):
        run_harvest(server)
    assert len(server.requests) == 2


def test_from_takes_the_day_of_a_response_date_and_until_is_sent() -> None:
    server = Server({None: [HEP_EX.read_bytes()]})
    settings = make_settings()
    with server.client(settings) as client:
        harvest(client, settings, "physics:hep-ex", "2017-12-14T13:00:41Z", until=date(2017, 12, 15))
    params = dict(server.requests[0].url.params)
    assert params["from"] == "2017-12-14"
    assert params["until"] == "2017-12-15"
    assert params["metadataPrefix"] == "arXiv"
    assert params["set"] == "physics:hep-ex"


def test_unknown_metadata_prefix_is_refused_before_any_request() -> None:
    server = Server({None: [b""]})
    settings = make_settings()
    with server.client(settings) as client, pytest.raises(QueryError):
        harvest(client, settings, "cs", "2024-01-01", metadata_prefix="marc21")
    assert server.requests == []
