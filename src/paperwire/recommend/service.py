"""Recommendations over an open paperwire: the window's papers and the library's vectors from the vector index,
ranked by rank.py.

The candidates are the new papers: those whose date (announcement, else submission) falls in a window that
ends at the newest day in the store (``DEFAULT_WINDOW_DAYS`` long unless ``since`` says otherwise). They are
found with the index's date facets (one comparison over a compact int32 array, no Python loop over rows) and
only their rows of the matrix are read, so a call costs the window, not the corpus. The classifier's
background is a sample of rows outside the window.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from paperwire.errors import QueryError
from paperwire.models import Paper
from paperwire.recommend.rank import RankParams, rank
from paperwire.search.keyword import date_key
from paperwire.sources.arxiv_ids import parse_arxiv_ref

if TYPE_CHECKING:
    from paperwire.app_context import Paperwire
    from paperwire.library.match import MatchReport

DEFAULT_WINDOW_DAYS = 7
MAX_LIMIT = 100
MAX_LIBRARY = 10_000  # papers a library may hold (the classifier's cost grows with it)
NEGATIVES = 2_000  # background papers the classifier learns against
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
    """
    lib_ids = base_ids(library_ids)
    if not lib_ids:
        raise LibraryError(
            "the library is empty: give at least one arXiv paper (id, BibTeX, CSL JSON or RIS)"
        )
    if len(lib_ids) > MAX_LIBRARY:
        raise LibraryError(f"the library holds {len(lib_ids):,} papers; at most {MAX_LIBRARY:,} are taken")
    more_ids, less_ids = base_ids(more_like), base_ids(less_like)
    seen = set(lib_ids) | set(base_ids(exclude)) | set(more_ids) | set(less_ids)
    win = window(pw, since, until)
    limit = max(1, min(limit, MAX_LIMIT))

    pw.engine.ready(vectors=True)
    vi = pw.engine.vectors
    lib_found, lib_vecs, lib_days = _vectors(pw, lib_ids)
    if not lib_found:
        raise LibraryError(
            f"none of the library's {len(lib_ids)} papers is in this paperwire with an embedding "
            "(ingest them first: paperwire ingest arxiv ID ...)"
        )
    _, more_vecs, _ = _vectors(pw, more_ids)
    _, less_vecs, _ = _vectors(pw, less_ids)

    mask = vi.mask(after=date_key(win.since), before=date_key(win.until))
    if mask is None:  # no filter at all cannot happen with two dates; keep mypy and readers sure
        return []
    rows = np.nonzero(mask)[0]
    drop = [vi.label_of[i] for i in seen if i in vi.label_of]
    if drop:
        rows = np.setdiff1d(rows, np.asarray(drop, dtype=rows.dtype), assume_unique=True)
    if not rows.size:
        return []
    mat = vi.mat  # a sync may swap in a grown matrix; this one stays whole
    cand = mat[rows]
    cand_days = _ordinals(vi.facets.dates[rows])
    negatives = _background(vi.n, vi.alive, mask, lib_ids, mat)

    ranked = rank(
        lib_vecs,
        cand,
        limit=limit,
        library_days=lib_days,
        candidate_days=cand_days,
        negatives=negatives,
        more_like=more_vecs if len(more_vecs) else None,
        less_like=less_vecs if len(less_vecs) else None,
        params=params,
    )
    ids = [vi.ids[int(rows[r.index])] for r in ranked]
    papers = pw.store.get_papers(ids)
    out = []
    for r, pid in zip(ranked, ids, strict=True):
        paper = papers.get(pid)
        if paper is not None:  # indexed but gone from the store: the store wins
            out.append(Recommendation(paper, r.score, [lib_found[j] for j in r.because]))
    return out


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


def _background(
    n: int, alive: np.ndarray, window_mask: np.ndarray, lib_ids: Sequence[str], mat: np.ndarray
) -> np.ndarray:
    """A sample of ``NEGATIVES`` live rows outside the window (seeded by the library: the same library gets the
    same recommendations)."""
    seed = int.from_bytes(
        hashlib.blake2b("\n".join(sorted(lib_ids)).encode(), digest_size=8).digest(), "little"
    )
    rng = np.random.default_rng(seed)
    outside = alive[:n] & ~(
        window_mask[:n] if window_mask.shape[0] >= n else np.pad(window_mask, (0, n - window_mask.shape[0]))
    )
    picked: np.ndarray = np.zeros(0, dtype=np.int64)
    for _ in range(4):  # rejection sampling: a few rounds fill it unless the corpus is mostly the window
        draw = rng.integers(0, n, size=NEGATIVES * 2) if n else np.zeros(0, dtype=np.int64)
        picked = np.unique(np.concatenate([picked, draw[outside[draw]]]))
        if picked.size >= NEGATIVES:
            break
    if picked.size > NEGATIVES:
        picked = rng.choice(picked, NEGATIVES, replace=False)
    return np.asarray(mat[np.sort(picked)], dtype=np.float32)


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
