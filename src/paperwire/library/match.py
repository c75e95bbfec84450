"""Match library entries to arXiv papers: by arXiv id, by DOI, then by title; fetch what the store lacks.

Everything is done in batches, whatever the number of entries: one store read for the ids, one for the DOIs,
arXiv asked 100 ids a request, and for titles one keyword-index lookup per entry (title words, top few) whose
candidates are read from the store at once and compared by fuzzy ratio. An entry that matches nothing is
listed with the reason, never dropped.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import tantivy
from rapidfuzz import fuzz

from paperwire.config import Settings
from paperwire.errors import PaperwireError
from paperwire.library.entry import Entry
from paperwire.library.latex import latex_to_text
from paperwire.models import Paper
from paperwire.search.keyword import KeywordIndex
from paperwire.store.base import PaperStore

log = logging.getLogger(__name__)

How = Literal["arxiv-id", "doi", "title"]
Fetch = Callable[[list[str]], list[Paper]]

DEFAULT_THRESHOLD = (
    0.9  # fuzzy title ratio (0..1) a match needs; typos and punctuation pass, other papers not
)
CANDIDATES = 5  # papers the keyword index proposes per title
FETCH_BATCH = 100  # ids per arXiv request (arXiv's API: a few hundred at most)
SHORT_TITLE = 12  # a normalised title shorter than this ("Introduction") must match exactly

# reasons an entry is unmatched (Unmatched.code)
UNREADABLE = "unreadable"
NO_IDENTIFIER = "no-identifier"
NOT_FETCHED = "not-fetched"
UNKNOWN_ID = "unknown-arxiv-id"
FETCH_FAILED = "fetch-failed"
UNKNOWN_DOI = "unknown-doi"
TITLE_TOO_FAR = "title-too-far"
NO_TITLE_INDEX = "no-title-index"


@dataclass(frozen=True)
class Matched:
    """An entry and the paper it is; ``score`` is 1.0 for ids and DOIs, the title similarity (0..1) else."""

    entry: Entry
    paper_id: str
    how: How
    score: float = 1.0


@dataclass(frozen=True)
class Unmatched:
    """An entry no paper was found for, and why (``code``: one of the reason constants; ``reason``: words)."""

    entry: Entry
    reason: str
    code: str


@dataclass
class MatchReport:
    """What an import matched, what it did not and why, and which papers it fetched from arXiv."""

    matched: list[Matched] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)  # ids fetched from arXiv and stored

    @property
    def counts(self) -> dict[str, int]:
        """entries, matched, unmatched, fetched, then matched by method and unmatched by reason code."""
        out = {
            "entries": len(self.matched) + len(self.unmatched),
            "matched": len(self.matched),
            "unmatched": len(self.unmatched),
            "fetched": len(self.fetched),
        }
        out.update(self.matched_by)
        out.update(self.unmatched_by)
        return out

    @property
    def matched_by(self) -> dict[str, int]:
        """Matched entries by method (arxiv-id, doi, title)."""
        return dict(Counter(m.how for m in self.matched))

    @property
    def unmatched_by(self) -> dict[str, int]:
        """Unmatched entries by reason code."""
        return dict(Counter(u.code for u in self.unmatched))

    @property
    def paper_ids(self) -> list[str]:
        """The matched papers' ids, each once, in entry order."""
        return list(dict.fromkeys(m.paper_id for m in self.matched))


def fetcher(settings: Settings, transport: httpx.BaseTransport | None = None) -> Fetch:
    """The real arXiv lookup for match_entries: papers by base id through the API, politely paced (a fake
    ``transport`` serves recorded answers in tests)."""
    from paperwire.sources.arxiv_api import fetch_papers
    from paperwire.sources.http import PoliteClient

    def fetch(ids: list[str]) -> list[Paper]:
        with PoliteClient(settings, transport=transport) as client:
            return fetch_papers(client, settings, ids).papers

    return fetch


def normalize_title(title: str | None) -> str:
    """A title reduced for comparison: LaTeX decoded, accents and case dropped, punctuation to spaces."""
    if not title:
        return ""
    text = latex_to_text(title)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def match_entries(
    entries: Sequence[Entry],
    store: PaperStore,
    keyword_index: KeywordIndex | None,
    *,
    fetch: Fetch | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> MatchReport:
    """Each entry matched to a paper by arXiv id (fetched from arXiv through ``fetch`` and stored when the
    store lacks it; ``fetch=None``: never), else by DOI, else by title (fuzzy ratio >= ``threshold``)."""
    done: dict[int, Matched | Unmatched] = {}
    open_: list[int] = []
    for i, e in enumerate(entries):
        if e.problem:
            done[i] = Unmatched(e, e.problem, UNREADABLE)
        elif not (e.arxiv_id or e.doi or normalize_title(e.title)):
            done[i] = Unmatched(e, "the entry has no arXiv id, DOI or title", NO_IDENTIFIER)
        else:
            open_.append(i)

    # 1. arXiv ids the store has; 2. DOIs the store has
    known = set(store.get_papers(sorted({e.arxiv_id for i in open_ if (e := entries[i]).arxiv_id})))
    by_doi = store.papers_by_doi(sorted({e.doi for i in open_ if (e := entries[i]).doi}))
    rest = []
    for i in open_:
        e = entries[i]
        if e.arxiv_id and e.arxiv_id in known:
            done[i] = Matched(e, e.arxiv_id, "arxiv-id")
        elif e.doi and e.doi.lower() in by_doi:
            done[i] = Matched(e, by_doi[e.doi.lower()], "doi")
        else:
            rest.append(i)

    # 3. arXiv ids the store lacks: fetched, stored; why not, remembered for the report
    report = MatchReport()
    id_trouble: dict[str, tuple[str, str]] = {}
    missing = sorted({e.arxiv_id for i in rest if (e := entries[i]).arxiv_id})
    if missing and fetch is None:
        for pid in missing:
            id_trouble[pid] = (
                f"arXiv id {pid} is not in this paperwire (fetching from arXiv is off)",
                NOT_FETCHED,
            )
    elif missing and fetch is not None:
        got, id_trouble = _fetch_all(missing, fetch, store)
        report.fetched = sorted(got)
        still = []
        for i in rest:
            e = entries[i]
            if e.arxiv_id and e.arxiv_id in got:
                done[i] = Matched(e, e.arxiv_id, "arxiv-id")
            else:
                still.append(i)
        rest = still

    # 4. titles
    titled = [i for i in rest if normalize_title(entries[i].title)]
    best = _best_titles([entries[i] for i in titled], store, keyword_index) if keyword_index else {}
    for i in rest:
        e = entries[i]
        wanted = normalize_title(e.title)
        found = best.get(id(e)) if wanted else None
        if found and found[1] >= threshold and (len(wanted) >= SHORT_TITLE or found[1] >= 1.0):
            done[i] = Matched(e, found[0], "title", round(found[1], 3))
            continue
        done[i] = _unmatched(e, wanted, found, id_trouble, keyword_index is not None)

    for i in range(len(entries)):
        outcome = done[i]
        if isinstance(outcome, Matched):
            report.matched.append(outcome)
        else:
            report.unmatched.append(outcome)
    return report


def _unmatched(
    e: Entry,
    wanted: str,
    found: tuple[str, float, str] | None,
    id_trouble: dict[str, tuple[str, str]],
    have_index: bool,
) -> Unmatched:
    """Why ``e`` matched nothing: its id's trouble first, then its DOI's, then its title's."""
    title_why = ""
    if wanted and not have_index:
        title_why = "titles cannot be matched here (no keyword index)"
    elif wanted and found is None:
        title_why = "no paper shares words with its title"
    elif wanted and found is not None:
        title_why = f"no paper's title is close enough (best {found[1]:.2f}: {found[0]} {found[2]!r})"
    if e.arxiv_id and e.arxiv_id in id_trouble:
        why, code = id_trouble[e.arxiv_id]
        return Unmatched(e, f"{why}; {title_why}" if title_why else why, code)
    if e.doi and not wanted:
        return Unmatched(e, f"DOI {e.doi} is no paper's here, and the entry has no title", UNKNOWN_DOI)
    prefix = f"DOI {e.doi} is no paper's here; " if e.doi else ""
    code = TITLE_TOO_FAR if have_index else NO_TITLE_INDEX
    return Unmatched(e, prefix + title_why, code)


def _fetch_all(
    ids: list[str], fetch: Fetch, store: PaperStore
) -> tuple[set[str], dict[str, tuple[str, str]]]:
    """Fetch ``ids`` from arXiv in batches and store what comes back: (ids stored, {id: (reason, code)}).
    After a batch fails the rest are not tried: arXiv is down or refusing, and each try waits out retries."""
    got: set[str] = set()
    trouble: dict[str, tuple[str, str]] = {}
    failure: str | None = None
    for start in range(0, len(ids), FETCH_BATCH):
        chunk = ids[start : start + FETCH_BATCH]
        if failure is not None:
            for pid in chunk:
                trouble[pid] = (
                    f"fetching {pid} from arXiv was not tried after an earlier failure ({failure})",
                    FETCH_FAILED,
                )
            continue
        try:
            papers = [p for p in fetch(chunk) if p.id in set(chunk)]
            if papers:
                store.upsert_papers(papers)
        except PaperwireError as exc:
            failure = str(exc)
            log.warning("library import: fetching %d ids from arXiv failed: %s", len(chunk), exc)
            for pid in chunk:
                trouble[pid] = (f"fetching {pid} from arXiv failed: {failure}", FETCH_FAILED)
            continue
        returned = {p.id for p in papers}
        got |= returned
        for pid in chunk:
            if pid not in returned:
                trouble[pid] = (f"arXiv id {pid} is unknown to arXiv", UNKNOWN_ID)
    return got, trouble


def _best_titles(
    entries: Sequence[Entry], store: PaperStore, index: KeywordIndex
) -> dict[int, tuple[str, float, str]]:
    """For each entry (by ``id(entry)``): (paper id, similarity 0..1, the paper's title) of the closest
    title among the keyword index's candidates; entries with no candidate are absent."""
    searcher = index.index.searcher()
    schema = index.schema
    candidates: dict[int, list[str]] = {}
    for e in entries:
        terms = list(dict.fromkeys(index.terms(e.title or ""))) or list(
            dict.fromkeys(index.phrase_terms(e.title or ""))
        )
        if not terms:
            continue
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "title", t)) for t in terms[:64]]
        )
        hits = searcher.search(query, CANDIDATES).hits
        candidates[id(e)] = [_doc_id(searcher, addr) for _, addr in hits]
    wanted = sorted({pid for ids in candidates.values() for pid in ids})
    papers = store.get_papers(wanted) if wanted else {}
    normal = {pid: normalize_title(p.title) for pid, p in papers.items()}
    out: dict[int, tuple[str, float, str]] = {}
    for e in entries:
        mine = normalize_title(e.title)
        scored = [
            (fuzz.ratio(mine, normal[pid]) / 100.0, pid) for pid in candidates.get(id(e), ()) if pid in normal
        ]
        if scored:
            top = max(s for s, _ in scored)
            # near-ties (two papers, one title: it happens) go to the one whose authors agree best, then lowest id
            mine_names = _family_names(e.authors)
            score, pid = min(
                (s for s in scored if s[0] >= top - 0.01),
                key=lambda s: (-_overlap(mine_names, _family_names(papers[s[1]].authors)), -s[0], s[1]),
            )
            out[id(e)] = (pid, score, papers[pid].title)
    return out


def _family_names(authors: Sequence[str]) -> set[str]:
    return {normalize_title(a.split()[-1]) for a in authors if a.split()}


def _overlap(a: set[str], b: set[str]) -> float:
    """Jaccard similarity of two sets of family names (0 when either is empty)."""
    return len(a & b) / len(a | b) if a and b else 0.0


def _doc_id(searcher: Any, addr: Any) -> str:
    return str(searcher.doc(addr)["id"][0])
