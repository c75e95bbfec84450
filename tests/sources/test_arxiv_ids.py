"""arXiv id and link recognition."""

from __future__ import annotations

import pytest

from paperwire.errors import QueryError
from paperwire.sources.arxiv_ids import format_arxiv_ref, looks_like_arxiv_ref, parse_arxiv_ref


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2401.01234", ("2401.01234", None)),
        ("2401.01234v2", ("2401.01234", 2)),
        ("2401.01234v12", ("2401.01234", 12)),
        ("0704.0001", ("0704.0001", None)),
        ("1412.8323", ("1412.8323", None)),
        ("hep-th/9901001", ("hep-th/9901001", None)),
        ("math.GT/0309136", ("math/0309136", None)),
        ("quant-ph/0201082v1", ("quant-ph/0201082", 1)),
        ("astro-ph/0601001", ("astro-ph/0601001", None)),
        ("https://arxiv.org/abs/2401.01234", ("2401.01234", None)),
        ("https://arxiv.org/abs/2401.01234v3", ("2401.01234", 3)),
        ("https://arxiv.org/pdf/2401.01234", ("2401.01234", None)),
        ("https://arxiv.org/pdf/2401.01234v2", ("2401.01234", 2)),
        ("https://arxiv.org/pdf/2401.01234v2.pdf", ("2401.01234", 2)),
        ("https://arxiv.org/pdf/2401.01234.pdf", ("2401.01234", None)),
        ("http://arxiv.org/abs/1707.08567v1", ("1707.08567", 1)),
        ("arxiv.org/abs/2401.01234", ("2401.01234", None)),
        ("www.arxiv.org/abs/2401.01234v1", ("2401.01234", 1)),
        ("https://export.arxiv.org/abs/hep-th/9901001v2", ("hep-th/9901001", 2)),
        ("https://arxiv.org/abs/math.GT/0309136", ("math/0309136", None)),
        ("https://arxiv.org/pdf/quant-ph/0201082v1.pdf", ("quant-ph/0201082", 1)),
        ("https://arxiv.org/abs/2401.01234?context=cs", ("2401.01234", None)),
        ("https://arxiv.org/abs/2401.01234/", ("2401.01234", None)),
        ("HTTPS://ARXIV.ORG/abs/2401.01234", ("2401.01234", None)),
        ("arXiv:2401.01234", ("2401.01234", None)),
        ("arxiv:2401.01234v1", ("2401.01234", 1)),
        ("arXiv:hep-th/9901001", ("hep-th/9901001", None)),
        ("  2401.01234\n", ("2401.01234", None)),
    ],
)
def test_accepted_forms(text: str, expected: tuple[str, int | None]) -> None:
    assert parse_arxiv_ref(text) == expected
    assert looks_like_arxiv_ref(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "2401.123",  # too few digits
        "2401.123456",  # too many digits
        "2413.01234",  # month 13
        "0000.0000",  # month 00
        "2401.01234v0",  # versions start at 1
        "2401.01234v",
        "hep-th/99010",
        "hep-th/9913001",  # month 13
        "https://example.org/abs/2401.01234",
        "https://arxiv.org/list/cs.AI/recent",
        "2401.01234 2401.01235",
        "10.1103/PhysRevD.76.013009",
        "arXiv:",
    ],
)
def test_rejected_forms(text: str) -> None:
    with pytest.raises(QueryError, match="not an arXiv id"):
        parse_arxiv_ref(text)
    assert not looks_like_arxiv_ref(text)


def test_error_message_quotes_the_input() -> None:
    with pytest.raises(QueryError, match="'not-an-id'"):
        parse_arxiv_ref("not-an-id")


def test_format_round_trips() -> None:
    assert format_arxiv_ref("2401.01234", 2) == "2401.01234v2"
    assert format_arxiv_ref("hep-th/9901001") == "hep-th/9901001"
    assert parse_arxiv_ref(format_arxiv_ref(*parse_arxiv_ref("quant-ph/0201082v1"))) == (
        "quant-ph/0201082",
        1,
    )
