"""The HTTP layer: a FastAPI JSON API over the library."""
