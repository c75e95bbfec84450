"""Library files: every format read from real-looking exports, and exports parsed back by other parsers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import bibtexparser
import pytest
import rispy
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
from citeproc.source.json import CiteProcJSON

from paperwire.errors import IngestError, LibraryFormatError
from paperwire.library.bibtex import bibtex_key
from paperwire.library.formats import (
    EXTENSIONS,
    FORMATS,
    MEDIA_TYPES,
    Entry,
    detect_format,
    export_library,
    read_library,
)
from paperwire.library.latex import latex_to_text, text_to_latex
from paperwire.models import Paper
from tests.conftest import make_paper

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "library"

TRICKY = make_paper(
    "2501.00001",
    title="BERT & co: 50% of $O(n^2)$ costs #1 a_b ~ ^ \\ {x} Über",
    authors=("Jörg Müller", "John Smith Jr.", "Ludwig van Beethoven", "ATLAS Collaboration, CERN"),
    published=date(2024, 5, 1),
    doi="10.1000/ab_c",
    abstract="We show 100% of {things}.",
)
OLD = make_paper(
    "hep-th/9901001", title="Strings", authors=("Edward Witten",), journal_ref="Phys. Rev. D 76 (2007)"
)
PLAIN = make_paper("2503.11731", title="Industrial-Grade Sensor Simulation", published=date(2025, 3, 14))
PAPERS = [TRICKY, OLD, PLAIN]
TAGS = {"2501.00001": ["to read", "nlp"]}
NOTES = {"2501.00001": "Great: 100% worth it & more"}


def read(name: str) -> list[Entry]:
    path = FIXTURES / name
    return read_library(path.read_bytes(), path.name)


def by_key(entries: list[Entry]) -> dict[str | None, Entry]:
    return {e.key: e for e in entries}


# ---- BibTeX export, parsed back by bibtexparser ---------------------------------------------------------


def test_bibtex_export_parses_back_with_bibtexparser() -> None:
    text = export_library(PAPERS, "bibtex", TAGS, NOTES)
    lib = bibtexparser.parse_string(text)
    assert lib.failed_blocks == []
    assert [e.key for e in lib.entries] == [bibtex_key(p) for p in PAPERS]
    first = lib.entries[0]
    assert first["eprint"] == "2501.00001"
    assert first["archivePrefix"] == "arXiv"
    assert first["primaryClass"] == "cs.LG"
    assert first["doi"] == "10.1000/ab_c"
    assert first["url"] == "https://arxiv.org/abs/2501.00001"
    assert first["keywords"] == "to read, nlp"
    # specials escaped, math kept, capitals protected
    assert r"\& co: 50\% of $O(n^2)$ costs \#1 a\_b" in first["title"]
    assert "{BERT}" in first["title"] and r"\{" in first["title"]
    assert first["author"].endswith("{ATLAS Collaboration, CERN}")  # a comma name kept whole
    assert lib.entries[1].entry_type == "article" and lib.entries[1]["journal"] == "Phys. Rev. D 76 (2007)"
    assert lib.entries[1]["eprint"] == "hep-th/9901001"


def test_bibtex_export_round_trips_through_our_reader() -> None:
    entries = read_library(export_library(PAPERS, "bibtex", TAGS, NOTES), "x.bib")
    first = entries[0]
    assert first.title == TRICKY.title
    assert first.authors == TRICKY.authors
    assert (first.arxiv_id, first.doi, first.year) == ("2501.00001", "10.1000/ab_c", 2024)
    assert first.tags == ("to read", "nlp")
    assert first.note == NOTES["2501.00001"]
    assert [e.arxiv_id for e in entries] == ["2501.00001", "hep-th/9901001", "2503.11731"]


def test_bibtex_keys_are_stable_and_unique() -> None:
    alone = export_library([PLAIN], "bibtex")
    together = export_library(PAPERS, "bibtex")
    assert bibtex_key(PLAIN) == "lovelace2025_2503.11731"
    assert "@misc{lovelace2025_2503.11731," in alone and "@misc{lovelace2025_2503.11731," in together
    assert bibtex_key(TRICKY) == "muller2024_2501.00001"  # ASCII only
    twins = [make_paper("2501.00002"), make_paper("2501.00003")]  # same author, same year
    assert len({bibtex_key(p) for p in twins}) == 2
    assert bibtex_key(OLD) == "witten2025_hep-th_9901001"
    assert bibtex_key(make_paper("2501.00004", authors=())).startswith("arxiv2025_")


@pytest.mark.parametrize(
    "text",
    ["100% & $x_1$ {a} #1", "Schrödinger's ~cat^", "back\\slash", "$\\frac{a$ unbalanced", "A_{b}c } {"],
)
def test_latex_escaping_round_trips(text: str) -> None:
    escaped = text_to_latex(text)
    depth = 0
    for i, c in enumerate(escaped):  # braces balanced, counting escaped ones out
        if c in "{}" and (i == 0 or escaped[i - 1] != "\\"):
            depth += 1 if c == "{" else -1
            assert depth >= 0
    assert depth == 0
    assert latex_to_text(escaped) == " ".join(text.split())


def test_latex_accents_in_every_spelling() -> None:
    assert latex_to_text(r"M{\"u}ller M\"{u}ller M\"uller") == "Müller Müller Müller"
    assert latex_to_text(r"\'{e}t\'e Garc{\'\i}a \c{c}a \v{S}koda Erd\H{o}s") == "été García ça Škoda Erdős"
    assert latex_to_text(r"{\ss} {\O}stergaard \L\'od\'z \aa") == "ß Østergaard Łódź å"
    assert (
        latex_to_text(r"\emph{Caf\'e} \textbf{\textit{au}} lait \& 5\% --- {BERT}")
        == "Café au lait & 5% — BERT"
    )
    assert latex_to_text(r"Cost $\mathcal{O}(n^2)$ of {\relax Th}is") == r"Cost $\mathcal{O}(n^2)$ of This"


# ---- CSL JSON export: citeproc-py renders it; its structure is CSL's ------------------------------------


def test_csl_export_renders_with_citeproc() -> None:
    data = json.loads(export_library(PAPERS, "csl", TAGS, NOTES))
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bib = CitationStylesBibliography(style, CiteProcJSON(data), formatter.plain)
    for p in PAPERS:
        bib.register(Citation([CitationItem(p.id)]))
    rendered = [str(item) for item in bib.bibliography()]
    assert len(rendered) == 3
    text = "\n".join(rendered)
    assert "Müller, J." in text and "Witten, E." in text
    assert "https://doi.org/10.1000/ab_c" in text
    assert "(2024)" in text


def test_csl_export_structure() -> None:
    data = json.loads(export_library(PAPERS, "csl", TAGS, NOTES))
    assert isinstance(data, list) and [i["id"] for i in data] == [p.id for p in PAPERS]
    first = data[0]
    assert first["type"] == "article"  # CSL's type for a preprint
    assert first["title"] == TRICKY.title  # CSL JSON is plain text: nothing escaped
    assert first["author"][0] == {"family": "Müller", "given": "Jörg"}
    assert first["author"][1] == {"family": "Smith", "given": "John", "suffix": "Jr."}
    assert first["author"][2] == {"family": "van Beethoven", "given": "Ludwig"}
    assert first["author"][3] == {"literal": "ATLAS Collaboration, CERN"}
    assert first["issued"] == {"date-parts": [[2024, 5, 1]]}
    assert (first["DOI"], first["number"], first["URL"]) == (
        "10.1000/ab_c",
        "arXiv:2501.00001",
        "https://arxiv.org/abs/2501.00001",
    )
    assert first["keyword"] == "to read, nlp" and first["annote"] == NOTES["2501.00001"]
    assert data[1]["type"] == "article-journal" and data[1]["container-title"] == "Phys. Rev. D 76 (2007)"
    assert data[2]["DOI"] == "10.48550/arXiv.2503.11731"  # arXiv's own DOI where there is no other
    for item in data:
        for name in item["author"]:
            assert set(name) <= {"family", "given", "suffix", "literal"}
        assert all(isinstance(x, int) for x in item["issued"]["date-parts"][0])
    back = read_library(export_library(PAPERS, "csl"))
    assert [(e.arxiv_id, e.title) for e in back] == [(p.id, p.title) for p in PAPERS]


# ---- RIS export, parsed back by rispy ----------------------------------------------------------------


def test_ris_export_parses_back_with_rispy() -> None:
    text = export_library(PAPERS, "ris", TAGS, NOTES)
    records = rispy.loads(text)
    assert len(records) == 3
    first = records[0]
    assert first["type_of_reference"] == "UNPB"
    assert first["title"] == TRICKY.title
    assert first["authors"][:2] == ["Müller, Jörg", "Smith, Jr., John"]
    assert first["doi"] == "10.1000/ab_c"
    assert "https://arxiv.org/abs/2501.00001" in first["urls"]
    assert first["keywords"] == ["to read", "nlp"]
    assert first["notes"] == [NOTES["2501.00001"]]
    assert first["year"] == "2024"
    assert records[1]["type_of_reference"] == "JOUR"
    assert records[1]["journal_name"] == "Phys. Rev. D 76 (2007)"
    back = read_library(text)
    assert [e.arxiv_id for e in back] == [p.id for p in PAPERS]
    # RIS has only "Last, First": a name with a comma of its own ("ATLAS Collaboration, CERN") comes back
    # turned round; the others survive
    assert back[0].authors[:3] == TRICKY.authors[:3] and back[0].tags == ("to read", "nlp")


def test_export_of_nothing_and_of_an_unknown_format() -> None:
    assert export_library([], "bibtex") == ""
    assert json.loads(export_library([], "csl")) == []
    with pytest.raises(LibraryFormatError):
        export_library(PAPERS, "endnote")  # type: ignore[arg-type]
    assert set(MEDIA_TYPES) == set(EXTENSIONS) == {"bibtex", "csl", "ris"}
    assert EXTENSIONS["bibtex"] == ".bib" and "bibtex" in MEDIA_TYPES["bibtex"]


# ---- reading: hand-kept BibTeX, Zotero, Better BibTeX, CSL JSON, RIS, id lists --------------------------


def test_read_hand_kept_bibtex() -> None:
    e = by_key(read("arxiv.bib"))
    assert len(e) == 7
    vaswani = e["vaswani2017attention"]
    assert (vaswani.arxiv_id, vaswani.year, vaswani.raw_type) == ("1706.03762", 2017, "misc")
    assert vaswani.authors[0] == "Ashish Vaswani" and len(vaswani.authors) == 8
    assert e["devlin2018bert"].arxiv_id == "1810.04805"  # "arXiv preprint arXiv:ID" in journal
    assert e["devlin2018bert"].title == (
        "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"
    )
    assert e["devlin2018bert"].authors[1] == "Ming-Wei Chang"  # "Last, First" turned round
    assert e["witten1998"].arxiv_id == "hep-th/9802150"  # old style, version dropped
    assert e["witten1998"].title == "Anti-de Sitter space and holography"
    assert e["he2016resnet"].doi == "10.1109/CVPR.2016.90" and e["he2016resnet"].arxiv_id is None
    assert e["he2016resnet"].tags == ("vision", "residual networks")
    muller = e["muller2024"]
    assert muller.title == (
        "Schönheit und Élégance: Müller's Café Theorem for 50% of $\\mathcal{O}(n^2)$ Graphs"
    )
    assert muller.authors == ("Jörg Müller", "María García", "Søren Østergaard", "Ayşe Koç")
    assert muller.note == "Read this one first."
    assert e["nokey2023"].title is None and e["nokey2023"].authors == ("Anne Nobody",)
    assert e["arxivdoi"].arxiv_id == "2503.11731"  # from the arXiv DOI, resolver prefix dropped
    assert e["arxivdoi"].doi == "10.48550/arXiv.2503.11731"
    assert e["vaswani2017attention"].line == 4  # where the entry starts


def test_read_zotero_bibtex() -> None:
    attention, heat = read("zotero.bib")
    assert attention.arxiv_id == "1706.03762" and attention.doi == "10.48550/arXiv.1706.03762"
    assert attention.title == "Attention Is All You Need"  # Zotero's protecting braces gone
    assert attention.year == 2023
    assert attention.tags == (
        "Computer Science - Computation and Language",
        "Computer Science - Machine Learning",
    )
    assert attention.note == "Comment: 15 pages, 5 figures"
    assert heat.arxiv_id == "1605.08386" and heat.title == "Heat-bath random walks with Markov bases"


def test_read_better_bibtex() -> None:
    attention, bert, lstm = read("better-bibtex.bib")
    assert (attention.arxiv_id, attention.year, attention.raw_type) == ("1706.03762", 2017, "online")
    assert attention.title == "Attention Is All You Need"  # {{...}} double braces
    assert attention.tags == ("Computer Science - Computation and Language", "transformers")
    assert bert.title == "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"
    assert (bert.doi, bert.year) == ("10.18653/v1/N19-1423", 2019)
    assert lstm.arxiv_id is None  # eprint = {not-an-id} is no id
    assert lstm.authors == ("Sepp Hochreiter", "Jürgen Schmidhuber")


def test_read_zotero_csl_json() -> None:
    attention, bert, anon, junk = read("zotero.json")
    assert attention.arxiv_id == "1706.03762" and attention.source_format == "csl"
    assert attention.authors == ("Ashish Vaswani", "Noam Shazeer") and attention.year == 2023
    assert len(attention.tags) == 2
    assert bert.title is not None and bert.title.startswith("BERT: Pre-training")  # markup stripped
    assert bert.doi == "10.18653/V1/N19-1423" and bert.arxiv_id is None
    assert anon.authors == ("The Anonymous Collective",) and anon.year == 2021
    assert junk.problem == "item 4 is not an object"


def test_read_zotero_ris() -> None:
    attention, resnet, heat, cut = read("zotero.ris")
    assert attention.arxiv_id == "1706.03762" and attention.year == 2023
    assert attention.note == "Comment: 15 pages, 5 figures"
    assert attention.tags == (
        "Computer Science - Machine Learning",
        "Computer Science - Computation and Language",
    )
    assert resnet.doi == "10.1109/CVPR.2016.90"  # resolver prefix dropped
    assert resnet.authors == ("Kaiming He", "Xiangyu Zhang")
    assert (heat.arxiv_id, heat.year, heat.authors) == ("1605.08386", 2016, ("Caprice Stanley",))
    # the last record has no ER line: read as far as it goes
    assert cut.title == "Schönheit und Élégance: Müller's Café Theorem" and cut.problem is None
    assert cut.tags == ("graphs", "theory") and cut.line == 34


def test_read_id_list() -> None:
    entries = read("ids.txt")
    assert [e.arxiv_id for e in entries if e.arxiv_id] == [
        "1706.03762",
        "1810.04805",
        "1605.08386",
        "astro-ph/0601001",
        "hep-th/9802150",
        "2503.11731",
        "1707.08567",
        "2104.12255",
    ]
    assert [e.doi for e in entries if e.doi and not e.arxiv_id] == ["10.1109/CVPR.2016.90"]
    assert entries[-1].problem is not None and "line 10" in entries[-1].problem


def test_broken_bibtex_keeps_the_entries_around_the_damage() -> None:
    good, broken, after = read("broken.bib")
    assert good.arxiv_id == "1706.03762"
    assert broken.key == "broken2" and broken.line == 7
    assert broken.problem is not None and "line 7" in broken.problem
    assert after.doi == "10.1109/CVPR.2016.90"


# ---- telling formats apart; unreadable input ------------------------------------------------------------


def test_format_detected_from_content_before_file_name() -> None:
    ris = (FIXTURES / "zotero.ris").read_text()
    assert detect_format(ris, "renamed.bib") == "ris"
    assert detect_format((FIXTURES / "arxiv.bib").read_text(), None) == "bibtex"
    assert detect_format((FIXTURES / "zotero.json").read_text(), "export.txt") == "csl"
    assert detect_format("2401.01234\nhttps://arxiv.org/abs/2312.00752v2\n", None) == "ids"
    assert set(FORMATS) == {"bibtex", "csl", "ris", "ids"}
    # content says nothing plain: the file name decides
    assert detect_format("% only a comment\n", "refs.bib") == "bibtex"
    entries = read_library("2401.01234", fmt="ids")
    assert entries[0].arxiv_id == "2401.01234"


def test_encodings_are_read() -> None:
    bib = "@article{k, title = {Über Café}, eprint = {2401.01234}}\n"
    assert read_library(bib.encode("utf-8-sig"))[0].title == "Über Café"
    assert read_library(bib.encode("utf-16"))[0].title == "Über Café"
    assert read_library(bib.encode("cp1252"))[0].title == "Über Café"  # an old Windows BibTeX file


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"%PDF-1.5\n\x00\x01\x02\x03 binary", "binary"),
        (b"Dear colleague,\nhere are some thoughts.\n", "cannot tell the format"),
        (b'[{"title": "x",]', "not valid CSL JSON"),
        (b'{"not": "csl"}', "not CSL JSON"),
        (b"@comment{nothing here}\n", "no entries"),
        (b"@article{only, title = {never closed\n", "no readable entry"),
    ],
)
def test_unreadable_input_is_refused_with_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(LibraryFormatError, match=message) as info:
        read_library(data)
    assert isinstance(info.value, IngestError) and info.value.http_status == 400


def test_unknown_format_name_is_refused() -> None:
    with pytest.raises(LibraryFormatError, match="unknown library format"):
        read_library("1706.03762", fmt="endnote")


def test_entries_keep_papers_fields_we_export(tmp_path: Path) -> None:
    # what the web download writes is what the import reads: one more check through a file on disk
    path = tmp_path / f"library{EXTENSIONS['ris']}"
    path.write_text(export_library([PLAIN], "ris"), encoding="utf-8")
    (entry,) = read_library(path.read_bytes(), path.name)
    assert isinstance(entry, Entry) and entry.arxiv_id == PLAIN.id and entry.year == 2025
    assert isinstance(PLAIN, Paper)
