"""Person names between the store's "First Last" and the "Last, First" or family/given forms of reference
files (pure)."""

from __future__ import annotations

import re

# lowercase particles that belong to the family name ("Ludwig van Beethoven": family "van Beethoven")
_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le", "ter"}
)
_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})


def split_name(name: str) -> tuple[str, str, str]:
    """(given, family, suffix) of a "First [von] Last [Jr.]" name; a one-word name is all family."""
    if "," in name:  # "ATLAS Collaboration, CERN": no order to tell, kept whole
        return "", name.strip(), ""
    words = name.split()
    suffix = ""
    if len(words) > 2 and words[-1].lower().rstrip(",") in _SUFFIXES:
        suffix = words.pop().rstrip(",")
        words[-1] = words[-1].rstrip(",")
    if len(words) <= 1:
        return "", " ".join(words), suffix
    start = len(words) - 1
    while start > 1 and words[start - 1] in _PARTICLES:
        start -= 1
    return " ".join(words[:start]), " ".join(words[start:]), suffix


def last_first(name: str) -> str:
    """ "Ada Lovelace" -> "Lovelace, Ada"; "John Smith Jr." -> "Smith, Jr., John"; one word stays."""
    given, family, suffix = split_name(name)
    if not given:
        return family
    return f"{family}, {suffix}, {given}" if suffix else f"{family}, {given}"


def first_last(name: str) -> str:
    """A name as "First von Last Jr." from BibTeX/RIS order ("Last, First", "von Last, Jr., First") or as is."""
    parts = [p.strip() for p in _split_commas(name)]
    parts = [p for p in parts if p]
    if len(parts) == 2:
        return f"{parts[1]} {parts[0]}"
    if len(parts) >= 3:
        return f"{parts[2]} {parts[0]} {parts[1]}"
    return " ".join(name.split())


def _split_commas(name: str) -> list[str]:
    """Split at commas outside braces ({Barnes, and Noble} stays one)."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for c in name:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if c == "," and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    out.append("".join(cur))
    return out


_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def split_bibtex_authors(value: str) -> list[str]:
    """The names of a BibTeX author list: split at "and" outside braces; "and others" dropped."""
    names, depth, start = [], 0, 0
    i = 0
    while i < len(value):
        c = value[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0 and c.isspace():
            m = _AND.match(value, i)
            if m:
                names.append(value[start:i])
                start = i = m.end()
                continue
        i += 1
    names.append(value[start:])
    return [n.strip() for n in names if n.strip() and n.strip().lower() != "others"]
