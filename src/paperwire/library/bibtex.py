"""BibTeX (and biblatex, Zotero's and Better BibTeX's exports) to entries, and papers to BibTeX.

Reading uses bibtexparser 2 (a tolerant splitter: a broken block is reported with its line and the blocks
around it are read); names, accents and braces are decoded here (library/latex.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

import bibtexparser.model as bm
from bibtexparser.entrypoint import parse_string

from paperwire.library.entry import Entry, clean_doi, find_arxiv_id, split_tags, year_of
from paperwire.library.latex import latex_to_text, text_to_latex
from paperwire.library.names import first_last, split_bibtex_authors
from paperwire.models import Paper

# fields whose whole value may be an arXiv id (eprint: arXiv's and biblatex's; arxivid: Mendeley; arxiv: some)
_ID_FIELDS = ("eprint", "arxivid", "arxiv", "arxiv_id")
# free-text fields where people and tools put "arXiv:ID" or an arXiv link
_TEXT_FIELDS = (
    "url",
    "note",
    "journal",
    "journaltitle",
    "howpublished",
    "number",
    "publisher",
    "pdf",
    "annote",
)


def read_bibtex(text: str) -> list[Entry]:
    """The entries of a BibTeX file in file order; a block that cannot be parsed becomes an entry with a
    ``problem`` (its line and the parser's complaint), so nothing is lost silently."""
    library = parse_string(text)
    out: list[Entry] = []
    for block in library.blocks:
        if isinstance(block, bm.DuplicateBlockKeyBlock):
            dup = block.ignore_error_block
            if isinstance(dup, bm.Entry):  # a repeated key is still a reference: read it as one
                out.append(_entry(dup))
        elif isinstance(block, bm.ParsingFailedBlock):
            out.append(_failed(block))
        elif isinstance(block, bm.Entry):
            out.append(_entry(block))
    return out


def _line(block: bm.Block) -> int | None:
    return block.start_line + 1 if block.start_line is not None else None


def _failed(block: bm.ParsingFailedBlock) -> Entry:
    raw = (block.raw or "").strip()
    head = raw.splitlines()[0][:80] if raw else ""
    key = None
    m = re.match(r"@\s*\w+\s*[{(]\s*([^,\s]+)\s*,", raw)
    if m:
        key = m.group(1)
    error = block.error
    why = str(getattr(error, "abort_reason", None) or getattr(error, "message", None) or error).strip()
    why = " ".join(why.split()) or "syntax error"
    return Entry(
        key=key,
        title=None,
        source_format="bibtex",
        line=_line(block),
        problem=f"unreadable BibTeX at line {_line(block)} ({head!r}): {why}",
    )


def _entry(block: bm.Entry) -> Entry:
    fields = {f.key.lower(): f.value for f in block.fields if isinstance(f.value, str)}
    eprint_type = (fields.get("archiveprefix") or fields.get("eprinttype") or "arxiv").strip().lower()
    exact = [fields.get(k) for k in _ID_FIELDS if k != "eprint" or eprint_type == "arxiv"]
    doi = clean_doi((fields.get("doi") or "").replace("\\_", "_"))
    url = (fields.get("url") or "").strip() or None  # verbatim in BibTeX: a ~ or -- in a URL is literal
    authors = tuple(latex_to_text(first_last(n)) for n in split_bibtex_authors(fields.get("author") or ""))
    return Entry(
        key=block.key or None,
        title=latex_to_text(fields.get("title")) or None,
        authors=tuple(a for a in authors if a),
        year=year_of(fields.get("year") or fields.get("date")),
        doi=doi,
        arxiv_id=find_arxiv_id(exact, [fields.get(k) for k in _TEXT_FIELDS], doi),
        url=url,
        source_format="bibtex",
        raw_type=block.entry_type.lower(),
        tags=split_tags(latex_to_text(fields.get("keywords") or fields.get("mendeley-tags"))),
        note=latex_to_text(fields.get("annote") or fields.get("comment")) or None,
        line=_line(block),
    )


# -- writing ----------------------------------------------------------------------------------------------


def bibtex_key(paper: Paper) -> str:
    """A stable, unique citation key: first author's family name, year, then the arXiv id
    (``vaswani2017_1706.03762``; old-style ids with ``_`` for ``/``). Only ASCII letters, digits, ``.-_``."""
    family = ""
    if paper.authors:
        family = _ascii_word(paper.authors[0].split()[-1]) if paper.authors[0].split() else ""
    year = paper.published or paper.announced or paper.updated
    return f"{family or 'arxiv'}{year.year if year else ''}_{paper.id.replace('/', '_')}"


def _ascii_word(s: str) -> str:
    folded = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z]", "", folded).lower()


def write_bibtex(
    papers: Sequence[Paper],
    tags: Mapping[str, Sequence[str]] | None = None,
    notes: Mapping[str, str] | None = None,
) -> str:
    """Papers as BibTeX ``@misc`` entries in arXiv's own form (eprint, archivePrefix, primaryClass, url)."""
    return "\n".join(_write_one(p, (tags or {}).get(p.id, ()), (notes or {}).get(p.id)) for p in papers)


def _write_one(p: Paper, tags: Sequence[str], note: str | None) -> str:
    year = p.published or p.announced or p.updated
    names = [_name(a) for a in p.authors]
    fields: list[tuple[str, str | None]] = [
        ("title", text_to_latex(p.title, protect_case=True)),
        ("author", " and ".join(names) if names else None),
        ("year", str(year.year) if year else None),
        ("eprint", p.id),
        ("archivePrefix", "arXiv"),
        ("primaryClass", p.primary_category),
        ("doi", p.doi if p.doi and _balanced_braces(p.doi) else None),  # verbatim, as biblatex reads it
        ("url", p.abs_url),
        ("journal", text_to_latex(p.journal_ref) if p.journal_ref else None),
        ("abstract", text_to_latex(p.abstract) if p.abstract else None),
        ("keywords", text_to_latex(", ".join(t.replace(",", " ") for t in tags)) if tags else None),
        ("annote", text_to_latex(note) if note else None),
    ]
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields if v)
    kind = "article" if p.journal_ref else "misc"
    return f"@{kind}{{{bibtex_key(p)},\n{body}\n}}\n"


def _name(author: str) -> str:
    """One author for an ``author`` field; a name BibTeX would split wrongly (a comma, an "and") is braced
    whole."""
    escaped = text_to_latex(author)
    if "," in author or re.search(r"\sand\s", author, re.IGNORECASE):
        return "{" + escaped + "}"
    return escaped


def _balanced_braces(s: str) -> bool:
    return s.count("{") == s.count("}") == 0
