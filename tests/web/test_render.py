"""The pure page helpers: highlighting, snippets, links, BibTeX."""

from __future__ import annotations

from datetime import date

from paperwire.web.render import (
    bibtex,
    doi_url,
    highlight,
    linkify,
    safe_url,
    snippet,
    split_math,
    strip_xml_invalid,
)
from tests.conftest import make_paper


def _analyze(word: str) -> list[str]:
    w = word.lower()
    return [w[:-1] if w.endswith("s") else w]


def test_highlight_marks_words_outside_math_and_escapes() -> None:
    out = highlight("<b>Graphs</b> and $graph_{s}$ graph", {"graph"}, _analyze)
    assert str(out) == "&lt;b&gt;<mark>Graphs</mark>&lt;/b&gt; and $graph_{s}$ <mark>graph</mark>"
    assert str(highlight("<i>", set(), _analyze)) == "&lt;i&gt;"


def test_split_math() -> None:
    assert split_math("a $x$ b $$y$$ \\(z\\)") == [
        (False, "a "),
        (True, "$x$"),
        (False, " b "),
        (True, "$$y$$"),
        (False, " "),
        (True, "\\(z\\)"),
    ]


def test_snippet_never_cuts_a_formula() -> None:
    text = "word " * 60 + "$a + b = c$ " + "tail " * 50
    s = snippet(text, limit=305)
    assert s.endswith(" …") and s.count("$") % 2 == 0
    assert snippet("short text") == "short text"


def test_safe_url_allows_only_http() -> None:
    assert safe_url("https://arxiv.org/abs/1") == "https://arxiv.org/abs/1"
    for bad in (
        "javascript:alert(1)",
        " JAVASCRIPT:alert(1)",
        "data:text/html,x",
        "/relative",
        "http://",
        "ftp://x",
    ):
        assert safe_url(bad) is None, bad
    assert doi_url('10.1/"x') == "https://doi.org/10.1/%22x"
    assert doi_url(" ") is None


def test_linkify_escapes_and_links_http_only() -> None:
    out = str(linkify('see https://a.org/x. and javascript:alert(1) <b>"'))
    assert out == (
        'see <a href="https://a.org/x" rel="nofollow noopener noreferrer">https://a.org/x</a>. '
        "and javascript:alert(1) &lt;b&gt;&#34;"
    )


def test_bibtex_entry() -> None:
    p = make_paper(
        "2501.00001",
        title="A {study} of } braces",
        authors=("Ada Lovelace", "Émile Borel"),
        published=date(2024, 12, 30),
        doi="10.1/x",
    )
    bib = bibtex(p)
    assert bib.startswith("@misc{lovelace2024study,\n")
    assert "title = {A study of braces}" in bib  # unbalanced braces would break the entry: dropped
    assert "author = {Ada Lovelace and Émile Borel}" in bib
    assert "eprint = {2501.00001}" in bib and "primaryClass = {cs.LG}" in bib and "doi = {10.1/x}" in bib


def test_strip_xml_invalid() -> None:
    assert strip_xml_invalid("a\x0bb\x00c\td") == "abc\td"
