"""Recommendations "for you": new papers ranked by how well they match a library.

rank.py is the pure core (``rank.rank``: numpy arrays in, ranked rows out); service.py reads the candidates and vectors
from the store and the vector index and gives :class:`Recommendation` objects: :func:`recommend` for one library,
:class:`WindowRecommender` for many libraries over one window (a digest pass), its work shared.
"""

from paperwire.recommend.rank import Background, Ranked, RankParams
from paperwire.recommend.service import (
    DEFAULT_WINDOW_DAYS,
    LibraryError,
    Recommendation,
    Window,
    WindowRecommender,
    recommend,
    recommendations_json,
    window,
)

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "Background",
    "LibraryError",
    "RankParams",
    "Ranked",
    "Recommendation",
    "Window",
    "WindowRecommender",
    "recommend",
    "recommendations_json",
    "window",
]
