"""Composing a digest: each paper once with all its reasons, never one already sent, bounded, stable."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperwire.digest.compose import (
    Digest,
    DigestPrefs,
    _shares,
    base_id,
    compose_digest,
)
from paperwire.errors import DigestPrefsError
from paperwire.models import Paper

COVERS = [date(2026, 3, 3), date(2026, 3, 2)]
WATCH = '"depth estimation" cat:cs.CV -video'


def paper(n: int, version: int = 1, cats: tuple[str, ...] = ("cs.CV",)) -> Paper:
    return Paper(
        id=f"2603.{n:05d}", title=f"Paper {n}", abstract="An abstract.", version=version, categories=cats
    )


def compose(prefs: DigestPrefs, **kw: object) -> Digest:
    args: dict[str, object] = {
        "watch_hits": {},
        "category_papers": [],
        "trending": [],
        "for_you": [],
        "already_sent": [],
    }
    args.update(kw)
    return compose_digest(prefs, COVERS, **args)  # type: ignore[arg-type]


def test_base_id() -> None:
    assert base_id("2401.01234v2") == "2401.01234"
    assert base_id("2401.01234") == "2401.01234"
    assert base_id("https://arxiv.org/abs/2401.01234v3") == "2401.01234"
    assert base_id("hep-th/9901001v1") == "hep-th/9901001"
    assert base_id("not-an-id-v7") == "not-an-id-v7"  # no "v\d+" ending after a digit run: kept as given
    assert base_id("weird12v3") == "weird12"


def test_a_paper_already_sent_never_comes_back_in_any_version() -> None:
    prefs = DigestPrefs(watches=(WATCH,), categories=("cs.CV",), trending_n=5)
    d = compose_digest(
        prefs,
        COVERS,
        watch_hits={WATCH: [paper(1, version=2), paper(2)]},
        category_papers=[paper(1, version=3), paper(3)],
        trending=[(paper(1, version=2), ["12 upvotes"])],
        for_you=[],
        already_sent=["2603.00001v1", "https://arxiv.org/abs/2603.00003"],
    )
    assert [e.paper.id for e in d.entries] == ["2603.00002"]
    assert d.paper_ids == ["2603.00002"]


def test_one_entry_per_paper_with_reasons_merged() -> None:
    prefs = DigestPrefs(watches=(WATCH,), categories=("cs.CV", "cs.LG"), trending_n=5, for_you=True)
    p1 = paper(1, cats=("cs.LG", "cs.CV"))
    d = compose_digest(
        prefs,
        COVERS,
        watch_hits={WATCH: [p1]},
        category_papers=[paper(1, version=2, cats=("cs.LG", "cs.CV")), paper(2, cats=("eess.IV", "cs.CV"))],
        trending=[(p1, ["42 upvotes on Hugging Face"]), (paper(3), [])],
        for_you=[(p1, ["resembles “Depth Anything” in your library"])],
        already_sent=[],
    )
    assert len(d.entries) == len({e.paper.id for e in d.entries}) == 3
    first = d.sections[0].entries[0]
    assert d.sections[0].kind == "watch" and first.paper.id == "2603.00001"
    assert first.paper.version == 2  # the newest version given is shown
    assert first.reasons == (
        f"matches your watch: {WATCH}",
        "resembles “Depth Anything” in your library",
        "trending: 42 upvotes on Hugging Face",
        "new in cs.LG",
    )
    assert first.sections == ("watch:0", "for_you", "trending", "category")
    by_id = {e.paper.id: e for e in d.entries}
    assert by_id["2603.00003"].reasons == ("trending now",)
    assert by_id["2603.00002"].reasons == ("cross-listed in cs.CV",)


def test_sections_come_in_a_stable_order_and_follow_the_prefs() -> None:
    w2 = "diffusion cat:cs.LG"
    prefs = DigestPrefs(watches=(w2, WATCH), categories=("cs.CV",), trending_n=2, for_you=False)
    kw = {
        "watch_hits": {WATCH: [paper(1)], w2: [paper(2)], "not a watch of theirs": [paper(9)]},
        "category_papers": [paper(3), paper(4)],
        "trending": [(paper(5), ["a"]), (paper(6), ["b"]), (paper(7), ["c"])],
        "for_you": [(paper(8), ["x"])],
    }
    d = compose(prefs, **kw)
    again = compose(prefs, **kw)
    assert d == again
    assert [s.key for s in d.sections] == ["watch:0", "watch:1", "trending", "category"]
    assert [s.query for s in d.sections][:2] == [w2, WATCH]
    ids = [e.paper.id for e in d.entries]
    assert ids == ["2603.00002", "2603.00001", "2603.00005", "2603.00006", "2603.00003", "2603.00004"]
    assert d.covers == (date(2026, 3, 2), date(2026, 3, 3))


def test_size_is_bounded_fairly_with_more_counts() -> None:
    prefs = DigestPrefs(watches=(WATCH,), categories=("cs.CV",), trending_n=10)
    d = compose_digest(
        prefs,
        COVERS,
        watch_hits={WATCH: [paper(i) for i in range(40)]},
        category_papers=[paper(i) for i in range(100, 130)],
        trending=[(paper(i), ["x"]) for i in range(200, 205)],
        for_you=[],
        already_sent=[],
        max_entries=20,
    )
    sizes = [(len(s.entries), s.more) for s in d.sections]
    assert sum(n for n, _ in sizes) == 20
    assert sizes == [(8, 32), (5, 0), (7, 23)]  # a common cap of 7, the one left over to the first section
    # the kept entries are the top of each ranked list
    assert [e.paper.id for e in d.sections[0].entries] == [f"2603.{i:05d}" for i in range(8)]


def test_empty() -> None:
    prefs = DigestPrefs(watches=(WATCH,), categories=("cs.CV",))
    assert compose(prefs).empty
    d = compose(prefs, watch_hits={WATCH: [paper(1)]}, already_sent=["2603.00001v4"])
    assert d.empty and d.entries == []
    assert not compose(prefs, category_papers=[paper(2)]).empty


def test_address_and_frequency_are_carried() -> None:
    d = compose_digest(
        DigestPrefs(frequency="weekly"),
        [],
        watch_hits={},
        category_papers=[],
        trending=[],
        for_you=[],
        already_sent=(),
        address="reader@example.org",
    )
    assert d.address == "reader@example.org" and d.frequency == "weekly" and d.covers == ()


def test_max_entries_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        compose(DigestPrefs(), max_entries=0)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"timezone": "Nowhere/Land"}, "time zone"),
        ({"hour": 25}, "hour"),
        ({"frequency": "monthly"}, "frequency"),
        ({"weekday": -1}, "weekday"),
        ({"trending_n": -1}, "trending_n"),
        ({"watches": ("ok", "")}, "watch"),
        ({"watches": ("a\r\nBcc: x@example.com",)}, "watch"),
        ({"watches": ("x" * 301,)}, "watch"),
        ({"watches": tuple(f"w{i}" for i in range(21))}, "watches"),
    ],
)
def test_prefs_are_validated(kw: dict[str, object], match: str) -> None:
    with pytest.raises(DigestPrefsError, match=match):
        DigestPrefs(**kw)  # type: ignore[arg-type]


def test_prefs_error_is_a_400_and_a_value_error() -> None:
    assert DigestPrefsError.http_status == 400
    assert issubclass(DigestPrefsError, ValueError)


@given(sizes=st.lists(st.integers(0, 60), min_size=1, max_size=8), budget=st.integers(1, 100))
def test_shares_are_fair_and_fill_the_budget(sizes: list[int], budget: int) -> None:
    shares = _shares(sizes, budget)
    assert sum(shares) == min(sum(sizes), budget)
    assert all(0 <= s <= n for s, n in zip(shares, sizes, strict=True))
    # max-min fair: a section cut short never has fewer than any other section's share minus one
    for i, (s, n) in enumerate(zip(shares, sizes, strict=True)):
        if s < n:
            assert all(s >= other - 1 for j, other in enumerate(shares) if j != i)
