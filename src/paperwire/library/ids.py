"""A plain list of arXiv ids, arXiv links or DOIs, one a line, to entries."""

from __future__ import annotations

import re

from paperwire.library.entry import Entry, arxiv_id_of, arxiv_id_of_doi, clean_doi

_COMMENT = re.compile(r"(?:^|\s)#.*$")  # a URL's #fragment is no comment
_DOI_LINE = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)?10\.\d{4,9}/\S+$", re.IGNORECASE)


def read_ids(text: str) -> list[Entry]:
    """The ids of each non-blank line; `` #`` starts a comment; a line may hold several ids (commas,
    spaces), and other words beside an id (a title after it) are ignored. A line with no id, link or DOI
    at all is kept as an entry with a ``problem``."""
    out: list[Entry] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = _COMMENT.sub("", raw).strip()
        if not line:
            continue
        tokens = [t.strip("<>\"'()[]") for t in re.split(r"[\s,;]+", line)]
        found = [e for t in tokens if t and (e := _entry(t, n)) is not None]
        out.extend(found or [_problem(line, n)])
    return out


def _entry(token: str, line: int) -> Entry | None:
    arxiv_id = arxiv_id_of(token)
    if arxiv_id:
        url = token if token.lower().startswith(("http", "arxiv.org", "www.")) else None
        return Entry(key=None, title=None, arxiv_id=arxiv_id, url=url, source_format="ids", line=line)
    if _DOI_LINE.match(token):
        doi = clean_doi(token)
        return Entry(
            key=None, title=None, doi=doi, arxiv_id=arxiv_id_of_doi(doi), source_format="ids", line=line
        )
    return None


def _problem(line_text: str, line: int) -> Entry:
    return Entry(
        key=None,
        title=None,
        source_format="ids",
        line=line,
        problem=f"line {line}: {line_text[:80]!r} holds no arXiv id, arXiv link or DOI",
    )


def looks_like_ids(text: str) -> bool:
    """Whether most non-blank, non-comment lines of ``text`` are arXiv ids, links or DOIs (at least one)."""
    lines = [_COMMENT.sub("", ln).strip() for ln in text.splitlines()[:200]]
    lines = [ln for ln in lines if ln]
    if not lines:
        return False
    good = sum(1 for ln in lines if arxiv_id_of(ln.split()[0].strip(",;")) or _DOI_LINE.match(ln.split()[0]))
    return good * 2 > len(lines)
