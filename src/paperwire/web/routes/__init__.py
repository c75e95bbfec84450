"""HTTP handlers: api.py (JSON), pages.py (HTML), feeds.py (RSS)."""
