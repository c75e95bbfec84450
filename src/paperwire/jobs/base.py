"""What a job is: a name, how often it runs, whether it is the store's work or this process's, and a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Outcome:
    """What one run did: counts to record, and whether work remains (run again without waiting)."""

    counts: dict[str, int] = field(default_factory=dict)
    more: bool = False


class Job(Protocol):
    """A named piece of background work."""

    name: str
    every: float  # seconds between turns; 0: one turn, at start
    shared: bool  # store-wide work any one process may do (claimed, J3), or this process's own

    def run(self) -> Outcome:
        """Do one turn's work; raise to fail the run (the runner records it and tries at the next turn)."""
