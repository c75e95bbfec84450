"""What an upsert keeps: the domain rules every backend applies the same way (docs/reliability.md H5).

A backend reads the stored versions of a batch's papers, asks :func:`plan_upsert` what to write, and
writes exactly that; it decides nothing about papers itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from paperwire.models import Paper
from paperwire.store.base import UpsertResult


def dedupe(papers: Sequence[Paper]) -> dict[str, Paper]:
    """A batch by id; among duplicates the later record wins, as if they had come one after another."""
    incoming: dict[str, Paper] = {}
    for p in papers:
        prev = incoming.get(p.id)
        incoming[p.id] = p if prev is None else combine(prev, p)
    return incoming


def plan_upsert(
    incoming: Mapping[str, Paper], existing: Mapping[str, Paper]
) -> tuple[list[Paper], UpsertResult]:
    """The papers to write (merged with what is stored) and the counts of what the batch does."""
    result = UpsertResult()
    writes: list[Paper] = []
    for pid, new in incoming.items():
        old = existing.get(pid)
        merged = new if old is None else combine(old, new)
        if (
            old is not None
            and merged.content_hash == old.content_hash
            and set(merged.sources) == set(old.sources)
        ):
            result.unchanged += 1
            continue
        if old is None:
            result.inserted += 1
        else:
            result.updated += 1
        writes.append(merged)
    return writes, result


def combine(old: Paper, new: Paper) -> Paper:
    """The record to keep when ``new`` arrives for a stored ``old``: a newer version never loses."""
    if new.version < old.version:
        if new.updated and old.updated and new.updated > old.updated:
            # a source that does not tell versions (OAI-PMH "arXiv" format) but saw a later update
            return replace(new, version=old.version).merged_with(old)
        return old.merged_with(new) if _only_fills(old, new) else old
    return new.merged_with(old)


def _only_fills(old: Paper, new: Paper) -> bool:
    # an older version may still teach us an earlier announcement date or a missing field
    return bool(
        (new.announced and (old.announced is None or new.announced < old.announced))
        or (old.published is None and new.published)
    )
