"""Plain data: the paper record every source produces and the store keeps."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime


@dataclass(frozen=True)
class Paper:
    """One arXiv paper, keyed by its base id (no version); the latest version we have seen."""

    id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # primary first
    version: int = 1
    published: date | None = None  # first submission (v1)
    updated: date | None = None  # last update
    announced: date | None = None  # first daily listing / announcement
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    license: str | None = None
    sources: tuple[str, ...] = ()

    @property
    def primary_category(self) -> str | None:
        """The primary arXiv category, if any."""
        return self.categories[0] if self.categories else None

    @property
    def abs_url(self) -> str:
        """Link to the arXiv abstract page."""
        return f"https://arxiv.org/abs/{self.id}"

    @property
    def pdf_url(self) -> str:
        """Link to the arXiv PDF (we link, never re-serve)."""
        return f"https://arxiv.org/pdf/{self.id}"

    @property
    def embedding_text(self) -> str:
        """The text we embed: title and abstract."""
        return f"{self.title}. {self.abstract}"

    @property
    def content_hash(self) -> str:
        """A stable hash of everything but provenance; unchanged papers are not rewritten."""
        payload = {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "abstract": self.abstract,
            "authors": list(self.authors),
            "categories": list(self.categories),
            "published": _iso(self.published),
            "updated": _iso(self.updated),
            "announced": _iso(self.announced),
            "comment": self.comment,
            "journal_ref": self.journal_ref,
            "doi": self.doi,
            "license": self.license,
        }
        raw = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(raw).hexdigest()[:32]

    @property
    def text_hash(self) -> str:
        """Hash of the embedded text alone: embeddings are recomputed only when it changes."""
        return hashlib.sha256(self.embedding_text.encode()).hexdigest()[:32]

    def merged_with(self, older: Paper) -> Paper:
        """This (newer or equal) record, keeping fields only ``older`` knows and uniting sources."""
        sources = tuple(dict.fromkeys(older.sources + self.sources))
        return replace(
            self,
            published=self.published or older.published,
            updated=self.updated or older.updated,
            announced=min(d for d in (self.announced, older.announced) if d)
            if (self.announced or older.announced)
            else None,
            comment=self.comment if self.comment is not None else older.comment,
            journal_ref=self.journal_ref if self.journal_ref is not None else older.journal_ref,
            doi=self.doi if self.doi is not None else older.doi,
            license=self.license if self.license is not None else older.license,
            sources=sources,
        )


@dataclass(frozen=True)
class Signal:
    """One observation of a paper's popularity at a moment (Hugging Face upvotes, GitHub stars).

    Observations are history: a later snapshot of the same paper is another point, it never overwrites one.
    """

    paper_id: str
    source: str  # "hf-daily"
    observed_at: datetime  # when it was seen (UTC, aware)
    upvotes: int = 0
    comments: int = 0
    github_repo: str | None = None  # an http(s) URL
    github_stars: int | None = None
    project_page: str | None = None  # an http(s) URL
    listed_on: date | None = None  # the Hugging Face daily list it was on
    listed_at: datetime | None = None  # when it was put on that list (ties in upvotes: newest first)

    @property
    def observed_on(self) -> date:
        """The UTC day of the observation."""
        return self.observed_at.astimezone(UTC).date()


LOCAL_KINDS = ("view", "upvote", "save")  # this install's own signals; accounts add upvotes and saves


@dataclass(frozen=True)
class LocalCount:
    """How many of one kind of local signal a paper got on a day (who gave them is never stored)."""

    paper_id: str
    kind: str  # one of LOCAL_KINDS
    day: date
    n: int


@dataclass
class SearchHit:
    """One search result with the reasons it matched."""

    paper: Paper
    score: float
    keyword_rank: int | None = None
    semantic_rank: int | None = None
    keyword_score: float | None = None
    similarity: float | None = None
    matched_terms: list[str] = field(default_factory=list)
    upvotes: int | None = None  # the latest Hugging Face daily-papers count, where the paper was listed
    signal: Signal | None = None  # its latest Hugging Face observation (repository, stars, when seen)

    def attach(self, signal: Signal | None) -> None:
        """Attach the paper's latest popularity observation (None: never observed)."""
        self.signal = signal
        self.upvotes = signal.upvotes if signal else None


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


@dataclass(frozen=True)
class User:
    """An account: signs in by e-mailed link; the address is private, ``name`` is what others see."""

    id: int
    email: str
    status: str  # invited | active | disabled
    is_admin: bool
    created_at: datetime
    name: str = ""
    last_sign_in: datetime | None = None

    @property
    def shown_name(self) -> str:
        """The name other users see: never the address."""
        return self.name or f"member {self.id}"


@dataclass(frozen=True)
class LibraryItem:
    """A paper a user saved, with their tags and private note."""

    paper_id: str
    saved_at: datetime
    note: str = ""
    read_at: datetime | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Collection:
    """A user's named list of papers; a public one is readable by anyone with its share link."""

    id: int
    user_id: int
    name: str
    public: bool
    share_token: str
    created_at: datetime


@dataclass(frozen=True)
class Comment:
    """A comment on a paper's page."""

    id: int
    paper_id: str
    user_id: int
    author: str  # the author's shown name when read (empty: "member N")
    body: str
    created_at: datetime
    edited_at: datetime | None = None
    hidden: bool = False

    @property
    def shown_author(self) -> str:
        """The author as others see them."""
        return self.author or f"member {self.user_id}"


@dataclass(frozen=True)
class Subscriber:
    """An address that asked for the digest; ``prefs`` is the JSON the digest's DigestPrefs is read from."""

    id: int
    email: str
    status: str  # pending | active | unsubscribed | suppressed
    prefs: str
    token_version: int
    created_at: datetime
    status_at: datetime
    user_id: int | None = None
    confirmed_at: datetime | None = None
    last_due: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Finish:
    """How one claimed delivery ended, as the ledger records it (``DigestStore.finish_deliveries``)."""

    subscriber_id: int
    digest_date: date
    status: str  # sent | skipped | deferred | bounced | failed
    at: datetime
    due: datetime | None = None  # sent / skipped: the subscriber's last digest moves here
    paper_ids: tuple[str, ...] = ()  # sent: never again to this subscriber
    covers: str = ""
    error: str | None = None
    next_attempt: datetime | None = None  # deferred: not before


@dataclass(frozen=True)
class Delivery:
    """One digest for one subscriber on one digest date: the ledger's row."""

    subscriber_id: int
    digest_date: date
    status: str  # claimed | sent | skipped | deferred | bounced | failed
    attempts: int
    message_id: str
    covers: str = ""
    entries: int = 0
    error: str | None = None
    next_attempt: datetime | None = None
    finished_at: datetime | None = None
