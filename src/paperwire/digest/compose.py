"""What one digest holds: the papers of a subscriber's sections, each once, each with why it is there.

Sections come in a fixed order (each watch in the order the subscriber listed them, then "for you", trending
and the chosen categories); a paper matched by several sections is shown once, in the first, with the
reasons of all of them. A paper already sent to the subscriber (any version) never comes back. The size is
bounded: each section keeps a fair share of ``max_entries`` and says how many more it had.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from paperwire.digest.schedule import (
    DEFAULT_WEEKDAY,
    Frequency,
    check_frequency,
    check_hour,
    check_weekday,
    zone,
)
from paperwire.errors import DigestPrefsError, QueryError
from paperwire.models import Paper
from paperwire.sources.arxiv_ids import parse_arxiv_ref

SectionKind = Literal["watch", "for_you", "trending", "category"]
MAX_WATCHES = 20
MAX_WATCH_LENGTH = 300
MAX_CATEGORIES = 50
MAX_TRENDING = 50
_VERSION = re.compile(r"(?<=\d)v\d+$")  # a version follows the number: "2401.01234v2"


@dataclass(frozen=True)
class DigestPrefs:
    """What a subscriber receives, and when. Validated on construction (DigestPrefsError)."""

    watches: tuple[str, ...] = ()  # saved searches in the query language
    categories: tuple[str, ...] = ()  # arXiv categories, e.g. cs.CV
    trending_n: int = 10  # the trending top N; 0: none
    for_you: bool = False  # recommendations from the library (signed-in subscribers)
    frequency: Frequency = "daily"
    hour: int = 8  # local delivery hour, 0-23
    timezone: str = "UTC"  # IANA name
    weekday: int = DEFAULT_WEEKDAY  # weekly digests: 0 Monday ... 6 Sunday
    send_empty: bool = False  # a short "nothing new" note when there is nothing to send

    def __post_init__(self) -> None:
        check_frequency(self.frequency)
        check_hour(self.hour)
        check_weekday(self.weekday)
        zone(self.timezone)
        if len(self.watches) > MAX_WATCHES:
            raise DigestPrefsError(f"at most {MAX_WATCHES} watches, got {len(self.watches)}")
        for w in self.watches:
            if not w.strip() or len(w) > MAX_WATCH_LENGTH or "\n" in w or "\r" in w:
                raise DigestPrefsError(f"a watch is one line of 1-{MAX_WATCH_LENGTH} characters")
        if len(self.categories) > MAX_CATEGORIES:
            raise DigestPrefsError(f"at most {MAX_CATEGORIES} categories, got {len(self.categories)}")
        if isinstance(self.trending_n, bool) or not 0 <= self.trending_n <= MAX_TRENDING:
            raise DigestPrefsError(f"trending_n must be 0-{MAX_TRENDING}, got {self.trending_n!r}")


@dataclass(frozen=True)
class DigestEntry:
    """One paper in a digest, with every reason it is there and every section that wanted it."""

    paper: Paper
    reasons: tuple[str, ...]
    sections: tuple[str, ...]  # section keys, the one it is shown in first


@dataclass(frozen=True)
class DigestSection:
    """One part of a digest: a watch's matches, the trending list, the chosen categories, "for you"."""

    key: str  # stable: "watch:0", "for_you", "trending", "category"
    kind: SectionKind
    title: str  # plain text (may hold the subscriber's watch); renderers escape it
    entries: tuple[DigestEntry, ...]
    more: int = 0  # how many more papers it had past the size bound
    query: str | None = None  # for a "see all" link: the watch's query, or the one category chosen


@dataclass(frozen=True)
class Digest:
    """One subscriber's digest: the listing days it covers and its sections in a stable order."""

    address: str
    covers: tuple[date, ...]
    sections: tuple[DigestSection, ...]
    frequency: Frequency = "daily"
    categories: tuple[str, ...] = field(default=())

    @property
    def entries(self) -> list[DigestEntry]:
        """Every entry, section by section."""
        return [e for s in self.sections for e in s.entries]

    @property
    def empty(self) -> bool:
        """Nothing to show (nothing announced, nothing matched, or everything already sent)."""
        return not any(s.entries for s in self.sections)

    @property
    def paper_ids(self) -> list[str]:
        """The base ids shown, for the delivery ledger's already-sent record."""
        return [e.paper.id for e in self.entries]


@functools.lru_cache(maxsize=65536)
def base_id(paper_id: str) -> str:
    """The arXiv id without its version: ``2401.01234v2`` -> ``2401.01234`` (links and arXiv: prefixes too).
    Remembered: a digest pass asks for the same few hundred ids thousands of times."""
    try:
        return parse_arxiv_ref(paper_id)[0]
    except QueryError:
        return _VERSION.sub("", paper_id.strip())


@dataclass
class _Pick:
    paper: Paper
    reasons: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)


def _add_reasons(pick: _Pick, reasons: Sequence[str]) -> None:
    for r in reasons:
        r = " ".join(r.split())
        if r and r not in pick.reasons:
            pick.reasons.append(r)


def _shares(sizes: Sequence[int], budget: int) -> list[int]:
    """How many entries each section keeps: a common cap (as high as the budget allows), then one more each
    for the first sections that still have papers, until the budget is spent."""
    if sum(sizes) <= budget:
        return list(sizes)
    cap = 0
    while sum(min(n, cap + 1) for n in sizes) <= budget:
        cap += 1
    shares = [min(n, cap) for n in sizes]
    left = budget - sum(shares)
    for i, n in enumerate(sizes):
        if left and n > shares[i]:
            shares[i] += 1
            left -= 1
    return shares


def compose_digest(
    prefs: DigestPrefs,
    covers: Sequence[date],
    *,
    watch_hits: Mapping[str, Sequence[Paper]],
    category_papers: Sequence[Paper],
    trending: Sequence[tuple[Paper, list[str]]],
    for_you: Sequence[tuple[Paper, list[str]]],
    already_sent: Collection[str],
    max_entries: int = 50,
    address: str = "",
) -> Digest:
    """The digest of ``prefs`` over the papers each source found for the covered days.

    Inputs are ranked lists (search order, trending rank, recommendation rank) and keep their order. What
    ``prefs`` does not ask for is left out (a watch it lacks, categories when it chose none, trending past
    ``trending_n``, "for you" when off). ``already_sent`` holds ids sent before (any version).
    """
    if max_entries < 1:
        raise ValueError(f"max_entries must be at least 1, got {max_entries}")
    sent = {base_id(i) for i in already_sent}
    chosen = list(dict.fromkeys(prefs.categories))
    # (key, kind, title, query, [(paper, reasons)])
    plan: list[tuple[str, SectionKind, str, str | None, list[tuple[Paper, Sequence[str]]]]] = []
    for i, watch in enumerate(dict.fromkeys(prefs.watches)):
        hits = [(p, [f"matches your watch: {watch}"]) for p in watch_hits.get(watch, ())]
        plan.append((f"watch:{i}", "watch", f"Watch: {watch}", watch, list(hits)))
    if prefs.for_you:
        plan.append(
            (
                "for_you",
                "for_you",
                "For you",
                None,
                [(p, r or ["for you, from your library"]) for p, r in for_you],
            )
        )
    if prefs.trending_n:
        top = trending[: prefs.trending_n]
        plan.append(("trending", "trending", "Trending", None, [(p, _trending_reasons(r)) for p, r in top]))
    if chosen:
        title = "New in " + ", ".join(chosen)
        one = chosen[0] if len(chosen) == 1 else None  # one category: "see all" opens its day list
        plan.append(
            (
                "category",
                "category",
                title,
                one,
                [(p, [_category_reason(p, chosen)]) for p in category_papers],
            )
        )

    picks: dict[str, _Pick] = {}
    members: list[list[str]] = []  # per section, the base ids first shown there
    for key, _kind, _title, _query, items in plan:
        mine: list[str] = []
        for paper, reasons in items:
            pid = base_id(paper.id)
            if pid in sent:
                continue
            pick = picks.get(pid)
            if pick is None:
                pick = picks[pid] = _Pick(paper)
                mine.append(pid)
            elif paper.version > pick.paper.version:
                pick.paper = paper  # the newest version we were given is the one shown
            if key not in pick.sections:
                pick.sections.append(key)
            _add_reasons(pick, reasons)
        members.append(mine)

    shares = _shares([len(m) for m in members], max_entries)
    sections: list[DigestSection] = []
    for (key, kind, title, query, _items), mine, share in zip(plan, members, shares, strict=True):
        entries = tuple(
            DigestEntry(
                paper=picks[pid].paper, reasons=tuple(picks[pid].reasons), sections=tuple(picks[pid].sections)
            )
            for pid in mine[:share]
        )
        sections.append(DigestSection(key, kind, title, entries, more=len(mine) - share, query=query))
    return Digest(
        address=address,
        covers=tuple(sorted(set(covers))),
        sections=tuple(sections),
        frequency=prefs.frequency,
        categories=tuple(chosen),
    )


def _trending_reasons(figures: Sequence[str]) -> list[str]:
    if not figures:
        return ["trending now"]
    return [f if f.lower().startswith("trending") else f"trending: {f}" for f in figures]


def _category_reason(paper: Paper, chosen: Sequence[str]) -> str:
    mine = [c for c in paper.categories if c in chosen]
    if not mine:
        return f"new in {paper.primary_category}" if paper.primary_category else "new in your categories"
    if paper.primary_category in mine:
        return f"new in {paper.primary_category}"
    return f"cross-listed in {', '.join(mine)}"
