"""Fuzzing the ingest path with random mutations of real records: every line is stored or reported, nothing else.

Mutations work at two levels: the bytes of a line (flips, insertions, cuts: invalid UTF-8, broken JSON) and
the JSON record (a field set to a hostile value: lone surrogates, control characters, huge numbers, deep
nesting, wrong types, out-of-range dates and versions). The parser and a real store (SQLite or PostgreSQL,
as the run asks) see them all.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperwire.config import Settings
from paperwire.errors import RecordError
from paperwire.ingest import ingest_file, sample_dir
from paperwire.records import check_paper
from paperwire.sources.snapshot import parse_line
from paperwire.store import open_store
from tests.conftest import database

FIXTURES = Path(__file__).parent / "fixtures"


def _real_lines() -> list[bytes]:
    with gzip.open(sample_dir() / "sample-papers.jsonl.gz", "rb") as fh:
        listing = [next(fh).rstrip(b"\n") for _ in range(20)]
    snapshot = (FIXTURES / "kaggle-snapshot-sample.jsonl").read_bytes().splitlines()[:20]
    return listing + snapshot


REAL = _real_lines()
FIELDS = sorted({k for line in REAL for k in json.loads(line)} | {"versions", "authors_parsed", "unknown"})
NASTY: list[Any] = [
    None,
    True,
    0,
    -1,
    10**30,
    1e308,
    float("nan"),
    "",
    " ",
    "\ud800",
    "a\udfffb",
    "\x00\x01\x1b[2J",
    "\u202e",
    "a" * 30_000,
    "0001-01-01",
    "9999-12-31",
    "2025-13-45",
    "v99999999999999999999",
    "2502.00013v99999999999999999999",
    "cs.LG cs.AI",
    ["cs.LG", 5],
    [],
    {},
    [[["deep"]]],
    [["Key", "Fore", None]],
    [{"version": "v2", "created": 5}],
    "<script>alert(1)</script>",
    "Mon, 2 Apr 2007 19:18:42 GMT",
    "Mon, 1 Jan 99999999999999999999 00:00:00 GMT",
    [{"version": "v1", "created": "Mon, 1 Jan 99999999999999999999 00:00:00 GMT"}],
    [{"version": 10**40}],
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


@st.composite
def mutated_line(draw: st.DrawFn) -> bytes:
    line = draw(st.sampled_from(REAL))
    kind = draw(st.sampled_from(["field", "field", "bytes", "cut", "same"]))
    if kind == "field":
        obj = json.loads(line)
        for _ in range(draw(st.integers(1, 3))):
            key = draw(st.sampled_from(FIELDS))
            obj[key] = draw(st.sampled_from(NASTY) | json_values)
        text = json.dumps(obj, ensure_ascii=draw(st.booleans()))
        return text.encode("utf-8", "surrogatepass")  # a raw lone surrogate becomes invalid UTF-8
    if kind == "bytes":
        data = bytearray(line)
        for _ in range(draw(st.integers(1, 5))):
            at = draw(st.integers(0, len(data)))
            data[at : at + draw(st.integers(0, 3))] = draw(
                st.binary(min_size=0, max_size=4).filter(lambda b: b"\n" not in b)
            )
        return bytes(data)
    if kind == "cut":
        return line[: draw(st.integers(0, len(line)))]
    return line


@settings(max_examples=1500, deadline=None)
@given(line=mutated_line())
def test_the_parser_answers_every_line_with_a_paper_or_a_reason(line: bytes) -> None:
    got = parse_line(line, 7)
    if got is None:
        assert not line.strip()
    elif isinstance(got, RecordError):
        assert got.line == 7 and str(got).startswith("line 7: ")
    else:
        assert check_paper(got) == got  # what the parser hands on is already clean


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(mutated_line(), min_size=1, max_size=12))
def test_every_mutated_line_is_stored_or_reported_and_skipped(lines: list[bytes]) -> None:
    sentinel = [
        json.dumps({"id": f"2599.{i:05d}", "title": f"Sentinel {i}", "summary": "S."}).encode()
        for i in (1, 2)
    ]
    all_lines = [sentinel[0], *lines, sentinel[1]]
    with tempfile.TemporaryDirectory() as d, database() as url:  # a fresh store for every example
        f = Path(d) / "fuzz.jsonl"
        f.write_bytes(b"\n".join(all_lines) + b"\n")
        store = open_store(Settings(home=Path(d), database_url=url, load_sample=False))
        try:
            report = ingest_file(store, f, batch_size=4)
            expected = {i + 1: parse_line(b, i + 1) for i, b in enumerate(all_lines)}
            nonblank = {n for n, got in expected.items() if got is not None}
            reported = {e.line for e in report.bad}
            assert report.read + report.skipped == len(nonblank)
            for n in nonblank:
                got = expected[n]
                if isinstance(got, RecordError):
                    assert n in reported  # reported, with its true line number
                else:
                    assert n not in reported and store.get_paper(got.id) is not None  # stored
            for _, paper in store.iter_papers():
                assert check_paper(paper) == paper  # nothing unclean reached the store
            assert store.get_paper("2599.00001") and store.get_paper("2599.00002")
        finally:
            store.close()
