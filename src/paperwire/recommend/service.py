"""Recommendations over an open paperwire: the window's papers and the library's vectors from the vector index,
ranked by rank.py.

The candidates are the new papers: those whose date (announcement, else submission) falls in a window that
ends at the newest day in the store (``DEFAULT_WINDOW_DAYS`` long unless ``since`` says otherwise). They are
found with the index's date facets (one comparison over a compact int32 array, no Python loop over rows) and
only their rows of the matrix are read, so a call costs the window, not the corpus. The classifier's
background is a sample of rows outside the window.

:class:`WindowRecommender` holds one window's work (its candidates, the rows outside it, the LDA classifier's
shared background) for many libraries; :func:`recommend` is one library over a fresh one.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from paperwire.errors import QueryError
from paperwire.models import Paper
from paperwire.recommend.rank import Background, RankParams, rank
from paperwire.search.keyword import date_key
from paperwire.sources.arxiv_ids import parse_arxiv_ref

if TYPE_CHECKING:
    from paperwire.app_context import Paperwire
    from paperwire.library.match import MatchReport
    from paperwire.search.semantic import VectorIndex

DEFAULT_WINDOW_DAYS = 7
MAX_LIMIT = 100
MAX_LIBRARY = 10_000  # papers a library may hold (the classifier's cost grows with it)
NEGATIVES = 2_000  # background papers the logistic classifier learns against (a sample per library)
LDA_BACKGROUND = 20_000  # background papers of the LDA classifier's mean and covariance (one sample a window)
MAX_EMBED_NOW = 64  # library papers without a stored vector embedded during the call (the rest are skipped)


class LibraryError(QueryError):
    """A library cannot be recommended for: it is empty, too large, or none of its papers is here."""


@dataclass
class Recommendation:
    """A new paper for a library: its score and the library papers that make it relevant (ids, best first)."""

    paper: Paper
    score: float
    because: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Window:
    """The days whose papers are candidates (inclusive)."""

    since: date
    until: date


def window(pw: Paperwire, since: date | None = None, until: date | None = None) -> Window:
    """The candidate window: ``until`` defaults to the newest day in the store, ``since`` to a week before it."""
    end = until or pw.store.latest_announced() or date.today()
    start = since or end - timedelta(days=DEFAULT_WINDOW_DAYS - 1)
    if start > end:
        raise QueryError(f"since {start.isoformat()} is after the window's end {end.isoformat()}")
    return Window(start, end)


def base_ids(ids: Sequence[str] | Collection[str]) -> list[str]:
    """arXiv ids (or links) as base ids, in order, without repeats (QueryError names a bad one)."""
    return list(dict.fromkeys(parse_arxiv_ref(i)[0] for i in ids))


def recommend(
    pw: Paperwire,
    library_ids: Sequence[str],
    *,
    since: date | None = None,
    until: date | None = None,
    limit: int = 20,
    exclude: Collection[str] = (),
    more_like: Sequence[str] = (),
    less_like: Sequence[str] = (),
    params: RankParams | None = None,
) -> list[Recommendation]:
    """New papers for a library, best first, each with the library papers that make it relevant.

    Papers of the library, ``exclude`` (dismissed), ``more_like`` and ``less_like`` (already judged) never
    come back. Library papers this paperwire does not hold are ignored; LibraryError when none is left.
    One library over one window: many libraries over one window share its work in a :class:`WindowRecommender`.
    """
    _check_library(base_ids(library_ids))  # a bad library is refused before the window is read
    return WindowRecommender(pw, since, until).recommend(
        library_ids, limit=limit, exclude=exclude, more_like=more_like, less_like=less_like, params=params
    )


class WindowRecommender:
    """Recommendations over one candidate window for many libraries (a digest pass: every subscriber's
    library against one listing day), the window's work done once.

    Made from ``(pw, since, until)`` (the window as :func:`window` makes it), it reads the window's candidate
    rows, vectors and days, the rows outside it (the classifier's background) and, on first use, the LDA
    classifier's shared :class:`~paperwire.recommend.rank.Background` (cached per index state and window, so
    later recommenders of the same window reuse it). Each :meth:`recommend` then costs the library alone: with
    ``classifier="lda"`` about a millisecond. The window is a snapshot: vectors synced after it was made are
    not candidates (make a new one per pass). Not for use by several threads at once.
    """

    def __init__(self, pw: Paperwire, since: date | None = None, until: date | None = None) -> None:
        self.pw = pw
        self.window = window(pw, since, until)
        pw.engine.ready(vectors=True)
        vi = pw.engine.vectors
        self._vi = vi
        mask = vi.mask(after=date_key(self.window.since), before=date_key(self.window.until))
        self._n = vi.n
        self._mat = vi.mat  # a sync may swap in a grown matrix; this one stays whole
        self._mask = mask if mask is not None else np.zeros(self._n, dtype=bool)
        self._rows = np.nonzero(self._mask)[0]
        self._cand = self._mat[self._rows]
        self._days = _ordinals(vi.facets.dates[self._rows])
        self._outside = _outside(self._n, vi.alive, self._mask)
        self._state = (vi.store_id, vi.cursor, self._n, self.window)
        self._background: Background | None = None
        self._papers: dict[str, Paper | None] = {}  # the candidates' papers read so far (None: gone)

    @property
    def candidates(self) -> int:
        """Papers in the window (before a library's own and judged papers are taken out)."""
        return int(self._rows.size)

    def background(self) -> Background | None:
        """The LDA classifier's shared background (None when no paper lies outside the window)."""
        if self._background is None:
            self._background = _shared_background(self._vi, self._state, self._outside, self._mat)
        return self._background

    def recommend(
        self,
        library_ids: Sequence[str],
        *,
        limit: int = 20,
        exclude: Collection[str] = (),
        more_like: Sequence[str] = (),
        less_like: Sequence[str] = (),
        params: RankParams | None = None,
    ) -> list[Recommendation]:
        """New papers of the window for a library, best first: as :func:`recommend` gives them."""
        pw, vi = self.pw, self._vi
        p = params or RankParams()
        lib_ids = _check_library(base_ids(library_ids))
        more_ids, less_ids = base_ids(more_like), base_ids(less_like)
        seen = set(lib_ids) | set(base_ids(exclude)) | set(more_ids) | set(less_ids)
        limit = max(1, min(limit, MAX_LIMIT))

        lib_found, lib_vecs, lib_days = _vectors(pw, lib_ids)
        if not lib_found:
            raise LibraryError(
                f"none of the library's {len(lib_ids)} papers is in this paperwire with an embedding "
                "(ingest them first: paperwire ingest arxiv ID ...)"
            )
        _, more_vecs, _ = _vectors(pw, more_ids)
        _, less_vecs, _ = _vectors(pw, less_ids)

        rows, cand, cand_days = self._rows, self._cand, self._days
        drop = [lab for i in seen if (lab := vi.label_of.get(i)) is not None and lab < self._n]
        if drop:
            keep = ~np.isin(rows, np.asarray(drop, dtype=rows.dtype))
            if not keep.all():
                rows, cand, cand_days = rows[keep], cand[keep], cand_days[keep]
        if not rows.size:
            return []
        negatives, background = None, None
        if p.blend > 0:
            if p.classifier == "lda":
                background = self.background()
            else:
                negatives = _sample(self._outside, lib_ids, self._mat)

        ranked = rank(
            lib_vecs,
            cand,
            limit=limit,
            library_days=lib_days,
            candidate_days=cand_days,
            negatives=negatives,
            background=background,
            more_like=more_vecs if len(more_vecs) else None,
            less_like=less_vecs if len(less_vecs) else None,
            params=p,
        )
        ids = [vi.ids[int(rows[r.index])] for r in ranked]
        papers = self._get_papers(ids)
        out = []
        for r, pid in zip(ranked, ids, strict=True):
            paper = papers.get(pid)
            if paper is not None:  # indexed but gone from the store: the store wins
                out.append(Recommendation(paper, r.score, [lib_found[j] for j in r.because]))
        return out

    def _get_papers(self, ids: Sequence[str]) -> dict[str, Paper]:
        """The papers of ``ids`` this paperwire holds, read once per recommender."""
        missing = [i for i in ids if i not in self._papers]
        if missing:
            got = self.pw.store.get_papers(missing)
            for i in missing:
                self._papers[i] = got.get(i)
        return {i: p for i in ids if (p := self._papers[i]) is not None}


def _check_library(lib_ids: list[str]) -> list[str]:
    if not lib_ids:
        raise LibraryError(
            "the library is empty: give at least one arXiv paper (id, BibTeX, CSL JSON or RIS)"
        )
    if len(lib_ids) > MAX_LIBRARY:
        raise LibraryError(f"the library holds {len(lib_ids):,} papers; at most {MAX_LIBRARY:,} are taken")
    return lib_ids


def _vectors(pw: Paperwire, ids: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(the ids found, their vectors, their day numbers) from the index, else the store, else embedded now
    (papers the store holds without a vector yet, a few)."""
    vi = pw.engine.vectors
    found: list[str] = []
    vecs: list[np.ndarray] = []
    days: list[int] = []
    missing: list[str] = []
    for pid in ids:
        lab = vi.label_of.get(pid)
        if lab is not None and vi.alive[lab]:
            found.append(pid)
            vecs.append(vi.mat[lab].copy())
            days.append(int(vi.facets.dates[lab]))
        else:
            missing.append(pid)
    if missing:
        papers = pw.store.get_papers(missing)
        to_embed: list[Paper] = []
        for pid in missing:
            p = papers.get(pid)
            if p is None:
                continue
            v = pw.store.get_embedding(pw.engine.model_name, pid)
            if v is None:
                if len(to_embed) < MAX_EMBED_NOW:
                    to_embed.append(p)
                continue
            found.append(pid)
            vecs.append(np.asarray(v, dtype=np.float32))
            days.append(_paper_day(p))
        if to_embed:
            embedded = pw.engine.embedder.embed_batch([p.embedding_text for p in to_embed])
            for p, v in zip(to_embed, embedded, strict=True):
                found.append(p.id)
                vecs.append(np.asarray(v, dtype=np.float32))
                days.append(_paper_day(p))
    dim = vi.dim or (len(vecs[0]) if vecs else 0)
    mat = np.stack(vecs) if vecs else np.zeros((0, dim), dtype=np.float32)
    return found, mat, _ordinals(np.asarray(days, dtype=np.int64))


def _paper_day(p: Paper) -> int:
    d = p.announced or p.published or p.updated
    return date_key(d)


def _outside(n: int, alive: np.ndarray, window_mask: np.ndarray) -> np.ndarray:
    """Live rows outside the window (the classifier's background is drawn from them)."""
    m = window_mask[:n] if window_mask.shape[0] >= n else np.pad(window_mask, (0, n - window_mask.shape[0]))
    out: np.ndarray = alive[:n] & ~m
    return out


def _sample(outside: np.ndarray, lib_ids: Sequence[str], mat: np.ndarray) -> np.ndarray:
    """A sample of ``NEGATIVES`` rows of ``outside`` (seeded by the library: the same library gets the same
    recommendations), the logistic classifier's background."""
    n = outside.shape[0]
    seed = int.from_bytes(
        hashlib.blake2b("\n".join(sorted(lib_ids)).encode(), digest_size=8).digest(), "little"
    )
    rng = np.random.default_rng(seed)
    picked: np.ndarray = np.zeros(0, dtype=np.int64)
    for _ in range(4):  # rejection sampling: a few rounds fill it unless the corpus is mostly the window
        draw = rng.integers(0, n, size=NEGATIVES * 2) if n else np.zeros(0, dtype=np.int64)
        picked = np.unique(np.concatenate([picked, draw[outside[draw]]]))
        if picked.size >= NEGATIVES:
            break
    if picked.size > NEGATIVES:
        picked = rng.choice(picked, NEGATIVES, replace=False)
    return np.asarray(mat[np.sort(picked)], dtype=np.float32)


def _background(
    n: int, alive: np.ndarray, window_mask: np.ndarray, lib_ids: Sequence[str], mat: np.ndarray
) -> np.ndarray:
    """A sample of ``NEGATIVES`` live rows outside the window, seeded by the library."""
    return _sample(_outside(n, alive, window_mask), lib_ids, mat)


_BACKGROUNDS: weakref.WeakKeyDictionary[VectorIndex, dict[tuple[Any, ...], Background | None]] = (
    weakref.WeakKeyDictionary()
)
_BACKGROUNDS_LOCK = threading.Lock()
BACKGROUND_CACHE = 4  # windows' backgrounds kept per vector index (a digest's day, the web's week, ...)


def _shared_background(
    vi: VectorIndex, state: tuple[Any, ...], outside: np.ndarray, mat: np.ndarray
) -> Background | None:
    """The LDA background of a window: ``LDA_BACKGROUND`` rows outside it (seeded by the window, so every
    library and every process sees the same one), cached per index state and window."""
    with _BACKGROUNDS_LOCK:
        per_index = _BACKGROUNDS.setdefault(vi, {})
        if state in per_index:
            return per_index[state]
    rows = np.nonzero(outside)[0]
    if rows.size > LDA_BACKGROUND:
        seed = int.from_bytes(hashlib.blake2b(repr(state[-1]).encode(), digest_size=8).digest(), "little")
        rows = np.sort(np.random.default_rng(seed).choice(rows, LDA_BACKGROUND, replace=False))
    bg = Background.of(mat[rows]) if rows.size >= 2 else None
    with _BACKGROUNDS_LOCK:
        per_index = _BACKGROUNDS.setdefault(vi, {})
        for old in list(per_index)[: max(0, len(per_index) - BACKGROUND_CACHE + 1)]:
            del per_index[old]
        per_index[state] = bg
    return bg


def _ordinals(keys: np.ndarray) -> np.ndarray:
    """YYYYMMDD integers as day numbers (0, unknown, as the oldest known day)."""
    k = np.asarray(keys, dtype=np.int64)
    out = np.zeros(k.shape[0], dtype=np.int64)
    known = k > 0
    if known.any():
        y, m, d = k[known] // 10000, k[known] // 100 % 100, k[known] % 100
        days = np.array(
            [f"{a:04d}-{b:02d}-{c:02d}" for a, b, c in zip(y, m, d, strict=True)], dtype="datetime64[D]"
        ).astype(np.int64)
        out[known] = days
        out[~known] = days.min()
    return out


def match_library(
    pw: Paperwire, data: bytes | str, filename: str | None = None, fmt: str | None = None
) -> MatchReport:
    """A library file's entries (BibTeX, CSL JSON, RIS or a list of ids) matched to this paperwire's papers, by
    arXiv id, DOI or title; nothing is fetched from arXiv (LibraryFormatError when the file cannot be read)."""
    from paperwire.library.formats import read_library
    from paperwire.library.match import match_entries

    entries = read_library(data, filename=filename, fmt=fmt)
    pw.engine.ready(vectors=False)  # the keyword index matches titles
    return match_entries(entries, pw.store, pw.engine.keyword, fetch=None)


def matched_ids(report: MatchReport) -> list[str]:
    """The ids of the papers a library file matched; LibraryError when it matched none."""
    if not report.paper_ids and report.unmatched:
        n = len(report.unmatched)
        raise LibraryError(
            f"none of the library's {n} entr{'y' if n == 1 else 'ies'} is a paper in this paperwire "
            f"(first: {report.unmatched[0].entry.label}: {report.unmatched[0].reason})"
        )
    return report.paper_ids


def library_json(report: MatchReport) -> dict[str, Any]:
    """What became of a library file's entries: counts, and each unmatched entry with its reason."""
    return {
        "entries": len(report.matched) + len(report.unmatched),
        "matched": len(report.paper_ids),
        "unmatched": [
            {"entry": u.entry.label, "line": u.entry.line, "reason": u.reason, "code": u.code}
            for u in report.unmatched
        ],
    }


def recommendations_json(
    pw: Paperwire, recs: Sequence[Recommendation], win: Window, library: dict[str, Any]
) -> dict[str, Any]:
    """Recommendations as the API and ``paperwire recommend --json`` give them (one shape, made here)."""
    from paperwire.serialize import paper_json

    reasons = {pid for r in recs for pid in r.because}
    titles = {pid: p.title for pid, p in pw.store.get_papers(sorted(reasons)).items()} if reasons else {}
    ids = [r.paper.id for r in recs]
    signals = pw.store.latest_signals(ids) if ids else {}
    return {
        "since": win.since.isoformat(),
        "until": win.until.isoformat(),
        "library": library,
        "recommendations": [
            paper_json(
                r.paper, s.upvotes if (s := signals.get(r.paper.id)) else None, signals.get(r.paper.id)
            )
            | {
                "score": round(r.score, 4),
                "because": [{"id": pid, "title": titles.get(pid)} for pid in r.because],
            }
            for r in recs
        ],
    }
