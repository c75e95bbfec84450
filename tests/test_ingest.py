"""The ingest pipeline: batches, resume after a kill, embeddings only when needed, the demo sample."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from paperwire.config import Settings
from paperwire.ingest import embed_pending, ingest_file, load_sample, sample_dir
from paperwire.store import Store, open_store, open_url
from paperwire.store.sqlite import SQLiteStore
from tests.conftest import database_env
from tests.embedders import HashEmbedder

SAMPLE = sample_dir() / "sample-papers.jsonl.gz"


def _write(path: Path, n: int, start: int = 1, version: int = 1) -> None:
    with gzip.open(path, "wt") as fh:
        for i in range(start, start + n):
            fh.write(
                json.dumps(
                    {
                        "id": f"2501.{i:05d}v{version}",
                        "title": f"Paper {i}",
                        "summary": f"Abstract {i}.",
                        "authors": ["A B"],
                        "categories": ["cs.LG"],
                        "_listing_date": "2025-01-02",
                    }
                )
                + "\n"
            )


def test_ingest_file_counts_and_is_idempotent(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "p.jsonl.gz"
    _write(f, 25)
    r = ingest_file(store, f, batch_size=10)
    assert (r.read, r.result.inserted) == (25, 25)
    again = ingest_file(store, f, restart=True)
    assert (again.result.inserted, again.result.updated, again.result.unchanged) == (0, 0, 25)
    assert store.count_papers() == 25


def test_rerun_resumes_after_the_last_committed_batch(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "p.jsonl.gz"
    _write(f, 30)
    from paperwire.ingest import _file_checkpoint

    store.set_checkpoint(_file_checkpoint(f), "20")  # as if killed after the second batch
    r = ingest_file(store, f, batch_size=10)
    assert r.resumed_from == 20 and r.read == 10


def test_kill_mid_ingest_loses_nothing_committed(settings: Settings) -> None:
    """kill -9 a real ingest process mid-file; the database is consistent and a rerun finishes the job."""
    env = {
        **os.environ,
        **database_env(settings.database_url),
        "PAPERWIRE_LOAD_SAMPLE": "0",
        "PAPERWIRE_HOME": str(settings.home),
    }
    cmd = [
        sys.executable,
        "-m",
        "paperwire",
        "ingest",
        "file",
        str(SAMPLE),
        "--no-embed",
        "--batch-size",
        "100",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sqlite_file = None if settings.database_url else settings.home / "paperwire.db"
    deadline = time.time() + 60
    while time.time() < deadline:
        if sqlite_file is None or sqlite_file.exists():  # (opening it first would make it, with no schema)
            try:
                # no migration: the ingest migrates; this only reads, as another process would
                s = open_url(settings.db_url, migrate=False)
                n = s.count_papers()
                s.close()
                if n >= 300:
                    break
            except Exception:
                pass
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    s = open_store(settings)
    if isinstance(s, SQLiteStore):  # the file itself survived the kill (PostgreSQL keeps its own files)
        assert s.integrity_ok()
    partial = s.count_papers()
    assert partial % 100 == 0 or partial == _lines(SAMPLE)  # whole batches only
    s.close()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    s = open_store(settings)
    assert s.count_papers() == _lines(SAMPLE)
    s.close()


def _lines(p: Path) -> int:
    with gzip.open(p, "rt") as fh:
        return sum(1 for _ in fh)


def test_embed_pending_only_embeds_what_changed(store: Store, tmp_path: Path) -> None:
    class Counting(HashEmbedder):
        calls = 0

        def embed_batch(self, texts):  # type: ignore[no-untyped-def]
            Counting.calls += len(texts)
            return super().embed_batch(texts)

    emb = Counting()
    f = tmp_path / "p.jsonl.gz"
    _write(f, 12)
    ingest_file(store, f)
    assert embed_pending(store, emb, chunk=5) == 12
    assert embed_pending(store, emb) == 0
    assert Counting.calls == 12
    _write(f, 1, start=3, version=2)  # same text, newer version: no re-embedding
    ingest_file(store, f, restart=True)
    assert embed_pending(store, emb) == 0


def test_embed_pending_embeds_the_newest_first_and_undated_papers_last(store: Store) -> None:
    from tests.conftest import make_paper

    order: list[str] = []

    class Recording(HashEmbedder):
        def embed_batch(self, texts):  # type: ignore[no-untyped-def]
            order.extend(t.split(".")[0] for t in texts)
            return super().embed_batch(texts)

    days = {"Old": date(2025, 1, 1), "Undated": None, "New": date(2025, 3, 1), "Middle": date(2025, 2, 1)}
    store.upsert_papers(
        [make_paper(f"2501.{i:05d}", title=t, announced=d) for i, (t, d) in enumerate(days.items(), 1)]
    )
    assert embed_pending(store, Recording(), chunk=1) == 4
    assert order == ["New", "Middle", "Old", "Undated"]  # (PostgreSQL sorts NULL first in DESC)


def test_load_sample_ships_vectors_and_upvotes(store: Store) -> None:
    report = load_sample(store, "all-MiniLM-L6-v2")
    n = store.count_papers()
    assert report.read == n > 1000
    assert store.count_signals() > 100
    assert store.count_embeddings("all-MiniLM-L6-v2") == n  # every sample paper comes with its vector
    vecs = np.concatenate([b.vectors for b in store.iter_vectors("all-MiniLM-L6-v2")])
    assert vecs.shape == (n, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-2)


def _good_line(i: int) -> bytes:
    rec = {"id": f"2503.{i:05d}", "title": f"Paper {i}", "summary": f"Abstract {i}.", "authors": ["A B"]}
    return json.dumps(rec).encode()


@pytest.mark.parametrize(
    "bad",
    [
        b'{"id":"2503.99999","title":"bad \\ud800","summary":"S"}',
        b'{"id":"2502.00013v99999999999999999999","title":"T","summary":"S"}',
        b'{"id":"0704.0001","title":"T","abstract":"S","versions":5}',
        b"[" * 100_000,
        b'{"id":"2503.99998","title":"T","summary":"S","n":' + b"1" * 5001 + b"}",
        b'{"id":"2503.99997","title":"\xff\xfe","summary":"S"}',
    ],
    ids=["surrogate", "huge-version", "versions-int", "deep-nesting", "long-number", "not-utf8"],
)
def test_one_bad_record_never_stops_the_rest(store: Store, tmp_path: Path, bad: bytes) -> None:
    """4,500 good lines, a bad one at line 4,501, 499 good after it: one run stores all 4,999 good ones."""
    f = tmp_path / "p.jsonl"
    lines = [_good_line(i) for i in range(1, 4501)] + [bad] + [_good_line(i) for i in range(4501, 5000)]
    f.write_bytes(b"\n".join(lines) + b"\n")
    r = ingest_file(store, f)
    assert store.count_papers() == 4999 and r.result.inserted == 4999
    assert r.skipped == 1 and [e.line for e in r.bad] == [4501]
    assert "1 skipped as bad" in r.summary()
    again = ingest_file(store, f)  # a rerun finds the file done
    assert (again.read, again.skipped, store.count_papers()) == (0, 0, 4999)


def test_a_record_the_store_refuses_is_skipped_and_its_batch_kept(store: Store) -> None:
    """The last line of defence: papers built past the checks (a bug in a source) cost one record, not a batch."""
    from paperwire.errors import RecordError
    from paperwire.ingest import IngestReport, _commit
    from tests.conftest import make_paper

    with pytest.raises(RecordError, match="the store refused"):
        store.upsert_papers([make_paper("2503.00001", version=2**70)])
    assert store.count_papers() == 0
    batch = [
        (1, make_paper("2503.00001")),
        (2, make_paper("2503.00002", version=2**70)),
        (3, make_paper("2503.00003")),
    ]
    report = IngestReport()
    _commit(store, batch, "file:x", 3, report)
    assert store.count_papers() == 2 and report.result.inserted == 2
    assert [e.line for e in report.bad] == [2] and "2503.00002" in str(report.bad[0])
    assert store.get_checkpoint("file:x") == "3"


def test_a_truncated_gzip_keeps_every_record_before_the_damage(store: Store, tmp_path: Path) -> None:
    from paperwire.errors import IngestError

    f = tmp_path / "cut.jsonl.gz"
    _write(f, 3000)
    data = f.read_bytes()
    f.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(IngestError, match="unreadable after line"):
        ingest_file(store, f, batch_size=5000)  # one big batch: nothing was committed before the damage
    n = store.count_papers()
    assert 1000 < n < 3000
    with pytest.raises(IngestError):  # a rerun resumes after what is stored, and reports the same damage
        ingest_file(store, f)
    assert store.count_papers() == n
