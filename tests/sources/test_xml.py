"""Safe XML parsing (docs/reliability.md H6): DTDs and entities are refused fast, malformed XML is a SourceError."""

from __future__ import annotations

import time

import pytest

from paperwire.errors import SourceError, UnsafeXMLError
from paperwire.sources.arxiv_api import parse_atom
from paperwire.sources.arxiv_oai import parse_list_records
from paperwire.sources.xml import child_text, clean, local_name, parse_xml

# The classic entity-expansion bomb: ten levels of ten-fold expansion, about 3 GB if expanded.
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<OAI-PMH><responseDate>&lol9;</responseDate></OAI-PMH>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&xxe;</title></feed>"""


def test_billion_laughs_fails_fast() -> None:
    started = time.perf_counter()
    with pytest.raises(UnsafeXMLError):
        parse_xml(BILLION_LAUGHS)
    assert time.perf_counter() - started < 1.0


def test_billion_laughs_is_refused_by_both_arxiv_parsers() -> None:
    with pytest.raises(UnsafeXMLError):
        parse_list_records(BILLION_LAUGHS)
    with pytest.raises(UnsafeXMLError):
        parse_atom(BILLION_LAUGHS)


def test_external_entities_are_refused() -> None:
    with pytest.raises(UnsafeXMLError):
        parse_xml(EXTERNAL_ENTITY)


def test_any_doctype_is_refused() -> None:
    # arXiv never sends a DTD, so even a harmless one is treated as a sign something is wrong.
    with pytest.raises(UnsafeXMLError):
        parse_xml(b'<?xml version="1.0"?><!DOCTYPE feed><feed/>')


@pytest.mark.parametrize("data", [b"<feed><entry></feed>", b"", b"not xml at all", b"<a>&undefined;</a>"])
def test_malformed_xml_is_a_source_error_not_unsafe(data: bytes) -> None:
    with pytest.raises(SourceError) as info:
        parse_xml(data)
    assert not isinstance(info.value, UnsafeXMLError)


def test_well_formed_xml_parses_with_namespaces() -> None:
    root = parse_xml(b'<feed xmlns="http://www.w3.org/2005/Atom"><title>  A\n  title </title></feed>')
    assert local_name(root.tag) == "feed"
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert child_text(root, "title") == "A title"
    assert child_text(root, "missing") is None


def test_clean_collapses_whitespace_and_blanks() -> None:
    assert clean("  Liquid\n  Xenon  ") == "Liquid Xenon"
    assert clean(" \n ") is None
    assert clean(None) is None
