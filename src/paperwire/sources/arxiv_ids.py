"""Recognise arXiv identifiers, bare or inside a pasted link, and reduce them to (base id, version)."""

from __future__ import annotations

import re

from paperwire.errors import QueryError

# New-style ids (April 2007 on): YYMM.NNNN until 2014, YYMM.NNNNN since 2015. Both digit counts are accepted
# for any month: being stricter than arXiv only turns real ids away, and arXiv itself answers unknown ones.
_NEW = r"(?P<new>\d{2}(?:0[1-9]|1[0-2])\.\d{4,5})"
# Old-style ids (before April 2007): archive[.SUBJECT-CLASS]/YYMMNNN, e.g. hep-th/9901001, math.GT/0309136.
_OLD = (
    r"(?P<archive>[a-z]+(?:-[a-z]+)?)(?:\.(?P<subject>[A-Za-z]{2}(?:-[a-z]+)?))?"
    r"/(?P<number>\d{2}(?:0[1-9]|1[0-2])\d{3})"
)
_VERSION = r"(?:v(?P<version>[1-9]\d{0,4}))?"  # bounded: a 5,000-digit version is no id
_ID_RE = re.compile(rf"(?:{_NEW}|{_OLD}){_VERSION}")

# Links people paste: arxiv.org/abs/ID, /pdf/ID(.pdf), /html/ID, with or without scheme, www. or export.
_URL_RE = re.compile(
    r"(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html|format)/(?P<rest>[^?#]+?)(?:\.pdf)?/?(?:[?#].*)?",
    re.IGNORECASE,
)
_PREFIX_RE = re.compile(r"arxiv:\s*", re.IGNORECASE)


def parse_arxiv_ref(text: str) -> tuple[str, int | None]:
    """(base id, version or None) from a bare arXiv id, ``arXiv:ID``, or an arxiv.org abs/pdf link."""
    candidate = text.strip()
    url = _URL_RE.fullmatch(candidate)
    if url:
        candidate = url.group("rest")
    else:
        prefix = _PREFIX_RE.match(candidate)
        if prefix:
            candidate = candidate[prefix.end() :]
    match = _ID_RE.fullmatch(candidate)
    if match is None:
        raise QueryError(
            f"not an arXiv id or link: {text.strip()!r} (expected e.g. 2401.01234, 2401.01234v2, "
            "hep-th/9901001 or https://arxiv.org/abs/2401.01234)"
        )
    # The subject class is not part of an old-style id (math.GT/0309136 is math/0309136): it is dropped so
    # both spellings land on the same paper.
    base = match.group("new") or f"{match.group('archive')}/{match.group('number')}"
    version = match.group("version")
    return base, int(version) if version else None


def looks_like_arxiv_ref(text: str) -> bool:
    """Whether ``text`` is something parse_arxiv_ref accepts."""
    try:
        parse_arxiv_ref(text)
    except QueryError:
        return False
    return True


def format_arxiv_ref(base: str, version: int | None = None) -> str:
    """The id as arXiv spells it: base id plus ``vN`` when a version is given."""
    return f"{base}v{version}" if version is not None else base
