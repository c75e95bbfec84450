"""JSON-lines paper files: listing scrapes (papers.jsonl.gz) and arXiv's bulk metadata snapshot (Kaggle format).

Streams plain or gzip files line by line in constant memory; a bad record becomes a ``RecordError`` with its
line number, never the end of the file.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from collections.abc import Callable, Iterator
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any, cast

from paperwire.errors import IngestError, RecordError
from paperwire.models import Paper
from paperwire.records import MAX_LINE_BYTES, MAX_VERSION, check_paper

_VERSION = re.compile(r"v(\d+)$")
_ID = re.compile(r"^(\d{4}\.\d{4,5}|[a-z][a-z\-]*(\.[A-Z]{2})?/\d{7})$")


def open_lines(path: Path) -> tuple[IO[bytes], IO[bytes]]:
    """Open a plain or gzip file for streaming lines of bytes; also returns the raw file (its position is progress).

    Lines are decoded one by one, so a line that is not UTF-8 is one bad record, not an unreadable file.
    """
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise IngestError(f"cannot open {path}: {exc.strerror or exc}") from exc
    magic = raw.peek(2)[:2] if isinstance(raw, io.BufferedReader) else b""
    if magic == b"\x1f\x8b":
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw)), raw
    return raw, raw


def iter_records(
    path: Path, start_line: int = 0, on_bytes: Callable[[int], None] | None = None
) -> Iterator[tuple[int, Paper | RecordError]]:
    """(line number, Paper or the RecordError explaining why that line was skipped), from ``start_line`` on.

    Lines end at "\\n" only. ``on_bytes`` is told, now and then, how far into the (compressed) file reading
    has come. A file that cannot be read on (a truncated gzip stream) raises IngestError naming the last good
    line, after every record before it has been yielded.
    """
    fh, raw = open_lines(path)
    with raw, fh:
        lineno = 0
        while True:
            try:
                line = fh.readline(MAX_LINE_BYTES + 1)
                overlong = len(line) > MAX_LINE_BYTES and not line.endswith(b"\n")
                while overlong and line and not line.endswith(b"\n"):
                    line = fh.readline(MAX_LINE_BYTES)  # skip the rest of it in bounded pieces
            except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
                raise IngestError(f"{path}: unreadable after line {lineno}: {exc}") from exc
            if not line:
                return
            lineno += 1
            if on_bytes is not None and lineno % 1000 == 0:
                on_bytes(raw.tell())
            if lineno <= start_line:
                continue
            if overlong:
                yield lineno, RecordError(f"longer than {MAX_LINE_BYTES:,} bytes", lineno)
                continue
            rec = parse_line(line, lineno)
            if rec is not None:
                yield lineno, rec


def parse_line(line: bytes, lineno: int | None = None) -> Paper | RecordError | None:
    """One line of a JSON-lines file to a Paper, or the RecordError saying why it is skipped.

    Never raises: whatever the bytes, the answer is a paper or a reason. A blank line gives None.
    """
    if lineno == 1 and line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]  # a byte-order mark some editors write
    if not line.strip():
        return None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return RecordError(f"not UTF-8 (byte 0x{line[exc.start]:02x} at byte {exc.start + 1})", lineno)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return RecordError(f"not JSON ({exc.msg} at column {exc.colno})", lineno)
    except RecursionError:
        return RecordError("not JSON this reader accepts (nested too deeply)", lineno)
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        return RecordError(f"not JSON this reader accepts ({exc})", lineno)
    try:
        return parse_record(obj, lineno)
    except RecordError as exc:
        return exc
    except RecursionError:
        return RecordError("nested too deeply", lineno)
    except (
        Exception
    ) as exc:  # a case the checks above missed: still one bad record, never the end of the file
        return RecordError(f"unreadable record ({type(exc).__name__}: {str(exc)[:200]})", lineno)


def parse_record(obj: Any, line: int | None = None) -> Paper:
    """One JSON object in either supported format to a checked Paper (:func:`paperwire.records.check_paper`)."""
    if not isinstance(obj, dict):
        raise RecordError("record is not a JSON object", line)
    snapshot = "abstract" in obj or "versions" in obj or "authors_parsed" in obj
    paper = _from_snapshot(obj, line) if snapshot else _from_listing(obj, line)
    try:
        return check_paper(paper)
    except RecordError as exc:
        raise RecordError(exc.reason, line) from None


def _from_listing(o: dict[str, Any], line: int | None) -> Paper:
    pid, version = _split_id(o.get("id"), line)
    title = _text(o.get("title"), "title", line)
    abstract = _text(o.get("summary"), "summary", line)
    authors = o.get("authors") or []
    if not isinstance(authors, list) or not all(isinstance(a, str) for a in authors):
        raise RecordError("authors must be a list of names", line)
    announced = _date(o.get("_listing_date"), "_listing_date", line)
    return Paper(
        id=pid,
        version=version or 1,
        title=title,
        abstract=abstract,
        authors=tuple(a for a in authors if a.strip()),
        categories=_categories(o.get("categories"), line),
        announced=announced,
        comment=_opt(o.get("comment")),
        sources=("listing",),
    )


def _from_snapshot(o: dict[str, Any], line: int | None) -> Paper:
    pid, version = _split_id(o.get("id"), line)
    versions = o.get("versions") or []
    if not isinstance(versions, list):
        raise RecordError("versions must be a list of {version, created} objects", line)
    dates = [_rfc2822(v.get("created")) for v in versions if isinstance(v, dict)]
    if versions and isinstance(versions[-1], dict):
        m = _VERSION.search(str(versions[-1].get("version", ""))[:32])
        version = _version_number(m.group(1), line) if m else len(versions)
    parsed = o.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        authors = tuple(_name(p) for p in parsed if isinstance(p, list) and p)
    else:
        raw = o.get("authors") or ""
        if not isinstance(raw, str):
            raise RecordError("authors must be text (names separated by commas and 'and')", line)
        authors = tuple(a for a in re.split(r",\s*|\s+and\s+", raw) if a.strip())
    updated = _date(o.get("update_date"), "update_date", line)
    return Paper(
        id=pid,
        version=version or 1,
        title=_text(o.get("title"), "title", line),
        abstract=_text(o.get("abstract"), "abstract", line),
        authors=tuple(a for a in authors if a),
        categories=_categories(o.get("categories"), line),
        published=dates[0] if dates and dates[0] else None,
        updated=updated or (dates[-1] if dates else None),
        comment=_opt(o.get("comments")),
        journal_ref=_opt(o.get("journal-ref")),
        doi=_opt(o.get("doi")),
        license=_opt(o.get("license")),
        sources=("snapshot",),
    )


def _categories(raw: Any, line: int | None) -> tuple[str, ...]:
    # the snapshot writes "cs.LG cs.AI", listings a JSON list; accept either in both
    if raw is None or raw == "":
        return ()
    if isinstance(raw, str):
        return tuple(dict.fromkeys(raw.split()))
    if isinstance(raw, list) and all(isinstance(c, str) for c in raw):
        return tuple(dict.fromkeys(c.strip() for c in raw if c.strip()))
    raise RecordError("categories must be a list of names or one space-separated string", line)


def _split_id(raw: Any, line: int | None) -> tuple[str, int | None]:
    if not isinstance(raw, str) or not raw.strip():
        raise RecordError("missing id", line)
    s = raw.strip()
    if len(s) > 64:
        raise RecordError(f"not an arXiv id: {s[:40]!r}...", line)
    version = None
    m = _VERSION.search(s)
    if m:
        version = _version_number(m.group(1), line)
        s = s[: m.start()]
    if not _ID.match(s):
        raise RecordError(f"not an arXiv id: {raw!r}", line)
    return s, version


def _version_number(digits: str, line: int | None) -> int:
    if len(digits) > len(str(MAX_VERSION)) or int(digits) > MAX_VERSION:
        raise RecordError(f"version v{digits[:12]}{'...' if len(digits) > 12 else ''} is out of range", line)
    return int(digits)


def _text(v: Any, field: str, line: int | None) -> str:
    if v is not None and not isinstance(v, str):
        raise RecordError(f"{field} must be text, not {_kind(v)}", line)
    if not v or not v.strip():
        raise RecordError(f"missing {field}", line)
    return v  # cleaned (whitespace, control characters) once, by records.check_paper


def _kind(v: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
        type(v), type(v).__name__
    )


def _opt(v: Any) -> str | None:
    return v if isinstance(v, str) and v.strip() else None


def _date(v: Any, field: str, line: int | None) -> date | None:
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        raise RecordError(f"{field} must be a date (YYYY-MM-DD), not {_kind(v)}", line)
    try:
        return date.fromisoformat(v[:10])
    except ValueError as exc:
        raise RecordError(f"bad {field} date {v[:40]!r}", line) from exc


def _rfc2822(v: Any) -> date | None:
    if not isinstance(v, str):
        return None
    try:
        dt: datetime = parsedate_to_datetime(v[:64])
    except (TypeError, ValueError, OverflowError):  # a 20-digit year overflows
        return None
    return dt.date()


def _name(parts: list[Any]) -> str:
    # authors_parsed is [keyname, forenames, suffix]: show it as "Forenames Keyname Suffix"
    key, fore, suffix = ([*list(parts), "", "", ""])[:3]
    return " ".join(x for x in (fore, key, suffix) if isinstance(x, str) and x)
