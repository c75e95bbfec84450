"""What vector search filters on, per row of the vector index, in compact arrays (never an object per paper).

Dates are YYYYMMDD integers in one int32 array. Categories are, for each category, the sorted int32 rows
that have it, made in one go by a full load; later changes to a row's categories go to a small patch
(row -> its categories now) that masks consult, folded into the arrays when it grows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

_FOLD_AT = 50_000  # patched rows kept before they are folded into the arrays


def date_int(iso: str | None) -> int:
    """An ISO day (YYYY-MM-DD...) as the integer YYYYMMDD; 0 when unknown."""
    if not iso:
        return 0
    try:
        return int(iso[:4]) * 10000 + int(iso[5:7]) * 100 + int(iso[8:10])
    except ValueError:
        return 0


class Facets:
    """Per-row dates and categories of the vector index."""

    def __init__(self) -> None:
        self.dates = np.zeros(0, dtype=np.int32)
        self.cat_rows: dict[str, np.ndarray] = {}  # category -> sorted rows (int32)
        self._patch: dict[int, tuple[str, ...]] = {}
        self._pending: dict[str, list[np.ndarray]] = {}  # rows appended by a full load, not yet merged

    def grow(self, capacity: int) -> None:
        """Make room for ``capacity`` rows."""
        if self.dates.shape[0] < capacity:
            grown = np.zeros(capacity, dtype=np.int32)
            grown[: self.dates.shape[0]] = self.dates
            self.dates = grown

    def append(self, first: int, dates: Sequence[str | None], categories: Sequence[tuple[str, ...]]) -> None:
        """Facets of new rows ``first``, ``first + 1``, ... (a full load); :meth:`seal` makes them visible."""
        self.dates[first : first + len(dates)] = [date_int(d) for d in dates]
        per: dict[str, list[int]] = {}
        for i, cats in enumerate(categories):
            for c in cats:
                per.setdefault(c, []).append(first + i)
        for c, rows in per.items():
            self._pending.setdefault(c, []).append(np.array(rows, dtype=np.int32))

    def seal(self) -> None:
        """Merge what :meth:`append` gathered into the per-category arrays."""
        for c, parts in self._pending.items():
            have = self.cat_rows.get(c)
            rows = np.concatenate(([have] if have is not None else []) + parts)
            rows.sort()
            self.cat_rows[c] = rows
        self._pending = {}

    def set(self, row: int, date: str | None, categories: tuple[str, ...]) -> None:
        """One row's facets now (a change)."""
        self.dates[row] = date_int(date)
        self._patch[row] = tuple(categories)
        if len(self._patch) >= _FOLD_AT:
            self.fold()

    def fold(self) -> None:
        """Fold the patch into the per-category arrays."""
        if not self._patch:
            return
        patched = np.fromiter(self._patch, dtype=np.int32, count=len(self._patch))
        add: dict[str, list[int]] = {}
        for row, cats in self._patch.items():
            for c in cats:
                add.setdefault(c, []).append(row)
        out = {}
        for c in set(self.cat_rows) | set(add):
            have = self.cat_rows.get(c, np.zeros(0, dtype=np.int32))
            rows = np.concatenate([have[~np.isin(have, patched)], np.array(add.get(c, []), dtype=np.int32)])
            rows.sort()
            if rows.size:
                out[c] = rows
        self.cat_rows = out
        self._patch = {}

    def category_mask(self, categories: Iterable[str], n: int) -> np.ndarray:
        """Rows (of the first ``n``) in any of ``categories``."""
        wanted = set(categories)
        m = np.zeros(n, dtype=bool)
        for c in wanted:
            rows = self.cat_rows.get(c)
            if rows is not None:
                m[rows[rows < n]] = True
        for row, cats in self._patch.items():
            if row < n:
                m[row] = not wanted.isdisjoint(cats)
        return m

    def category_rows(self, categories: Iterable[str], n: int) -> np.ndarray:
        """The rows (of the first ``n``) in any of ``categories``, sorted (int64): as many steps as the
        categories hold rows, never a pass over every row."""
        wanted = set(categories)
        parts = [r[: np.searchsorted(r, n)] for c in wanted if (r := self.cat_rows.get(c)) is not None]
        if not parts:
            rows = np.zeros(0, dtype=np.int64)
        elif len(parts) == 1:
            rows = parts[0].astype(np.int64)
        else:
            rows = np.unique(np.concatenate(parts)).astype(np.int64)
        if self._patch:  # rows whose categories changed since the arrays were made: their patch decides
            patched = np.fromiter((r for r in self._patch if r < n), dtype=np.int64)
            now = [r for r in patched.tolist() if not wanted.isdisjoint(self._patch[r])]
            rows = np.union1d(rows[~np.isin(rows, patched)], np.array(now, dtype=np.int64))
        return rows

    # -- saved with the index -----------------------------------------------------------------

    def arrays(self, n: int) -> dict[str, np.ndarray]:
        """The facets of the first ``n`` rows as plain arrays (for np.savez)."""
        self.fold()
        names = sorted(self.cat_rows)
        parts = [self.cat_rows[c] for c in names]
        offsets = np.cumsum([0] + [len(p) for p in parts]).astype(np.int64)
        return {
            "dates": self.dates[:n],
            "cat_names": np.array(names, dtype=str),
            "cat_offsets": offsets,
            "cat_rows": np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32),
        }

    @classmethod
    def from_arrays(cls, z: dict[str, np.ndarray] | np.lib.npyio.NpzFile, capacity: int) -> Facets:
        """Facets saved by :meth:`arrays`, with room for ``capacity`` rows."""
        f = cls()
        dates = z["dates"]
        f.grow(max(capacity, dates.shape[0]))
        f.dates[: dates.shape[0]] = dates
        names, offsets, rows = z["cat_names"], z["cat_offsets"], z["cat_rows"]
        f.cat_rows = {
            str(c): rows[int(offsets[i]) : int(offsets[i + 1])].astype(np.int32) for i, c in enumerate(names)
        }
        return f
