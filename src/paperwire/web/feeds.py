"""RSS 2.0 documents (pure): the daily list, a category, a search.

Feed readers render ``title`` and ``description`` (and often the rest) as HTML, after XML parsing: so
third-party text (titles, abstracts, authors, categories, the words of a search) is HTML-escaped before it
becomes XML text, and reaches the reader as text (W1): ``<script>`` is ``&amp;lt;script&amp;gt;`` in the
document, ``&lt;script&gt;`` once parsed. Bidi controls are dropped from it too, as readers ignore CSS.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from email.utils import format_datetime
from urllib.parse import quote

from paperwire.models import Paper
from paperwire.search.keyword import paper_date
from paperwire.web.render import safe_url, strip_bidi, strip_xml_invalid

ATOM = "http://www.w3.org/2005/Atom"
DC = "http://purl.org/dc/elements/1.1/"
ET.register_namespace("atom", ATOM)
ET.register_namespace("dc", DC)


def _rfc822(d: date) -> str:
    return format_datetime(datetime(d.year, d.month, d.day, tzinfo=UTC))


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    """An element holding ``text`` as is: links, dates, names of our own."""
    el = ET.SubElement(parent, tag)
    el.text = strip_xml_invalid(text)
    return el


def _html_text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    """An element holding ``text`` for a reader that renders it as HTML: escaped, bidi controls dropped."""
    return _text(parent, tag, html.escape(" ".join(strip_bidi(text).split()), quote=False))


def rss(
    title: str,
    link: str,
    self_url: str,
    description: str,
    papers: Sequence[Paper],
    base_url: str,
    notes: Mapping[str, str] | None = None,
) -> bytes:
    """An RSS 2.0 feed of ``papers``; item links point at this paperwire's paper pages under ``base_url``.
    ``notes``: a line to put before a paper's abstract (why it is on a trending list), by paper id."""
    root = ET.Element("rss", {"version": "2.0"})
    ch = ET.SubElement(root, "channel")
    _html_text(ch, "title", title)
    _text(ch, "link", link)
    _html_text(ch, "description", description)
    ET.SubElement(ch, f"{{{ATOM}}}link", {"href": self_url, "rel": "self", "type": "application/rss+xml"})
    _text(ch, "generator", "paperwire")
    dates = [d for d in (paper_date(p) for p in papers) if d]
    if dates:
        _text(ch, "lastBuildDate", _rfc822(max(dates)))
    for p in papers:
        it = ET.SubElement(ch, "item")
        page = f"{base_url.rstrip('/')}/paper/{quote(p.id, safe='/.')}"
        _html_text(it, "title", p.title)
        _text(it, "link", page)
        note = (notes or {}).get(p.id)
        _html_text(it, "description", f"{note}. {p.abstract}" if note else p.abstract)
        # the arXiv page when its address is an http(s) link (W3), else ours
        guid = _text(it, "guid", safe_url(p.abs_url) or page)
        guid.set("isPermaLink", "true")
        for a in p.authors:
            _html_text(it, f"{{{DC}}}creator", a)
        for c in p.categories:
            _html_text(it, "category", c)
        d = paper_date(p)
        if d:
            _text(it, "pubDate", _rfc822(d))
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body
