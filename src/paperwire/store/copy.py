"""Copying a whole store into another database (SQLite <-> PostgreSQL), resumably, and checking the copy.

What travels: papers exactly as stored (versions, sources), the embeddings of every model with their text
hashes, popularity signals, and the checkpoints (harvest positions) other than those about the store's own
writes (copies' positions, vector stamps). Job runs and work claims stay: they are the record and the leases
of the source's own processes.

The copy keeps its position in checkpoints in the *target* (``copy:<source url>:papers`` is the last paper id
copied, and so on; each batch of papers commits with its position), so a killed copy continues where it
stopped and a finished one, rerun, finds nothing to do. Papers are upserted: the target gives them change
sequences of its own (its indexes rebuild from its own feed), the records are the source's.
:func:`verify_copy` then compares the two sides table by table: row counts, and a digest of every row that
does not depend on order (the two databases may sort ids differently).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import numpy as np

from paperwire.errors import ConfigError, StoreError
from paperwire.models import Signal
from paperwire.store import Store, open_url
from paperwire.store.migrations import LATEST
from paperwire.store.schema import embedding_models, schema_status, sqlite_path

Progress = Callable[[str, int, int], None]
"""Called as (part, rows done, rows in the source) when a part starts and after each committed batch."""

SHOWN_DIFFERENCES = 5  # rows named per table when the copy differs
# checkpoints that describe a store's own writes, not the data: copies' positions, the vectors' change
# stamps, the database's identity
LOCAL_CHECKPOINTS = ("copy:", "vectors:", "store:", "signals:")


@dataclass
class Part:
    """What one run of a copy did to one table."""

    name: str  # papers, embeddings MODEL, signals, checkpoints
    rows: int = 0  # read from the source and written to the target in this run
    seconds: float = 0.0
    note: str = ""

    @property
    def per_second(self) -> float:
        """Rows a second."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass
class CopyReport:
    """What one run of a copy did."""

    source: str
    target: str
    parts: list[Part]

    @property
    def seconds(self) -> float:
        """The run's time, all parts together."""
        return sum(p.seconds for p in self.parts)


@dataclass(frozen=True)
class Check:
    """One table compared on both sides of a copy."""

    name: str
    source_rows: int
    target_rows: int
    source_digest: str
    target_digest: str
    different: int = 0  # rows that differ (only counted when the digests do)
    examples: tuple[str, ...] = ()  # the first few of them, each saying how it differs

    @property
    def ok(self) -> bool:
        """Both sides hold the same rows."""
        return self.source_rows == self.target_rows and self.source_digest == self.target_digest

    def describe(self) -> str:
        """What differs, in a few words."""
        if self.ok:
            return f"{self.name}: equal"
        shown = "; ".join(self.examples)
        more = (
            f" and {self.different - len(self.examples)} more" if self.different > len(self.examples) else ""
        )
        return (
            f"{self.name}: {self.source_rows} rows in the source, {self.target_rows} in the target, "
            f"{self.different} differ ({shown}{more})"
        )


# -- opening --------------------------------------------------------------------------------


def open_for_copy(source_url: str, target_url: str) -> tuple[Store, Store]:
    """The source (read as it is, never migrated) and the target (migrated to the latest schema)."""
    if _canonical(source_url) == _canonical(target_url):
        raise ConfigError("the source and the target are the same database: copy into another one")
    path = sqlite_path(source_url)
    if path is not None and not path.is_file():
        raise StoreError(f"no database to copy from at {path}")
    source = open_url(source_url, migrate=False)
    try:
        status = schema_status(source)
        if status.version != LATEST:
            fix = (
                "upgrade paperwire"
                if status.too_new
                else f"migrate it first: paperwire db migrate --url {source.url}"
            )
            raise StoreError(
                f"the source {source.url} has schema version {status.version}, this paperwire's is {LATEST}: {fix}"
            )
        target = open_url(target_url, migrate=True)
    except BaseException:
        source.close()
        raise
    status = schema_status(target)
    if status.version != LATEST:
        source.close()
        target.close()
        raise StoreError(
            f"the target {target.url} has schema version {status.version}, newer than this paperwire's "
            f"{LATEST}: upgrade paperwire"
        )
    return source, target


def source_key(store: Store) -> str:
    """The prefix of the checkpoints a copy from ``store`` keeps (its URL, without a password)."""
    return f"copy:{_canonical(store.url)}"


# -- copying --------------------------------------------------------------------------------


def copy_store(
    source: Store,
    target: Store,
    *,
    batch: int = 2000,
    restart: bool = False,
    on_progress: Progress | None = None,
) -> CopyReport:
    """Copy everything from ``source`` into ``target``, from where an earlier run stopped.

    ``restart``: forget the positions and walk the whole source again (only rows that differ change).
    Refuses a target that is the source itself, or one holding data of its own (no copy from this source
    was started there).
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    _refuse_same(source, target)
    key = source_key(source)
    models = embedding_models(source)
    if restart:
        for name in ("papers", "signals", *(f"embeddings:{m}" for m in models)):
            target.set_checkpoint(f"{key}:{name}", None)
    if target.get_checkpoint(f"{key}:started") is None:
        if target.count_papers() or target.count_signals():
            raise ConfigError(
                f"the target {target.url} already holds {target.count_papers()} papers and "
                f"{target.count_signals()} signals, and no copy from {source.url} was started there: "
                "copy into an empty database"
            )
        target.set_checkpoint(f"{key}:started", datetime.now(UTC).isoformat(timespec="seconds"))
    note = on_progress or _quiet
    parts = [_copy_papers(source, target, f"{key}:papers", batch, note)]
    parts += [_copy_embeddings(source, target, m, f"{key}:embeddings:{m}", batch, note) for m in models]
    parts.append(_copy_signals(source, target, f"{key}:signals", batch, note))
    parts.append(_copy_local_counts(source, target, batch, note))
    parts.append(_copy_accounts(source, target, batch, note))
    parts.append(_copy_checkpoints(source, target, note))
    return CopyReport(source.url, target.url, parts)


def _copy_accounts(source: Store, target: Store, batch: int, note: Progress) -> Part:
    """Users and all they own, ids kept (a comment still belongs to its user), table by table."""
    from paperwire.store.accounts import ACCOUNT_TABLES

    part, t0 = Part("accounts"), time.perf_counter()
    tables = {t: source.account_rows(t) for t in ACCOUNT_TABLES}
    total = sum(len(r) for r in tables.values())
    note(part.name, 0, total)
    done = 0
    for table, rows in tables.items():
        for i in range(0, len(rows), batch):
            part.rows += target.put_account_rows(table, rows[i : i + batch])
            done += len(rows[i : i + batch])
            note(part.name, done, total)
    part.seconds = time.perf_counter() - t0
    return part


def _copy_papers(source: Store, target: Store, name: str, batch: int, note: Progress) -> Part:
    part, t0 = Part("papers"), time.perf_counter()
    total = source.count_papers()
    pos = target.get_checkpoint(name) or ""
    start = min(target.count_papers(), total) if pos else 0
    note(part.name, start, total)
    new = updated = unchanged = 0
    while digests := source.paper_digests(pos, batch):
        ids = [pid for pid, _, _ in digests]
        got = source.get_papers(ids)
        # the batch and the position move together: a killed copy never skips a batch
        result = target.upsert_papers_with_checkpoint([got[i] for i in ids if i in got], name, ids[-1])
        new, updated, unchanged = (
            new + result.inserted,
            updated + result.updated,
            unchanged + result.unchanged,
        )
        pos = ids[-1]
        part.rows += len(ids)
        note(part.name, min(start + part.rows, total), total)
    if updated or unchanged:
        part.note = f"{new} new, {updated} updated, {unchanged} unchanged"
    part.seconds = time.perf_counter() - t0
    return part


def _copy_embeddings(source: Store, target: Store, model: str, name: str, batch: int, note: Progress) -> Part:
    part, t0 = Part(f"embeddings {model}"), time.perf_counter()
    total = source.count_embeddings(model)
    pos = target.get_checkpoint(name) or ""
    start = min(target.count_embeddings(model), total) if pos else 0
    note(part.name, start, total)
    while rows := source.iter_embeddings(model, pos, batch):
        target.save_embeddings(model, [(pid, th) for pid, th, _ in rows], np.stack([v for _, _, v in rows]))
        pos = rows[-1][0]
        target.set_checkpoint(name, pos)  # after the vectors: a batch saved twice is saved the same
        part.rows += len(rows)
        note(part.name, min(start + part.rows, total), total)
    part.seconds = time.perf_counter() - t0
    return part


def _copy_signals(source: Store, target: Store, name: str, batch: int, note: Progress) -> Part:
    part, t0 = Part("signals"), time.perf_counter()
    signals = list(source.iter_signals())  # in (paper, source, time) order
    # the position: how many were copied, and the key of the last one; if the source gained or lost rows
    # before it since, the count no longer lands on that key and the copy starts over (upserts are idempotent)
    saved = json.loads(target.get_checkpoint(name) or '{"n": 0, "last": null}')
    done = int(saved.get("n", 0)) if isinstance(saved, dict) else 0
    if not 0 < done <= len(signals) or _signal_key(signals[done - 1]) != saved.get("last"):
        done = 0
    note(part.name, done, len(signals))
    for i in range(done, len(signals), batch):
        chunk = signals[i : i + batch]
        target.upsert_signals(chunk)
        target.set_checkpoint(name, json.dumps({"n": i + len(chunk), "last": _signal_key(chunk[-1])}))
        part.rows += len(chunk)
        note(part.name, i + len(chunk), len(signals))
    part.seconds = time.perf_counter() - t0
    return part


def _signal_key(s: Signal) -> str:
    return f"{s.paper_id}\t{s.source}\t{s.observed_at.isoformat()}"


def _copy_local_counts(source: Store, target: Store, batch: int, note: Progress) -> Part:
    part, t0 = Part("local counts"), time.perf_counter()
    have = set(target.local_counts())
    counts = [c for c in source.local_counts() if c not in have]  # a rerun writes nothing
    note(part.name, 0, len(counts))
    for i in range(0, len(counts), batch):  # set, not added: a copy cut short and rerun sets the same values
        part.rows += target.put_local_counts(counts[i : i + batch])
        note(part.name, i + len(counts[i : i + batch]), len(counts))
    part.seconds = time.perf_counter() - t0
    return part


def _copy_checkpoints(source: Store, target: Store, note: Progress) -> Part:
    part, t0 = Part("checkpoints"), time.perf_counter()
    wanted = _data_checkpoints(source)
    note(part.name, 0, len(wanted))
    for name, value in sorted(wanted.items()):
        if target.get_checkpoint(name) != value:  # a rerun rewrites nothing
            target.set_checkpoint(name, value)
            part.rows += 1
    note(part.name, len(wanted), len(wanted))
    part.seconds = time.perf_counter() - t0
    return part


def _refuse_same(source: Store, target: Store) -> None:
    # URLs can differ and name one database (localhost and 127.0.0.1, a symlink): ask the data itself
    probe, nonce = f"copy:probe:{uuid.uuid4().hex}", uuid.uuid4().hex
    target.set_checkpoint(probe, nonce)
    try:
        same = source.get_checkpoint(probe) == nonce
    finally:
        target.set_checkpoint(probe, None)
    if same:
        raise ConfigError(f"{source.url} and {target.url} are the same database: copy into another one")


# -- checking -------------------------------------------------------------------------------

Rows = Callable[[Store], Iterator[tuple[str, bytes]]]


def verify_copy(source: Store, target: Store, batch: int = 5000) -> list[Check]:
    """Each table compared on both sides: row counts and a digest over every row's content."""

    def papers(s: Store) -> Iterator[tuple[str, bytes]]:
        # every field as read back, sources as a set: not only the hashes computed when it was written
        pos = ""
        while rows := s.paper_digests(pos, batch):
            got = s.get_papers([pid for pid, _, _ in rows])
            for pid, _, _ in rows:
                fields = dataclasses.asdict(got[pid]) if pid in got else {}
                fields["sources"] = sorted(fields.get("sources", ()))
                yield pid, json.dumps(fields, sort_keys=True, default=str).encode()
            pos = rows[-1][0]

    def embeddings(model: str) -> Rows:
        def rows_of(s: Store) -> Iterator[tuple[str, bytes]]:
            pos = ""
            while rows := s.iter_embeddings(model, pos, batch):
                for pid, text_hash, vector in rows:
                    yield pid, text_hash.encode() + b"\0" + np.asarray(vector, dtype="<f4").tobytes()
                pos = rows[-1][0]

        return rows_of

    def signals(s: Store) -> Iterator[tuple[str, bytes]]:
        for g in s.iter_signals():
            key = f"{g.paper_id} {g.source} {g.observed_at.isoformat()}"
            fields = (
                g.upvotes,
                g.comments,
                g.github_repo,
                g.github_stars,
                g.project_page,
                g.listed_on,
                g.listed_at,
            )
            yield key, repr(fields).encode()

    def local_counts(s: Store) -> Iterator[tuple[str, bytes]]:
        for lc in s.local_counts():
            yield f"{lc.paper_id} {lc.kind} {lc.day.isoformat()}", str(lc.n).encode()

    def checkpoints(s: Store) -> Iterator[tuple[str, bytes]]:
        for name, value in _data_checkpoints(s).items():
            yield name, value.encode()

    checks = [_compare("papers", papers, source, target)]
    for model in sorted(set(embedding_models(source)) | set(embedding_models(target))):
        checks.append(_compare(f"embeddings {model}", embeddings(model), source, target))
    checks.append(_compare("signals", signals, source, target))
    checks.append(_compare("local counts", local_counts, source, target))
    from paperwire.store.accounts import ACCOUNT_TABLES

    for table in ACCOUNT_TABLES:
        checks.append(_compare(table, _account_rows(table), source, target))
    checks.append(_compare("checkpoints", checkpoints, source, target))
    return checks


def _account_rows(table: str) -> Rows:
    def rows(s: Store) -> Iterator[tuple[str, bytes]]:
        for row in s.account_rows(table):
            values = [str(v) for v in row]
            yield " ".join(values[:3]), "\x1f".join(values).encode()

    return rows


def _compare(name: str, rows: Rows, source: Store, target: Store) -> Check:
    sn, sd = _digest(rows(source))
    tn, td = _digest(rows(target))
    if (sn, sd) == (tn, td):
        return Check(name, sn, tn, sd, td)
    # a second pass names the rows: the source's row hashes in memory, the target's streamed past them
    want = {k: _row_hash(k, v) for k, v in rows(source)}
    found: list[str] = []
    for k, v in rows(target):
        h = want.pop(k, None)
        if h is None:
            found.append(f"{k} only in the target")
        elif h != _row_hash(k, v):
            found.append(f"{k} differs")
    found += [f"{k} missing from the target" for k in want]
    return Check(name, sn, tn, sd, td, len(found), tuple(found[:SHOWN_DIFFERENCES]))


def _digest(rows: Iterator[tuple[str, bytes]]) -> tuple[int, str]:
    # a sum of row hashes: the same rows in any order give the same digest
    n = total = 0
    for key, value in rows:
        n += 1
        total = (total + _row_hash(key, value)) % (1 << 128)
    return n, f"{total:032x}"


def _row_hash(key: str, value: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode() + b"\0" + value, digest_size=16).digest(), "big")


def _data_checkpoints(store: Store) -> dict[str, str]:
    """Every checkpoint but the store's own."""
    return {n: v for n, v in store.checkpoints().items() if not n.startswith(LOCAL_CHECKPOINTS)}


def _canonical(url: str) -> str:
    """A database URL reduced to what names the database: a resolved file, or host, port and name."""
    path = sqlite_path(url)
    if path is not None:
        return f"sqlite:///{path.resolve() if str(path) != ':memory:' else path}"
    parts = urlsplit(url)
    scheme = "postgresql" if parts.scheme == "postgres" else parts.scheme
    port = f":{parts.port}" if parts.port else ""
    # the socket directory (host=...) names the server; no other parameter does, and a password never shows
    host = next((v for k, _, v in (p.partition("=") for p in parts.query.split("&")) if k == "host"), "")
    query = f"?host={host}" if host else ""
    return f"{scheme}://{parts.hostname or ''}{port}{parts.path}{query}"


def _quiet(part: str, done: int, total: int) -> None:
    pass
