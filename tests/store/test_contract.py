"""The store contract, on every backend: migrations, version rules, idempotence, embeddings, signals,
checkpoints, job runs, claims, two writers at once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from paperwire.models import LocalCount, Signal
from paperwire.store import SignalColumns, Store, open_url
from paperwire.store.migrations import MIGRATIONS
from tests.conftest import make_paper


def test_new_store_is_migrated_once(store: Store, store_url: str) -> None:
    assert store.schema_version() == max(v for v, _, _ in MIGRATIONS)
    again = open_url(store_url)  # a second process opening it migrates nothing
    assert again.schema_version() == store.schema_version()
    again.close()


def test_upsert_roundtrip_and_reingest_changes_nothing(store: Store) -> None:
    p = make_paper(doi="10.1/x", comment="10 pages")
    r1 = store.upsert_papers([p])
    assert (r1.inserted, r1.updated, r1.unchanged) == (1, 0, 0)
    seq = store.max_seq()
    r2 = store.upsert_papers([p])
    assert (r2.inserted, r2.updated, r2.unchanged) == (0, 0, 1)
    assert store.max_seq() == seq  # nothing rewritten, so nothing to re-index
    got = store.get_paper(p.id)
    assert got == p


def test_newer_version_replaces_older_never_the_reverse(store: Store) -> None:
    v1 = make_paper(version=1, title="Old title", announced=date(2025, 1, 2))
    v2 = make_paper(version=2, title="New title", announced=None, updated=date(2025, 3, 1))
    store.upsert_papers([v1])
    store.upsert_papers([v2])
    got = store.get_paper(v1.id)
    assert got is not None and got.version == 2 and got.title == "New title"
    assert got.announced == date(2025, 1, 2)  # kept from the older record
    store.upsert_papers([v1])  # an older version arrives late
    got = store.get_paper(v1.id)
    assert got is not None and got.version == 2 and got.title == "New title"


def test_duplicates_within_a_batch_keep_the_newest(store: Store) -> None:
    store.upsert_papers([make_paper(version=3, title="three"), make_paper(version=2, title="two")])
    got = store.get_paper("2501.00001")
    assert got is not None and got.title == "three"


def test_iter_papers_is_incremental(store: Store) -> None:
    store.upsert_papers([make_paper("2501.00001"), make_paper("2501.00002")])
    mark = store.max_seq()
    store.upsert_papers([make_paper("2501.00003")])
    later = [p.id for _, p in store.iter_papers(after_seq=mark)]
    assert later == ["2501.00003"]
    assert len(list(store.iter_papers(batch=1))) == 3


def test_embeddings_are_stale_when_text_changes(store: Store) -> None:
    p = make_paper()
    store.upsert_papers([p])
    assert [t.paper_id for t in store.pending_embeddings("m", 10)] == [p.id]
    store.save_embeddings("m", [(p.id, p.text_hash)], np.ones((1, 4), np.float32) / 2)
    assert store.pending_embeddings("m", 10) == []
    assert store.count_pending_embeddings("other-model") == 1  # a model change re-embeds
    store.upsert_papers([make_paper(version=2, abstract="A different abstract entirely.")])
    assert store.count_pending_embeddings("m") == 1
    assert all_vectors(store, "m")[0] == []  # the stale vector is never served


def test_embedding_dimension_is_enforced(store: Store) -> None:
    from paperwire.errors import StoreError

    a, b = make_paper("2501.00001"), make_paper("2501.00002")
    store.upsert_papers([a, b])
    store.save_embeddings("m", [(a.id, a.text_hash)], np.ones((1, 4), np.float32))
    with pytest.raises(StoreError, match="4-d"):
        store.save_embeddings("m", [(b.id, b.text_hash)], np.ones((1, 8), np.float32))


def test_checkpoint_moves_with_its_batch(store: Store) -> None:
    store.upsert_papers_with_checkpoint([make_paper()], "cp", "page-2")
    assert store.get_checkpoint("cp") == "page-2"
    store.set_checkpoint("cp", None)
    assert store.get_checkpoint("cp") is None


def at(day: date, hour: int = 0) -> datetime:
    """A moment in UTC."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def test_an_observation_at_the_same_moment_replaces_it_a_later_one_adds_history(store: Store) -> None:
    s = Signal("2501.00001", "hf-daily", at(date(2025, 1, 3), 6), upvotes=5)
    store.upsert_signals([s, s])
    store.upsert_signals([Signal("2501.00001", "hf-daily", at(date(2025, 1, 3), 6), upvotes=9)])
    assert store.count_signals() == 1
    later = Signal("2501.00001", "hf-daily", at(date(2025, 1, 3), 18), upvotes=14, github_stars=30)
    store.upsert_signals([later])
    history = store.signal_history("2501.00001")
    assert [(h.observed_at, h.upvotes) for h in history] == [
        (at(date(2025, 1, 3), 6), 9),
        (at(date(2025, 1, 3), 18), 14),
    ]
    assert history[1] == later  # every field read back as written


def test_observation_times_in_other_zones_are_stored_as_the_same_moment(store: Store) -> None:
    paris = timezone(timedelta(hours=2))
    store.upsert_signals([Signal("2501.00001", "hf-daily", datetime(2025, 1, 3, 8, tzinfo=paris), upvotes=1)])
    store.upsert_signals([Signal("2501.00001", "hf-daily", at(date(2025, 1, 3), 6), upvotes=2)])
    assert [h.upvotes for h in store.signal_history("2501.00001")] == [2]


def test_latest_upvotes_per_paper(store: Store) -> None:
    store.upsert_signals(
        [
            Signal("2501.00001", "hf-daily", at(date(2025, 1, 3)), upvotes=5),
            Signal("2501.00001", "hf-daily", at(date(2025, 1, 5)), upvotes=17),
            Signal("2501.00001", "hf-daily", at(date(2025, 1, 4)), upvotes=11),
            Signal("2501.00002", "github", at(date(2025, 1, 9)), upvotes=99),
        ]
    )
    assert store.latest_upvotes(["2501.00001", "2501.00002", "2501.09999"]) == {"2501.00001": 17}
    assert store.latest_upvotes(["2501.00002"], source="github") == {"2501.00002": 99}
    assert store.latest_upvotes([]) == {}
    assert store.latest_signals(["2501.00001"])["2501.00001"].observed_at == at(date(2025, 1, 5))


def test_daily_lists_hold_each_listed_paper_once_with_its_latest_observation(store: Store) -> None:
    d1, d2 = date(2025, 1, 3), date(2025, 1, 4)
    store.upsert_signals(
        [
            Signal("2501.00001", "hf-daily", at(d1, 6), upvotes=5, listed_on=d1),
            Signal("2501.00001", "hf-daily", at(d1, 20), upvotes=8, listed_on=d1),
            Signal("2501.00002", "hf-daily", at(d1, 6), upvotes=1, listed_on=d1),
            Signal("2501.00003", "hf-daily", at(d2, 6), upvotes=4, listed_on=d2),
        ]
    )
    assert sorted((s.paper_id, s.upvotes) for s in store.daily_list(d1)) == [
        ("2501.00001", 8),
        ("2501.00002", 1),
    ]
    assert [s.paper_id for s in store.daily_list(d2)] == ["2501.00003"]
    assert store.daily_list(date(2025, 1, 5)) == []
    assert store.listed_days() == [d1, d2]
    assert store.listed_days("github") == []


def test_signal_rows_hold_the_window_and_one_baseline_before_it(store: Store) -> None:
    d = date(2025, 1, 10)
    store.upsert_signals(
        [Signal("2501.00001", "hf-daily", at(d - timedelta(days=k)), upvotes=10 - k) for k in range(5)]
        + [Signal("2501.00002", "hf-daily", at(d - timedelta(days=9)), upvotes=3)]
    )
    rows = store.signal_rows(since=at(d - timedelta(days=1)))
    assert [(r.paper_id, r.upvotes) for r in rows] == [
        ("2501.00001", 8),  # the baseline: the last before the window
        ("2501.00001", 9),
        ("2501.00001", 10),
        ("2501.00002", 3),  # seen only before the window: its baseline
    ]
    assert len(store.signal_rows()) == 6
    assert rows[1].observed_at == "2025-01-09T00:00:00+00:00"


def test_signal_and_local_columns_hold_what_rows_and_counts_hold(store: Store) -> None:
    d = date(2025, 1, 10)
    store.upsert_signals(
        [
            Signal(
                "2501.00001",
                "hf-daily",
                at(d - timedelta(days=k)),
                upvotes=10 - k,
                listed_on=d - timedelta(days=2),
            )
            for k in range(5)
        ]
        + [Signal("2501.00002", "hf-daily", at(d - timedelta(days=9), 7), upvotes=3, github_stars=12)]
        + [Signal("2501.00002", "other", at(d, 5), upvotes=1)]
    )
    store.add_local_counts([LocalCount("2501.00001", "view", d, 4), LocalCount("2501.00002", "save", d, -1)])
    epoch = date(1970, 1, 1)

    def as_rows(cols: SignalColumns) -> set[tuple[object, ...]]:
        days = [None if ld < 0 else epoch + timedelta(days=int(ld)) for ld in cols.listed_before]
        stars = [None if st < 0 else int(st) for st in cols.stars]
        return set(
            zip(
                [cols.papers[p] for p in cols.paper],
                [cols.sources[s] for s in cols.source],
                cols.observed.tolist(),
                cols.upvotes.tolist(),
                stars,
                days,
                strict=True,
            )
        )

    for since in (None, at(d - timedelta(days=1))):
        want = {
            (
                r.paper_id,
                r.source,
                int(datetime.fromisoformat(r.observed_at).timestamp()),
                r.upvotes,
                r.github_stars,
                date.fromisoformat(r.listed_on) if r.listed_on and r.listed_on < r.observed_at[:10] else None,
            )
            for r in store.signal_rows(since)
        }
        assert as_rows(store.signal_columns(since)) == want
    assert len(store.signal_columns(at(d + timedelta(days=1))).paper) == 3  # the baselines alone
    local = store.local_columns()
    got = {
        (local.papers[p], local.kinds[k], epoch + timedelta(days=int(day)), int(n))
        for p, k, day, n in zip(local.paper, local.kind, local.day, local.n, strict=True)
    }
    assert got == {(c.paper_id, c.kind, c.day, c.n) for c in store.local_counts()}
    assert len(store.local_columns(d + timedelta(days=1)).paper) == 0


def test_observed_papers_missing_from_the_store_are_queued(store: Store) -> None:
    store.upsert_papers([make_paper("2501.00001")])
    store.upsert_signals(
        [
            Signal("2501.00001", "hf-daily", at(date(2025, 1, 3))),
            Signal("2501.00009", "hf-daily", at(date(2025, 1, 4))),
            Signal("2501.00008", "hf-daily", at(date(2025, 1, 5))),
            Signal("2501.00008", "hf-daily", at(date(2025, 1, 6))),
        ]
    )
    assert store.papers_missing_for_signals() == ["2501.00009", "2501.00008"]
    store.upsert_papers([make_paper("2501.00009")])
    assert store.papers_missing_for_signals() == ["2501.00008"]


def test_local_counts_add_up_per_paper_kind_and_day_and_bump_the_stamp(store: Store) -> None:
    d = date(2025, 1, 3)
    stamp = store.signals_stamp()
    store.add_local_counts([LocalCount("2501.00001", "view", d, 1), LocalCount("2501.00001", "view", d, 2)])
    assert store.signals_stamp() != stamp
    store.add_local_counts([LocalCount("2501.00001", "view", d, 4), LocalCount("2501.00001", "upvote", d, 1)])
    store.add_local_counts(
        [LocalCount("2501.00001", "upvote", d, -1), LocalCount("2501.00002", "save", d, 0)]
    )
    got = {(c.paper_id, c.kind, c.day): c.n for c in store.local_counts()}
    assert got == {("2501.00001", "view", d): 7, ("2501.00001", "upvote", d): 0}
    assert store.local_counts(since=d + timedelta(days=1)) == []
    store.put_local_counts([LocalCount("2501.00001", "view", d, 3)])
    assert {c.n for c in store.local_counts() if c.kind == "view"} == {3}


def test_local_totals_sum_every_day_and_newest_signals_name_the_latest_of_each(store: Store) -> None:
    assert store.newest_signals() == (None, None)
    d = date(2025, 1, 3)
    store.add_local_counts(
        [
            LocalCount("2501.00001", "upvote", d, 2),
            LocalCount("2501.00001", "upvote", d + timedelta(days=4), -1),  # withdrawn later
            LocalCount("2501.00001", "view", d, 5),
            LocalCount("2501.00002", "save", d - timedelta(days=30), 1),
            LocalCount("2501.00003", "upvote", d, 1),
            LocalCount("2501.00003", "upvote", d + timedelta(days=1), -1),  # nets to nothing
        ]
    )
    assert store.local_totals() == [
        ("2501.00001", "upvote", 1),
        ("2501.00001", "view", 5),
        ("2501.00002", "save", 1),
    ]
    assert store.local_totals(before=d) == [("2501.00002", "save", 1)]
    assert store.local_totals(before=d + timedelta(days=1)) == [
        ("2501.00001", "upvote", 2),
        ("2501.00001", "view", 5),
        ("2501.00002", "save", 1),
        ("2501.00003", "upvote", 1),
    ]
    assert store.newest_signals() == (None, d + timedelta(days=4))
    store.upsert_signals(
        [
            Signal("2501.00001", "hf-daily", at(d, 6)),
            Signal("2501.00002", "hf-daily", at(d + timedelta(days=1), 18)),
            Signal("2501.00002", "hf-daily", at(d, 9)),
        ]
    )
    assert store.newest_signals() == (at(d + timedelta(days=1), 18), d + timedelta(days=4))


def test_paper_categories_for_many_ids_at_once(store: Store) -> None:
    store.upsert_papers(
        [
            make_paper(f"2501.{i:05d}", categories=("cs.CV", "cs.LG") if i % 2 else ("math.CO",))
            for i in range(1, 41)
        ]
        + [make_paper("2501.00099", announced=None, categories=())]
    )
    ids = [f"2501.{i:05d}" for i in range(1, 100)] * 2  # unknown ids and repeats too
    got = store.paper_categories(ids)
    assert len(got) == 41
    assert got["2501.00001"] == ("cs.CV", "cs.LG")
    assert got["2501.00002"] == ("math.CO",)
    assert got["2501.00099"] == ()
    assert store.paper_categories([]) == {}
    # a few of many: looked up by id rather than read all
    assert store.paper_categories(["2501.00003", "2501.00004", "2501.00404"]) == {
        "2501.00003": ("cs.CV", "cs.LG"),
        "2501.00004": ("math.CO",),
    }
    odd = ("cs.CV", 'a "quoted", one', "back\\slash", "ünï")  # whatever a record held comes back as it was
    store.upsert_papers([make_paper("2501.00098", categories=odd)])
    assert store.paper_categories(["2501.00098"]) == {"2501.00098": odd}


def test_the_stamp_changes_with_every_observation_written(store: Store) -> None:
    before = store.signals_stamp()
    store.upsert_signals([Signal("2501.00001", "hf-daily", at(date(2025, 1, 3)))])
    assert store.signals_stamp() not in ("", before)


def test_a_record_the_database_cannot_hold_is_a_record_error_and_changes_nothing(store: Store) -> None:
    from paperwire.errors import RecordError

    store.upsert_papers([make_paper("2501.00001")])
    seq = store.max_seq()
    with pytest.raises(RecordError, match="refused a record"):
        store.upsert_papers([make_paper("2501.00002"), make_paper("2501.00003", version=2**70)])
    # refused whole: the batch's good record was not kept either (ingest retries one by one)
    assert store.count_papers() == 1 and store.max_seq() == seq


def test_copies_read_everything_in_id_order(store: Store) -> None:
    papers = [make_paper(f"2501.{i:05d}") for i in (3, 1, 2)]
    store.upsert_papers(papers)
    assert [d[0] for d in store.paper_digests()] == ["2501.00001", "2501.00002", "2501.00003"]
    assert store.paper_digests(after_id="2501.00002", batch=5) == [("2501.00003", papers[0].content_hash, 1)]
    vecs = np.eye(3, 4, dtype=np.float32)
    store.save_embeddings("m", [(p.id, p.text_hash) for p in papers], vecs)
    got = store.iter_embeddings("m", batch=2)
    assert [g[0] for g in got] == ["2501.00001", "2501.00002"]
    assert np.array_equal(got[0][2], vecs[1]) and got[0][1] == papers[1].text_hash
    assert [g[0] for g in store.iter_embeddings("m", after_id="2501.00002")] == ["2501.00003"]
    s = Signal("2501.00001", "hf-daily", at(date(2025, 1, 3)), upvotes=5, github_repo="a/b", github_stars=7)
    store.upsert_signals([s])
    assert list(store.iter_signals()) == [s]


def test_vectors_round_trip_exactly(store: Store) -> None:
    papers = [make_paper(f"2501.{i:05d}") for i in range(1, 4)]
    store.upsert_papers(papers)
    rng = np.random.default_rng(7)
    vecs = rng.standard_normal((3, 384)).astype(np.float32)
    store.save_embeddings("m", [(p.id, p.text_hash) for p in papers], vecs)
    ids, loaded = all_vectors(store, "m", batch=2)
    assert ids == [p.id for p in papers] and loaded.dtype == np.float32
    assert np.array_equal(loaded, vecs)
    one = store.get_embedding("m", papers[1].id)
    assert one is not None and np.array_equal(one, vecs[1])
    assert store.embedding_dim("m") == 384 and store.count_embeddings("m") == 3


def all_vectors(store: Store, model: str, batch: int = 10_000) -> tuple[list[str], np.ndarray]:
    """Every current vector of ``model`` through the batched full load."""
    batches = list(store.iter_vectors(model, None, batch=batch))
    ids = [i for b in batches for i in b.ids]
    return ids, (np.concatenate([b.vectors for b in batches]) if batches else np.zeros((0, 0), np.float32))


def test_vector_changes_are_read_once_past_a_cursor(store: Store) -> None:
    papers = [
        make_paper(f"2501.{i:05d}", categories=("cs.CV", "cs.LG"), announced=date(2025, 1, i))
        for i in range(1, 6)
    ]
    store.upsert_papers(papers)
    vecs = np.eye(5, 8, dtype=np.float32)
    store.save_embeddings("m", [(p.id, p.text_hash) for p in papers[:3]], vecs[:3])
    store.save_embeddings("m", [(p.id, p.text_hash) for p in papers[3:]], vecs[3:])
    start = store.vector_cursor("m")
    full = list(store.iter_vectors("m", None, batch=2))
    assert [len(b) for b in full] == [2, 2, 1]  # batches, never all at once
    first = full[0]
    assert first.dates == ["2025-01-01", "2025-01-02"] and first.categories[0] == ("cs.CV", "cs.LG")
    assert first.current.all()
    assert list(store.iter_vectors("m", start)) == []  # nothing after the cursor
    # a new vector, a re-embedded one, a paper whose text moved on, a paper whose categories changed
    new = make_paper("2501.00009")
    store.upsert_papers([new])
    store.save_embeddings("m", [(new.id, new.text_hash), (papers[0].id, papers[0].text_hash)], vecs[:2] * -1)
    store.upsert_papers([make_paper("2501.00002", version=2, abstract="Another text.")])
    store.upsert_papers([make_paper("2501.00003", categories=("math.CO",), announced=date(2025, 1, 3))])
    seen: dict[str, tuple[bool, tuple[str, ...]]] = {}
    for b in store.iter_vectors("m", start, batch=1):
        for i, pid in enumerate(b.ids):
            seen[pid] = (bool(b.current[i]), b.categories[i])
            if pid == new.id:
                assert np.array_equal(b.vectors[i], vecs[0] * -1)
    assert seen == {
        "2501.00009": (True, ("cs.LG", "cs.AI")),
        "2501.00001": (True, ("cs.CV", "cs.LG")),
        "2501.00002": (False, ("cs.LG", "cs.AI")),  # stale: the index drops it
        "2501.00003": (True, ("math.CO",)),
    }
    after = store.vector_cursor("m")
    assert after.vectors > start.vectors and after.papers > start.papers
    assert list(store.iter_vectors("m", after)) == []
    assert sorted(all_vectors(store, "m")[0]) == [
        "2501.00001",
        "2501.00003",
        "2501.00004",
        "2501.00005",
        "2501.00009",
    ]


def test_claims_give_each_paper_to_one_holder_until_the_lease_ends(store: Store) -> None:
    import time

    store.upsert_papers([make_paper(f"2501.{i:05d}") for i in range(1, 6)])
    a = store.claim_embeddings("m", 3, "runner-a", lease_s=60)
    b = store.claim_embeddings("m", 3, "runner-b", lease_s=60)
    assert len(a) == 3 and len(b) == 2
    assert not {t.paper_id for t in a} & {t.paper_id for t in b}
    assert store.claim_embeddings("m", 3, "runner-c", lease_s=60) == []
    assert store.count_pending_embeddings("m") == 5  # claimed is not done
    store.release_claims("runner-a")
    assert {t.paper_id for t in store.claim_embeddings("m", 5, "runner-c", lease_s=0.05)} == {
        t.paper_id for t in a
    }
    time.sleep(0.1)  # runner-c's lease ran out (its process died, say): the work goes to another
    assert len(store.claim_embeddings("m", 5, "runner-d", lease_s=60)) == 3
    assert store.claim_embeddings("other-model", 9, "runner-a", lease_s=60) != []  # per model


def test_job_runs_are_recorded_and_the_last_of_each_shown(store: Store) -> None:
    first = store.start_job_run("embed", "host:1")
    store.finish_job_run(first, "failed", {"embedded": 0}, "the model could not be loaded")
    second = store.start_job_run("embed", "host:1")
    other = store.start_job_run("refresh-index", "host:2")
    last = store.last_job_runs()
    assert set(last) == {"embed", "refresh-index"}
    assert (
        last["embed"].id == second and last["embed"].outcome == "running" and last["embed"].finished is None
    )
    store.finish_job_run(second, "ok", {"embedded": 256}, None)
    done = store.last_job_runs()["embed"]
    assert done.outcome == "ok" and done.counts == {"embedded": 256} and done.finished is not None
    assert done.finished >= done.started
    assert [r.id for r in store.last_failures()] == [first]
    assert store.last_failures()[0].error == "the model could not be loaded"
    assert store.abandon_job_runs("host:2") == 1
    assert store.last_job_runs()["refresh-index"].outcome == "abandoned"
    assert store.last_job_runs()["refresh-index"].id == other


def test_old_job_runs_are_pruned(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from paperwire.store import sql

    monkeypatch.setattr(sql, "JOB_RUNS_KEPT", 3)
    ids = []
    for _ in range(6):
        ids.append(store.start_job_run("embed", "r"))
        store.finish_job_run(ids[-1], "ok", {}, None)
    keep = store.start_job_run("other", "r")
    store.finish_job_run(keep, "ok", {}, None)
    assert store.last_job_runs()["embed"].id == ids[-1]
    assert store.last_job_runs()["other"].id == keep  # another job's runs are not touched


_WRITER = """
import sys
from pathlib import Path
from paperwire.models import Paper
from paperwire.store import open_url
s = open_url(sys.argv[1])
start = int(sys.argv[2])
for i in range(start, start + 60):
    s.upsert_papers([Paper(id=f"2501.{i:05d}", title=f"paper {i}", abstract="a")])
s.close()
"""


def test_two_processes_write_at_once_without_errors(store: Store, store_url: str) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, store_url, str(k * 1000)]) for k in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert store.count_papers() == 120
    assert len({seq for seq, _ in store.iter_papers()}) == 120  # every commit its own sequence


def test_the_change_feed_misses_nothing_while_writers_commit_concurrently(
    store: Store, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S4: a reader tailing iter_papers(after_seq) while four threads write sees every commit.

    Every batch is new papers (so a missed commit stays missed) and sleeps *inside* its transaction, after
    its rows are planned, so commits overlap: a feed that handed out sequences without ordering commits
    would let the reader pass a sequence whose commit came later.
    """
    import threading
    import time

    from paperwire.models import Paper
    from paperwire.store import sql

    plan = sql.plan_upsert

    def slow_plan(*args: object, **kw: object) -> object:
        out = plan(*args, **kw)  # type: ignore[arg-type]
        time.sleep(0.004)
        return out

    monkeypatch.setattr(sql, "plan_upsert", slow_plan)
    stop = threading.Event()
    seen: dict[str, int] = {}
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            w = open_url(store_url)
            for n in range(15):
                w.upsert_papers(
                    [
                        Paper(id=f"25{k:02d}.{n * 10 + i:05d}", title=f"w{k} n{n} i{i}", abstract="a")
                        for i in range(3)
                    ]
                )
            w.close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            r = open_url(store_url)
            mark = 0
            while True:
                done = stop.is_set()
                for seq, p in r.iter_papers(after_seq=mark, batch=7):
                    if seq < mark:  # one commit's papers share a sequence; a later one never goes back
                        raise AssertionError(f"seq {seq} after {mark}")
                    seen[p.id] = seq
                    mark = seq
                if done:
                    break
            r.close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t_read = threading.Thread(target=reader)
    t_read.start()
    writers = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    t_read.join()
    assert not errors, errors
    final = {p.id: seq for seq, p in store.iter_papers()}
    assert len(final) == 4 * 15 * 3
    assert seen == final  # every commit reached the tailing reader, at its own sequence


@contextmanager
def old_database(backend: str, tmp_path: Path, version: int) -> Iterator[tuple[str, Any]]:
    """A database of ``backend`` migrated only up to ``version`` (as older code left it): (URL, its store
    opened without migrating); dropped afterwards."""
    from tests import pg

    url = pg.create_database(empty=True) if backend == "postgresql" else f"sqlite:///{tmp_path / 'old.db'}"
    try:
        if backend == "postgresql":
            import psycopg

            with psycopg.connect(url, autocommit=True) as c:
                c.execute("CREATE EXTENSION IF NOT EXISTS vector")
        old = open_url(url, migrate=False)
        old._migrate(target=version)  # type: ignore[attr-defined]
        yield url, old
    finally:
        if backend == "postgresql":
            pg.drop_database(url)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_4_gives_vectors_a_change_sequence(backend: str, tmp_path: Path) -> None:
    with old_database(backend, tmp_path, 3) as (url, old):  # a database as issue 10 left it
        papers = [make_paper(f"2501.{i:05d}") for i in range(1, 4)]
        old.upsert_papers(papers)
        vec = old._vector_param(np.ones(4, np.float32) / 2)  # type: ignore[attr-defined]
        with old._write() as c:  # type: ignore[attr-defined]
            for p in papers:  # as the code of then saved them: no seq column
                c.execute(
                    old._q(  # type: ignore[attr-defined]
                        "INSERT INTO embeddings (paper_id, model, dim, text_hash, vector) VALUES (?, ?, ?, ?, ?)"
                    ),
                    (p.id, "m", 4, p.text_hash, vec),
                )
        old.close()
        store = open_url(url)
        assert store.schema_version() == MIGRATIONS[-1][0] >= 4
        assert all_vectors(store, "m")[0] == [p.id for p in papers]  # the old vectors load in full
        start = store.vector_cursor("m")
        assert start.vectors == 0 and list(store.iter_vectors("m", start)) == []
        new = make_paper("2501.00009")
        store.upsert_papers([new])
        store.save_embeddings("m", [(new.id, new.text_hash)], np.ones((1, 4), np.float32) / 2)
        assert {i for b in store.iter_vectors("m", start) for i in b.ids} == {new.id}  # (it may come twice)
        store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_3_keeps_each_days_signal_as_a_point_of_history(backend: str, tmp_path: Path) -> None:
    with old_database(backend, tmp_path, 2) as (url, old):  # a database as issue 9 left it
        with old._write() as c:  # type: ignore[attr-defined]
            c.execute(
                "INSERT INTO signals (paper_id, source, observed_on, upvotes, comments, github_repo, github_stars) "
                "VALUES ('2501.00001', 'hf-daily', '2025-01-03', 7, 2, 'https://github.com/a/b', 40)"
            )
        old.close()
        store = open_url(url)
        assert store.schema_version() == MIGRATIONS[-1][0]
        (s,) = store.signal_history("2501.00001")
        assert s == Signal(
            "2501.00001",
            "hf-daily",
            at(date(2025, 1, 3)),
            7,
            2,
            "https://github.com/a/b",
            40,
            None,
            date(2025, 1, 3),
        )
        assert store.daily_list(date(2025, 1, 3)) == [s]
        store.close()
