"""Safe XML parsing and namespace-agnostic element helpers shared by the arXiv parsers (docs/reliability.md H6)."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

from paperwire.errors import SourceError, UnsafeXMLError


def parse_xml(data: bytes) -> Element:
    """Parse an XML document, refusing any DTD or entity declaration and rejecting malformed input."""
    try:
        # forbid_dtd stops at the DOCTYPE itself, before a single entity is declared, let alone expanded:
        # arXiv never sends DTDs, so a document carrying one is refused outright (billion laughs fails fast).
        root: Element = safe_et.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafeXMLError(f"refused XML with a DTD or entity declaration: {exc!r}") from exc
    except ParseError as exc:
        raise SourceError(f"malformed XML: {exc}") from exc
    return root


def local_name(tag: str) -> str:
    """The tag without its ``{namespace}`` part."""
    return tag.rsplit("}", 1)[-1]


def children(element: Element, name: str) -> Iterator[Element]:
    """Direct children with local name ``name``, whatever their namespace."""
    # Matching on local names keeps us working on records whose namespace declaration went missing
    # (one recorded arXiv response has <arXiv> without its xmlns, so it inherits the OAI namespace).
    return (child for child in element if local_name(child.tag) == name)


def child(element: Element, name: str) -> Element | None:
    """The first direct child with local name ``name``, or None."""
    return next(children(element, name), None)


def descendants(element: Element, name: str) -> Iterator[Element]:
    """All descendants (and the element itself) with local name ``name``."""
    return (el for el in element.iter() if isinstance(el.tag, str) and local_name(el.tag) == name)


def clean(text: str | None) -> str | None:
    """Collapse runs of whitespace (arXiv hard-wraps titles and abstracts); None for missing or blank text."""
    if text is None:
        return None
    collapsed = " ".join(text.split())
    return collapsed or None


def child_text(element: Element, name: str) -> str | None:
    """Whitespace-normalised text of the first child named ``name``, or None."""
    found = child(element, name)
    return clean("".join(found.itertext())) if found is not None else None
