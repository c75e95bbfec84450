"""paperwire: self-hosted research-paper discovery (ingest arXiv, hybrid search, trending, digests)."""

__version__ = "0.1.0"
