"""Background work: named jobs, turned by a runner that records every run (docs/reliability.md J1-J3).

``paperwire worker`` runs the shared jobs (store-wide work such as embedding new papers) without a web
server; ``paperwire serve`` runs them in-process unless ``PAPERWIRE_JOBS_IN_PROCESS=false`` (or
``serve --no-jobs``), and always keeps its own search indexes in step with the store.
"""

from __future__ import annotations

from paperwire.jobs.base import Job, Outcome
from paperwire.jobs.runner import Runner, runner_name
from paperwire.jobs.status import JobState, job_states

__all__ = ["Job", "JobState", "Outcome", "Runner", "job_states", "runner_name"]
