"""Kept for imports: the JSON API moved to paperwire.web (see api/app.py)."""
