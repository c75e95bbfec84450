"""Recommendations "for you": new papers ranked by how well they match a library.

rank.py is the pure core (``rank.rank``: numpy arrays in, ranked rows out); service.py reads the candidates and vectors
from the store and the vector index and gives :class:`Recommendation` objects.
"""

from paperwire.recommend.rank import Ranked, RankParams
from paperwire.recommend.service import (
    DEFAULT_WINDOW_DAYS,
    LibraryError,
    Recommendation,
    Window,
    recommend,
    recommendations_json,
    window,
)

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "LibraryError",
    "RankParams",
    "Ranked",
    "Recommendation",
    "Window",
    "recommend",
    "recommendations_json",
    "window",
]
