"""The accounts part of the store contract, on SQLite and PostgreSQL (PAPERWIRE_TEST_BACKEND)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from paperwire.store.accounts import ACCOUNT_TABLES, USER_TABLES
from paperwire.store.base import Store
from tests.conftest import make_paper


def test_deleting_a_user_deletes_everything_tied_to_them(store: Store) -> None:
    store.upsert_papers([make_paper("2501.00001"), make_paper("2501.00002")])
    gone = store.add_user("gone@example.org", "active")
    stays = store.add_user("stays@example.org", "active")
    for u in (gone, stays):
        store.add_session(f"{u.id}" * 64, u.id, datetime.now(UTC))
        store.set_upvote(u.id, "2501.00001", True)
        store.save_to_library(u.id, "2501.00002", tags=["t"], note="n")
        c = store.add_collection(u.id, "c", False, f"token-{u.id}-0123456789")
        store.set_in_collection(u.id, c.id, "2501.00001", True)
        store.add_comment(u.id, "2501.00001", "hello")
        store.set_feedback(u.id, "2501.00002", "more")
    store.delete_user(gone.id)
    assert store.get_user(gone.id) is None and store.user_by_email("gone@example.org") is None
    for table in USER_TABLES:
        owners = {r[ACCOUNT_TABLES[table].index("user_id")] for r in store.account_rows(table)}
        assert owners == {stays.id}, table
    assert [r[1] for r in store.account_rows("collections")] == [stays.id]
    assert len(store.account_rows("collection_items")) == 1
    # the trending counts lose the departed user's upvote and save, keep the other's
    totals = {(p, k): n for p, k, n in store.local_totals()}
    assert totals[("2501.00001", "upvote")] == 1 and totals[("2501.00002", "save")] == 1


def test_a_sign_in_link_is_spent_once_even_by_two_at_once(store: Store) -> None:
    store.add_sign_in_nonce("h" * 64, "a@example.org", datetime.now(UTC) + timedelta(minutes=20))
    won: list[str | None] = []
    start = threading.Barrier(4)

    def click() -> None:
        start.wait()
        won.append(store.use_sign_in_nonce("h" * 64, datetime.now(UTC)))

    threads = [threading.Thread(target=click) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert won.count("a@example.org") == 1 and won.count(None) == 3


def test_upvotes_once_per_account_and_library_filters(store: Store) -> None:
    store.upsert_papers([make_paper("2501.00001"), make_paper("2501.00002")])
    u = store.add_user("u@example.org", "active")
    assert store.set_upvote(u.id, "2501.00001", True) is True
    assert store.set_upvote(u.id, "2501.00001", True) is False  # one per account
    assert store.upvote_counts(["2501.00001", "2501.00002"]) == {"2501.00001": 1}
    assert store.set_upvote(u.id, "2501.00001", False) is True
    assert store.upvote_counts(["2501.00001"]) == {}
    assert store.save_to_library(u.id, "2501.00001", tags=["a", "b"]) is True
    assert store.save_to_library(u.id, "2501.00001", note="later", read=True) is False
    assert store.save_to_library(u.id, "2501.00002", tags=["b"]) is True
    [item] = store.library(u.id, tag="a")
    assert (item.paper_id, item.tags, item.note, item.read_at is not None) == (
        "2501.00001",
        ("a", "b"),
        "later",
        True,
    )
    assert [i.paper_id for i in store.library(u.id, read=False)] == ["2501.00002"]
    assert store.library_tags(u.id) == [("b", 2), ("a", 1)]
    assert (
        store.save_many(u.id, [("2501.00001", ["c"], ""), ("2501.00002", [], "x")]) == 0
    )  # both saved already
    assert store.library(u.id, tag="c")[0].note == "later"  # an import adds tags, keeps the note
    assert store.remove_from_library(u.id, "2501.00001") is True
    assert store.library(u.id, tag="a") == []


def test_libraries_of_several_users_at_once_match_each_ones(store: Store) -> None:
    store.upsert_papers([make_paper(f"2501.0000{i}") for i in range(1, 5)])
    a, b, c = (store.add_user(f"{n}@example.org", "active") for n in "abc")
    for pid in ("2501.00001", "2501.00003", "2501.00002"):
        store.save_to_library(a.id, pid)
    store.save_to_library(b.id, "2501.00004")
    store.set_feedback(a.id, "2501.00004", "dismissed")
    store.set_feedback(b.id, "2501.00001", "more")
    got = store.libraries_of([a.id, b.id, c.id])
    for u in (a, b, c):
        assert got[u.id] == ([i.paper_id for i in store.library(u.id)], store.feedback(u.id))
    assert got[c.id] == ([], {}) and store.libraries_of([]) == {}
