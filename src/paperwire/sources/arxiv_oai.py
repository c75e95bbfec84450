"""Harvest arXiv metadata over OAI-PMH ListRecords, page by page, resumably (docs/reliability.md H3, H4)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from xml.etree.ElementTree import Element

from paperwire.config import Settings
from paperwire.errors import QueryError, RecordError, SourceError, UnsafeXMLError
from paperwire.models import Paper
from paperwire.records import check_paper
from paperwire.sources.arxiv_ids import parse_arxiv_ref
from paperwire.sources.http import PoliteClient
from paperwire.sources.xml import child, child_text, children, clean, descendants, local_name, parse_xml

log = logging.getLogger(__name__)

SOURCE_NAME = "arxiv-oai"
METADATA_PREFIXES = ("arXiv", "arXivRaw", "oai_dc")
# How often one page is fetched again when its answer cannot be trusted (H4) or does not parse.
PAGE_ATTEMPTS = 3

_OAI_ID_PREFIX = "oai:arXiv.org:"
_DOI_SPLIT = re.compile(r"[\s,;]+")


class OaiError(SourceError):
    """The OAI-PMH server answered with an <error> other than noRecordsMatch."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(f"OAI-PMH error {code}: {message}" if message else f"OAI-PMH error {code}")


@dataclass(frozen=True)
class OaiPage:
    """One ListRecords answer: its papers, deletions, and where the list goes on."""

    papers: list[Paper]
    resumption_token: str | None
    complete_list_size: int | None
    response_date: str
    deleted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # records present but unusable (logged)
    cursor: int | None = None  # records delivered before this page, when the server says

    @property
    def record_count(self) -> int:
        """Records on this page of any kind: papers, deletions and skipped ones."""
        return len(self.papers) + len(self.deleted) + len(self.skipped)


PageCallback = Callable[[OaiPage, str | None], None]


def parse_list_records(xml_bytes: bytes) -> OaiPage:
    """Parse an OAI-PMH ListRecords (or GetRecord) response in arXiv, arXivRaw or oai_dc format."""
    root = parse_xml(xml_bytes)
    if local_name(root.tag) != "OAI-PMH":
        raise SourceError(f"not an OAI-PMH response (root element <{local_name(root.tag)}>)")
    response_date = child_text(root, "responseDate")
    if response_date is None:
        raise SourceError("OAI-PMH response without a responseDate")

    errors = list(children(root, "error"))
    if errors:
        codes = [e.get("code", "") for e in errors]
        if all(code == "noRecordsMatch" for code in codes):
            # OAI-PMH reports "nothing changed in this window" as an error; for us it is an empty result.
            return OaiPage([], None, 0, response_date)
        first = next(e for e in errors if e.get("code") != "noRecordsMatch")
        raise OaiError(first.get("code", "unknown"), clean(first.text) or "")

    container = child(root, "ListRecords")
    if container is None:
        container = child(root, "GetRecord")
    if container is None:
        raise SourceError("OAI-PMH response has neither ListRecords nor GetRecord nor an error")

    papers: list[Paper] = []
    deleted: list[str] = []
    skipped: list[str] = []
    for record in children(container, "record"):
        header = child(record, "header")
        header_id = _header_id(header)
        if header is not None and header.get("status") == "deleted":
            deleted.append(header_id or "?")
            continue
        try:
            papers.append(check_paper(_record_to_paper(record, header_id)))
        except (SourceError, RecordError) as exc:
            # One bad record must not wedge the harvest on this page forever; it is logged and counted.
            log.warning("skipping OAI record %s: %s", header_id, exc)
            skipped.append(header_id or "?")

    token_el = child(container, "resumptionToken")
    token = clean(token_el.text) if token_el is not None else None
    size = _int_attr(token_el, "completeListSize")
    cursor = _int_attr(token_el, "cursor")
    return OaiPage(papers, token, size, response_date, deleted, skipped, cursor)


def harvest(
    client: PoliteClient,
    settings: Settings,
    set_spec: str | None,
    from_date: str | date | None,
    until: str | date | None = None,
    metadata_prefix: str = "arXiv",
    resume_token: str | None = None,
    on_page: PageCallback | None = None,
) -> str:
    """Harvest every page of a ListRecords request; return the first page's responseDate (the next ``from``).

    ``on_page(page, next_token)`` runs after each page: commit the papers and save ``next_token`` as the
    checkpoint there, in one transaction, so a killed harvest resumes with ``resume_token=next_token``. When
    resuming, keep the responseDate saved when the harvest began: the returned one is the resumed page's.
    """
    if metadata_prefix not in METADATA_PREFIXES:
        raise QueryError(f"unsupported metadataPrefix {metadata_prefix!r}; use one of {METADATA_PREFIXES}")
    token = resume_token
    first_response_date: str | None = None
    seen = 0
    while True:
        if token is not None:
            # resumptionToken is an exclusive argument in OAI-PMH: nothing else may accompany it.
            params: dict[str, str | int | float | None] = {"verb": "ListRecords", "resumptionToken": token}
        else:
            params = {
                "verb": "ListRecords",
                "metadataPrefix": metadata_prefix,
                "set": set_spec,
                "from": oai_date(from_date) if from_date is not None else None,
                "until": oai_date(until) if until is not None else None,
            }
        page = _fetch_trusted_page(client, settings.oai_endpoint, params, via_token=token, seen=seen)
        seen += page.record_count
        next_token = page.resumption_token
        if next_token is not None and next_token == token:
            raise SourceError(f"OAI-PMH server returned the same resumptionToken {token!r} again")
        if first_response_date is None:
            first_response_date = page.response_date
        if on_page is not None:
            on_page(page, next_token)
        if next_token is None:
            return first_response_date
        token = next_token


def oai_date(value: str | date) -> str:
    """YYYY-MM-DD for OAI-PMH from/until: arXiv's granularity is the day, so a responseDate is cut to it."""
    if isinstance(value, date):
        return value.isoformat()[:10]
    text = value.strip()
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError as exc:
        raise QueryError(f"not a date for OAI-PMH: {value!r} (expected YYYY-MM-DD)") from exc


def _fetch_trusted_page(
    client: PoliteClient,
    url: str,
    params: dict[str, str | int | float | None],
    via_token: str | None,
    seen: int,
) -> OaiPage:
    """Fetch one page, fetching it again (same parameters, same token) when its answer cannot be trusted."""
    problem = ""
    for attempt in range(1, PAGE_ATTEMPTS + 1):
        # HTTP failures were already retried by the client; an UpstreamHTTPError here is final.
        response = client.get(url, params)
        try:
            page = parse_list_records(response.content)
        except (UnsafeXMLError, OaiError):
            raise  # neither gets better by asking again
        except SourceError as exc:
            # A truncated or garbled body is usually transient: ask for the same page again.
            problem = str(exc)
            log.warning("OAI page attempt %d/%d unreadable: %s", attempt, PAGE_ATTEMPTS, problem)
            continue
        problem = _distrust(page, via_token, seen)
        if not problem:
            return page
        log.warning("OAI page attempt %d/%d not trusted: %s", attempt, PAGE_ATTEMPTS, problem)
    where = f"resumptionToken {via_token!r}" if via_token else "the first page"
    raise SourceError(f"OAI-PMH harvest stopped at {where} after {PAGE_ATTEMPTS} attempts: {problem}")


def _distrust(page: OaiPage, via_token: str | None, seen: int) -> str:
    """Why an empty page cannot be believed (H4), or '' when it can."""
    if page.record_count:
        return ""
    if page.resumption_token:
        return "empty page that still carries a resumptionToken"
    if via_token is not None:
        # A server only issues a token when records remain, so the page it leads to cannot be empty.
        return "empty page reached through a resumptionToken"
    delivered = page.cursor if page.cursor is not None else seen
    if page.complete_list_size is not None and delivered < page.complete_list_size:
        return f"empty page after {delivered} of {page.complete_list_size} records"
    return ""


def _record_to_paper(record: Element, header_id: str | None) -> Paper:
    """One OAI <record> to a Paper, whichever of the three metadata formats it carries."""
    metadata = child(record, "metadata")
    body = next(iter(metadata), None) if metadata is not None else None
    if body is None:
        raise SourceError("record without metadata")
    kind = local_name(body.tag)
    if kind == "arXiv":
        return _from_arxiv(body, header_id)
    if kind == "arXivRaw":
        return _from_arxiv_raw(body, header_id)
    if kind == "dc":
        return _from_oai_dc(body, header_id)
    raise SourceError(f"unsupported metadata format <{kind}>")


def _from_arxiv(body: Element, header_id: str | None) -> Paper:
    """metadataPrefix=arXiv: structured authors, but no version number (taken as 1)."""
    base = _base_id(child_text(body, "id") or header_id)
    authors = tuple(name for el in descendants(body, "author") if (name := _author_name(el)))
    return Paper(
        id=base,
        title=_required(child_text(body, "title"), "title", base),
        abstract=child_text(body, "abstract") or "",
        authors=authors,
        categories=_categories(child_text(body, "categories")),
        # The arXiv format does not say which version this is; the `updated` date tells that it was revised.
        version=1,
        published=_date(child_text(body, "created")),
        updated=_date(child_text(body, "updated")),
        comment=child_text(body, "comments"),
        journal_ref=child_text(body, "journal-ref"),
        doi=_first_doi(child_text(body, "doi")),
        license=child_text(body, "license"),
        sources=(SOURCE_NAME,),
    )


def _from_arxiv_raw(body: Element, header_id: str | None) -> Paper:
    """metadataPrefix=arXivRaw: every version with its date, authors as one string."""
    base = _base_id(child_text(body, "id") or header_id)
    versions: list[tuple[int, date | None]] = []
    for el in children(body, "version"):
        label = (el.get("version") or "").lstrip("v")
        if label.isdigit():
            versions.append((int(label), _rfc2822_date(child_text(el, "date"))))
    versions.sort()
    latest = versions[-1][0] if versions else 1
    return Paper(
        id=base,
        title=_required(child_text(body, "title"), "title", base),
        abstract=child_text(body, "abstract") or "",
        authors=split_author_list(child_text(body, "authors") or ""),
        categories=_categories(child_text(body, "categories")),
        version=latest,
        published=versions[0][1] if versions else None,
        updated=versions[-1][1] if len(versions) > 1 else None,
        comment=child_text(body, "comments"),
        journal_ref=child_text(body, "journal-ref"),
        doi=_first_doi(child_text(body, "doi")),
        license=child_text(body, "license"),
        sources=(SOURCE_NAME,),
    )


def _from_oai_dc(body: Element, header_id: str | None) -> Paper:
    """metadataPrefix=oai_dc: Dublin Core; subjects are prose (no category codes), one date per version."""
    arxiv_url = None
    doi = None
    for el in children(body, "identifier"):
        value = clean(el.text) or ""
        if "arxiv.org/abs/" in value:
            arxiv_url = value
        elif value.lower().startswith("doi:"):
            doi = _first_doi(value[4:])
    base = _base_id(arxiv_url or header_id)
    descriptions = [d for el in children(body, "description") if (d := clean(el.text))]
    comments = [d.removeprefix("Comment:").strip() for d in descriptions if d.startswith("Comment:")]
    comment = comments[0] if comments else None
    abstract = next((d for d in descriptions if not d.startswith("Comment:")), "")
    dates = [day for el in children(body, "date") if (day := _date(clean(el.text)))]
    authors = tuple(_dc_creator(c) for el in children(body, "creator") if (c := clean(el.text)))
    return Paper(
        id=base,
        title=_required(child_text(body, "title"), "title", base),
        abstract=abstract,
        authors=authors,
        # dc:subject holds prose ("Computer Science - Information Theory"), not category codes: left empty.
        categories=(),
        # arXiv's oai_dc lists one dc:date per version, first submission first.
        version=max(len(dates), 1),
        published=dates[0] if dates else None,
        updated=dates[-1] if len(dates) > 1 else None,
        comment=comment,
        doi=doi,
        license=child_text(body, "rights"),
        sources=(SOURCE_NAME,),
    )


def split_author_list(text: str) -> tuple[str, ...]:
    """Split arXivRaw's "A. One, B. Two (Univ, Lab) and C. Three" at commas/"and" outside parentheses."""
    names: list[str] = []
    depth = 0
    current: list[str] = []
    tokens = re.split(r"(\(|\)|,|\band\b)", text)
    for token in tokens:
        if token == "(":
            depth += 1
        elif token == ")":
            depth = max(0, depth - 1)
        if depth == 0 and token in {",", "and"}:
            names.append("".join(current))
            current = []
            continue
        current.append(token)
    names.append("".join(current))
    # Affiliations in parentheses are not part of the name.
    cleaned = (clean(re.sub(r"\([^()]*\)", " ", n)) for n in names)
    return tuple(n for n in cleaned if n)


def _author_name(el: Element) -> str | None:
    """Name as "Forenames Keyname Suffix" from an arXiv-format <author>."""
    parts = [child_text(el, "forenames"), child_text(el, "keyname"), child_text(el, "suffix")]
    return clean(" ".join(p for p in parts if p))


def _dc_creator(value: str) -> str:
    """Dublin Core "Keyname, Forenames" to "Forenames Keyname"."""
    keyname, sep, forenames = value.partition(",")
    if not sep:
        return value
    return clean(f"{forenames} {keyname}") or value


def _header_id(header: Element | None) -> str | None:
    """The arXiv id from an OAI header identifier (oai:arXiv.org:ID)."""
    if header is None:
        return None
    identifier = child_text(header, "identifier")
    return identifier.removeprefix(_OAI_ID_PREFIX) if identifier else None


def _base_id(raw: str | None) -> str:
    """Canonical base id, raising SourceError for anything that is not an arXiv id."""
    if not raw:
        raise SourceError("record without an arXiv id")
    try:
        base, _version = parse_arxiv_ref(raw)
    except QueryError as exc:
        raise SourceError(f"record with an unreadable arXiv id {raw!r}") from exc
    return base


def _required(value: str | None, name: str, paper_id: str) -> str:
    if not value:
        raise SourceError(f"{paper_id}: record without a {name}")
    return value


def _categories(value: str | None) -> tuple[str, ...]:
    """Space-separated categories, primary first (arXiv lists the primary first), duplicates dropped."""
    return tuple(dict.fromkeys((value or "").split()))


def _first_doi(value: str | None) -> str | None:
    """The first DOI: some records list several, separated by commas or semicolons."""
    if not value:
        return None
    first = next((part for part in _DOI_SPLIT.split(value) if part), None)
    return first


def _date(value: str | None) -> date | None:
    """A date from YYYY-MM-DD (or an ISO timestamp); None when missing or unreadable."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        log.warning("unreadable date %r", value)
        return None


def _rfc2822_date(value: str | None) -> date | None:
    """A date from arXivRaw's "Mon, 2 Apr 2007 19:18:42 GMT"."""
    if not value:
        return None
    try:
        parsed: datetime = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        log.warning("unreadable version date %r", value[:80])
        return None
    return parsed.date()


def _int_attr(element: Element | None, name: str) -> int | None:
    if element is None:
        return None
    value = element.get(name)
    digits = value.strip() if value else ""
    return int(digits) if digits.isdigit() and len(digits) <= 18 else None  # never a 5,000-digit int()
