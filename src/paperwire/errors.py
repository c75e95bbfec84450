"""paperwire's error tree.

Every error paperwire raises on purpose derives from :class:`PaperwireError`; the CLI turns it
into a one-line message and an exit code, the API into a 4xx/5xx JSON body that leaks nothing::

    PaperwireError
    ├── ConfigError            a setting has a value paperwire cannot use
    ├── StoreError             the database cannot be opened or migrated
    │   └── MigrationError     a schema migration failed (rolled back)
    ├── IngestError            input cannot be read at all (a bad *record* is reported and skipped)
    │   └── RecordError        one record is malformed; carries its line number
    ├── SourceError            an upstream (arXiv) failed after retries, or answered nonsense
    │   ├── UpstreamHTTPError  a non-retryable or exhausted HTTP failure
    │   └── UnsafeXMLError     the XML used entities/DTDs (billion laughs) and was refused
    ├── EmbeddingError         the embedding model cannot be loaded or used
    ├── QueryError             a search query is malformed; the message says where
    └── NotFoundError          a paper id is not in the store
"""

from __future__ import annotations


class PaperwireError(Exception):
    """Root of every error paperwire raises on purpose."""

    exit_code = 1


class ConfigError(PaperwireError):
    """A setting has a value paperwire cannot use."""

    exit_code = 2


class StoreError(PaperwireError):
    """The store cannot be opened, read or written."""


class MigrationError(StoreError):
    """A schema migration failed; its transaction was rolled back."""


class IngestError(PaperwireError):
    """An input file cannot be read at all."""


class RecordError(IngestError):
    """One input record is malformed; it is reported with its line number and skipped."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


class SourceError(PaperwireError):
    """An upstream service failed after retries or answered something we cannot parse."""


class UpstreamHTTPError(SourceError):
    """An HTTP request failed for good (a 4xx other than 429, or retries exhausted)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class UnsafeXMLError(SourceError):
    """An XML document used DTDs or entities, which we refuse (entity-expansion attacks)."""


class EmbeddingError(PaperwireError):
    """The embedding model cannot be loaded or run."""


class IndexBusyError(PaperwireError):
    """Another process kept the search index's writer lock for too long; nothing was changed."""


class QueryError(PaperwireError):
    """A search query is malformed; the message says what and where."""

    exit_code = 2


class NotFoundError(PaperwireError):
    """The requested paper is not in the store."""

    exit_code = 3
