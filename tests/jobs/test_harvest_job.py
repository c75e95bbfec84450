"""The arxiv-harvest job harvests each set once per arXiv announcement, after its delay (recorded OAI pages)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from paperwire.config import Settings
from paperwire.jobs.builtin import shared_jobs
from paperwire.jobs.harvest import HarvestJob
from paperwire.store import Store
from tests.test_harvest import Arxiv, _pacing  # noqa: F401  (the fixture resets the pacing)

# Tuesday 23 January 2024, 20:00 ET = 01:00 UTC on the 24th: an announcement; the next is Wednesday evening
AFTER = datetime(2024, 1, 24, 3, 0, tzinfo=UTC)
BEFORE_NEXT = datetime(2024, 1, 25, 1, 30, tzinfo=UTC)  # 30 min after Wednesday's: still inside the delay
AFTER_NEXT = datetime(2024, 1, 25, 3, 0, tzinfo=UTC)


def test_harvests_once_per_announcement(settings: Settings, store: Store) -> None:
    s = settings.model_copy(update={"arxiv_harvest_sets": "cs", "arxiv_harvest_delay_minutes": 60})
    assert any(j.name == "arxiv-harvest" for j in shared_jobs(s, store, "me"))
    assert not any(j.name == "arxiv-harvest" for j in shared_jobs(settings, store, "me"))  # off by default
    arxiv = Arxiv()
    now = [AFTER]
    job = HarvestJob(s, store, clock=lambda: now[0], transport=httpx.MockTransport(arxiv))
    assert job.run().counts == {"harvested": 1, "up_to_date": 0}
    assert (
        arxiv.requests[0]["from"] == "2024-01-21" and store.count_papers() == 8
    )  # 3 days before, both pages
    n = len(arxiv.requests)
    assert job.run().counts == {"harvested": 0, "up_to_date": 1} and len(arxiv.requests) == n
    now[0] = BEFORE_NEXT
    assert job.run().counts["harvested"] == 0  # arXiv's feed is given its delay
    now[0] = AFTER_NEXT
    assert job.run().counts["harvested"] == 1
    assert "from" in arxiv.requests[n] and arxiv.requests[n]["from"] != "2024-01-21"  # incremental
