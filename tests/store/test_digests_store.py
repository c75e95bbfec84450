"""The digest part of the store contract (subscribers, the delivery ledger: M4, M5), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from paperwire.store.base import Store

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DAY = date(2026, 3, 2)


def test_subscribing_again_never_changes_an_active_subscription(store: Store) -> None:
    s = store.subscribe("Ada@Example.org", '{"trending_n": 5}', T0)
    assert (s.email, s.status, s.prefs, s.token_version) == (
        "ada@example.org",
        "pending",
        '{"trending_n": 5}',
        1,
    )
    again = store.subscribe("ada@example.org", '{"trending_n": 7}', T0)
    assert (again.id, again.status, again.prefs) == (s.id, "pending", '{"trending_n": 7}')  # still pending
    assert store.set_subscriber_status(s.id, "active", T0) is True
    assert store.set_subscriber_status(s.id, "active", T0) is False  # confirming twice changes nothing
    active = store.get_subscriber(s.id)
    assert active is not None and active.confirmed_at == T0 and active.token_version == 2
    # someone else subscribing this address cannot reset it, nor its preferences
    assert store.subscribe("ada@example.org", '{"trending_n": 1}', T0).prefs == '{"trending_n": 7}'
    assert store.get_subscriber(s.id).status == "active"  # type: ignore[union-attr]
    store.set_subscriber_status(s.id, "unsubscribed", T0, reason="one-click")
    back = store.subscribe("ada@example.org", "{}", T0 + timedelta(days=1))
    assert (back.status, back.reason, back.token_version) == ("pending", None, 3)
    assert [x.email for x in store.subscribers("pending")] == [
        "ada@example.org"
    ] and store.subscribers() == []


def test_a_delivery_is_claimed_once_and_its_lease_can_be_taken_over(store: Store) -> None:
    s = store.subscribe("b@example.org", "{}", T0)
    lease = T0 + timedelta(minutes=10)
    assert store.claim_delivery(s.id, DAY, "<m@x>", "one", lease, T0) is True
    assert store.claim_delivery(s.id, DAY, "<m@x>", "two", lease, T0) is False  # alive: one's
    later = lease + timedelta(seconds=1)  # one crashed: its lease ran out
    assert store.claim_delivery(s.id, DAY, "<m@x>", "two", later + timedelta(minutes=10), later) is True
    assert store.finish_delivery(s.id, DAY, "one", "sent", later) is False  # too late: not one's any more
    due = T0 + timedelta(hours=1)
    assert store.finish_delivery(
        s.id, DAY, "two", "sent", later, due=due, paper_ids=["2501.00001", "2501.00002"]
    )
    d = store.get_delivery(s.id, DAY)
    assert d is not None and (d.status, d.attempts, d.entries, d.message_id) == ("sent", 2, 2, "<m@x>")
    assert (
        store.claim_delivery(s.id, DAY, "<m@x>", "three", later + timedelta(days=1), later) is False
    )  # done
    assert store.get_subscriber(s.id).last_due == due  # type: ignore[union-attr]
    assert store.sent_paper_ids(s.id) == {"2501.00001", "2501.00002"}
    assert store.delivery_counts() == {"sent": 1}


def test_a_deferred_delivery_waits_for_its_next_attempt(store: Store) -> None:
    s = store.subscribe("c@example.org", "{}", T0)
    assert store.claim_delivery(s.id, DAY, "<m@x>", "one", T0 + timedelta(minutes=5), T0)
    retry = T0 + timedelta(minutes=30)
    assert store.finish_delivery(s.id, DAY, "one", "deferred", T0, error="451 try later", next_attempt=retry)
    assert store.claim_delivery(s.id, DAY, "<m@x>", "one", retry, retry - timedelta(seconds=1)) is False
    assert store.claim_delivery(s.id, DAY, "<m@x>", "one", retry + timedelta(minutes=5), retry) is True
    assert store.get_delivery(s.id, DAY).attempts == 2  # type: ignore[union-attr]
    assert store.get_subscriber(s.id).last_due is None  # type: ignore[union-attr]


def test_two_senders_at_once_claim_a_delivery_once(store: Store) -> None:
    s = store.subscribe("d@example.org", "{}", T0)
    won: list[bool] = []
    start = threading.Barrier(4)

    def claim(holder: str) -> None:
        start.wait()
        won.append(store.claim_delivery(s.id, DAY, "<m@x>", holder, T0 + timedelta(minutes=5), T0))

    threads = [threading.Thread(target=claim, args=(f"h{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won) == [False, False, False, True]


def test_several_deliveries_are_finished_in_one_transaction(store: Store) -> None:
    from paperwire.models import Finish

    a, b, c = (store.subscribe(f"f{i}@example.org", "{}", T0) for i in range(3))
    lease = T0 + timedelta(minutes=10)
    for sub in (a, b, c):
        assert store.claim_delivery(sub.id, DAY, f"<{sub.id}@x>", "h", lease, T0)
    later = T0 + timedelta(minutes=11)  # b's lease ran out and another sender took it over
    assert store.claim_delivery(b.id, DAY, f"<{b.id}@x>", "other", later + timedelta(minutes=10), later)
    due = T0 - timedelta(hours=1)
    done = store.finish_deliveries(
        [
            Finish(a.id, DAY, "sent", later, due, ("2401.00001", "2401.00002", "2401.00001")),
            Finish(b.id, DAY, "sent", later, due, ("2401.00003",)),
            Finish(c.id, DAY, "skipped", later, due),
        ],
        "h",
    )
    assert done == [True, False, True]  # b is the other sender's to record now
    assert store.sent_papers_of([a.id, b.id, c.id]) == {
        a.id: {"2401.00001", "2401.00002"},
        b.id: set(),
        c.id: set(),
    }
    got = {d.subscriber_id: d for d in store.deliveries()}
    assert (got[a.id].status, got[a.id].entries, got[b.id].status, got[c.id].status) == (
        "sent",
        3,
        "claimed",
        "skipped",
    )
    assert [store.get_subscriber(x.id).last_due for x in (a, b, c)] == [due, None, due]  # type: ignore[union-attr]
    assert store.finish_deliveries([], "h") == []


def test_claims_in_a_batch_win_only_what_is_free(store: Store) -> None:
    subs = [store.subscribe(f"c{i}@example.org", "{}", T0) for i in range(4)]
    lease = T0 + timedelta(minutes=10)
    assert store.claim_delivery(subs[1].id, DAY, "<1@x>", "other", lease, T0)
    claims = [(s.id, DAY, f"<{s.id}@x>") for s in subs]
    assert store.claim_deliveries(claims, "mine", lease, T0) == {subs[0].id, subs[2].id, subs[3].id}
    assert store.claim_deliveries(claims, "third", lease, T0) == set()  # every lease alive
    assert store.claim_deliveries([], "mine", lease, T0) == set()


def _claim_at_once(
    store: Store, orders: list[list[tuple[int, date, str]]], lease: datetime
) -> tuple[list[set[int]], list[BaseException]]:
    """One thread a sender, each claiming its list in batches of 16, all starting together."""
    won: list[set[int]] = [set() for _ in orders]
    errors: list[BaseException] = []
    start = threading.Barrier(len(orders))

    def claim(k: int) -> None:
        start.wait()
        try:
            for i in range(0, len(orders[k]), 16):
                won[k] |= store.claim_deliveries(orders[k][i : i + 16], f"h{k}", lease, T0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(k,)) for k in range(len(orders))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return won, errors


def test_senders_claiming_overlapping_batches_in_opposite_orders_each_win_a_digest_once(store: Store) -> None:
    # batches that share rows, taken in opposite orders at once: no deadlock, every digest won by exactly one
    subs = [store.subscribe(f"o{i}@example.org", "{}", T0) for i in range(60)]
    lease = T0 + timedelta(minutes=10)
    for day in (DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)):  # a deadlock is a race: three tries
        claims = [(s.id, day, f"<{s.id}@x>") for s in subs]
        orders = [claims, claims[::-1], claims[30:] + claims[:30], claims[45:] + claims[:45]]
        won, errors = _claim_at_once(store, orders, lease)
        assert errors == []
        assert sorted(sid for got in won for sid in got) == sorted(
            s.id for s in subs
        )  # each once, none twice
    assert sum(d.status == "claimed" for d in store.deliveries()) == 3 * len(subs)


def _at_once(*work: Callable[[], object]) -> list[BaseException]:
    """Run each callable in a thread of its own, all starting together; what they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(work))

    def one(fn: Callable[[], object]) -> None:
        start.wait()
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(fn,)) for fn in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_a_sender_recording_while_another_claims_the_same_rows_never_deadlocks(store: Store) -> None:
    from paperwire.models import Finish

    subs = [store.subscribe(f"r{i}@example.org", "{}", T0) for i in range(48)]
    lease = T0 + timedelta(minutes=10)
    for day in (DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)):  # a deadlock is a race: three tries
        claims = [(s.id, day, f"<{s.id}@x>") for s in subs]
        assert store.claim_deliveries(claims, "a", lease, T0) == {s.id for s in subs}
        # "a" records its digests in the order it sent them (not the claims' order)
        batches = [
            [Finish(s.id, day, "sent", T0, T0, ("2401.00001",)) for s in subs[::-1][i : i + 8]]
            for i in range(0, len(subs), 8)
        ]

        def record(batches: list[list[Finish]] = batches) -> None:
            for batch in batches:
                assert store.finish_deliveries(batch, "a") == [True] * len(batch)

        def claim(claims: list[tuple[int, date, str]] = claims) -> None:  # "b" reaches for the same rows
            for _ in range(3):
                for i in range(0, len(claims), 16):
                    store.claim_deliveries(claims[i : i + 16], "b", lease, T0)

        assert _at_once(record, claim) == []
        assert {d.status for d in store.deliveries() if d.digest_date == day} == {"sent"}


def test_watch_vectors_are_kept_per_model_and_pruned(store: Store) -> None:
    import numpy as np

    a, b = np.arange(4, dtype=np.float32), np.ones(4, dtype=np.float32)
    store.put_query_vectors("m1", {"depth estimation": a, 'author:"Ada"': b}, T0)
    store.put_query_vectors("m1", {"depth estimation": b}, T0)  # kept already: stays as it was
    store.put_query_vectors("m2", {"depth estimation": b}, T0)
    got = store.query_vectors("m1", ["depth estimation", 'author:"Ada"', "never embedded"])
    assert sorted(got) == ['author:"Ada"', "depth estimation"]
    assert got["depth estimation"].dtype == np.float32 and got["depth estimation"].tolist() == a.tolist()
    assert store.query_vectors("m2", ["depth estimation"])["depth estimation"].tolist() == b.tolist()
    assert store.prune_query_vectors("m1", keep={"depth estimation"}) == 1
    assert list(store.query_vectors("m1", ['author:"Ada"', "depth estimation"])) == ["depth estimation"]
    assert store.query_vectors("m2", ["depth estimation"])  # another model's are left alone


def test_searches_are_kept_for_the_other_senders_and_forgotten_when_old(store: Store) -> None:
    store.put_watch_results({"k1": ["2401.00001", "2401.00002"], "k2": []}, T0)
    store.put_watch_results({"k1": ["2401.00009"], "k3": ["2401.00003"]}, T0 + timedelta(hours=2))  # k1 stays
    got = store.watch_results(["k1", "k2", "k3", "never"])
    assert got == {"k1": ["2401.00001", "2401.00002"], "k2": [], "k3": ["2401.00003"]}
    assert store.prune_watch_results(T0 + timedelta(hours=1)) == 2
    assert store.watch_results(["k1", "k2", "k3"]) == {"k3": ["2401.00003"]}
    store.put_watch_results({}, T0)  # nothing to keep: nothing written


def test_papers_sent_are_read_for_many_subscribers_at_once(store: Store) -> None:
    a, b, c = (store.subscribe(f"s{i}@example.org", "{}", T0) for i in range(3))
    lease = T0 + timedelta(minutes=10)
    for sub, papers in ((a, ["2401.00001", "2401.00002"]), (b, ["2401.00002"])):
        assert store.claim_delivery(sub.id, DAY, f"<{sub.id}@x>", "h", lease, T0)
        assert store.finish_delivery(sub.id, DAY, "h", "sent", T0, due=T0, paper_ids=papers)
    got = store.sent_papers_of([a.id, b.id, c.id])
    assert got == {a.id: {"2401.00001", "2401.00002"}, b.id: {"2401.00002"}, c.id: set()}
    assert got[a.id] == store.sent_paper_ids(a.id) and store.sent_papers_of([]) == {}
