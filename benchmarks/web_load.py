"""Latency of the search page and the search API under concurrent load, from a second process on loopback.

Starts a real `paperwire serve` (rate limit off) over a paperwire home (default: the one search_latency.py
builds from ../shared's 74,728 papers; --fill random|titles gives papers without a vector one, as in
search_latency.py, so the vector engine runs at full size), then this process sends real-style queries with 1, 8 and 32 concurrent
clients and prints p50/p95/p99 (ms, as the client sees them over loopback), requests/s and errors per level.
Every level is bounded in requests and seconds. The issue's floor: /api/search p95 <= 150 ms at 8 clients.

    python benchmarks/web_load.py [--home DIR] [--database-url URL] [--papers FILE] [--fill none|random|titles]
                                  [--requests 300] [--seconds 60]

--database-url serves another store (PostgreSQL: fill it first with `paperwire --home HOME db copy --to URL`)
from its own --home, where the server builds its indexes on first start (minutes at full size).

--sample serves the bundled demo sample instead (4,451 papers, 1,187 Hugging Face observations), loaded by the
server into a fresh home (--home, default benchmarks/out/sample-home; a temp dir with --fresh), and loads the
trending page and API beside the daily list as the baseline (issue 10's floor: /trending p95 < 50 ms at 8
clients):

    python benchmarks/web_load.py --sample --levels 8 [--paths /,/trending,/api/trending]

Each path gets its own request mix: searches a distinct query each; /trending and /api/trending every window
(today, week, month, all) in every common category and the first two pages; / (the daily list) every category
in both orders. The warm-up asks each of a path's mix once (a running server renders each trending page once per
snapshot; --cold leaves that to the measured requests).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_latency import ROOT, corpus_args, prepare, sample_queries

sys.path.insert(0, str(ROOT))
from tests.serving import ServerFailed, running_server


async def level(
    base: str,
    path: str,
    mix: list[dict[str, str]],
    clients: int,
    requests: int,
    seconds: float,
    http: str = "aiohttp",
) -> dict:
    """``requests`` GETs of ``path`` (capped at ``seconds``) from ``clients`` concurrent workers, the query
    parameters of each the next of ``mix``.

    The load shares the machine with the server, so its own cost counts: aiohttp's client takes ~0.4 ms
    of CPU a request here, httpx's async client ~2 ms (both are kept, see --client).
    """
    lat: list[float] = []
    errors = 0
    sent = 0
    deadline = time.perf_counter() + seconds

    async def one(get: Callable[[dict[str, str]], Awaitable[tuple[int, str]]]) -> None:
        nonlocal sent, errors
        while sent < requests and time.perf_counter() < deadline:
            q = mix[sent % len(mix)]
            sent += 1
            t = time.perf_counter()
            try:
                status, text = await get(q)
                if status != 200:
                    errors += 1
                    if errors <= 3:
                        print(f"  {status} for {q!r}: {text[:200]}", file=sys.stderr)
            except Exception as exc:  # any failed request counts as an error, and the load goes on
                errors += 1
                if errors <= 3:
                    print(f"  {type(exc).__name__} for {q!r}: {exc}", file=sys.stderr)
            lat.append((time.perf_counter() - t) * 1000)

    t0 = time.perf_counter()
    if http == "aiohttp":
        import aiohttp

        connector = aiohttp.TCPConnector(limit=clients)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:

            async def get_aiohttp(q: dict[str, str]) -> tuple[int, str]:
                async with session.get(path, params=q) as r:
                    return r.status, await r.text()

            t0 = time.perf_counter()
            await asyncio.gather(*(one(get_aiohttp) for _ in range(clients)))
    else:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

            async def get_httpx(q: dict[str, str]) -> tuple[int, str]:
                r = await client.get(path, params=q)
                return r.status_code, r.text

            t0 = time.perf_counter()
            await asyncio.gather(*(one(get_httpx) for _ in range(clients)))
    wall = time.perf_counter() - t0
    a = np.array(lat)
    return {
        "path": path,
        "clients": clients,
        "requests": len(lat),
        "errors": errors,
        "p50_ms": float(np.percentile(a, 50)),
        "p95_ms": float(np.percentile(a, 95)),
        "p99_ms": float(np.percentile(a, 99)),
        "req_per_s": len(lat) / wall,
    }


CATEGORIES = ("", "cs.CV", "cs.CL", "cs.LG", "cs.AI", "cs.RO")


def request_mix(path: str, queries: list[str]) -> list[dict[str, str]]:
    """The query parameters ``path`` is loaded with, in turn (see the module's docstring)."""
    if path.rstrip("/").endswith("trending"):
        return [
            {k: v for k, v in {"window": w, "category": c, "page": str(p)}.items() if v and v != "1"}
            for p in (1, 2)
            for w in ("today", "week", "month", "all")
            for c in CATEGORIES
        ]
    if path in ("/", "/api/daily"):
        return [
            {k: v for k, v in {"category": c, "sort": s}.items() if v}
            for s in ("", "upvotes")
            for c in CATEGORIES
        ]
    return [{"q": q} for q in queries]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    corpus_args(ap)
    ap.add_argument("--requests", type=int, default=300, help="requests per level (bounded)")
    ap.add_argument("--seconds", type=float, default=60, help="longest a level may run")
    ap.add_argument("--json", action="store_true", help="one JSON object per level")
    ap.add_argument(
        "--client",
        choices=["aiohttp", "httpx"],
        default="aiohttp",
        help="the load's HTTP client (aiohttp: ~5x less CPU a request, which the server would share)",
    )
    ap.add_argument("--levels", default="1,8,32", help="concurrent clients per level, comma-separated")
    ap.add_argument(
        "--paths",
        default=None,
        help="what to load, comma-separated (default: /api/search,/search; with --sample: /,/trending,/api/trending)",
    )
    ap.add_argument(
        "--sample",
        action="store_true",
        help="serve the bundled demo sample (the server loads it into an empty --home) instead of --papers",
    )
    ap.add_argument(
        "--fresh", action="store_true", help="with --sample: a new temp home (first start: indexing)"
    )
    ap.add_argument(
        "--cold",
        action="store_true",
        help="warm up with one request a path (default: each of its request mix once, so the trending pages "
        "are rendered, as they are once per snapshot on a running server)",
    )
    ap.add_argument(
        "--embedding-threads",
        type=int,
        default=None,
        help="PAPERWIRE_EMBEDDING_THREADS for the server (default: the setting's own, all cores)",
    )
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    paths = (args.paths or ("/,/trending,/api/trending" if args.sample else "/api/search,/search")).split(",")
    env: dict[str, str | None] = {"PAPERWIRE_LOAD_SAMPLE": "0", "PAPERWIRE_RATE_LIMIT_PER_MINUTE": "0"}
    if args.sample:
        if args.fresh:
            args.home = Path(tempfile.mkdtemp(prefix="pw-web-load-"))
        elif args.home == ROOT / "benchmarks" / "out" / "full-home":
            args.home = ROOT / "benchmarks" / "out" / "sample-home"
        args.home.mkdir(parents=True, exist_ok=True)
        env["PAPERWIRE_LOAD_SAMPLE"] = "1"  # loaded by the server on its first start, with its vectors
        env["PAPERWIRE_JOBS_IN_PROCESS"] = "false"  # nothing to embed: no model loading during the load
        qs = [f"{w} {n}" for n in range(args.requests) for w in ("diffusion", "language models", "robots")]
    else:
        if not args.papers.exists():
            print(f"skipped: {args.papers} not found (needs ../shared beside the repo)", file=sys.stderr)
            return 0
        prepare(args.home, args.papers, args.fill, args.database_url)[0].close()
        # a distinct query for every request of the run: no level is helped by what an earlier one asked
        qs = sample_queries(args.papers, args.requests * len(levels) * len(paths))

    if args.embedding_threads:
        env["PAPERWIRE_EMBEDDING_THREADS"] = str(args.embedding_threads)
    try:
        with running_server(
            args.home, database_url=args.database_url, env=env, timeout=600, log_name="web_load-serve.log"
        ) as (base, proc):
            # warm up: the first query loads the embedding model in the server; the first trending list
            # computes its snapshot, and each trending page is rendered once per snapshot (--cold: not here)
            for path in paths:
                for warm in request_mix(path, ["warm up"])[: 1 if args.cold else None]:
                    httpx.get(f"{base}{path}", params=warm, timeout=120).raise_for_status()
            status = httpx.get(f"{base}/api/status", timeout=10).json()
            print(f"corpus: {status['papers']} papers, {status['vector_indexed']} vectors; {len(qs)} queries; "
                  f"client {args.client}; torch threads {args.embedding_threads or 'default'}; server pid {proc.pid}, "
                  f"client pid {os.getpid()}", flush=True)  # fmt: skip
            if not args.json:
                print(f"{'path':<14} {'clients':>7} {'reqs':>5} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} "
                      f"{'p99 ms':>8} {'req/s':>7}")  # fmt: skip
            run = 0
            for path in paths:
                for clients in levels:
                    chunk = qs[run * args.requests : (run + 1) * args.requests]
                    run += 1
                    mix = request_mix(path, chunk)
                    r = asyncio.run(level(base, path, mix, clients, args.requests, args.seconds, args.client))
                    if args.json:
                        print(json.dumps(r), flush=True)
                    else:
                        print(f"{path:<14} {clients:>7} {r['requests']:>5} {r['errors']:>6} {r['p50_ms']:8.1f} "
                              f"{r['p95_ms']:8.1f} {r['p99_ms']:8.1f} {r['req_per_s']:7.1f}", flush=True)  # fmt: skip
    except ServerFailed as exc:
        print(f"server did not start: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
