"""A digest as mail: a subject line, an HTML part and a plain-text part with the same content and links.

The HTML is what mail clients render well: a table layout with inline styles only (Gmail and Outlook drop
``<style>`` blocks and classes in places), no script, no images, no remote fonts. It is built from Jinja2
templates (templates/digest.html, digest.txt) in an Environment that autoescapes ``.html`` files, so every
piece of third-party text (titles, authors, abstracts, and the subscriber's own watch queries) is escaped
on output (W1); the text part comes from the same view model. Links are built from paperwire's base URL and
arXiv ids only, never from metadata, and all are http(s) (W3).

TeX stays as written (``$x^2$``, ``\\mathcal{O}(n)``), in a monospace span in the HTML: mail clients run no
KaTeX, and a partial Unicode rendering would turn what it cannot handle into something that looks right but
is not, while the source is what the readers of arXiv read every day.

The subject holds no line break or other control character whatever a title holds (M7).
"""

from __future__ import annotations

import functools
import re
import textwrap
from dataclasses import dataclass
from datetime import date
from functools import cache
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from paperwire.digest.compose import Digest, DigestEntry, DigestSection, base_id
from paperwire.models import Paper
from paperwire.web.render import safe_url, short_authors, snippet, split_math, strip_bidi, strip_xml_invalid

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SNIPPET_CHARS = 300
SUBJECT_TITLE_CHARS = 70
AUTHORS_SHOWN = 4
TEXT_WIDTH = 76


@dataclass(frozen=True)
class DigestLinks:
    """Where a digest's links point: paperwire's base URL and the subscriber's manage and unsubscribe pages."""

    base_url: str
    manage_url: str
    unsubscribe_url: str  # the same URL as the List-Unsubscribe header (M1)

    def __post_init__(self) -> None:
        for name in ("base_url", "manage_url", "unsubscribe_url"):
            value = getattr(self, name)
            if safe_url(value) is None or any(c in value for c in "\r\n\t <>\"'"):
                raise ValueError(f"{name} must be an absolute http(s) URL, got {value[:80]!r}")
        object.__setattr__(self, "base_url", self.base_url.strip().rstrip("/"))

    def paper_url(self, paper_id: str) -> str:
        """paperwire's page for the paper."""
        return f"{self.base_url}/paper/{quote(base_id(paper_id), safe='/')}"

    def arxiv_url(self, paper_id: str) -> str:
        """arXiv's abstract page for the paper."""
        return f"https://arxiv.org/abs/{quote(base_id(paper_id), safe='/')}"

    def section_url(self, section: DigestSection) -> str:
        """Where a section's full list is: the watch's search, the trending page, the category's day list."""
        if section.kind == "watch" and section.query is not None:
            return f"{self.base_url}/search?{urlencode({'q': section.query})}"
        if section.kind == "trending":
            return f"{self.base_url}/trending"
        if section.kind == "for_you":
            return f"{self.base_url}/for-you"
        if section.kind == "category" and section.query is not None:
            return f"{self.base_url}/?{urlencode({'category': section.query})}"
        return f"{self.base_url}/"


@dataclass(frozen=True)
class RenderedDigest:
    """A digest ready for the mailer: subject (one line), plain-text and HTML bodies."""

    subject: str
    text: str
    html: str


# Unicode's categories Cc (C0 and C1 controls), Zl (U+2028) and Zp (U+2029), each a space: fixed by the
# standard's stability policy, so a literal class instead of a lookup per character
_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@functools.lru_cache(maxsize=65536)
def clean(text: str) -> str:
    """Third-party text for a mail: no bidi controls, no control characters, whitespace collapsed. Remembered:
    every digest of a pass shows the same few hundred papers."""
    return " ".join(_BREAKS.sub(" ", strip_bidi(strip_xml_invalid(text))).split())


def one_line(text: str) -> str:
    """``text`` as a header value: one line, no control character (M7)."""
    return clean(text)


def day_label(d: date, *, year: bool = False) -> str:
    """``Mon 2 Mar`` (``Mon 2 Mar 2026`` with ``year``), in English whatever the locale."""
    label = f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]}"
    return f"{label} {d.year}" if year else label


def covers_label(covers: tuple[date, ...] | list[date]) -> str:
    """The days a digest covers: ``Mon 2 Mar``, ``Mon 2 Mar and Tue 3 Mar``, ``Mon 2 Mar – Wed 4 Mar``."""
    if not covers:
        return ""
    days = sorted(covers)
    year = days[0].year != days[-1].year
    first, last = day_label(days[0], year=year), day_label(days[-1], year=year)
    if len(days) == 1:
        return first
    if len(days) == 2:
        return f"{first} and {last}"
    return f"{first} – {last}"


def _authors(names: tuple[str, ...]) -> str:
    cleaned = [c for c in map(clean, names) if c]
    shown, more = short_authors(cleaned, AUTHORS_SHOWN)
    if not shown:
        return ""
    return ", ".join(shown) + (f" and {more} more" if more else "")


@dataclass(frozen=True)
class _EntryView:
    title: list[tuple[bool, str]]
    title_text: str
    authors: str
    snippet: list[tuple[bool, str]]
    snippet_text: str
    url: str
    arxiv_url: str
    paper_id: str


@dataclass(frozen=True)
class _SectionView:
    title: str
    entries: list[_Shown]
    more: int
    more_url: str


def _entry(paper: Paper, links: DigestLinks) -> _EntryView:
    title = clean(paper.title) or base_id(paper.id)
    # shortened before it is cleaned (a generous cut: cleaning only removes characters)
    raw = paper.abstract[: SNIPPET_CHARS * 4]
    abstract = snippet(clean(raw), SNIPPET_CHARS) if raw.strip() else ""
    return _EntryView(
        title=split_math(title),
        title_text=title,
        authors=_authors(paper.authors),
        snippet=split_math(abstract),
        snippet_text=abstract,
        url=links.paper_url(paper.id),
        arxiv_url=links.arxiv_url(paper.id),
        paper_id=clean(base_id(paper.id)),
    )


@dataclass(frozen=True)
class _Block:
    """A paper's part of a digest, before and after its reasons, as HTML (escaped by entry.html) and text."""

    html_head: Markup
    html_tail: Markup
    text_head: str
    text_tail: str


@dataclass(frozen=True)
class _Shown:
    block: _Block
    reasons: list[str]


@functools.lru_cache(maxsize=8192)
def _block(paper: Paper, base_url: str) -> _Block:
    """A paper's block. Remembered: a pass of thousands of digests shows the same few hundred papers again and
    again. The key is the whole (frozen) paper, so a changed title or abstract is rendered anew, and the base URL
    of its links (the subscriber's own links are not in a block, nor are the reasons)."""
    view = _entry(paper, DigestLinks(base_url, base_url, base_url))
    env = _env()
    html, text = env.get_template("entry.html").module, env.get_template("entry.txt").module
    return _Block(
        html_head=Markup(html.head(view).rstrip("\n")),  # type: ignore[attr-defined]
        html_tail=Markup(html.tail(view).rstrip("\n")),  # type: ignore[attr-defined]
        text_head=str(text.head(view)).rstrip("\n"),  # type: ignore[attr-defined]
        text_tail=str(text.tail(view)).rstrip("\n"),  # type: ignore[attr-defined]
    )


def _shown(e: DigestEntry, base_url: str) -> _Shown:
    return _Shown(_block(e.paper, base_url), [c for c in map(clean, e.reasons) if c])


@functools.lru_cache(maxsize=16384)
def _wrap(text: str, indent: str = "", width: int = TEXT_WIDTH) -> str:
    # URLs are never broken: a wrapped link is a dead link in a plain-text reader. Remembered: the same reasons
    # ("Why: matches your watch: ...; new in cs.LG") come back in digest after digest of a pass
    return textwrap.fill(
        text,
        width=width,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("paperwire.digest", "templates"),
        # .html escaped, .txt not (plain text must not show &amp;); strings default to escaped
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True
        ),
        undefined=StrictUndefined,
        auto_reload=False,  # packaged templates do not change under a running process: no stat per use
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wrap"] = _wrap
    return env


def _subject(digest: Digest, entries: list[DigestEntry]) -> str:
    kind = "weekly digest" if digest.frequency == "weekly" else "digest"
    days = covers_label(digest.covers)
    if not digest.covers:
        return one_line(f"paperwire {kind}: nothing new since your last digest")
    if not entries:
        return one_line(f"paperwire {kind}, {days}: nothing new for you")
    first = clean(entries[0].paper.title)
    if len(first) > SUBJECT_TITLE_CHARS:
        first = first[: SUBJECT_TITLE_CHARS - 1].rstrip() + "…"
    rest = len(entries) - 1 + sum(s.more for s in digest.sections)
    tail = f" and {rest} more" if rest else ""
    return one_line(f"paperwire {kind}, {days}: “{first}”{tail}")


def render_digest(digest: Digest, links: DigestLinks) -> RenderedDigest:
    """The digest's subject, plain-text and HTML parts; the "nothing new" note when it is empty."""
    entries = digest.entries
    sections = [
        _SectionView(
            title=clean(s.title),
            entries=[_shown(e, links.base_url) for e in s.entries],
            more=s.more,
            more_url=links.section_url(s),
        )
        for s in digest.sections
        if s.entries or s.more
    ]
    year = bool(digest.covers) and digest.covers[0].year != digest.covers[-1].year
    context = {
        "kind": "weekly digest" if digest.frequency == "weekly" else "daily digest",
        "covers": covers_label(digest.covers),
        "cover_days": [day_label(d, year=year) for d in sorted(digest.covers)],
        "sections": sections,
        "count": len(entries),
        "empty": digest.empty,
        "links": links,
    }
    env = _env()
    html = env.get_template("digest.html").render(context)
    text = env.get_template("digest.txt").render(context)
    return RenderedDigest(subject=_subject(digest, entries), text=text, html=html)
