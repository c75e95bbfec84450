"""RIS (EndNote, Zotero, Mendeley, most publishers) to entries, and papers to RIS."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from paperwire.library.entry import Entry, clean_doi, find_arxiv_id, split_tags, year_of
from paperwire.library.names import first_last, last_first
from paperwire.models import Paper

# "TY  - JOUR": a two-character tag, two spaces, a dash, a value (tolerant of one space and a missing value)
_LINE = re.compile(r"^([A-Z][A-Z0-9])\s{1,2}-(?: (.*))?$")
_TITLE_TAGS = ("TI", "T1", "CT", "BT")
_AUTHOR_TAGS = ("AU", "A1")
_TEXT_TAGS = ("UR", "L1", "L2", "LK", "N1", "AN", "M1", "M3", "JO", "JF", "T2", "PB", "SN", "ID", "DB")


def read_ris(text: str) -> list[Entry]:
    """The records of a RIS file, TY to ER; text outside records is ignored, a record cut off at the end
    is read as far as it goes and reported as unreadable when it has no title or identifier."""
    entries: list[Entry] = []
    fields: dict[str, list[str]] | None = None
    start = 0
    last_tag: str | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        m = _LINE.match(line.lstrip("\ufeff"))
        if m is None:
            # a continuation of a long value (some tools wrap N1 and AB)
            if fields is not None and last_tag and line.strip():
                fields[last_tag][-1] += " " + line.strip()
            continue
        tag, value = m.group(1), (m.group(2) or "").strip()
        if tag == "TY":
            if fields is not None:
                entries.append(_entry(fields, start, ended=False))
            fields, start = {"TY": [value]}, n
        elif fields is None:
            continue
        elif tag == "ER":
            entries.append(_entry(fields, start, ended=True))
            fields = None
        else:
            fields.setdefault(tag, []).append(value)
        last_tag = tag if fields is not None else None
    if fields is not None:
        entries.append(_entry(fields, start, ended=False))
    return entries


def _first(fields: dict[str, list[str]], *tags: str) -> str | None:
    for t in tags:
        for v in fields.get(t, ()):
            if v:
                return v
    return None


def _entry(fields: dict[str, list[str]], line: int, *, ended: bool) -> Entry:
    doi = clean_doi(_first(fields, "DO"))
    texts = [v for t in _TEXT_TAGS for v in fields.get(t, ())]
    title = _first(fields, *_TITLE_TAGS)
    arxiv_id = find_arxiv_id([], texts, doi)
    problem = None
    if not ended and not (title or doi or arxiv_id):
        problem = f"unreadable RIS record at line {line}: no ER line and no title or identifier"
    urls = fields.get("UR", [])
    tags = tuple(
        t for kw in fields.get("KW", ()) for t in (split_tags(kw) if ";" in kw else (kw.strip(),)) if t
    )
    return Entry(
        key=_first(fields, "ID"),
        title=" ".join(title.split()) if title else None,
        authors=tuple(first_last(a) for t in _AUTHOR_TAGS for a in fields.get(t, ()) if a.strip()),
        year=year_of(_first(fields, "PY", "Y1", "DA")),
        doi=doi,
        arxiv_id=arxiv_id,
        url=urls[0] if urls else None,
        source_format="ris",
        raw_type=_first(fields, "TY"),
        tags=tuple(dict.fromkeys(tags)),
        note="\n".join(fields["N1"]) if fields.get("N1") else None,
        line=line,
        problem=problem,
    )


# -- writing ----------------------------------------------------------------------------------------------


def write_ris(
    papers: Sequence[Paper],
    tags: Mapping[str, Sequence[str]] | None = None,
    notes: Mapping[str, str] | None = None,
) -> str:
    """Papers as RIS records: TY UNPB (an unpublished work: a preprint) or JOUR when arXiv knows the journal."""
    return "".join(_record(p, (tags or {}).get(p.id, ()), (notes or {}).get(p.id)) for p in papers)


def _record(p: Paper, tags: Sequence[str], note: str | None) -> str:
    day = p.published or p.announced or p.updated
    rows: list[tuple[str, str | None]] = [("TY", "JOUR" if p.journal_ref else "UNPB"), ("ID", p.id)]
    rows.append(("TI", p.title))
    rows += [("AU", last_first(a)) for a in p.authors]
    if day:
        rows += [("PY", str(day.year)), ("DA", day.strftime("%Y/%m/%d"))]
    rows += [
        ("JO", p.journal_ref),
        ("PB", "arXiv"),
        ("AN", f"arXiv:{p.id}"),
        ("DO", p.doi),
        ("UR", p.abs_url),
        ("L1", p.pdf_url),
        ("AB", p.abstract),
    ]
    rows += [("KW", t) for t in tags]
    if note:
        rows.append(("N1", note))
    rows.append(("ER", ""))  # then a blank line, as Zotero and EndNote write it
    return "".join(f"{tag}  - {_one_line(v)}\n" for tag, v in rows if v is not None) + "\n"


def _one_line(v: str | None) -> str:
    """RIS values are one line each: line breaks folded."""
    return " ".join((v or "").split())
