"""Rows as numpy columns: ISO times parsed as bytes agree with datetime, odd ones fall back, values factorised."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from paperwire.store.columns import factorize, iso_days, iso_seconds, signal_columns


def test_times_as_the_store_writes_them_parse_as_datetime_does() -> None:
    rng = random.Random(3)
    base = datetime(1999, 12, 31, tzinfo=UTC)
    times = [base + timedelta(seconds=rng.randrange(40 * 365 * 86400)) for _ in range(5000)]
    times += [datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC), datetime(2000, 3, 1, tzinfo=UTC)]
    stamps = [t.isoformat(timespec="seconds") for t in times]
    assert iso_seconds(stamps).tolist() == [int(t.timestamp()) for t in times]


def test_other_spellings_are_parsed_one_by_one() -> None:
    stamps = [
        "2026-11-28T12:00:00+00:00",
        "2026-11-28T13:00:00+01:00",  # another zone: the same moment
        "2026-11-28T12:00:00",  # naive: UTC
        "2026-11-28T12:00:00.500+00:00",  # fractions of a second are dropped
    ]
    want = int(datetime(2026, 11, 28, 12, tzinfo=UTC).timestamp())
    assert iso_seconds(stamps).tolist() == [want] * 4
    assert iso_seconds([]).tolist() == []


def test_days_and_distinct_values() -> None:
    assert iso_days(["1970-01-02", None, date(2026, 11, 28)]).tolist() == [1, -1, 20785]
    values = ["b", "a", "b", "c"]
    distinct, codes = factorize(values)
    assert sorted(distinct) == ["a", "b", "c"] and [distinct[c] for c in codes] == values
    assert factorize([])[0] == []


def test_values_sharing_a_hash_are_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    monkeypatch.setattr(builtins, "hash", lambda v: 7)  # every value collides
    distinct, codes = factorize(["x", "y", "x"])
    assert [distinct[c] for c in codes] == ["x", "y", "x"] and len(distinct) == 2


def test_signal_rows_become_columns() -> None:
    cols = signal_columns(
        [
            (
                "hf-daily",
                [
                    ("2501.00002", "2026-01-01T00:00:00+00:00", 3, -1, None),
                    ("2501.00001", "2026-01-01T06:00:00+00:00", 5, 40, "2025-12-31"),
                ],
            ),
            ("empty", []),
            ("other", [("2501.00001", "2026-01-01T07:00:00+00:00", 1, -1, None)]),
        ]
    )
    assert [cols.papers[p] for p in cols.paper] == ["2501.00002", "2501.00001", "2501.00001"]
    assert cols.sources == ["hf-daily", "other"] and cols.source.tolist() == [0, 0, 1]
    assert cols.upvotes.tolist() == [3, 5, 1]
    assert cols.stars.tolist() == [-1, 40, -1] and cols.listed_before.tolist() == [-1, 20453, -1]
    assert np.diff(cols.observed).tolist() == [6 * 3600, 3600]
    seconds = signal_columns([("hf-daily", [("2501.00001", 1_800_000_000, 1, -1, None)])])
    assert seconds.observed.tolist() == [1_800_000_000]  # a database that answers Unix seconds
    empty = signal_columns([])
    assert empty.papers == [] and len(empty.observed) == 0
