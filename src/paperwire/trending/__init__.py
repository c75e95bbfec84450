"""Trending: what the community reads now, and why (README "Trending").

Modules, one job each::

    events.py    store rows -> arrays of events (gains between observations, local counts)
    score.py     the decayed score and the rankings, vectorised over every paper
    snapshot.py  one recomputation: where the windows end, the reads, every paper's standing
    daily.py     the "today" window: a Hugging Face daily list in its own order or arXiv's
    reasons.py   why a paper is on a list, in words
    lists.py     TrendingEntry, TrendingList: what pages, the API, feeds and the CLI show
    service.py   Trending: the cached snapshot, lists, popularity for search
"""

from __future__ import annotations

from paperwire.trending.lists import SORTS, WINDOWS, TrendingEntry, TrendingList
from paperwire.trending.service import Trending

__all__ = ["SORTS", "WINDOWS", "Trending", "TrendingEntry", "TrendingList"]
