"""CSL JSON (Zotero's, Mendeley's, pandoc's, citeproc's data format) to entries, and papers to CSL JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from paperwire.errors import LibraryFormatError
from paperwire.library.entry import Entry, clean_doi, find_arxiv_id, split_tags, year_of
from paperwire.library.names import split_name
from paperwire.models import Paper

# CSL's rich-text markup in titles (<i>, <b>, <sup>, <sub>, <span class="nocase">)
_MARKUP = re.compile(r"</?(?:i|b|sup|sub|sc|span)(?:\s[^>]*)?>", re.IGNORECASE)
_TEXT_FIELDS = ("URL", "number", "note", "archive_location", "container-title", "publisher", "source")


def read_csl(text: str) -> list[Entry]:
    """The items of a CSL JSON document: an array of items (also one item alone, or ``{"items": [...]}``)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LibraryFormatError(
            f"not valid CSL JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    except RecursionError:  # arrays nested thousands deep: no library looks like that
        raise LibraryFormatError("not CSL JSON: nested too deeply") from None
    if isinstance(data, dict):
        data = data.get("items", [data]) if "items" in data or "title" in data or "type" in data else None
    if not isinstance(data, list):
        raise LibraryFormatError(
            "not CSL JSON: expected an array of items (objects with a title, authors...)"
        )
    return [_item(i, item) for i, item in enumerate(data, 1)]


def _item(n: int, item: Any) -> Entry:
    if not isinstance(item, dict):
        return Entry(key=None, title=None, source_format="csl", problem=f"item {n} is not an object")
    title = _text(item.get("title"))
    doi = clean_doi(_text(item.get("DOI")))
    texts = [_text(item.get(k)) for k in _TEXT_FIELDS]
    keywords = item.get("keyword")
    tags = (
        tuple(str(k) for k in keywords if str(k).strip())
        if isinstance(keywords, list)
        else split_tags(_text(keywords))
    )
    return Entry(
        key=_text(item.get("id")) or _text(item.get("citation-key")) or None,
        title=_MARKUP.sub("", title) if title else None,
        authors=tuple(a for a in (_person(p) for p in _list(item.get("author"))) if a),
        year=_year(item.get("issued")),
        doi=doi,
        arxiv_id=find_arxiv_id([], texts, doi),
        url=_text(item.get("URL")) or None,
        source_format="csl",
        raw_type=_text(item.get("type")) or None,
        tags=tags,
        note=_text(item.get("annote")) or None,
    )


def _text(v: Any) -> str:
    if v is None or isinstance(v, (dict, list)):
        return ""
    return " ".join(str(v).split())


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _person(p: Any) -> str:
    if not isinstance(p, dict):
        return _text(p)
    if p.get("literal"):
        return _text(p["literal"])
    parts = [p.get("given"), p.get("dropping-particle"), p.get("non-dropping-particle"), p.get("family")]
    name = " ".join(_text(x) for x in parts if _text(x))
    return f"{name} {_text(p['suffix'])}" if p.get("suffix") else name


def _year(issued: Any) -> int | None:
    if isinstance(issued, dict):
        parts = issued.get("date-parts")
        if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
            try:
                return int(parts[0][0])
            except (TypeError, ValueError):
                return None
        return year_of(_text(issued.get("raw") or issued.get("literal")))
    return year_of(_text(issued))


# -- writing ----------------------------------------------------------------------------------------------


def write_csl(
    papers: Sequence[Paper],
    tags: Mapping[str, Sequence[str]] | None = None,
    notes: Mapping[str, str] | None = None,
) -> str:
    """Papers as a CSL JSON array, typed ``article`` (CSL's type for preprints), as Zotero writes arXiv
    papers (number ``arXiv:ID``, publisher arXiv, the arXiv DOI when the paper has no other)."""
    return json.dumps(
        [_csl(p, (tags or {}).get(p.id, ()), (notes or {}).get(p.id)) for p in papers],
        ensure_ascii=False,
        indent=2,
    )


def _csl(p: Paper, tags: Sequence[str], note: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": p.id,
        "type": "article-journal" if p.journal_ref else "article",
        "title": p.title,
        "author": [_csl_name(a) for a in p.authors],
        "number": f"arXiv:{p.id}",
        "publisher": "arXiv",
        "URL": p.abs_url,
        "DOI": p.doi or f"10.48550/arXiv.{p.id}",
    }
    day = p.published or p.announced or p.updated
    if day:
        item["issued"] = {"date-parts": [[day.year, day.month, day.day]]}
    if p.journal_ref:
        item["container-title"] = p.journal_ref
    if p.abstract:
        item["abstract"] = p.abstract
    if p.primary_category:
        item["note"] = f"arXiv:{p.id} [{p.primary_category}]"
    if tags:
        item["keyword"] = ", ".join(tags)
    if note:
        item["annote"] = note
    return item


def _csl_name(name: str) -> dict[str, str]:
    given, family, suffix = split_name(name)
    if not given:
        return {"literal": family}
    out = {"family": family, "given": given}
    if suffix:
        out["suffix"] = suffix
    return out
