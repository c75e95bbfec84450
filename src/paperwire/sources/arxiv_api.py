"""Look papers up by id through the arXiv API (Atom feed)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from xml.etree.ElementTree import Element

from paperwire.config import Settings
from paperwire.errors import NotFoundError, QueryError, RecordError, SourceError
from paperwire.models import Paper
from paperwire.records import check_paper
from paperwire.sources.arxiv_ids import format_arxiv_ref, parse_arxiv_ref
from paperwire.sources.http import PoliteClient
from paperwire.sources.xml import child, child_text, children, clean, local_name, parse_xml

log = logging.getLogger(__name__)

SOURCE_NAME = "arxiv-api"
# arXiv asks for at most a few hundred ids per call; 100 keeps URLs short and answers small.
MAX_IDS_PER_REQUEST = 100

_ABS_MARKER = "arxiv.org/abs/"
_ERROR_MARKER = "/api/errors"


@dataclass(frozen=True)
class FetchResult:
    """Papers the API returned, and the requested ids (as asked for) it did not return."""

    papers: list[Paper]
    missing: list[str] = field(default_factory=list)
    refused: list[str] = field(
        default_factory=list
    )  # "id: reason" for records that broke records.check_paper

    def raise_for_missing(self) -> None:
        """Raise NotFoundError naming the missing ids, if any."""
        if self.missing:
            raise NotFoundError(f"arXiv has no paper with id {', '.join(self.missing)}")


def parse_atom(xml_bytes: bytes, refused: list[str] | None = None) -> list[Paper]:
    """Papers from an arXiv API Atom feed; error entries and entries without a title yield no paper.

    A paper that breaks a record rule is left out and named, with the reason, in ``refused``.
    """
    root = parse_xml(xml_bytes)
    if local_name(root.tag) != "feed":
        raise SourceError(f"not an Atom feed (root element <{local_name(root.tag)}>)")
    papers: list[Paper] = []
    for entry in children(root, "entry"):
        paper = _entry_to_paper(entry, refused)
        if paper is not None:
            papers.append(paper)
    return papers


def fetch_papers(client: PoliteClient, settings: Settings, refs: list[str]) -> FetchResult:
    """Fetch papers by id or link, 100 per request; every ref is validated before anything is sent."""
    # Parse everything first so one typo raises QueryError before any request reaches arXiv.
    wanted = list(dict.fromkeys(format_arxiv_ref(*parse_arxiv_ref(ref)) for ref in refs))
    papers: list[Paper] = []
    missing: list[str] = []
    refused: list[str] = []
    for start in range(0, len(wanted), MAX_IDS_PER_REQUEST):
        chunk = wanted[start : start + MAX_IDS_PER_REQUEST]
        # max_results must be given: the API's default (10) would silently cut a longer id_list.
        params: dict[str, str | int | float | None] = {
            "id_list": ",".join(chunk),
            "start": 0,
            "max_results": len(chunk),
        }
        response = client.get(settings.api_endpoint, params)
        refused_here: list[str] = []
        found = parse_atom(response.content, refused_here)
        by_id = {p.id: p for p in found}
        bad = {r.split(":", 1)[0] for r in refused_here}
        for ref in chunk:
            base, _version = parse_arxiv_ref(ref)
            if base not in by_id and base not in bad:
                missing.append(ref)
        papers.extend(found)
        refused.extend(refused_here)
    return FetchResult(papers, missing, refused)


def _entry_to_paper(entry: Element, refused: list[str] | None = None) -> Paper | None:
    """One Atom <entry> to a Paper, or None for the API's error entries and empty answers."""
    entry_id = child_text(entry, "id") or ""
    if _ERROR_MARKER in entry_id:
        log.warning("arXiv API error entry: %s", child_text(entry, "summary") or entry_id)
        return None
    title = child_text(entry, "title")
    if _ABS_MARKER not in entry_id or not title:
        # Older API versions answered an unknown id with an entry that has an id but no title.
        log.warning("arXiv API entry without a paper: %r", entry_id)
        return None
    try:
        base, version = parse_arxiv_ref(entry_id.split(_ABS_MARKER, 1)[1])
    except QueryError:
        log.warning("arXiv API entry with an unreadable id: %r", entry_id)
        return None
    primary_el = child(entry, "primary_category")
    primary = primary_el.get("term") if primary_el is not None else None
    terms = [t for el in children(entry, "category") if (t := el.get("term"))]
    # The primary category leads; the <category> list repeats it, possibly not first.
    categories = tuple(dict.fromkeys(([primary] if primary else []) + terms))
    authors = tuple(name for el in children(entry, "author") if (name := child_text(el, "name")))
    paper = Paper(
        id=base,
        title=title,
        abstract=child_text(entry, "summary") or "",
        authors=authors,
        categories=categories,
        version=version or 1,
        published=_date(child_text(entry, "published")),
        updated=_date(child_text(entry, "updated")),
        comment=child_text(entry, "comment"),
        journal_ref=child_text(entry, "journal_ref"),
        doi=clean(child_text(entry, "doi")),
        sources=(SOURCE_NAME,),
    )
    try:
        return check_paper(paper)
    except RecordError as exc:
        log.warning("arXiv API entry %s skipped: %s", base, exc)
        if refused is not None:
            refused.append(f"{base}: {exc}")
        return None


def _date(value: str | None) -> date | None:
    """The date part of an Atom timestamp."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None
