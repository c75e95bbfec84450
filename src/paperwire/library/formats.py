"""Library files: read any supported format to entries (the format told by content, then file name), write
papers as BibTeX, CSL JSON or RIS.

    read:   bibtex (BibTeX/biblatex, Zotero and Better BibTeX exports), csl (CSL JSON), ris, ids (a list of
            arXiv ids, arXiv links or DOIs, one a line)
    write:  bibtex, csl, ris
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from paperwire.errors import LibraryFormatError
from paperwire.library.bibtex import read_bibtex, write_bibtex
from paperwire.library.csl import read_csl, write_csl
from paperwire.library.entry import Entry
from paperwire.library.ids import looks_like_ids, read_ids
from paperwire.library.ris import read_ris, write_ris
from paperwire.models import Paper

__all__ = [
    "EXPORT_FORMATS",
    "EXTENSIONS",
    "FORMATS",
    "MEDIA_TYPES",
    "Entry",
    "ExportFormat",
    "detect_format",
    "export_library",
    "read_library",
]

FORMATS = ("bibtex", "csl", "ris", "ids")
EXPORT_FORMATS = ("bibtex", "csl", "ris")
ExportFormat = Literal["bibtex", "csl", "ris"]
MEDIA_TYPES = {
    "bibtex": "application/x-bibtex; charset=utf-8",
    "csl": "application/vnd.citationstyles.csl+json; charset=utf-8",
    "ris": "application/x-research-info-systems; charset=utf-8",
}
EXTENSIONS = {"bibtex": ".bib", "csl": ".json", "ris": ".ris"}
# a file name's extension, where content alone does not tell
_BY_EXTENSION = {
    ".bib": "bibtex",
    ".bibtex": "bibtex",
    ".biblatex": "bibtex",
    ".json": "csl",
    ".csljson": "csl",
    ".ris": "ris",
    ".txt": "ids",
    ".list": "ids",
}
MAX_BYTES = 64 * 1024 * 1024  # a 10,000-entry BibTeX file with abstracts is about 15 MB

_READERS: dict[str, Callable[[str], list[Entry]]] = {
    "bibtex": read_bibtex,
    "csl": read_csl,
    "ris": read_ris,
    "ids": read_ids,
}
_BIBTEX_START = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]", re.MULTILINE)
_RIS_START = re.compile(r"^\ufeff?TY\s{1,2}- ", re.MULTILINE)


def read_library(data: bytes | str, filename: str | None = None, fmt: str | None = None) -> list[Entry]:
    """The entries of a library file, in file order; ``fmt`` (one of FORMATS) or else the content, then the
    file name, says the format. Raises LibraryFormatError for input that cannot be read at all (binary, no
    known format, no entries); a broken entry inside a readable file is returned with its ``problem``."""
    text = decode(data)
    chosen = fmt or detect_format(text, filename)
    if chosen not in _READERS:
        raise LibraryFormatError(f"unknown library format {chosen!r}: expected one of {', '.join(FORMATS)}")
    entries = _READERS[chosen](text)
    if not entries:
        raise LibraryFormatError(f"no entries found in this {_NAMES[chosen]} file")
    if all(e.problem for e in entries):
        raise LibraryFormatError(f"no readable entry in this {_NAMES[chosen]} file: {entries[0].problem}")
    return entries


_NAMES = {"bibtex": "BibTeX", "csl": "CSL JSON", "ris": "RIS", "ids": "id list"}


def decode(data: bytes | str) -> str:
    """Text of an uploaded file: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 (old BibTeX
    files); binary input is refused."""
    if isinstance(data, str):
        text = data
    else:
        if len(data) > MAX_BYTES:
            raise LibraryFormatError(f"library file too large ({len(data) // 2**20} MB; at most 64 MB)")
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            try:
                text = data.decode("utf-16")
            except UnicodeDecodeError as exc:
                raise LibraryFormatError(f"the file says it is UTF-16 but is not ({exc.reason})") from None
        else:
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("cp1252", errors="replace")
    if "\0" in text[:65536] or (text and sum(c < " " and c not in "\t\r\n\f" for c in text[:4096]) > 8):
        raise LibraryFormatError(
            "this is a binary file, not a library (BibTeX, CSL JSON, RIS or a list of ids)"
        )
    return text.lstrip("\ufeff")


def detect_format(text: str, filename: str | None = None) -> str:
    """One of FORMATS for ``text``: by its content when that is plain, else by the file name's extension."""
    head = text.lstrip()
    if head.startswith(("[", "{")) and not _BIBTEX_START.match(head):
        return "csl"
    if _RIS_START.search(text[:100_000]):
        return "ris"
    if _BIBTEX_START.search(text[:1_000_000]):
        return "bibtex"
    if looks_like_ids(text):
        return "ids"
    if filename:
        ext = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if ext in _BY_EXTENSION and _BY_EXTENSION[ext] != "ids":
            return _BY_EXTENSION[ext]
    if not head:
        raise LibraryFormatError("the library file is empty")
    raise LibraryFormatError(
        "cannot tell the format of this file: expected BibTeX (@article{...}), CSL JSON ([{...}]), RIS "
        "(TY  - ...) or a list of arXiv ids or links, one a line"
    )


def export_library(
    papers: Sequence[Paper],
    fmt: ExportFormat,
    tags: Mapping[str, Sequence[str]] | None = None,
    notes: Mapping[str, str] | None = None,
) -> str:
    """Papers as a BibTeX, CSL JSON or RIS file; ``tags`` and ``notes`` by paper id (BibTeX keywords/annote,
    CSL keyword/annote, RIS KW/N1)."""
    if fmt == "bibtex":
        return write_bibtex(papers, tags, notes)
    if fmt == "csl":
        return write_csl(papers, tags, notes)
    if fmt == "ris":
        return write_ris(papers, tags, notes)
    raise LibraryFormatError(f"cannot export as {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")
