"""Upstream sources: arXiv OAI-PMH harvesting, the arXiv API, and the HTTP and XML plumbing they share."""
