"""Query results as numpy columns: what trending reads, a million rows at a time.

A million rows of a few values each cost seconds as Python objects; these helpers make the objects once (the
driver's rows), turn them into arrays in C loops, and parse ISO times without a datetime per value.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import numpy as np

_EPOCH = date(1970, 1, 1).toordinal()
_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]  # of YYYY-MM-DDTHH:MM:SS+00:00
_SEPARATORS = [4, 7, 10, 13, 16, 19, 20, 21, 22, 23, 24]
_SEPARATOR_BYTES = np.frombuffer(b"--T::+00:00", np.uint8)


class SignalColumns(NamedTuple):
    """Observations as columns, one element per observation, in no particular order."""

    papers: list[str]  # the distinct paper ids; ``paper`` indexes them
    sources: list[str]  # the distinct sources; ``source`` indexes them
    paper: np.ndarray  # int64
    source: np.ndarray  # int64
    observed: np.ndarray  # int64 Unix seconds
    upvotes: np.ndarray  # int64
    stars: np.ndarray  # int64; -1: no count
    listed_before: np.ndarray  # int64 days since 1970-01-01 of its list's day where that is before the
    # observation's own day (a late observation: all trending asks of listing days); -1 elsewhere


class LocalColumns(NamedTuple):
    """Daily local counts as columns, one element per (paper, kind, day), in no particular order."""

    papers: list[str]
    kinds: list[str]
    paper: np.ndarray  # int64
    kind: np.ndarray  # int64
    day: np.ndarray  # int64 days since 1970-01-01
    n: np.ndarray  # int64


def signal_columns(parts: Sequence[tuple[str, Sequence[tuple[Any, ...]]]]) -> SignalColumns:
    """Rows of (paper_id, observed_at as ISO text or Unix seconds, upvotes, github_stars or -1, the listing day
    when before the observation's or None), one sequence of rows per source, as columns."""
    parts = [(source, rows) for source, rows in parts if rows]
    if not parts:
        return SignalColumns([], [], *(np.zeros(0, np.int64) for _ in range(6)))
    cols = [transpose(rows) for _, rows in parts]
    with gc_paused():
        pid, observed, upvotes, stars, listed = (
            [v for c in cols for v in c[i]] if len(cols) > 1 else list(cols[0][i]) for i in range(5)
        )
    papers, paper = factorize(pid)
    source = np.concatenate([np.full(len(rows), k, dtype=np.int64) for k, (_, rows) in enumerate(parts)])
    return SignalColumns(
        papers,
        [s for s, _ in parts],
        paper,
        source,
        np.array(observed, dtype=np.int64) if isinstance(observed[0], int) else iso_seconds(observed),
        np.array(upvotes, dtype=np.int64),
        np.array(stars, dtype=np.int64),
        iso_days(listed),
    )


def local_columns(rows: Sequence[tuple[Any, ...]]) -> LocalColumns:
    """Rows of (paper_id, kind, day, n) as columns."""
    if not rows:
        return LocalColumns([], [], *(np.zeros(0, np.int64) for _ in range(4)))
    pid, kind, day, n = transpose(rows)
    papers, paper = factorize(pid)
    kinds, kind_codes = factorize(kind)
    return LocalColumns(papers, kinds, paper, kind_codes, iso_days(day), np.array(n, dtype=np.int64))


def transpose(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows as columns (the collector paused: it would walk every row tuple again and again meanwhile)."""
    with gc_paused():
        return list(zip(*rows, strict=True))


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a moment (a million new tuples would trigger it over and over)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def factorize(values: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The distinct values (in no particular order) and each value's index among them: grouped by hash in
    numpy, every value then checked against its group's (a dict does it when two values share a hash)."""
    n = len(values)
    if n == 0:
        return [], np.zeros(0, np.int64)
    hashes = np.fromiter(map(hash, values), dtype=np.int64, count=n)
    _, first, codes = np.unique(hashes, return_index=True, return_inverse=True)
    every = np.array(values, dtype=object)
    distinct = every[first]
    if bool((every == distinct[codes]).all()):
        return distinct.tolist(), codes.astype(np.int64)
    ordered = list(dict.fromkeys(values))
    index = {v: i for i, v in enumerate(ordered)}
    return ordered, np.fromiter(map(index.__getitem__, values), dtype=np.int64, count=n)


def iso_seconds(stamps: Sequence[str]) -> np.ndarray:
    """ISO 8601 times (naive ones taken as UTC) as Unix seconds. Times as the store writes them
    (YYYY-MM-DDTHH:MM:SS+00:00) are parsed as bytes, all at once; anything else one by one."""
    n = len(stamps)
    if n == 0:
        return np.zeros(0, np.int64)
    joined = "".join(stamps)
    if joined.isascii():
        seconds = stored_seconds(joined.encode("ascii"), n)
        if seconds is not None:
            return seconds
    parsed = {s: _unix(s) for s in set(stamps)}
    return np.fromiter(map(parsed.__getitem__, stamps), dtype=np.int64, count=n)


def stored_seconds(joined: bytes, n: int) -> np.ndarray | None:
    """``n`` times as the store writes them (YYYY-MM-DDTHH:MM:SS+00:00), end to end in ``joined``, as Unix
    seconds, all at once; None when they are not all in that form."""
    if len(joined) != 25 * n:
        return None
    b = np.frombuffer(joined, np.uint8).reshape(n, 25)
    digits = b[:, _DIGITS] - np.uint8(48)  # wraps below "0": one comparison finds every non-digit
    if not ((b[:, _SEPARATORS] == _SEPARATOR_BYTES).all() and (digits <= 9).all()):
        return None
    d = digits.astype(np.int32)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month, day = d[:, 4] * 10 + d[:, 5], d[:, 6] * 10 + d[:, 7]
    hms = (d[:, 8] * 10 + d[:, 9]) * 3600 + (d[:, 10] * 10 + d[:, 11]) * 60 + d[:, 12] * 10 + d[:, 13]
    seconds: np.ndarray = _days_from_civil(year, month, day).astype(np.int64) * 86400 + hms
    return seconds


def iso_days(days: Sequence[str | date | None]) -> np.ndarray:
    """ISO days (or dates) as days since 1970-01-01; -1 for None (each distinct day parsed once)."""
    every = np.array(days, dtype=object)
    out = np.full(len(every), -1, dtype=np.int64)
    some = np.flatnonzero(every != None)  # noqa: E711 (elementwise)
    if len(some):
        values = every[some].tolist()
        parsed = {d: _day_number(d) for d in set(values)}
        out[some] = np.fromiter(map(parsed.__getitem__, values), dtype=np.int64, count=len(values))
    return out


def _day_number(d: str | date | None) -> int:
    if d is None:
        return -1
    return (d if isinstance(d, date) else date.fromisoformat(str(d))).toordinal() - _EPOCH


def _unix(stamp: str) -> int:
    t = datetime.fromisoformat(stamp)
    return int((t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp())


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's days_from_civil), vectorised."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    result: np.ndarray = era * 146097 + doe - 719468
    return result
