"""Pure helpers the pages use: highlighting, snippets, safe links, BibTeX. Everything returns escaped Markup.

Third-party text (titles, abstracts, comments, author names) is escaped here or by Jinja's autoescape; nothing in
this module marks unescaped input as safe (docs/reliability.md W1). Math stays as text for KaTeX to render in the browser.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, urlsplit

from markupsafe import Markup, escape

from paperwire.models import Paper, Signal

# $$...$$, $...$, \[...\], \(...\): the delimiters KaTeX's auto-render looks for (see static/app.js)
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$]+?\$|\\\[.+?\\\]|\\\(.+?\\\)", re.DOTALL)
_WORD = re.compile(r"\w+")
_URL = re.compile(r"https?://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]}]")


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) link, else None (no javascript:, data:, relative; W3)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


@dataclass(frozen=True)
class Popularity:
    """A paper's latest popularity observation as a page shows it: http(s) links only (W3), a short label
    for the repository, and the day it was seen (stars are a moment's count)."""

    upvotes: int
    comments: int
    stars: int | None
    seen: date
    repo_url: str | None
    repo_label: str | None
    project_url: str | None


def repo_label(url: str) -> str:
    """``owner/name`` for a GitHub (or GitLab, Hugging Face) repository link, else the link's host."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    path = [p for p in parts.path.split("/") if p][:2]
    if host in ("github.com", "gitlab.com", "huggingface.co") and len(path) == 2:
        return "/".join(path).removesuffix(".git")
    return host or url


def popularity(signal: Signal | None) -> Popularity | None:
    """What a card or paper page shows of ``signal`` (None: never observed)."""
    if signal is None:
        return None
    repo = safe_url(signal.github_repo)
    return Popularity(
        upvotes=signal.upvotes,
        comments=signal.comments,
        stars=signal.github_stars,
        seen=signal.observed_on,
        repo_url=repo,
        repo_label=repo_label(repo) if repo else None,
        project_url=safe_url(signal.project_page),
    )


def doi_url(doi: str | None) -> str | None:
    """The https://doi.org link of a DOI (the DOI percent-encoded; always https)."""
    if not doi or not doi.strip():
        return None
    return "https://doi.org/" + quote(doi.strip(), safe="/:;()._-")


def author_url(name: str) -> str:
    """The author page of ``name``."""
    return "/author/" + quote(name, safe="")


def split_math(text: str) -> list[tuple[bool, str]]:
    """``text`` as (is_math, piece) segments, so highlighting never lands inside a formula."""
    out: list[tuple[bool, str]] = []
    pos = 0
    for m in _MATH.finditer(text):
        if m.start() > pos:
            out.append((False, text[pos : m.start()]))
        out.append((True, m.group(0)))
        pos = m.end()
    if pos < len(text):
        out.append((False, text[pos:]))
    return out


def highlight(text: str, terms: set[str], analyze: Callable[[str], list[str]]) -> Markup:
    """``text`` escaped, with words whose index term is in ``terms`` wrapped in <mark> (outside math)."""
    if not terms:
        return escape(text)
    cache: dict[str, bool] = {}
    parts: list[str] = []
    for is_math, seg in split_math(text):
        if is_math:
            parts.append(str(escape(seg)))
            continue
        pos = 0
        for m in _WORD.finditer(seg):
            word = m.group(0)
            hit = cache.get(word.lower())
            if hit is None:
                hit = any(t in terms for t in analyze(word))
                cache[word.lower()] = hit
            if hit:
                parts.append(str(escape(seg[pos : m.start()])))
                parts.append(f"<mark>{escape(word)}</mark>")
                pos = m.end()
        parts.append(str(escape(seg[pos:])))
    return Markup("".join(parts))


def snippet(text: str, limit: int = 320) -> str:
    """The start of ``text``, cut at a word boundary outside any formula, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    out = ""
    for is_math, seg in split_math(text):
        if len(out) + len(seg) <= limit:
            out += seg
            continue
        if not is_math:
            room = seg[: limit - len(out)]
            cut = room.rsplit(" ", 1)[0] if " " in room else room
            out += cut
        break
    # a lone "$" left in the cut text would make KaTeX pair it with something else
    if out.count("$") % 2:
        out = out[: out.rfind("$")]
    return out.rstrip(" ,;:") + " …"


def linkify(text: str) -> Markup:
    """``text`` escaped, with http(s) URLs turned into links (comments often carry project pages)."""
    parts: list[str] = []
    pos = 0
    for m in _URL.finditer(text):
        url = safe_url(m.group(0))
        parts.append(str(escape(text[pos : m.start()])))
        if url:
            parts.append(f'<a href="{escape(url)}" rel="nofollow noopener noreferrer">{escape(url)}</a>')
        else:
            parts.append(str(escape(m.group(0))))
        pos = m.end()
    parts.append(str(escape(text[pos:])))
    return Markup("".join(parts))


def _ascii(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


def _braces_balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        depth += 1 if ch == "{" else -1 if ch == "}" else 0
        if depth < 0:
            return False
    return depth == 0


def _bib_value(s: str) -> str:
    s = strip_bidi(s)
    if not _braces_balanced(s):
        s = s.replace("{", "").replace("}", "")
    return " ".join(s.split())


def bibtex_key(p: Paper) -> str:
    """A citation key like ``lovelace2025study``."""
    last = _ascii(p.authors[0].split()[-1]).lower() if p.authors and p.authors[0].split() else "anon"
    year = (p.published or p.announced or p.updated or date(1991, 1, 1)).year
    words = [w for w in re.findall(r"[a-z]+", _ascii(p.title).lower()) if len(w) > 3]
    key = f"{re.sub(r'[^a-z]', '', last) or 'anon'}{year}{words[0] if words else ''}"
    return key


def bibtex(p: Paper) -> str:
    """A BibTeX @misc entry for the arXiv paper (plain text; the page escapes it)."""
    year = (p.published or p.announced or p.updated or date(1991, 1, 1)).year
    fields: list[tuple[str, str]] = [
        ("title", _bib_value(p.title)),
        ("author", _bib_value(" and ".join(p.authors)) if p.authors else "Anonymous"),
        ("year", str(year)),
        ("eprint", p.id),
        ("archivePrefix", "arXiv"),
    ]
    if p.primary_category:
        fields.append(("primaryClass", p.primary_category))
    if p.doi:
        fields.append(("doi", _bib_value(p.doi)))
    if p.journal_ref:
        fields.append(("journal", _bib_value(p.journal_ref)))
    fields.append(("url", p.abs_url))
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields)
    return f"@misc{{{bibtex_key(p)},\n{body}\n}}"


def short_authors(authors: Iterable[str], n: int = 6) -> tuple[list[str], int]:
    """The first ``n`` authors and how many more there are."""
    names = list(authors)
    return names[:n], max(0, len(names) - n)


def strip_xml_invalid(text: str) -> str:
    """``text`` without the control characters XML 1.0 forbids (some titles carry them)."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", text)


# the bidi embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI): in third-party text
# they can reorder what follows them (a title that shows one thing and says another); pages isolate that
# text with <bdi>, plain-text outputs (feeds, BibTeX, the page <title>) drop them
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def strip_bidi(text: str) -> str:
    """``text`` without bidi embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069)."""
    return _BIDI_CONTROLS.sub("", text)
