"""Hugging Face daily papers (``api/daily_papers``): a day's list with each paper's upvotes, comments, GitHub
repository and stars, and project page; parsed from every schema generation seen since 2024, fetched politely.

A list is a JSON array of items, one per paper. Where each generation keeps what we read (the recorded
responses in tests/fixtures/hf-daily-papers/)::

    field          2024-05        2025-01        2025-06              2026-08
    arXiv id       paper.id       paper.id       paper.id             paper.id
    upvotes        paper.upvotes  paper.upvotes  paper.upvotes        paper.upvotes
    comments       numComments    numComments    numComments          numComments
    listed at      publishedAt    publishedAt    publishedAt          publishedAt (to the hour since 2026-04)
    repository     -              -              paper.githubRepo     paper.githubRepo
    stars          -              -              -                    paper.githubStars
    project page   -              -              paper.projectPage    paper.projectPage

Hugging Face orders a day's list by upvotes, ties by the item's top-level ``publishedAt``, newest first
(:func:`hf_order_key`). An item that breaks a rule (a missing field, a wrong type, an id that is no arXiv id, a
negative count, a repository that is no http(s) URL, HTML for a title) is reported with its reason and
skipped; the rest of the list is kept.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from paperwire.config import Settings
from paperwire.errors import IngestError, QueryError, RecordError, SourceError
from paperwire.models import Signal
from paperwire.records import MAX_LINE_BYTES, MAX_TITLE
from paperwire.sources.arxiv_ids import format_arxiv_ref, parse_arxiv_ref
from paperwire.sources.http import PoliteClient

SOURCE = "hf-daily"
PAGE_SIZE = 100  # the API's largest page (its default, 50, cut some recorded days short)
MAX_PAGES = 20  # a day has had at most ~100 papers; past 2,000 something is wrong
MAX_COUNT = 10**9  # upvotes, comments, stars: more than any real paper by orders of magnitude
MAX_URL = 2_000
# A file's observations carry no time of their own: they are dated at the end of their list's day (its list was
# captured that day, no later), so a gain measured from them is never overstated.
FILE_OBSERVED_AT = time(23, 59, tzinfo=UTC)

# Markup of an HTML page or fragment: real titles hold "<think>" or "<1 ms", never an HTML element.
_HTML = re.compile(
    r"</?(?:!doctype|html|head|body|script|style|iframe|frame|object|embed|meta|link|base|form|input|svg"
    r"|img|video|audio|a|p|div|span|br|hr|b|i|u|em|strong|sub|sup|h[1-6]|ul|ol|li|table|tr|td|th|pre|code)"
    r"(?:\s[^<>]*)?/?>|<!--|&lt;/?script",
    re.IGNORECASE,
)
_WRAPPED = re.compile(r"[ \t]*[\r\n]+[ \t]*")
_URL_TEXT = re.compile(r"[^\s\x00-\x1f\x7f-\x9f\ud800-\udfff]+")  # no blanks, controls or lone surrogates


@dataclass(frozen=True)
class BadItem:
    """An item that was skipped: where it was, which paper if that much was readable, and why."""

    where: str  # "item 3" (of a list) or "line 17" (of a file)
    reason: str
    paper_id: str | None = None

    def __str__(self) -> str:
        paper = f" ({self.paper_id})" if self.paper_id else ""
        return f"{self.where}{paper}: {self.reason}"


@dataclass
class DailyList:
    """One day's list as read: its observations in Hugging Face's order, and the items skipped."""

    day: date
    observed_at: datetime
    signals: list[Signal] = field(default_factory=list)
    bad: list[BadItem] = field(default_factory=list)


def hf_order_key(signal: Signal) -> tuple[int, float, tuple[int, ...]]:
    """Sort key of Hugging Face's daily order: upvotes, then the time listed, then the paper id, each
    descending (an unknown listing time sorts last among equal upvotes)."""
    listed = -signal.listed_at.timestamp() if signal.listed_at is not None else math.inf
    # descending id: each character negated; the trailing 1 puts an id after the longer ids it begins
    return -signal.upvotes, listed, (*(-ord(c) for c in signal.paper_id), 1)


def parse_item(item: object, listed_on: date, observed_at: datetime) -> Signal:
    """One list item as an observation; RecordError says why an item cannot be one."""
    if not isinstance(item, dict):
        raise RecordError(f"an item must be a JSON object, not {_kind(item)}")
    paper = item.get("paper")
    if not isinstance(paper, dict):
        raise RecordError("no paper object" if paper is None else f"paper is {_kind(paper)}, not an object")
    pid = _arxiv_id(paper.get("id"))
    title = item.get("title", paper.get("title"))
    if not isinstance(title, str) or not title.strip():
        raise RecordError("no title" if title is None else f"title is {_kind(title)}, not text")
    if len(title) > MAX_TITLE:
        raise RecordError(f"title of {len(title):,} characters (at most {MAX_TITLE:,})")
    if _HTML.search(title):
        raise RecordError(f"title holds HTML markup: {_show(title)}")
    return Signal(
        paper_id=pid,
        source=SOURCE,
        observed_at=observed_at,
        upvotes=_count(paper, "upvotes", "paper.upvotes", required=True) or 0,
        comments=_count(item, "numComments", "numComments", required=True) or 0,
        github_repo=_url(paper.get("githubRepo"), "paper.githubRepo"),
        github_stars=_count(paper, "githubStars", "paper.githubStars", required=False),
        project_page=_url(paper.get("projectPage"), "paper.projectPage"),
        listed_on=listed_on,
        listed_at=_moment(item.get("publishedAt"), "publishedAt"),
    )


def parse_daily_list(items: list[Any], day: date, observed_at: datetime, where: str = "item") -> DailyList:
    """A day's list (the JSON array the API answers): its good items in order, the bad ones with reasons."""
    out = DailyList(day, observed_at)
    seen: set[str] = set()
    for n, item in enumerate(items, start=1):
        _add(out, seen, item, day, observed_at, f"{where} {n}")
    return out


def _add(out: DailyList, seen: set[str], item: object, day: date, observed_at: datetime, where: str) -> None:
    try:
        signal = parse_item(item, day, observed_at)
    except RecordError as exc:
        out.bad.append(BadItem(where, exc.reason, _readable_id(item)))
        return
    if signal.paper_id in seen:
        out.bad.append(BadItem(where, "listed twice on one day; the first is kept", signal.paper_id))
        return
    seen.add(signal.paper_id)
    out.signals.append(signal)


# -- fetching -----------------------------------------------------------------------------------------------


def fetch_daily_list(
    client: PoliteClient,
    settings: Settings,
    day: date,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DailyList:
    """Fetch ``day``'s list (every page of it); its observations are dated when the first page arrived."""
    items: list[Any] = []
    observed_at: datetime | None = None
    for page in range(MAX_PAGES):
        params: dict[str, str | int | float | None] = {"date": day.isoformat(), "limit": PAGE_SIZE, "p": page}
        response = client.get(settings.hf_daily_endpoint, params)
        observed_at = observed_at or _to_second(now())
        try:
            payload = json.loads(response.content)
        except ValueError as exc:  # not JSON, or not UTF-8
            raise SourceError(
                f"Hugging Face's daily papers of {day}: the answer is not JSON ({exc})"
            ) from None
        if not isinstance(payload, list):
            raise SourceError(
                f"Hugging Face's daily papers of {day}: expected a JSON list, got {_kind(payload)}"
            )
        items.extend(payload)
        if len(payload) < PAGE_SIZE:
            break
    assert observed_at is not None
    return parse_daily_list(items, day, observed_at)


# -- files ----------------------------------------------------------------------------------------------------


@dataclass
class FileLists:
    """What a file held: its daily lists, the items that belong to none, and why reading stopped early if it
    did (a truncated gzip: everything before the damage is here)."""

    lists: list[DailyList]
    unplaced: list[BadItem]
    damage: str | None = None


def read_file(path: Path, day: date | None = None) -> FileLists:
    """The lists in a file, and the items that belong to none.

    The file is a JSON array as the API answers it (one day's list: ``day``, else the one YYYY-MM-DD in the
    file's name), or JSON lines (plain or gzip) of single items, each with its list's day in
    ``_snapshot_file_date`` (else ``day``). A file says nothing of when it was captured: its observations are
    dated at 23:59 UTC of their list's day. One list per day, in the order the file first names the days.
    """
    fallback = day or _day_in_name(path)
    lists: dict[date, DailyList] = {}
    seen: dict[date, set[str]] = {}
    unplaced: list[BadItem] = []
    damage: str | None = None
    for where, item in _file_items(path):
        if isinstance(item, IngestError):
            damage = str(item)
            break
        if isinstance(item, BadItem):
            unplaced.append(item)
            continue
        try:
            item_day = _item_day(item) or fallback
        except RecordError as exc:
            unplaced.append(BadItem(where, exc.reason, _readable_id(item)))
            continue
        if item_day is None:
            reason = "no _snapshot_file_date, and no --date (or date in the file's name) for its list"
            unplaced.append(BadItem(where, reason, _readable_id(item)))
            continue
        if item_day not in lists:
            lists[item_day] = DailyList(item_day, datetime.combine(item_day, FILE_OBSERVED_AT))
            seen[item_day] = set()
        current = lists[item_day]
        _add(current, seen[item_day], item, item_day, current.observed_at, where)
    return FileLists(list(lists.values()), unplaced, damage)


def _file_items(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, item or BadItem) of a JSON array file or a JSON-lines file, plain or gzip; last, where the file
    breaks off, (where, IngestError)."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise IngestError(f"cannot open {path}: {exc.strerror or exc}") from exc
    with raw:
        fh: gzip.GzipFile | io.BufferedReader = (
            gzip.GzipFile(fileobj=raw) if raw.peek(2)[:2] == b"\x1f\x8b" else raw
        )
        try:
            if fh.peek(4096).lstrip()[:1] == b"[":  # the API's answer as is
                try:
                    payload = json.loads(fh.read())
                except ValueError as exc:
                    raise IngestError(f"{path}: not a JSON list ({exc})") from None
                if not isinstance(payload, list):
                    raise IngestError(f"{path}: not a JSON list")
                for n, item in enumerate(payload, start=1):
                    yield f"item {n}", item
                return
            yield from _lines(fh)
        except (OSError, EOFError) as exc:  # a truncated or damaged gzip stream
            yield "end", IngestError(f"{path}: cannot read on ({exc}); everything before it was read")


def _lines(fh: gzip.GzipFile | io.BufferedReader) -> Iterator[tuple[str, Any]]:
    lineno = 0
    while True:
        line = fh.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        lineno += 1
        where = f"line {lineno}"
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = fh.readline(MAX_LINE_BYTES)
            yield where, BadItem(where, f"longer than {MAX_LINE_BYTES:,} bytes")
            continue
        if not line.strip():
            continue
        try:
            yield where, json.loads(line)
        except ValueError as exc:
            yield where, BadItem(where, f"not JSON: {exc}")


# -- field rules ----------------------------------------------------------------------------------------------


def _arxiv_id(value: object) -> str:
    if value is None:
        raise RecordError("no paper.id")
    if not isinstance(value, str):
        raise RecordError(f"paper.id is {_kind(value)}, not text")
    try:
        base, version = parse_arxiv_ref(value)
    except QueryError:
        raise RecordError(f"paper.id {_show(value)} is not an arXiv id") from None
    if value != format_arxiv_ref(base, version):  # a link or "arXiv:..." is no id field's value
        raise RecordError(f"paper.id {_show(value)} is not a bare arXiv id")
    return base


def _count(obj: dict[str, Any], key: str, name: str, *, required: bool) -> int | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise RecordError(f"no {name}")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(f"{name} is {_kind(value)}, not a whole number")
    if not 0 <= value <= MAX_COUNT:
        raise RecordError(f"{name} {value} is out of range (0 to {MAX_COUNT:,})")
    return value


def _url(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"{name} is {_kind(value)}, not a URL")
    # a URL wrapped onto a second line (two real repositories were entered so) is joined again
    url = _WRAPPED.sub("", value.strip())
    if not url:
        return None
    parts = urlsplit(url) if _URL_TEXT.fullmatch(url) and len(url) <= MAX_URL else None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise RecordError(f"{name} {_show(url)} is not an http(s) URL")
    return url


def _moment(value: object, name: str) -> datetime:
    if value is None:
        raise RecordError(f"no {name}")
    if not isinstance(value, str):
        raise RecordError(f"{name} is {_kind(value)}, not a time")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise RecordError(f"{name} {_show(value)} is not an ISO 8601 time") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)  # the API writes UTC ("Z"); a bare time is taken as UTC too
    if not 1990 <= t.year <= 2199:
        raise RecordError(f"{name} {_show(value)} is out of range")
    return t.astimezone(UTC)


def _item_day(item: object) -> date | None:
    value = item.get("_snapshot_file_date") if isinstance(item, dict) else None
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"_snapshot_file_date is {_kind(value)}, not a day")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RecordError(f"_snapshot_file_date {_show(value)} is not a YYYY-MM-DD day") from None


def _day_in_name(path: Path) -> date | None:
    found = re.findall(r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)", path.name)
    if len(found) != 1:
        return None
    try:
        return date.fromisoformat(found[0])
    except ValueError:
        return None


def _readable_id(item: object) -> str | None:
    """The item's paper id, if it is short text (for the report of a bad item)."""
    paper = item.get("paper") if isinstance(item, dict) else None
    pid = paper.get("id") if isinstance(paper, dict) else None
    return pid if isinstance(pid, str) and 0 < len(pid) <= 40 and pid.isprintable() else None


def _kind(value: object) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _show(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _to_second(t: datetime) -> datetime:
    """A moment as the store keeps it: aware UTC, to the second."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).replace(microsecond=0)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC start of ``day`` and of the day after it."""
    start = datetime.combine(day, time(0, tzinfo=UTC))
    return start, start + timedelta(days=1)
