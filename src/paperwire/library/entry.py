"""One entry of a library file, as read from any format, and the identifiers found in its fields (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from paperwire.sources.arxiv_ids import parse_arxiv_ref

# The DOIs arXiv assigns to its own papers (since 2022): 10.48550/arXiv.2401.01234 is paper 2401.01234.
ARXIV_DOI_PREFIX = "10.48550/arxiv."

# An arXiv id or link inside free text ("arXiv preprint arXiv:2401.01234", "arXiv:hep-th/9901001v2 [hep-th]",
# "https://arxiv.org/abs/..."): only where arXiv is named, so a bare "1234.5678" in a note is no id.
_ID_IN_TEXT = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf|html|format)/|arxiv:\s*|arxiv\s+(?:preprint\s+)?)"
    r"(?P<id>[a-z]+(?:-[a-z]+)?(?:\.[A-Za-z]{2}(?:-[a-z]+)?)?/\d{7}|\d{4}\.\d{4,5})(?:v\d+)?",
    re.IGNORECASE,
)
_DOI_IN_TEXT = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>{}]+)", re.IGNORECASE)
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)


@dataclass(frozen=True)
class Entry:
    """One reference read from a library file.

    ``arxiv_id`` is the base id (no version) when any field names one; ``doi`` as written, without a resolver
    prefix. ``problem`` says why an entry could not be read (a broken block of the file): such an entry is kept,
    so the match report can list it, never dropped.
    """

    key: str | None
    title: str | None
    authors: tuple[str, ...] = ()
    year: int | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    url: str | None = None
    source_format: str = ""
    raw_type: str | None = None
    tags: tuple[str, ...] = ()
    note: str | None = None
    line: int | None = None  # where the entry starts in the file (1-based), when the format has lines
    problem: str | None = None

    @property
    def label(self) -> str:
        """A short name for messages: the key, else the title, else the line."""
        if self.key:
            return self.key
        if self.title:
            return self.title if len(self.title) <= 80 else self.title[:77] + "..."
        return f"line {self.line}" if self.line else "(an entry)"


def arxiv_id_of(value: str | None) -> str | None:
    """The base arXiv id of a bare id, ``arXiv:ID`` or an arXiv link, else None."""
    if not value:
        return None
    value = value.strip()
    try:
        return parse_arxiv_ref(value)[0]
    except Exception:  # QueryError: not an id
        return None


def arxiv_id_in_text(text: str | None) -> str | None:
    """The first arXiv id named in free text (a note, a journal field, a URL), else None."""
    if not text:
        return None
    m = _ID_IN_TEXT.search(text)
    if m is None:
        return None
    return arxiv_id_of(m.group("id"))


def clean_doi(value: str | None) -> str | None:
    """A DOI without resolver prefix or trailing punctuation, or None when ``value`` holds none."""
    if not value:
        return None
    value = _DOI_PREFIX.sub("", value.strip())
    m = _DOI_IN_TEXT.search(value)
    if m is None:
        return None
    return m.group(1).rstrip(".,;)")


def arxiv_id_of_doi(doi: str | None) -> str | None:
    """The arXiv id an arXiv-assigned DOI (10.48550/arXiv.NNNN) stands for, else None."""
    if doi and doi.lower().startswith(ARXIV_DOI_PREFIX):
        return arxiv_id_of(doi[len(ARXIV_DOI_PREFIX) :])
    return None


def find_arxiv_id(
    exact: Iterable[str | None] = (), texts: Iterable[str | None] = (), doi: str | None = None
) -> str | None:
    """The arXiv id an entry names: in a field that holds only an id (``exact``: eprint, arxivid), in free
    text that names arXiv (``texts``: url, note, journal), or as its arXiv DOI."""
    for value in exact:
        found = arxiv_id_of(value)
        if found:
            return found
    for value in texts:
        found = arxiv_id_in_text(value)
        if found:
            return found
    return arxiv_id_of_doi(doi)


def split_tags(value: str | None) -> tuple[str, ...]:
    """Keywords as tags: comma- or semicolon-separated, blanks dropped, duplicates once."""
    if not value:
        return ()
    parts = re.split(r"[;,]", value)
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))


def year_of(value: str | None) -> int | None:
    """The year of a date written any common way (2024, 2024-01-05, 2024/01/05/, Jan 2024)."""
    if not value:
        return None
    m = re.search(r"(?<!\d)(1[5-9]\d\d|2[01]\d\d)(?!\d)", value)
    return int(m.group(1)) if m else None
