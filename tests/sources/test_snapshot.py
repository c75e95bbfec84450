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
