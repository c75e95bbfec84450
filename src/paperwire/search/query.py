"""The query language, parsed into a plain structure (pure; no I/O).

words            ranked, any may match (BM25) and all shape the meaning (embeddings)
"a phrase"       must appear word for word, stop words included (title or abstract)
-word -"phrase"  must not appear (matched as phrases are)
author:NAME  author:"First Last"
cat:cs.CV        category (primary or cross-list); repeat for any of several
after:2025-06-01 before:2026-01   dates (announcement, else first submission); YYYY, YYYY-MM or YYYY-MM-DD
2401.01234 / an arXiv URL        that paper
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date

from paperwire.errors import QueryError
from paperwire.sources.arxiv_ids import looks_like_arxiv_ref, parse_arxiv_ref

MAX_QUERY_LENGTH = 1000
MAX_TERMS = 64
_TOKEN = re.compile(r'(-?)(?:([A-Za-z_]+):)?(?:"([^"]*)"|(\S+))')
_CATEGORY = re.compile(r"^[a-z][a-z\-]*(\.[A-Za-z\-]+)?$")
FIELDS = ("author", "cat", "before", "after", "id")


@dataclass
class Query:
    """A parsed query: soft words, hard constraints and filters."""

    text: str = ""
    words: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)  # words or phrases
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    after: date | None = None
    before: date | None = None
    paper_id: str | None = None

    @property
    def semantic_text(self) -> str:
        """What the embedding model reads: the words and phrases, in order of appearance."""
        return " ".join(self.words + self.phrases).strip()

    @property
    def has_text(self) -> bool:
        """True when there is something to rank by."""
        return bool(self.words or self.phrases)

    @property
    def has_constraints(self) -> bool:
        """True when some result must be excluded regardless of rank."""
        return bool(
            self.phrases or self.excluded or self.authors or self.categories or self.after or self.before
        )


def parse_query(
    text: str,
    *,
    categories: list[str] | None = None,
    authors: list[str] | None = None,
    after: date | None = None,
    before: date | None = None,
) -> Query:
    """Parse ``text`` and merge the filters given as options; raise QueryError with a clear message."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"query too long ({len(text)} characters; at most {MAX_QUERY_LENGTH})")
    if text.count('"') % 2:
        raise QueryError('unbalanced quote: every " needs a closing "')
    q = Query(text=text.strip())
    stripped = text.strip()
    if stripped and " " not in stripped and looks_like_arxiv_ref(stripped):
        q.paper_id = parse_arxiv_ref(stripped)[0]
        return q
    for m in _TOKEN.finditer(text):
        neg, fld, quoted, bare = m.group(1), m.group(2), m.group(3), m.group(4)
        value = (quoted if quoted is not None else bare or "").strip()
        if fld is None and value.rstrip(":").lstrip("-").lower() in FIELDS and value.endswith(":"):
            fld, value = value.rstrip(":").lstrip("-"), ""
        if fld is not None and fld.lower() not in FIELDS:
            # "word:thing" with an unknown prefix is text, not a field (titles hold colons)
            value = f"{fld}:{value}"
            fld = None
        if fld is not None:
            _field(q, fld.lower(), value, negated=bool(neg))
            continue
        if not value or not re.search(r"\w", value):
            continue
        if neg:
            q.excluded.append(value)
        elif quoted is not None:
            q.phrases.append(value)
        else:
            q.words.append(value)
    q.categories += [_category(c) for c in categories or []]
    q.authors += [a.strip() for a in authors or [] if a.strip()]
    q.after = max(filter(None, (q.after, after)), default=None)
    q.before = min(filter(None, (q.before, before)), default=None)
    if q.after and q.before and q.after > q.before:
        raise QueryError(f"after:{q.after} is later than before:{q.before}: no paper can match")
    if len(q.words) + len(q.phrases) + len(q.excluded) > MAX_TERMS:
        raise QueryError(f"too many terms (at most {MAX_TERMS})")
    return q


def _field(q: Query, name: str, value: str, negated: bool) -> None:
    if not value:
        raise QueryError(f"{name}: needs a value, e.g. {_EXAMPLES[name]}")
    if negated:
        raise QueryError(f"-{name}: is not supported; only words and phrases can be excluded")
    if name == "author":
        q.authors.append(value)
    elif name == "cat":
        q.categories.append(_category(value))
    elif name == "after":
        q.after = max(filter(None, (q.after, parse_date(value, end=False))))
    elif name == "before":
        q.before = min(filter(None, (q.before, parse_date(value, end=True))))
    elif name == "id":
        q.paper_id = parse_arxiv_ref(value)[0]


_EXAMPLES = {
    "author": 'author:"Kaiming He"',
    "cat": "cat:cs.CV",
    "before": "before:2026-01-31",
    "after": "after:2025-06",
    "id": "id:2401.01234",
}


def _category(value: str) -> str:
    v = value.strip()
    if not _CATEGORY.match(v):
        raise QueryError(f"not an arXiv category: {value!r} (e.g. cs.CV, cs.LG, math.CO)")
    head, _, tail = v.partition(".")
    # arXiv spells archives in lower case and subject classes in upper case for cs/math (cs.CV)
    return (
        f"{head.lower()}.{tail.upper() if head.lower() in ('cs', 'math', 'q-bio', 'q-fin', 'stat', 'eess', 'econ') else tail}"
        if tail
        else head.lower()
    )


def parse_date_option(value: str | None, end: bool = False) -> date | None:
    """A date filter as the CLI, pages and feeds take it: blank means none, else :func:`parse_date`."""
    return parse_date(value, end=end) if value and value.strip() else None


def parse_date(value: str, end: bool = False) -> date:
    """YYYY, YYYY-MM or YYYY-MM-DD; a partial date means its first day, or its last with ``end``."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?", value.strip())
    if not m:
        raise QueryError(f"not a date: {value!r} (use YYYY, YYYY-MM or YYYY-MM-DD)")
    y = int(m.group(1))
    mo = int(m.group(2)) if m.group(2) else (12 if end else 1)
    try:
        if m.group(3):
            return date(y, mo, int(m.group(3)))
        day = calendar.monthrange(y, mo)[1] if end else 1
        return date(y, mo, day)
    except ValueError as exc:
        raise QueryError(f"not a date: {value!r} ({exc})") from exc
