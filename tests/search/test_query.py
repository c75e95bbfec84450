"""The query language parser (pure)."""

from __future__ import annotations

from datetime import date

import pytest

from paperwire.errors import QueryError
from paperwire.search.query import parse_date, parse_query


def test_full_query_language() -> None:
    q = parse_query(
        'author:"Kaiming He" "masked autoencoder" -video cat:cs.cv after:2025-06 before:2026 scaling'
    )
    assert q.authors == ["Kaiming He"]
    assert q.phrases == ["masked autoencoder"]
    assert q.excluded == ["video"]
    assert q.categories == ["cs.CV"]
    assert q.after == date(2025, 6, 1) and q.before == date(2026, 12, 31)
    assert q.words == ["scaling"]
    assert q.semantic_text == "scaling masked autoencoder"


def test_options_merge_with_inline_filters() -> None:
    q = parse_query("diffusion after:2025-01-01", categories=["cs.LG"], after=date(2025, 3, 1))
    assert q.categories == ["cs.LG"] and q.after == date(2025, 3, 1)


@pytest.mark.parametrize(
    "text", ["2401.01234", "https://arxiv.org/abs/2312.00752v2", "arXiv:2401.01234", "hep-th/9901001"]
)
def test_pasted_ids_find_the_paper(text: str) -> None:
    assert parse_query(text).paper_id is not None


def test_unknown_prefix_is_text() -> None:
    q = parse_query("BERT: pretraining")
    assert (
        q.words == ["BERT:pretraining"] or "BERT:" in " ".join(q.words) or q.words == ["BERT:", "pretraining"]
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"unclosed', "unbalanced quote"),
        ("after:yesterday", "not a date"),
        ("after:2026-13", "not a date"),
        ("cat:", "needs a value"),
        ("cat:c$", "not an arXiv category"),
        ("-author:x", "not supported"),
        ("after:2026 before:2025", "later than"),
        ("x" * 1001, "too long"),
    ],
)
def test_bad_queries_have_clear_messages(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_query(text)


def test_partial_dates() -> None:
    assert parse_date("2024-02", end=True) == date(2024, 2, 29)
    assert parse_date("2024") == date(2024, 1, 1)
