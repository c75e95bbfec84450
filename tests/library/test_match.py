"""Matching library entries to papers: by arXiv id (fetched from recorded arXiv answers when missing), DOI
and title, against a real SQLite store and keyword index; every unmatched entry listed with its reason."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from paperwire.config import Settings
from paperwire.errors import SourceError
from paperwire.library.formats import Entry, read_library
from paperwire.library.match import (
    FETCH_FAILED,
    NO_IDENTIFIER,
    NO_TITLE_INDEX,
    NOT_FETCHED,
    TITLE_TOO_FAR,
    UNKNOWN_DOI,
    UNKNOWN_ID,
    UNREADABLE,
    MatchReport,
    fetcher,
    match_entries,
    normalize_title,
)
from paperwire.models import Paper
from paperwire.search.keyword import KeywordIndex
from paperwire.sources.http import reset_pacing
from paperwire.store import Store, open_url
from tests.conftest import make_paper

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LIBRARY = FIXTURES / "library"
API = FIXTURES / "arxiv" / "api"

PAPERS = [
    make_paper("1706.03762", title="Attention Is All You Need", authors=("Ashish Vaswani", "Noam Shazeer")),
    make_paper(
        "2103.03404", title="Attention is Not All You Need: Pure Attention Loses Rank Doubly Exponentially"
    ),
    make_paper(
        "1810.04805",
        title="BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
        doi="10.18653/v1/N19-1423",
    ),
    make_paper(
        "1512.03385", title="Deep Residual Learning for Image Recognition", doi="10.1109/CVPR.2016.90"
    ),
    make_paper("hep-th/9802150", title="Anti de Sitter Space And Holography", authors=("Edward Witten",)),
    make_paper("2503.11731", title="Industrial-Grade Sensor Simulation via Gaussian Splatting"),
    make_paper(
        "2401.00001",
        title="Schonheit und Elegance: Muller's Cafe theorem for 50% of $\\mathcal{O}(n^2)$ graphs",
    ),
    make_paper("2401.00002", title="Introduction"),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_url(f"sqlite:///{tmp_path / 'paperwire.db'}")
    s.upsert_papers(PAPERS)
    yield s
    s.close()


@pytest.fixture
def index(store: Store, tmp_path: Path) -> KeywordIndex:
    idx = KeywordIndex(tmp_path / "index")
    idx.add(store.iter_papers())
    return idx


def read(name: str) -> list[Entry]:
    path = LIBRARY / name
    return read_library(path.read_bytes(), path.name)


def outcome(report: MatchReport) -> dict[str | None, tuple[str, str]]:
    """Each entry's key (or arXiv id, or line) -> (how or reason code, paper id or reason)."""
    out: dict[str | None, tuple[str, str]] = {}
    for m in report.matched:
        out[m.entry.key or m.entry.arxiv_id or m.entry.doi] = (m.how, m.paper_id)
    for u in report.unmatched:
        out[u.entry.key or u.entry.arxiv_id or u.entry.doi or str(u.entry.line)] = (u.code, u.reason)
    return out


# ---- offline: the store and the keyword index only ------------------------------------------------------


def test_hand_kept_bibtex_matches_by_id_doi_and_title(store: Store, index: KeywordIndex) -> None:
    report = match_entries(read("arxiv.bib"), store, index)
    got = outcome(report)
    assert got["vaswani2017attention"] == ("arxiv-id", "1706.03762")
    assert got["devlin2018bert"] == ("arxiv-id", "1810.04805")  # "arXiv preprint arXiv:ID"
    assert got["witten1998"] == ("arxiv-id", "hep-th/9802150")  # old-style id, version dropped
    assert got["he2016resnet"] == ("doi", "1512.03385")
    assert got["muller2024"] == ("title", "2401.00001")  # accents, braces, case, \emph
    assert got["arxivdoi"] == ("arxiv-id", "2503.11731")  # arXiv's own DOI
    assert got["nokey2023"][0] == NO_IDENTIFIER
    assert report.counts == {
        "entries": 7,
        "matched": 6,
        "unmatched": 1,
        "fetched": 0,
        "arxiv-id": 4,
        "doi": 1,
        "title": 1,
        NO_IDENTIFIER: 1,
    }
    assert [m.entry.key for m in report.matched][:2] == [
        "vaswani2017attention",
        "devlin2018bert",
    ]  # file order
    assert report.paper_ids[0] == "1706.03762"


def test_zotero_exports_match_and_say_why_not(store: Store, index: KeywordIndex) -> None:
    csl = match_entries(read("zotero.json"), store, index)
    assert [(m.how, m.paper_id) for m in csl.matched] == [("arxiv-id", "1706.03762"), ("doi", "1810.04805")]
    reasons = {u.code: u.reason for u in csl.unmatched}
    assert set(reasons) == {TITLE_TOO_FAR, UNREADABLE}
    assert reasons[UNREADABLE] == "item 4 is not an object"
    ris = match_entries(read("zotero.ris"), store, index)
    assert [(m.how, m.paper_id) for m in ris.matched[:2]] == [
        ("arxiv-id", "1706.03762"),
        ("doi", "1512.03385"),
    ]
    assert ris.unmatched[0].entry.arxiv_id == "1605.08386" and ris.unmatched[0].code == NOT_FETCHED
    assert "fetching from arXiv is off" in ris.unmatched[0].reason
    better = match_entries(read("better-bibtex.bib"), store, index)
    assert [m.how for m in better.matched] == ["arxiv-id", "doi"]
    (lstm,) = better.unmatched
    assert lstm.entry.title == "Long Short-Term Memory" and lstm.code == TITLE_TOO_FAR


def test_titles_fuzzy_within_the_threshold(store: Store, index: KeywordIndex) -> None:
    entries = [
        Entry(key="typo", title="Atention is all you need"),
        Entry(
            key="not", title="Attention is NOT all you need - pure attention loses rank doubly exponentially!"
        ),
        Entry(key="short", title="Introductio"),  # a short title must match exactly
        Entry(key="exact-short", title="INTRODUCTION."),
        Entry(key="far", title="Residual networks for pasta cooking"),
        Entry(key="nowords", title="Xylophones of zymurgical quokkas"),
    ]
    got = outcome(match_entries(entries, store, index))
    assert got["typo"] == ("title", "1706.03762")
    assert got["not"] == ("title", "2103.03404")  # not the shorter title it contains
    assert got["exact-short"] == ("title", "2401.00002")
    assert got["short"][0] == TITLE_TOO_FAR
    assert got["far"][0] == TITLE_TOO_FAR
    assert re.search(r"best 0\.\d\d: 1512\.03385 'Deep Residual Learning", got["far"][1])
    assert got["nowords"] == (TITLE_TOO_FAR, "no paper shares words with its title")
    (typo,) = [m for m in match_entries(entries[:1], store, index).matched]
    assert 0.9 <= typo.score < 1.0


def test_threshold_decides(store: Store, index: KeywordIndex) -> None:
    entry = Entry(key="k", title="Residual Learning for Image Recognition")
    score = match_entries([entry], store, index, threshold=0.5).matched[0].score
    assert 0.5 < score < 0.95
    strict = match_entries([entry], store, index, threshold=0.95)
    assert strict.matched == [] and f"best {score:.2f}" in strict.unmatched[0].reason


def test_doi_and_identifier_reasons(store: Store, index: KeywordIndex) -> None:
    entries = [
        Entry(key="upper", title=None, doi="10.1109/cvpr.2016.90"),
        Entry(key="nobody", title=None, doi="10.9999/nobody"),
        Entry(key="doi-and-title", title="Attention Is All You Need", doi="10.9999/nobody"),
        Entry(key="empty", title="  ", authors=("Someone",)),
    ]
    got = outcome(match_entries(entries, store, index))
    assert got["upper"] == ("doi", "1512.03385")
    assert got["nobody"][0] == UNKNOWN_DOI and "10.9999/nobody" in got["nobody"][1]
    assert got["doi-and-title"] == ("title", "1706.03762")
    assert got["empty"][0] == NO_IDENTIFIER


def test_without_a_keyword_index_titles_are_listed_not_dropped(store: Store) -> None:
    report = match_entries([Entry(key="t", title="Attention Is All You Need")], store, None)
    assert report.matched == [] and report.unmatched[0].code == NO_TITLE_INDEX


def test_broken_file_entries_are_listed(store: Store, index: KeywordIndex) -> None:
    report = match_entries(read("broken.bib"), store, index)
    assert [m.paper_id for m in report.matched] == ["1706.03762", "1512.03385"]
    (broken,) = report.unmatched
    assert broken.code == UNREADABLE and "line 7" in broken.reason


def test_normalize_title() -> None:
    assert normalize_title(r"Sch{\"o}nheit: \emph{Caf\'e}---THE  End!") == "schonheit cafe the end"
    assert normalize_title(None) == ""


# ---- fetching what the store lacks: recorded arXiv answers ----------------------------------------------


def recordings() -> dict[str, str]:
    """Each recorded single-id answer's <entry> by base id, and the empty feed under ""."""
    out = {}
    for path in API.glob("id_*.json"):
        exchange = json.loads(path.read_text(encoding="utf-8"))
        ids = httpx.URL(exchange["url"]).params["id_list"]
        body = exchange["body"].encode("latin-1").decode("utf-8")
        if ids == "0000.0000":
            out[""] = body
        elif "," not in ids and exchange["status_code"] == 200:
            out[re.sub(r"v\d+$", "", ids)] = body
    return out


class Replay:
    """arXiv's API from the recordings: a feed with the recorded entry of each asked id that was recorded."""

    def __init__(self) -> None:
        self.table = recordings()
        self.asked: list[list[str]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        ids = request.url.params["id_list"].split(",")
        self.asked.append(ids)
        entries = [
            m.group(0)
            for i in ids
            if i in self.table
            for m in re.finditer(r"<entry>.*?</entry>", self.table[i], re.DOTALL)
        ]
        feed = self.table[""].replace("</feed>", "".join(entries) + "</feed>")
        return httpx.Response(200, content=feed.encode(), headers={"Content-Type": "application/atom+xml"})


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
        api_endpoint="https://export.arxiv-replay.test/api/query",
        oai_endpoint="https://oaipmh.arxiv-replay.test/oai",
        contact_email="tests@example.org",
    )


def test_missing_ids_are_fetched_stored_and_matched(
    store: Store, index: KeywordIndex, settings: Settings
) -> None:
    replay = Replay()
    entries = [*read("ids.txt"), Entry(key="ghost", title=None, arxiv_id="2401.99999")]
    report = match_entries(
        entries, store, index, fetch=fetcher(settings, httpx.MockTransport(replay.handler))
    )
    got = outcome(report)
    for pid in ("1605.08386", "astro-ph/0601001", "1707.08567", "2104.12255"):
        assert got[pid] == ("arxiv-id", pid)
    assert report.fetched == ["1605.08386", "1707.08567", "2104.12255", "astro-ph/0601001"]
    fetched = store.get_paper("1605.08386")
    assert fetched is not None and fetched.title == "Heat-bath random walks with Markov bases"
    assert got["ghost"] == (UNKNOWN_ID, "arXiv id 2401.99999 is unknown to arXiv")
    assert got["10.1109/CVPR.2016.90"] == ("doi", "1512.03385")
    assert got["10"][0] == UNREADABLE  # the line that holds no id
    assert len(replay.asked) == 1  # one request for every missing id
    assert sorted(replay.asked[0]) == [
        "1605.08386",
        "1707.08567",
        "2104.12255",
        "2401.99999",
        "astro-ph/0601001",
    ]
    again = match_entries(entries, store, index, fetch=fetcher(settings, httpx.MockTransport(replay.handler)))
    assert again.fetched == [] and len(replay.asked) == 2  # only the unknown id is asked again
    assert replay.asked[1] == ["2401.99999"]


def test_a_failed_fetch_is_reported_and_not_retried_batch_after_batch(
    store: Store, index: KeywordIndex
) -> None:
    calls: list[list[str]] = []

    def down(ids: list[str]) -> list[Paper]:
        calls.append(ids)
        raise SourceError("arXiv answered 503 after 2 retries")

    entries = [Entry(key=f"e{i}", title=None, arxiv_id=f"2402.{i:05d}") for i in range(150)]
    entries.append(Entry(key="titled", title="Attention is all you need", arxiv_id="2402.99999"))
    report = match_entries(entries, store, index, fetch=down)
    assert len(calls) == 1 and len(calls[0]) == 100
    assert report.unmatched_by == {FETCH_FAILED: 150}
    first = outcome(report)["e0"]
    assert first == (
        FETCH_FAILED,
        "fetching 2402.00000 from arXiv failed: arXiv answered 503 after 2 retries",
    )
    assert "not tried after an earlier failure" in outcome(report)["e149"][1]
    assert outcome(report)["titled"] == ("title", "1706.03762")  # its title still finds it


def test_fetch_answers_beyond_the_question_are_ignored(store: Store, index: KeywordIndex) -> None:
    def generous(ids: list[str]) -> list[Paper]:
        return [make_paper(i, title=f"Paper {i}") for i in ids] + [make_paper("2409.00001", title="Unasked")]

    report = match_entries([Entry(key="a", title=None, arxiv_id="2408.00001")], store, index, fetch=generous)
    assert report.fetched == ["2408.00001"] and report.matched[0].paper_id == "2408.00001"
    assert store.get_paper("2409.00001") is None
