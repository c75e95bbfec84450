"""The ingestion pipeline: read -> normalise -> upsert (in batches, checkpointed) -> embed (separately).

Metadata goes in first and is searchable by keyword at once; embeddings catch up in their own resumable
pass, newest papers first, computed only for papers whose text or model changed.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from paperwire.embed import Embedder
from paperwire.errors import IngestError, RecordError
from paperwire.models import Paper, Signal
from paperwire.sources.snapshot import iter_records
from paperwire.store.base import Store, UpsertResult

Progress = Callable[[int], None]


MAX_REPORTED = 1000  # bad records kept with their reasons; past that only counted


@dataclass
class IngestReport:
    """What an ingest run did."""

    read: int = 0
    result: UpsertResult = field(default_factory=UpsertResult)
    bad: list[RecordError] = field(default_factory=list)  # the first MAX_REPORTED, in line order
    skipped: int = 0  # every bad record, reported or not
    resumed_from: int = 0
    on_bad: Callable[[RecordError], None] | None = None  # told of every bad record as it is found

    def summary(self) -> str:
        """One line for humans."""
        r = self.result
        resumed = f" (resumed after line {self.resumed_from})" if self.resumed_from else ""
        return (
            f"{self.read} records read{resumed}: {r.inserted} new, {r.updated} updated, "
            f"{r.unchanged} unchanged, {self.skipped} skipped as bad"
        )

    def skip(self, error: RecordError) -> None:
        """Count a bad record, keeping its reason while there is room."""
        self.skipped += 1
        if self.on_bad is not None:
            self.on_bad(error)
        if len(self.bad) < MAX_REPORTED:
            self.bad.append(error)


def _file_checkpoint(path: Path) -> str:
    st = path.stat()
    return f"file:{path.resolve()}:{st.st_size}:{int(st.st_mtime)}"


def ingest_file(
    store: Store,
    path: Path,
    *,
    batch_size: int = 2000,
    on_bytes: Progress | None = None,
    on_bad: Callable[[RecordError], None] | None = None,
    restart: bool = False,
) -> IngestReport:
    """Ingest a JSON-lines file (listing or snapshot format, plain or gzip), resuming where a killed run stopped.

    Each batch is committed together with the line it reached, so a rerun skips what is already in. A bad
    record is reported with its line number and skipped; the records around it are stored. A file that cannot
    be read on (a truncated gzip) keeps everything before the damage and then raises IngestError.
    """
    if not path.is_file():
        raise IngestError(f"no such file: {path}")
    cp_name = _file_checkpoint(path)
    start = 0 if restart else int(store.get_checkpoint(cp_name) or 0)
    report = IngestReport(resumed_from=start, on_bad=on_bad)
    batch: list[tuple[int, Paper]] = []
    last_line = start
    try:
        for lineno, rec in iter_records(path, start_line=start, on_bytes=on_bytes):
            if isinstance(rec, RecordError):
                report.skip(rec)
            else:
                report.read += 1
                batch.append((lineno, rec))
            last_line = lineno  # only now: every line up to here is in the batch or reported
            if len(batch) >= batch_size:
                full, batch = batch, []  # an interrupt inside _commit leaves nothing to commit twice
                _commit(store, full, cp_name, lineno, report)
    except (IngestError, KeyboardInterrupt):
        # keep what was read before the damage; a batch interrupted mid-commit was rolled back, and a rerun
        # starts at the last checkpoint, before it
        if batch:
            _commit(store, batch, cp_name, last_line, report)
        raise
    _commit(store, batch, cp_name, last_line, report)
    if on_bytes is not None:
        on_bytes(path.stat().st_size)
    return report


def _commit(
    store: Store, batch: list[tuple[int, Paper]], cp_name: str, line: int, report: IngestReport
) -> None:
    """Store a batch with its checkpoint; if the store refuses one record, store the others one by one."""
    try:
        report.result += store.upsert_papers_with_checkpoint([p for _, p in batch], cp_name, str(line))
        return
    except RecordError:
        pass  # the batch was rolled back whole: find the record the store refused
    for lineno, paper in batch:
        try:
            report.result += store.upsert_papers_with_checkpoint([paper], cp_name, str(lineno))
        except RecordError as exc:
            report.skip(RecordError(f"{paper.id}: {exc.reason}", lineno))
    store.set_checkpoint(cp_name, str(line))


def embed_pending(
    store: Store,
    embedder: Embedder,
    *,
    chunk: int = 512,
    limit: int | None = None,
    on_progress: Progress | None = None,
    holder: str | None = None,
    lease_s: float = 900.0,
) -> int:
    """Embed every paper whose vector is missing or stale for this model; returns how many were embedded.

    Works in chunks, each claimed first (J3: another process embedding at the same time takes other papers)
    and saved in its own transaction: killing it loses at most one chunk of work, whose claim runs out
    after ``lease_s`` seconds.
    """
    from paperwire.jobs.runner import runner_name

    holder = holder or runner_name()
    done = 0
    dim = store.embedding_dim(embedder.name)
    if dim is not None and dim != embedder.dim:
        raise IngestError(
            f"{embedder.name} vectors in the store have {dim} dimensions but the model gives {embedder.dim}"
        )
    try:
        while limit is None or done < limit:
            n = chunk if limit is None else min(chunk, limit - done)
            tasks = store.claim_embeddings(embedder.name, n, holder, lease_s)
            if not tasks:
                break
            # similar lengths together: less padding per batch, same vectors
            tasks.sort(key=lambda t: len(t.text))
            vecs = embedder.embed_batch([t.text for t in tasks])
            store.save_embeddings(embedder.name, [(t.paper_id, t.text_hash) for t in tasks], vecs)
            store.release_claims(holder)
            done += len(tasks)
            if on_progress is not None:
                on_progress(len(tasks))
    finally:
        with suppress(Exception):  # the store went away: the lease runs out by itself
            store.release_claims(holder)
    return done


# -- the bundled demo sample ------------------------------------------------------------------


def sample_dir() -> Path:
    """Where the demo sample ships inside the package."""
    return Path(str(resources.files("paperwire") / "data"))


def load_sample(store: Store, model_name: str | None = None) -> IngestReport:
    """Load the demo sample: papers, Hugging Face upvote records and (if made by the same model) vectors."""
    d = sample_dir()
    papers = d / "sample-papers.jsonl.gz"
    if not papers.exists():
        raise IngestError(f"the demo sample is missing from this install ({papers})")
    report = ingest_file(store, papers)
    signals = d / "sample-hf-signals.jsonl.gz"
    if signals.exists():
        with gzip.open(signals, "rt", encoding="utf-8") as fh:
            store.upsert_signals(map(_sample_signal, map(json.loads, fh)))
    vec_file = d / "sample-vectors.npz"
    if vec_file.exists():
        with np.load(vec_file, allow_pickle=False) as z:
            model = str(z["model"])
            if model_name is None or model == model_name:
                ids = [str(x) for x in z["ids"]]
                hashes = [str(x) for x in z["text_hashes"]]
                vecs = z["vectors"].astype(np.float32)
                vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)  # shipped as float16
                current = store.get_papers(ids)
                keep = [
                    i for i, pid in enumerate(ids) if pid in current and current[pid].text_hash == hashes[i]
                ]
                store.save_embeddings(model, [(ids[i], hashes[i]) for i in keep], vecs[keep])
    return report


def _sample_signal(o: dict[str, Any]) -> Signal:
    """One line of the sample's signals: an observation on the Hugging Face list of its day."""
    day = date.fromisoformat(o["listed_on"] if o.get("listed_on") else o["observed_on"])
    observed = o.get("observed_at") or f"{day.isoformat()}T00:00:00+00:00"
    return Signal(
        paper_id=o["paper_id"],
        source=o["source"],
        observed_at=datetime.fromisoformat(observed),
        upvotes=int(o.get("upvotes") or 0),
        comments=int(o.get("comments") or 0),
        github_repo=o.get("github_repo"),
        github_stars=o.get("github_stars"),
        project_page=o.get("project_page"),
        listed_on=day,
        listed_at=datetime.fromisoformat(o["listed_at"]) if o.get("listed_at") else None,
    )
