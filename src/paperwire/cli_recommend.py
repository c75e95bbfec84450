"""`paperwire recommend`: new papers for a library file, without an account (paperwire.recommend does the work)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from paperwire.errors import IngestError, QueryError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

MAX_FILE_BYTES = 64 * 2**20


def recommend_cmd(
    library: Annotated[
        Path,
        typer.Option(
            "--library",
            "-l",
            help="The library: a BibTeX, CSL JSON or RIS export (Zotero, Mendeley, ...) or a list of arXiv ids "
            "or links, one a line. Its entries are matched to the papers here by arXiv id, DOI or title.",
        ),
    ],
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="First day of the window of new papers, YYYY-MM-DD (default: a week before --until).",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="Last day of the window, YYYY-MM-DD (default: the newest day in the store)."
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100, help="How many papers.")] = 20,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", help="bibtex, csl, ris or ids (default: told from the content, then the name)."
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print one JSON object: {"since", "until", "library": {"entries", "matched", "unmatched": '
            '[{"entry", "line", "reason", "code"}]}, "recommendations": [a paper as /api/papers/{id} gives it, '
            'plus "score" and "because": [{"id", "title"}], the library papers that make it relevant, best '
            "first, at most 3]}, as /api/recommend answers. Unmatched entries also go to stderr.",
        ),
    ] = False,
) -> None:
    """New papers ranked by how well they match a library, each with the library papers that make it relevant.

    The library's papers must be in this paperwire (ingest them first); entries that match none are listed
    with the reason. Papers of the library never come back. The method (a per-library classifier blended with
    similarity to the library's papers) is described in the README under Recommendations.
    """
    from paperwire.cli import _open
    from paperwire.recommend.service import (
        library_json,
        match_library,
        matched_ids,
        recommend,
        recommendations_json,
        window,
    )

    try:
        if library.stat().st_size > MAX_FILE_BYTES:
            raise IngestError(f"{library}: larger than {MAX_FILE_BYTES // 2**20} MB; not a library file")
        data = library.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read {library}: {exc.strerror or exc}") from None
    first, last = _day("--since", since), _day("--until", until)
    pw = _open()  # a fresh home gets the demo sample, as `search` and `similar` do
    try:
        report = match_library(pw, data, filename=library.name, fmt=fmt)
        to_err = as_json
        for u in report.unmatched:
            label = u.entry.label
            where = f" (line {u.entry.line})" if u.entry.line and not label.startswith("line ") else ""
            (err if to_err else out).print(
                f"[yellow]unmatched:[/] {escape(label)}{where}: {escape(u.reason)}"
            )
        win = window(pw, first, last)
        recs = recommend(pw, matched_ids(report), since=win.since, until=win.until, limit=limit)
        if as_json:
            body = recommendations_json(pw, recs, win, library_json(report))
            sys.stdout.write(json.dumps(body, ensure_ascii=False) + "\n")
            return
        out.print(
            f"{len(report.paper_ids)} library papers matched of {len(report.matched) + len(report.unmatched)} "
            f"entries; new papers {win.since.isoformat()} .. {win.until.isoformat()}"
        )
        if not recs:
            out.print("no new papers in this window")
            return
        titles = {
            pid: p.title
            for pid, p in pw.store.get_papers(sorted({b for r in recs for b in r.because})).items()
        }
        for i, r in enumerate(recs, start=1):
            day = r.paper.announced or r.paper.published
            out.print(
                f"[bold]{i:>2}.[/] [cyan]{r.paper.id}[/] {escape(r.paper.title)}  "
                f"[dim](score {r.score:.2f}{', ' + day.isoformat() if day else ''})[/]"
            )
            for j, b in enumerate(r.because):
                label = "because" if j == 0 else "       "
                out.print(f"    [dim]{label}[/] {b} {escape(titles.get(b, ''))}")
    finally:
        pw.close()


def _day(name: str, value: str | None) -> date | None:
    """A YYYY-MM-DD option as a date (None when not given); QueryError (exit 2) naming the option otherwise."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise QueryError(f"{name} {value!r}: give a day as YYYY-MM-DD") from None
