"""paperwire's error tree.

Every error paperwire raises on purpose derives from :class:`PaperwireError`; each class carries the exit
code the CLI ends with and the HTTP status the web answers with (a page or JSON that leaks nothing past a
4xx's message). Transient ones (busy, locked) answer 503 with Retry-After and exit 75 (EX_TEMPFAIL)::

    PaperwireError                     exit  HTTP
    ├── ConfigError                      2   500  a setting has a value paperwire cannot use
    ├── StoreError                       1   500  the database cannot be opened, read or written
    │   ├── MigrationError               1   500  a schema migration failed (rolled back)
    │   └── StoreBusyError              75   503  the database stayed locked or unreachable: try again
    ├── IngestError                      1   400  input cannot be read at all (a bad *record* is skipped)
    │   ├── RecordError                  1   400  one record is malformed; carries its line number
    │   └── LibraryFormatError           1   400  a library file (BibTeX, CSL JSON, RIS, ids) cannot be read
    ├── SourceError                      1   502  an upstream (arXiv) failed after retries, or answered nonsense
    │   ├── UpstreamHTTPError            1   502  a non-retryable or exhausted HTTP failure
    │   └── UnsafeXMLError               1   502  the XML used entities/DTDs (billion laughs) and was refused
    ├── EmbeddingError                   1   500  the embedding model cannot be loaded or used
    ├── IndexBusyError                  75   503  another process held the index writer too long: try again
    ├── QueryError                       2   400  a search query is malformed; the message says where
    ├── DigestPrefsError                 2   400  a digest preference (time zone, hour, watch ...) is unusable
    ├── NotFoundError                    3   404  a paper id is not in the store (or another account's row)
    ├── SignInError                      2   400  a sign-in link is malformed, expired or already used
    ├── SignInRequired                   2   401  the page or endpoint needs a signed-in account
    ├── RateLimitedError                75   429  too many of a costly action (sign-in links, comments)
    └── MailError                        1   502  mail could not be sent: the server refused the sender, login or TLS
        ├── MailRejected                 1   502  permanent: the server refused the address (5xx at RCPT/DATA)
        └── MailDeferred                75   503  transient: a 4xx, or the server could not be reached: try later
"""

from __future__ import annotations


class PaperwireError(Exception):
    """Root of every error paperwire raises on purpose."""

    exit_code = 1
    http_status = 500
    retry_after: int | None = None  # seconds, for transient errors (sent as Retry-After with a 503)


class ConfigError(PaperwireError):
    """A setting has a value paperwire cannot use."""

    exit_code = 2


class StoreError(PaperwireError):
    """The store cannot be opened, read or written."""


class StoreBusyError(StoreError):
    """The database stayed locked (another writer) or unreachable past its wait; nothing was changed."""

    exit_code = 75
    http_status = 503
    retry_after = 5


class MigrationError(StoreError):
    """A schema migration failed; its transaction was rolled back."""


class IngestError(PaperwireError):
    """An input file cannot be read at all."""

    http_status = 400


class RecordError(IngestError):
    """One input record is malformed; it is reported with its line number and skipped."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        self.reason = message
        super().__init__(f"line {line}: {message}" if line is not None else message)


class LibraryFormatError(IngestError):
    """A library file to import is in no format we read, or too broken to read at all."""


class SourceError(PaperwireError):
    """An upstream service failed after retries or answered something we cannot parse."""

    http_status = 502


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

    exit_code = 75
    http_status = 503
    retry_after = 30


class QueryError(PaperwireError):
    """A search query is malformed; the message says what and where."""

    exit_code = 2
    http_status = 400


class NotFoundError(PaperwireError):
    """The requested paper is not in the store."""

    exit_code = 3
    http_status = 404


class SignInError(PaperwireError):
    """A sign-in link is malformed, expired or already used (the message says which, and to ask again)."""

    exit_code = 2
    http_status = 400


class SignInRequired(PaperwireError):
    """The page or endpoint needs a signed-in account."""

    exit_code = 2
    http_status = 401


class RateLimitedError(PaperwireError):
    """Too many of a costly action in a while; ``retry_after`` says when to come back."""

    exit_code = 75
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MailError(PaperwireError):
    """Mail could not be sent. Raised as itself when it is not the recipient's fault nor passing: the SMTP server
    refused the sender or the login, or its TLS could not be verified (settings to fix). ``code`` is the SMTP
    reply code when there was one; ``stage`` says where it failed (connect, mail, rcpt, data)."""

    http_status = 502

    def __init__(self, message: str, code: int | None = None, stage: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.stage = stage


class MailRejected(MailError):
    """Permanent failure for this address: the server answered a 5xx at RCPT or DATA (or the address is not one
    address at all, ``code`` None). Do not retry; suppress the address."""


class MailDeferred(MailError):
    """Transient failure: a 4xx reply, or the server could not be reached or dropped the connection (``code``
    None: not the address's fault). Retry later."""

    exit_code = 75
    http_status = 503
    retry_after = 60


class DigestPrefsError(PaperwireError, ValueError):
    """A digest preference (time zone, hour, weekday, frequency, watch) has a value we cannot use."""

    exit_code = 2
    http_status = 400
