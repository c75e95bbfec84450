"""The rules every paper meets before it is stored (records.check_paper), whatever its source."""

from __future__ import annotations

from datetime import date

import pytest

from paperwire.errors import RecordError
from paperwire.records import MAX_ABSTRACT, MAX_TITLE, MAX_VERSION, check_paper, clean_text
from tests.conftest import make_paper


def test_a_good_paper_passes_unchanged() -> None:
    p = make_paper()
    assert check_paper(p) == p


def test_control_characters_are_dropped_and_whitespace_folded() -> None:
    p = check_paper(make_paper(title="Bad\x00 \x1b[31mtitle\x7f\u0085", authors=("A\x0cB",), comment="c\x08"))
    assert p.title == "Bad [31mtitle" and p.authors == ("AB",) and p.comment == "c"


@pytest.mark.parametrize("field", ["title", "abstract"])
def test_a_lone_surrogate_is_a_record_error(field: str) -> None:
    with pytest.raises(RecordError, match=rf"{field} holds invalid Unicode.*\\ud800 at character 5"):
        check_paper(make_paper(**{field: "bad \ud800"}))
    with pytest.raises(RecordError, match="author holds invalid Unicode"):
        check_paper(make_paper(authors=("Ok", "x\udfff")))


def test_sizes_past_the_limits_are_refused_never_cut() -> None:
    with pytest.raises(
        RecordError, match=f"abstract has 5,000,000 characters; the limit is {MAX_ABSTRACT:,}"
    ):
        check_paper(make_paper(abstract="a" * 5_000_000))
    with pytest.raises(RecordError, match="title has"):
        check_paper(make_paper(title="t" * (MAX_TITLE + 1)))
    assert check_paper(make_paper(abstract="a" * MAX_ABSTRACT)).abstract == "a" * MAX_ABSTRACT
    with pytest.raises(RecordError, match="authors; the limit"):
        check_paper(make_paper(authors=("A",) * 10_001))


@pytest.mark.parametrize("version", [0, -1, MAX_VERSION + 1, 99999999999999999999, 2**4000])
def test_versions_out_of_range(version: int) -> None:
    with pytest.raises(RecordError, match=r"version .* is out of range"):
        check_paper(make_paper(version=version))


def test_dates_out_of_range() -> None:
    with pytest.raises(RecordError, match="announced date 0001-01-01 is out of range"):
        check_paper(make_paper(announced=date(1, 1, 1)))
    with pytest.raises(RecordError, match="published date 9999-12-31"):
        check_paper(make_paper(published=date(9999, 12, 31)))


def test_empty_title_after_cleaning() -> None:
    with pytest.raises(RecordError, match="title is empty"):
        check_paper(make_paper(title="\x00\x01 "))


def test_clean_text_keeps_real_text() -> None:
    assert clean_text("  Über  $\\alpha$\n\tβ-VAE — 日本語  ", "t") == "Über $\\alpha$ β-VAE — 日本語"
