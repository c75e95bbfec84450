"""The "today" window: one Hugging Face daily list, in Hugging Face's order or arXiv's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from paperwire.models import Paper, Signal
from paperwire.sources.hf_daily import hf_order_key  # Hugging Face's own order, one rule for every list


def announced_key(paper: Paper) -> tuple[int, date, str]:
    """arXiv's announcement order: the earliest announced first, then by id; undated papers last."""
    return (paper.announced is None, paper.announced or date.min, paper.id)


def list_day(days: Sequence[date], last: date) -> date | None:
    """The latest listed day up to ``last`` (the list "today" shows by default)."""
    begun = [d for d in days if d <= last]
    return begun[-1] if begun else None


def order(
    signals: Sequence[Signal], papers: dict[str, Paper], sort: str, score: dict[str, float]
) -> list[Signal]:
    """The day's papers (those in the store) in ``sort`` order: upvotes (Hugging Face's), announced (arXiv's)
    or score (the week's trending score, Hugging Face's order among equals)."""
    here = sorted((s for s in signals if s.paper_id in papers), key=hf_order_key)
    if sort == "announced":
        return sorted(here, key=lambda s: announced_key(papers[s.paper_id]))
    if sort == "score":
        return sorted(here, key=lambda s: -score.get(s.paper_id, 0.0))  # stable: ties keep HF's order
    return here
