"""JSON-lines parsing: both formats, gzip, bad records with line numbers."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from paperwire.errors import IngestError, RecordError
from paperwire.sources.snapshot import iter_records

FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_kaggle_snapshot_format() -> None:
    recs = [r for _, r in iter_records(FIXTURES / "kaggle-snapshot-sample.jsonl")]
    assert len(recs) == 200 and not any(isinstance(r, RecordError) for r in recs)
    first = recs[0]
    assert not isinstance(first, RecordError)
    assert first.id == "0704.0001" and first.version == 2
    assert first.authors[0] == "C. Balázs"  # authors_parsed, forenames first
    assert first.published == date(2007, 4, 2) and first.updated == date(2008, 11, 26)
    assert first.doi == "10.1103/PhysRevD.76.013009" and first.journal_ref == "Phys.Rev.D76:013009,2007"
    assert "\n" not in first.title


def test_listing_format_gzip() -> None:
    from paperwire.ingest import sample_dir

    _, rec = next(iter_records(sample_dir() / "sample-papers.jsonl.gz"))
    assert not isinstance(rec, RecordError)
    assert rec.announced is not None and rec.categories and rec.authors


def test_bad_records_are_reported_with_line_numbers(tmp_path: Path) -> None:
    good = {"id": "2501.00001", "title": "T", "summary": "S", "authors": ["A B"], "categories": ["cs.LG"]}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "id": "not-an-id!"}),
        json.dumps({**good, "id": "2501.00002", "title": ""}),
        "",
        json.dumps({**good, "id": "2501.00003v4"}),
    ]
    f = tmp_path / "mixed.jsonl.gz"
    with gzip.open(f, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    out = list(iter_records(f))
    bad = [(n, str(r)) for n, r in out if isinstance(r, RecordError)]
    assert [n for n, _ in bad] == [2, 3, 4]
    assert "not JSON" in bad[0][1] and "not an arXiv id" in bad[1][1] and "missing title" in bad[2][1]
    good_ids = [(r.id, r.version) for _, r in out if not isinstance(r, RecordError)]
    assert good_ids == [("2501.00001", 1), ("2501.00003", 4)]


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="cannot open"):
        list(iter_records(tmp_path / "nope.jsonl"))


def test_truncated_gzip_is_an_ingest_error(tmp_path: Path) -> None:
    from paperwire.ingest import sample_dir

    src = sample_dir() / "sample-papers.jsonl.gz"
    cut = tmp_path / "cut.jsonl.gz"
    shutil.copy(src, cut)
    data = cut.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError, match="unreadable"):
        list(iter_records(cut))


# -- hostile and careless records: each is one skipped line with its true number, never the end of the file --

GOOD = {"id": "2502.00001", "title": "T", "summary": "S", "authors": ["A B"], "categories": ["cs.LG"]}
SNAP = json.loads((FIXTURES / "kaggle-snapshot-sample.jsonl").read_text().splitlines()[1])

BAD_LINES: list[tuple[bytes, str]] = [
    (b'{"id":"2502.00010","title":"bad \\ud800","summary":"S"}', "title holds invalid Unicode"),
    (
        json.dumps({**GOOD, "id": "2502.00013v99999999999999999999"}).encode(),
        "version v999999999999... is out of range",
    ),
    (json.dumps({**SNAP, "versions": 5}).encode(), "versions must be a list"),
    (b"[" * 100_000, "nested too deeply"),
    (
        b'{"id":"2502.00011","title":"T","summary":"S","n":' + b"9" * 5001 + b"}",
        "not JSON this reader accepts",
    ),
    (b'{"id":"2502.00012","title":"\xff\xfe","summary":"S"}', "not UTF-8 (byte 0xff at byte 29)"),
    (
        json.dumps({**GOOD, "id": "2502.00014", "summary": "a" * 5_000_000}).encode(),
        "longer than 1,048,576 bytes",
    ),
    (
        json.dumps({**GOOD, "id": "2502.00018", "summary": "a" * 50_000}).encode(),
        "abstract has 50,000 characters",
    ),
    (json.dumps({**GOOD, "id": "2502.00015", "title": 7}).encode(), "title must be text, not a number"),
    (json.dumps({**GOOD, "id": "2502.00016", "_listing_date": "0001-01-01"}).encode(), "out of range"),
    (json.dumps({**GOOD, "id": "2502.00017", "_listing_date": 20250101}).encode(), "must be a date"),
    (json.dumps({**SNAP, "authors_parsed": None, "authors": ["x"]}).encode(), "authors must be text"),
    # a 20-digit year made parsedate_to_datetime raise OverflowError, out of the parser: the date is unreadable
    (
        json.dumps(
            {
                **SNAP,
                "versions": [{"version": "v1", "created": "Mon, 1 Jan 99999999999999999999 00:00:00 GMT"}],
                "update_date": "x",
            }
        ).encode(),
        "bad update_date date",
    ),
    (json.dumps({**GOOD, "categories": {"a": 1}}).encode(), "categories must be"),
]


@pytest.mark.parametrize(("bad", "reason"), BAD_LINES, ids=[r for _, r in BAD_LINES])
def test_one_bad_line_among_good_ones(tmp_path: Path, bad: bytes, reason: str) -> None:
    good = [json.dumps({**GOOD, "id": f"2502.{i:05d}"}).encode() for i in range(100, 126)]
    lines = [*good[:7], bad, *good[7:]]  # the bad record is line 8 of 27
    f = tmp_path / "mixed.jsonl"
    f.write_bytes(b"\n".join(lines) + b"\n")
    out = list(iter_records(f))
    bad_out = [(n, r) for n, r in out if isinstance(r, RecordError)]
    assert [n for n, _ in bad_out] == [8]
    assert reason in str(bad_out[0][1]) and str(bad_out[0][1]).startswith("line 8: ")
    assert len([r for _, r in out if not isinstance(r, RecordError)]) == 26


def test_snapshot_categories_as_a_json_list() -> None:
    from paperwire.sources.snapshot import parse_record

    p = parse_record({**SNAP, "categories": ["cs.LG", "cs.AI", "cs.LG"]})
    assert p.categories == ("cs.LG", "cs.AI")
    assert parse_record(SNAP).categories == ("math.CO", "cs.CG")


def test_a_line_longer_than_the_limit_is_skipped_in_bounded_pieces(tmp_path: Path) -> None:
    from paperwire.records import MAX_LINE_BYTES

    huge = b'{"id":"2502.00001","title":"T","summary":"' + b"a" * (3 * MAX_LINE_BYTES) + b'"}'
    f = tmp_path / "huge.jsonl.gz"
    with gzip.open(f, "wb") as fh:
        fh.write(
            json.dumps(GOOD).encode()
            + b"\n"
            + huge
            + b"\n"
            + json.dumps({**GOOD, "id": "2502.00002"}).encode()
        )
    out = list(iter_records(f))
    assert [n for n, _ in out] == [1, 2, 3]
    assert isinstance(out[1][1], RecordError) and "longer than 1,048,576 bytes" in str(out[1][1])
    assert not isinstance(out[2][1], RecordError) and out[2][1].id == "2502.00002"


def test_a_byte_order_mark_and_crlf_line_ends_are_fine(tmp_path: Path) -> None:
    f = tmp_path / "bom.jsonl"
    f.write_bytes(
        b"\xef\xbb\xbf"
        + json.dumps(GOOD).encode()
        + b"\r\n"
        + json.dumps({**GOOD, "id": "2502.00002"}).encode()
        + b"\r\n"
    )
    out = list(iter_records(f))
    assert [(n, getattr(r, "id", r)) for n, r in out] == [(1, "2502.00001"), (2, "2502.00002")]
