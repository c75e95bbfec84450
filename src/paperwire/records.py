"""What every paper must be before it is stored, whatever its source: the limits and the one check.

Every source (JSON-lines files, OAI-PMH, the arXiv API) passes its papers through :func:`check_paper`; a paper
that breaks a rule becomes a :class:`~paperwire.errors.RecordError` that says which rule, and is reported and
skipped. Nothing past a limit is cut short silently.

The limits are generous next to arXiv's own (an abstract may have 1,920 characters there; the longest of the
74,728 papers in the development corpus has 3,488, the longest title 226, the longest author list 3,303 names)
and keep one hostile record from costing the indexes, the pages or the embedder more than a real one would.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

from paperwire.errors import RecordError
from paperwire.models import Paper

MAX_LINE_BYTES = 1 << 20  # one JSON-lines record; the longest real one seen is 56 KB
MAX_TITLE = 1_000
MAX_ABSTRACT = 20_000
MAX_AUTHORS = 10_000
MAX_AUTHOR_NAME = 1_000
MAX_CATEGORIES = 100
MAX_CATEGORY = 300  # listing pages carry MSC/ACM classes among the categories ("68T07, 68T05, ...")
MAX_FIELD = 5_000  # comment, journal-ref, DOI, license
MAX_VERSION = 10_000
EARLIEST = date(1900, 1, 1)  # arXiv began in 1991; some snapshot dates are older preprints' own
LATEST = date(2199, 12, 31)

_SURROGATE = re.compile(r"[\ud800-\udfff]")
# C0 and C1 controls other than whitespace: invalid in XML 1.0 feeds, invisible on pages, refused by PostgreSQL
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SUSPECT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")  # one scan for both


def clean_text(value: str, field: str) -> str:
    """``value`` with control characters dropped and runs of whitespace made one space.

    Raises :class:`RecordError` for a lone surrogate (a ``\\ud800`` escape in JSON): it is not text and cannot
    be stored or shown.
    """
    if _SUSPECT.search(value):  # rare: the common case costs one scan and a split
        bad = _SURROGATE.search(value)
        if bad:
            raise RecordError(
                f"{field} holds invalid Unicode (a lone surrogate \\u{ord(bad.group()):04x} at character {bad.start() + 1})"
            )
        value = _CONTROL.sub("", value)
    return " ".join(value.split())  # str.split() splits on exactly what the regex \s matches


def check_paper(p: Paper) -> Paper:
    """``p`` with its text cleaned, or :class:`RecordError` naming the first rule it breaks."""
    if not 1 <= p.version <= MAX_VERSION:
        raise RecordError(f"version {_short(p.version)} is out of range (1 to {MAX_VERSION:,})")
    title = _limited(clean_text(p.title, "title"), "title", MAX_TITLE)
    abstract = _limited(clean_text(p.abstract, "abstract"), "abstract", MAX_ABSTRACT)
    if not title:
        raise RecordError("title is empty")
    if len(p.authors) > MAX_AUTHORS:
        raise RecordError(f"{len(p.authors):,} authors; the limit is {MAX_AUTHORS:,}")
    authors = tuple(
        a for a in (_limited(clean_text(x, "author"), "author name", MAX_AUTHOR_NAME) for x in p.authors) if a
    )
    if len(p.categories) > MAX_CATEGORIES:
        raise RecordError(f"{len(p.categories):,} categories; the limit is {MAX_CATEGORIES}")
    categories = tuple(
        dict.fromkeys(
            c
            for c in (_limited(clean_text(x, "category"), "category", MAX_CATEGORY) for x in p.categories)
            if c
        )
    )
    for name in ("published", "updated", "announced"):
        d: date | None = getattr(p, name)
        if d is not None and not EARLIEST <= d <= LATEST:
            raise RecordError(
                f"{name} date {d.isoformat()} is out of range ({EARLIEST.year} to {LATEST.year})"
            )
    return replace(
        p,
        title=title,
        abstract=abstract,
        authors=authors,
        categories=categories,
        comment=_opt(p.comment, "comment"),
        journal_ref=_opt(p.journal_ref, "journal-ref"),
        doi=_opt(p.doi, "doi"),
        license=_opt(p.license, "license"),
    )


def _opt(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    return _limited(clean_text(value, field), field, MAX_FIELD) or None


def _limited(value: str, field: str, limit: int) -> str:
    if len(value) > limit:
        raise RecordError(f"{field} has {len(value):,} characters; the limit is {limit:,}")
    return value


def _short(n: int) -> str:
    return str(n) if abs(n) < 10**20 else f"of {n.bit_length()} bits"
