"""JSON-lines paper files: listing scrapes (papers.jsonl.gz) and arXiv's bulk metadata snapshot (Kaggle format).

Streams plain or gzip files line by line in constant memory; a bad record becomes a ``RecordError`` with its
line number, never the end of the file.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any

from paperwire.errors import IngestError, RecordError
from paperwire.models import Paper

_WS = re.compile(r"\s+")
_VERSION = re.compile(r"v(\d+)$")
_ID = re.compile(r"^(\d{4}\.\d{4,5}|[a-z][a-z\-]*(\.[A-Z]{2})?/\d{7})$")


def open_lines(path: Path) -> tuple[IO[str], IO[bytes]]:
    """Open a plain or gzip text file for streaming; also returns the raw file (its position is progress)."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise IngestError(f"cannot open {path}: {exc.strerror or exc}") from exc
    magic = raw.peek(2)[:2] if isinstance(raw, io.BufferedReader) else b""
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8", errors="strict"), raw
    return io.TextIOWrapper(raw, encoding="utf-8", errors="strict"), raw


def iter_records(
    path: Path, start_line: int = 0, on_bytes: Callable[[int], None] | None = None
) -> Iterator[tuple[int, Paper | RecordError]]:
    """(line number, Paper or the RecordError explaining why that line was skipped), from ``start_line`` on.

    ``on_bytes`` is told, now and then, how far into the (compressed) file reading has come.
    """
    fh, raw = open_lines(path)
    with raw, fh:
        lineno = 0
        while True:
            try:
                line = fh.readline()
            except (UnicodeDecodeError, EOFError, gzip.BadGzipFile, OSError) as exc:
                raise IngestError(f"{path}: unreadable after line {lineno}: {exc}") from exc
            if not line:
                return
            lineno += 1
            if on_bytes is not None and lineno % 1000 == 0:
                on_bytes(raw.tell())
            if lineno <= start_line or not line.strip():
                continue
            try:
                yield lineno, parse_record(json.loads(line), lineno)
            except json.JSONDecodeError as exc:
                yield lineno, RecordError(f"not JSON ({exc.msg} at column {exc.colno})", lineno)
            except RecordError as exc:
                yield lineno, exc


def parse_record(obj: Any, line: int | None = None) -> Paper:
    """One JSON object in either supported format to a Paper."""
    if not isinstance(obj, dict):
        raise RecordError("record is not a JSON object", line)
    if "abstract" in obj or "versions" in obj or "authors_parsed" in obj:
        return _from_snapshot(obj, line)
    return _from_listing(obj, line)


def _from_listing(o: dict[str, Any], line: int | None) -> Paper:
    pid, version = _split_id(o.get("id"), line)
    title = _text(o.get("title"), "title", line)
    abstract = _text(o.get("summary"), "summary", line)
    authors = o.get("authors") or []
    if not isinstance(authors, list) or not all(isinstance(a, str) for a in authors):
        raise RecordError("authors must be a list of names", line)
    cats = o.get("categories") or []
    if isinstance(cats, str):
        cats = cats.split()
    if not isinstance(cats, list):
        raise RecordError("categories must be a list", line)
    announced = _date(o.get("_listing_date"), "_listing_date", line)
    return Paper(
        id=pid,
        version=version or 1,
        title=title,
        abstract=abstract,
        authors=tuple(_clean(a) for a in authors if a.strip()),
        categories=tuple(dict.fromkeys(str(c) for c in cats)),
        announced=announced,
        comment=_opt(o.get("comment")),
        sources=("listing",),
    )


def _from_snapshot(o: dict[str, Any], line: int | None) -> Paper:
    pid, version = _split_id(o.get("id"), line)
    versions = o.get("versions") or []
    dates = [_rfc2822(v.get("created")) for v in versions if isinstance(v, dict)]
    if versions and isinstance(versions[-1], dict):
        m = _VERSION.search(str(versions[-1].get("version", "")))
        version = int(m.group(1)) if m else len(versions)
    parsed = o.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        authors = tuple(_name(p) for p in parsed if isinstance(p, list) and p)
    else:
        raw = str(o.get("authors") or "")
        authors = tuple(a for a in (_clean(x) for x in re.split(r",\s*|\s+and\s+", raw)) if a)
    updated = _date(o.get("update_date"), "update_date", line)
    return Paper(
        id=pid,
        version=version or 1,
        title=_text(o.get("title"), "title", line),
        abstract=_text(o.get("abstract"), "abstract", line),
        authors=tuple(a for a in authors if a),
        categories=tuple(dict.fromkeys(str(o.get("categories") or "").split())),
        published=dates[0] if dates and dates[0] else None,
        updated=updated or (dates[-1] if dates else None),
        comment=_opt(o.get("comments")),
        journal_ref=_opt(o.get("journal-ref")),
        doi=_opt(o.get("doi")),
        license=_opt(o.get("license")),
        sources=("snapshot",),
    )


def _split_id(raw: Any, line: int | None) -> tuple[str, int | None]:
    if not isinstance(raw, str) or not raw.strip():
        raise RecordError("missing id", line)
    s = raw.strip()
    version = None
    m = _VERSION.search(s)
    if m:
        version = int(m.group(1))
        s = s[: m.start()]
    if not _ID.match(s):
        raise RecordError(f"not an arXiv id: {raw!r}", line)
    return s, version


def _text(v: Any, field: str, line: int | None) -> str:
    if not isinstance(v, str) or not v.strip():
        raise RecordError(f"missing {field}", line)
    return _clean(v)


def _clean(s: str) -> str:
    return _WS.sub(" ", s).strip()


def _opt(v: Any) -> str | None:
    return _clean(v) if isinstance(v, str) and v.strip() else None


def _date(v: Any, field: str, line: int | None) -> date | None:
    if v in (None, ""):
        return None
    try:
        return date.fromisoformat(str(v)[:10])
    except ValueError as exc:
        raise RecordError(f"bad {field} date {v!r}", line) from exc


def _rfc2822(v: Any) -> date | None:
    try:
        dt: datetime = parsedate_to_datetime(str(v))
    except (TypeError, ValueError):
        return None
    return dt.date()


def _name(parts: list[Any]) -> str:
    # authors_parsed is [keyname, forenames, suffix]: show it as "Forenames Keyname Suffix"
    key, fore, suffix = ([*list(parts), "", "", ""])[:3]
    return _clean(" ".join(str(x) for x in (fore, key, suffix) if x))
