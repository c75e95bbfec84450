"""RSS 2.0 documents (pure): the daily list, a category, a search. Text goes in as XML text, escaped (W1)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, date, datetime
from email.utils import format_datetime

from paperwire.models import Paper
from paperwire.search.keyword import paper_date
from paperwire.web.render import strip_xml_invalid

ATOM = "http://www.w3.org/2005/Atom"
DC = "http://purl.org/dc/elements/1.1/"
ET.register_namespace("atom", ATOM)
ET.register_namespace("dc", DC)


def _rfc822(d: date) -> str:
    return format_datetime(datetime(d.year, d.month, d.day, tzinfo=UTC))


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    el = ET.SubElement(parent, tag)
    el.text = strip_xml_invalid(text)
    return el


def rss(
    title: str, link: str, self_url: str, description: str, papers: Sequence[Paper], base_url: str
) -> bytes:
    """An RSS 2.0 feed of ``papers``; item links point at this paperwire's paper pages."""
    root = ET.Element("rss", {"version": "2.0"})
    ch = ET.SubElement(root, "channel")
    _text(ch, "title", title)
    _text(ch, "link", link)
    _text(ch, "description", description)
    ET.SubElement(ch, f"{{{ATOM}}}link", {"href": self_url, "rel": "self", "type": "application/rss+xml"})
    _text(ch, "generator", "paperwire")
    dates = [d for d in (paper_date(p) for p in papers) if d]
    if dates:
        _text(ch, "lastBuildDate", _rfc822(max(dates)))
    for p in papers:
        it = ET.SubElement(ch, "item")
        _text(it, "title", " ".join(p.title.split()))
        _text(it, "link", f"{base_url.rstrip('/')}/paper/{p.id}")
        _text(it, "description", " ".join(p.abstract.split()))
        guid = _text(it, "guid", p.abs_url)
        guid.set("isPermaLink", "true")
        for a in p.authors:
            _text(it, f"{{{DC}}}creator", a)
        for c in p.categories:
            _text(it, "category", c)
        d = paper_date(p)
        if d:
            _text(it, "pubDate", _rfc822(d))
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body
