"""The `paperwire` command: thin verbs over the library. Errors become one line and an exit code."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from paperwire.cli_db import db_app
from paperwire.cli_digest import digest_app
from paperwire.cli_recommend import recommend_cmd
from paperwire.cli_users import users_app
from paperwire.config import Settings
from paperwire.errors import PaperwireError, QueryError
from paperwire.models import SearchHit

if TYPE_CHECKING:  # opening a home loads the search stack: only when a command needs it
    from paperwire.app_context import Paperwire
    from paperwire.search.hybrid import Sort

app = typer.Typer(
    help="paperwire: self-hosted arXiv discovery. Ingest papers, search them (keyword + semantic), serve an API.",
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    add_completion=False,
)
ingest_app = typer.Typer(help="Bring papers in: from files, or from arXiv itself.", no_args_is_help=True)
eval_app = typer.Typer(help="Measure search quality.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
app.add_typer(eval_app, name="eval")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(digest_app, name="digest")
app.command("recommend")(recommend_cmd)

out = Console(soft_wrap=True)  # never break ids, paths or messages across lines
err = Console(stderr=True, soft_wrap=True)
_state: dict[str, Any] = {}
SKIPPED_EXIT = 4  # `ingest file`: done, but some records were skipped as bad


def settings() -> Settings:
    """The settings in force for this invocation."""
    s: Settings = _state["settings"]
    return s


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option("--home", help="Data directory (default: $PAPERWIRE_HOME or ~/.local/share/paperwire)."),
    ] = None,
) -> None:
    """With no command, serve: load the demo sample on first run, then answer the JSON API."""
    overrides: dict[str, Any] = {"home": home} if home else {}
    try:
        _state["settings"] = Settings(**overrides)
    except ValidationError as exc:  # one line per setting, named as the user sets it
        for e in exc.errors():
            name = ".".join(str(x) for x in e["loc"])
            where = f" PAPERWIRE_{name.upper()}" if name in Settings.model_fields else ""
            msg = str(e["msg"]).removeprefix("Value error, ")
            err.print(f"[red]error:[/] invalid setting{escape(where)}: {escape(msg)}")
        raise typer.Exit(2) from None
    if ctx.invoked_subcommand is None:
        serve()


# --embed / --no-embed / neither, as every ingest command takes it (see _index_and_embed)
EmbedOption = Annotated[
    bool | None,
    typer.Option(
        help="Compute embeddings of the new papers: --embed here and now; --no-embed leave them to "
        "`paperwire embed` or a worker. Default: here, unless a running server or worker embeds papers "
        "(its embed job ran within the last few minutes): then it does, and this command never loads "
        "the model."
    ),
]


def _open(first_run: bool = True) -> Paperwire:
    from paperwire.app_context import open_paperwire

    return open_paperwire(settings(), first_run=first_run)


# -- ingest -----------------------------------------------------------------------------------


@ingest_app.command("file")
def ingest_file_cmd(
    path: Annotated[
        Path, typer.Argument(help="JSON lines (listing or arXiv snapshot format), plain or .gz.")
    ],
    embed: EmbedOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Records per committed batch.")] = 2000,
    restart: Annotated[
        bool, typer.Option(help="Ignore the checkpoint of an earlier run of this file.")
    ] = False,
    bad_records: Annotated[
        Path | None,
        typer.Option(
            "--bad-records",
            help="Add every skipped record's line number and reason to this file (JSON lines; a resumed run "
            "appends, --restart starts it anew).",
        ),
    ] = None,
) -> None:
    """Ingest papers from a file: resumable; bad records reported by line and skipped, the rest stored.

    Exit status 0 when every record was good, 4 when some were skipped as bad (the others are stored).
    """
    from paperwire.errors import IngestError, RecordError
    from paperwire.ingest import ingest_file

    if not path.is_file():
        raise IngestError(f"no such file: {path}")
    pw = _open(first_run=False)
    size = path.stat().st_size
    sink = None
    if bad_records:
        try:  # appended to: a resumed run adds to what the runs before it listed
            sink = bad_records.open("a" if not restart else "w", encoding="utf-8")
        except OSError as exc:
            raise PaperwireError(f"cannot write {bad_records}: {exc.strerror or exc}") from None

    def note_bad(e: RecordError) -> None:
        if sink is not None:
            sink.write(json.dumps({"line": e.line, "reason": e.reason}, ensure_ascii=False) + "\n")

    try:
        with _bar(bytes_=True) as bar:
            task = bar.add_task(f"reading {path.name}", total=size)
            report = ingest_file(
                pw.store,
                path,
                batch_size=batch_size,
                restart=restart,
                on_bytes=lambda pos: bar.update(task, completed=pos),
                on_bad=note_bad,
            )
    finally:
        if sink is not None:
            sink.close()
    for bad in report.bad[:20]:
        err.print(f"[yellow]skipped[/] {escape(str(path))}: {escape(str(bad))}")
    if report.skipped > 20:
        more = f" (all of them in {bad_records})" if bad_records else " (--bad-records FILE lists them all)"
        err.print(f"[yellow]... and {report.skipped - 20} more bad records[/]{escape(more)}")
    out.print(report.summary())
    _index_and_embed(pw, embed)
    if report.skipped:
        raise typer.Exit(SKIPPED_EXIT)


def _index_and_embed(pw: Paperwire, embed: bool | None) -> None:
    n = pw.engine.refresh_keyword()  # never the vectors: a server reads the new ones from the store by itself
    out.print(f"keyword index up to date ({n} papers indexed); keyword search works now")
    if embed is None:
        runner = _live_embedder(pw)
        if runner is not None:
            out.print(
                f"the embed job of {escape(runner)} embeds new papers (it ran moments ago): they become "
                "semantically searchable as it reaches them (--embed embeds them here instead)"
            )
            return
    if embed is not False:
        embed_cmd_impl(pw)


def _live_embedder(pw: Paperwire) -> str | None:
    """The runner whose embed job ran lately (within the lateness the status page allows), if any."""
    last = pw.store.last_job_runs().get("embed")
    every = pw.settings.refresh_interval
    if last is None or every <= 0 or last.outcome not in ("ok", "running"):
        return None
    age = (datetime.now(UTC) - last.started).total_seconds()
    return last.runner if age <= 3 * every + 60 else None


@ingest_app.command("arxiv")
def ingest_arxiv_cmd(
    refs: Annotated[
        list[str] | None, typer.Argument(help="arXiv ids or URLs (abs/pdf) to fetch one by one.")
    ] = None,
    ids: Annotated[list[str] | None, typer.Option("--id", help="An arXiv id or URL (repeatable).")] = None,
    set_spec: Annotated[
        str | None, typer.Option("--set", help="OAI-PMH set to harvest, e.g. cs or cs:cs:CV.")
    ] = None,
    from_date: Annotated[
        str | None,
        typer.Option(
            "--from", help="Harvest from this date (YYYY-MM-DD); default: where the last harvest stopped."
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Harvest up to this date (YYYY-MM-DD).")
    ] = None,
    prefix: Annotated[
        str, typer.Option("--prefix", help="OAI-PMH metadataPrefix: arXiv, arXivRaw or oai_dc.")
    ] = "arXiv",
    embed: EmbedOption = None,
) -> None:
    """Fetch papers from arXiv: an OAI-PMH harvest of a set (incremental), or single papers by id/URL."""
    from paperwire.harvest import fetch_by_ids, harvest_set

    wanted = list(refs or []) + list(ids or [])
    if not wanted and not set_spec:
        raise PaperwireError("say what to fetch: --set SET for a harvest, or ids/URLs")
    if settings().contact_is_placeholder:
        err.print(
            "[yellow]warning:[/] PAPERWIRE_CONTACT_EMAIL is the placeholder "
            f"{escape(settings().contact_email)!r}; arXiv asks API users for a real contact address "
            "(it goes in the User-Agent)"
        )
    pw = _open(first_run=False)
    if wanted:
        got = fetch_by_ids(pw.store, pw.settings, wanted)
        out.print(f"{len(got.papers)} papers fetched from the arXiv API")
        for m in got.missing:
            err.print(f"[yellow]not found on arXiv:[/] {escape(m)}")
        for r in got.refused:
            err.print(f"[yellow]skipped as a bad record:[/] {escape(r)}")
    if set_spec:
        with _bar() as bar:
            task = bar.add_task(f"harvesting set {set_spec}", total=None)
            report = harvest_set(
                pw.store,
                pw.settings,
                set_spec,
                from_date=from_date,
                until=until,
                prefix=prefix,
                on_page=lambda n, total: bar.update(task, advance=n, total=total),
            )
        out.print(report)
    _index_and_embed(pw, embed)


@ingest_app.command("hf-daily")
def ingest_hf_daily_cmd(
    day: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="The day whose list to fetch, YYYY-MM-DD (default: today, UTC). With --file: the day of a saved "
            "list whose items and file name say none.",
        ),
    ] = None,
    from_day: Annotated[
        str | None, typer.Option("--from", help="Fetch every day's list from this day (YYYY-MM-DD) ...")
    ] = None,
    to_day: Annotated[str | None, typer.Option("--to", help="... to this one (default: today, UTC).")] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Read lists from a file instead: an api/daily_papers answer saved as is (.json), or JSON lines "
            "of its items, plain or .gz, each with its day in _snapshot_file_date.",
        ),
    ] = None,
    fetch: Annotated[
        bool,
        typer.Option(
            help="Fetch the papers the store lacks from the arXiv API; --no-fetch leaves them queued for a "
            "later run (or a harvest)."
        ),
    ] = True,
    embed: EmbedOption = None,
) -> None:
    """Hugging Face daily papers: each listed paper's upvotes, comments, GitHub repository and stars, project page.

    Each observation keeps its time (a later one adds a point to the paper's history, it never overwrites it);
    a file's are dated 23:59 UTC of their list's day. Papers the store lacks are fetched from the arXiv API;
    those it cannot fetch stay queued and the next run tries again. Exit status 0, or 4 when some records were
    skipped as bad (the others are stored).
    """
    from paperwire.errors import IngestError, SourceError
    from paperwire.signals import SignalReport, fetch_missing_papers, ingest_days, ingest_signal_file

    today = datetime.now(UTC).date()
    if file is not None:
        if from_day or to_day:
            raise QueryError("--file reads the days its file holds: leave out --from and --to")
        if not file.is_file():
            raise IngestError(f"no such file: {file}")
    elif day and (from_day or to_day):
        raise QueryError("give either --date or --from/--to")
    elif to_day and not from_day:
        raise QueryError("--to needs --from")
    days: list[date] = []
    if file is None:
        first = _day_option("--from", from_day) if from_day else _day_option("--date", day) if day else today
        last = _day_option("--to", to_day) if to_day else first if not from_day else today
        if first > last:
            raise QueryError(f"--from {first} is after --to {last}")
        if last > today:
            raise QueryError(
                f"{last} is in the future (today is {today}, UTC): Hugging Face has no list for it yet"
            )
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    pw = _open(first_run=False)
    failure: SourceError | None = None
    if file is not None:
        report = ingest_signal_file(pw.store, file, _day_option("--date", day) if day else None)
    else:
        report = SignalReport()
        with _bar() as bar:
            task = bar.add_task("Hugging Face daily lists", total=len(days))
            try:
                ingest_days(pw.store, pw.settings, days, report=report, on_day=lambda _d: bar.advance(task))
            except SourceError as exc:  # the days before it are stored: fetch their papers, then fail
                failure = exc
    for bad in report.bad[:20]:
        err.print(f"[yellow]skipped[/] {escape(str(bad))}")
    if report.skipped > 20:
        err.print(f"[yellow]... and {report.skipped - 20} more bad records[/]")
    queued = len(pw.store.papers_missing_for_signals(20))
    # Hugging Face unreachable and nothing new: arXiv is likely out of reach too, the queue waits for a rerun
    if fetch and queued and (failure is None or report.lists):
        if settings().contact_is_placeholder:
            err.print(
                "[yellow]warning:[/] PAPERWIRE_CONTACT_EMAIL is the placeholder "
                f"{escape(settings().contact_email)!r}; arXiv asks API users for a real contact address"
            )
        with _bar() as bar:
            task = bar.add_task("papers from the arXiv API", total=None)
            fetch_missing_papers(
                pw.store,
                pw.settings,
                report,
                on_progress=lambda n, total: bar.update(task, completed=n, total=total),
            )
        if report.fetch_error:
            err.print(
                f"[yellow]warning:[/] fetching papers from arXiv stopped: {escape(report.fetch_error)}; they stay "
                "queued and the next run tries again"
            )
        if report.not_on_arxiv:
            shown = ", ".join(report.not_on_arxiv[:20]) + (" ..." if len(report.not_on_arxiv) > 20 else "")
            err.print(f"[yellow]not on arXiv (yet), still queued:[/] {escape(shown)}")
        for r in report.refused[:20]:
            err.print(f"[yellow]skipped as a bad record:[/] {escape(r)}")
    else:
        report.queued = len(pw.store.papers_missing_for_signals(10**7))
    out.print(report.summary())
    if report.papers_new:
        _index_and_embed(pw, embed)
    if failure is not None:
        raise failure
    if report.damage:
        raise IngestError(report.damage)
    if report.skipped:
        raise typer.Exit(SKIPPED_EXIT)


def _day_option(name: str, value: str | None) -> date:
    """A YYYY-MM-DD option as a date; QueryError (exit 2) naming the option otherwise."""
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise QueryError(f"{name} {value!r}: give a day as YYYY-MM-DD") from None


@app.command("embed")
def embed_cmd(
    limit: Annotated[int | None, typer.Option(min=1, help="Embed at most this many papers.")] = None,
) -> None:
    """Compute missing or stale embeddings (newest papers first); safe to interrupt and rerun."""
    embed_cmd_impl(_open(first_run=False), limit)


def embed_cmd_impl(pw: Paperwire, limit: int | None = None) -> None:
    from paperwire.embed import get_embedder
    from paperwire.ingest import embed_pending

    pending = pw.store.count_pending_embeddings(pw.engine.model_name)
    if limit:
        pending = min(pending, limit)
    if pending:
        embedder = get_embedder(pw.settings)
        with _bar() as bar:
            task = bar.add_task(
                f"embedding with {embedder.name} ({getattr(embedder, 'precision', '?')})", total=pending
            )
            embed_pending(pw.store, embedder, limit=limit, on_progress=lambda n: bar.advance(task, n))
    out.print(
        f"embeddings up to date for {pw.engine.model_name}: {pw.store.count_embeddings(pw.engine.model_name)} papers"
    )


@app.command("reindex")
def reindex_cmd() -> None:
    """Rebuild the search indexes from the store (they are derived data)."""
    pw = _open(first_run=False)
    n, v = pw.engine.rebuild()
    out.print(f"rebuilt: {n} papers in the keyword index, {v} vectors in the vector index")


# -- search -----------------------------------------------------------------------------------


@app.command("search")
def search_cmd(
    query: Annotated[
        str,
        typer.Argument(
            help='Words, "phrases", -excluded, author:, cat:, before:, after:, or an arXiv id/URL.'
        ),
    ],
    mode: Annotated[str, typer.Option(help="keyword, semantic or hybrid.")] = "hybrid",
    category: Annotated[
        list[str] | None,
        typer.Option("--category", "-c", help="Only this category (repeatable: any of them)."),
    ] = None,
    author: Annotated[
        list[str] | None,
        typer.Option("--author", "-a", help="Only papers by this author (repeatable: all of them)."),
    ] = None,
    after: Annotated[str | None, typer.Option(help="Only papers dated on or after (YYYY[-MM[-DD]]).")] = None,
    before: Annotated[
        str | None, typer.Option(help="Only papers dated on or before (YYYY[-MM[-DD]]).")
    ] = None,
    sort: Annotated[
        str,
        typer.Option(help="relevance, date (newest first) or popular (most popular of the most relevant)."),
    ] = "relevance",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="Results per page.")] = 10,
    page: Annotated[int, typer.Option(help="Page number, 1 to 1000 (as on the web).")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (one object with hits).")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Say why each result matched.")] = False,
) -> None:
    """Search papers (hybrid keyword + semantic by default)."""
    from paperwire.errors import QueryError
    from paperwire.search.hybrid import MAX_PAGE, MODES
    from paperwire.search.query import parse_date_option

    if sort not in ("relevance", "date", "popular"):
        raise QueryError(f"unknown sort {sort!r}: use relevance, date or popular")
    if mode not in MODES:
        raise QueryError(f"unknown mode {mode!r}: use keyword, semantic or hybrid")
    if not 1 <= page <= MAX_PAGE:
        raise QueryError(
            f"--page {page}: pages go from 1 to {MAX_PAGE}; narrow the search with words or filters"
        )
    pw = _open()
    res = pw.engine.search(
        query,
        mode=mode,
        categories=category,
        authors=author,
        after=parse_date_option(after),
        before=parse_date_option(before, end=True),
        sort=cast("Sort", sort),
        limit=limit,
        offset=(page - 1) * limit,
    )
    if as_json:
        from paperwire.serialize import results_json

        sys.stdout.write(json.dumps(results_json(res), ensure_ascii=False) + "\n")
        return
    for note in res.notes:
        err.print(f"[yellow]note:[/] {escape(note)}")
    if not res.hits:
        out.print("no results")
        return
    out.print(f"[dim]{res.total} results ({res.mode}); page {page}[/]")
    for i, h in enumerate(res.hits, start=res.offset + 1):
        _print_hit(i, h, explain)


def _print_hit(i: int, h: SearchHit, explain: bool) -> None:
    p = h.paper
    when = p.announced or p.published
    authors = ", ".join(p.authors[:4]) + (" et al." if len(p.authors) > 4 else "")
    out.print(f"[bold]{i:>3}. {escape(p.title)}[/]")
    out.print(f"     [cyan]{p.id}[/]  {escape(' '.join(p.categories[:3]))}  {when or ''}  {escape(authors)}")
    if explain:
        from paperwire.serialize import why

        out.print(f"     [dim]{escape(why(h))}[/]")


@app.command("daily")
def daily_cmd(
    day: Annotated[
        str | None, typer.Option(help="Announcement day YYYY-MM-DD (default: the latest day with papers).")
    ] = None,
    category: Annotated[str | None, typer.Option("--category", "-c", help="Only this category.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100, help="Papers per page.")] = 50,
    page: Annotated[int, typer.Option(min=1, max=1000, help="Page number.")] = 1,
    sort: Annotated[
        str,
        typer.Option(
            help="announced (arXiv's order) or upvotes (Hugging Face's order; papers it never listed after)."
        ),
    ] = "announced",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (as /api/daily answers).")] = False,
) -> None:
    """The papers of one announcement day, as the home page lists them (newest day by default)."""
    from paperwire.listing import DAY_SORTS, daily
    from paperwire.search.query import parse_date
    from paperwire.serialize import day_json

    if sort not in DAY_SORTS:
        raise QueryError(f"unknown sort {sort!r}: use {' or '.join(DAY_SORTS)}")
    when = None
    if day is not None:
        when = parse_date(day, end=False)
        if len(day.strip().split("-")) != 3:  # a month or a year is no day
            raise QueryError(f"--day {day!r}: give a whole date, YYYY-MM-DD")
    pw = _open()
    category = category or None
    d = daily(pw, when, category, limit=limit, offset=(page - 1) * limit, sort=sort)
    if as_json:
        sys.stdout.write(json.dumps(day_json(d, category, limit), ensure_ascii=False) + "\n")
        return
    if d.day is None or d.results is None:
        out.print("no papers yet" + (f" in {escape(category)}" if category else ""))
        return
    note = "" if d.day == d.latest else f" (the latest is {d.latest})"
    out.print(f"[dim]{d.results.total} papers announced {d.day}{note}; page {page}[/]")
    for i, h in enumerate(d.results.hits, start=d.results.offset + 1):
        _print_hit(i, h, False)
    around = [f"earlier: {d.previous}" if d.previous else "", f"later: {d.next}" if d.next else ""]
    if any(around):
        out.print(f"[dim]{'  '.join(a for a in around if a)}[/]")


@app.command("trending")
def trending_cmd(
    window: Annotated[
        str,
        typer.Option("--window", "-w", help="today (the latest daily list), week, month or all (all time)."),
    ] = "week",
    category: Annotated[
        str | None, typer.Option("--category", "-c", help="Only papers of this category.")
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option(
            help="today: upvotes (Hugging Face's order; default), announced or score; week/month: score "
            "(default), upvotes or stars (most gained); all: upvotes."
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="Papers to show.")] = 20,
    day: Annotated[str | None, typer.Option(help="today: the daily list of this day (YYYY-MM-DD).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (as /api/trending answers).")] = False,
) -> None:
    """What is trending: papers ranked by upvotes, stars, saves and views gained lately, and why."""
    from datetime import date

    from rich.table import Table

    from paperwire.serialize import trending_json

    when = None
    if day is not None:
        try:
            when = date.fromisoformat(day.strip())
        except ValueError:
            raise QueryError(f"--day {day!r}: give a day as YYYY-MM-DD") from None
    pw = _open()
    t = pw.trending.list(window, category or None, sort, limit=limit, day=when)
    if as_json:
        sys.stdout.write(json.dumps(trending_json(t, 0, limit), ensure_ascii=False) + "\n")
        return
    scope = f"the daily list of {t.day}" if t.window == "today" else f"window {t.window}"
    where = f" in {t.category}" if t.category else ""
    out.print(
        f"[dim]{t.total} papers trending{escape(where)}: {scope}, by {t.sort}, as of {t.as_of:%Y-%m-%d %H:%M} UTC[/]"
    )
    if t.clock_past_data:
        newest = f"{t.newest_data:%Y-%m-%d}" if t.newest_data else "?"
        out.print(
            f"[yellow]the clock is past the newest data ({newest}): windows end at {t.as_of:%Y-%m-%d}[/]"
        )
    if not t.entries:
        out.print("nothing trending" + (f" in {escape(t.category)}" if t.category else "") + " yet")
        return
    table = Table(box=None, show_edge=False, pad_edge=False)
    for col in ("#", "score", "upvotes"):
        table.add_column(col, justify="right")
    table.add_column("paper")
    table.add_column("why")
    for e in t.entries:
        table.add_row(
            str(e.rank),
            f"{e.score:.1f}",
            "-" if e.upvotes is None else str(e.upvotes),
            f"[cyan]{e.paper.id}[/] {escape(e.paper.title)}",
            escape("; ".join(e.reasons)),
        )
    out.print(table)


@app.command("similar")
def similar_cmd(
    paper_id: Annotated[str, typer.Argument(help="arXiv id or URL.")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Papers nearest to a paper by embedding."""
    pw = _open()
    hits = pw.engine.similar(paper_id, limit)
    if as_json:
        from paperwire.serialize import similar_json

        sys.stdout.write(json.dumps(similar_json(paper_id, hits), ensure_ascii=False) + "\n")
        return
    for i, h in enumerate(hits, start=1):
        _print_hit(i, h, False)
        out.print(f"     [dim]cosine {h.similarity:.3f}[/]")


@eval_app.command("beir")
def eval_beir_cmd(
    dataset: Annotated[
        Path, typer.Argument(help="BEIR-layout directory: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv.")
    ],
    split: Annotated[str, typer.Option(help="Which qrels split to score.")] = "test",
    mode: Annotated[
        list[str] | None, typer.Option("--mode", help="Modes to score (repeatable); default all three.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per mode.")] = False,
) -> None:
    """Score search quality (nDCG@10, Recall@100, MRR@10) on a BEIR dataset.

    A query left empty after removing query syntax (only - or "), or one that cannot be run (over 1,000
    characters or 64 terms, or a lone arXiv id the corpus lacks), scores 0 and is counted.
    """
    from paperwire.embed import get_embedder
    from paperwire.evaluate import evaluate, open_dataset
    from paperwire.search.hybrid import MODES

    modes = list(mode or MODES)
    for m in modes:
        if m not in MODES:
            raise QueryError(f"unknown mode {m!r}: use keyword, semantic or hybrid")
    embedder = get_embedder(settings())
    with _bar() as bar:
        task = bar.add_task(f"embedding {dataset.name} (once; cached under the home directory)", total=None)
        engine = open_dataset(
            dataset, settings(), embedder, lambda d, t: bar.update(task, completed=d, total=t)
        )
    scores = evaluate(engine, dataset, split, modes)  # type: ignore[arg-type]
    for s in scores:
        if as_json:
            sys.stdout.write(json.dumps(s.as_json()) + "\n")
        else:
            empty = (
                f"; {s.empty_queries} empty after removing query syntax, scored 0" if s.empty_queries else ""
            ) + (
                f"; {s.refused_queries} refused (too long for the query language, or a lone arXiv id), scored 0"
                if s.refused_queries
                else ""
            )
            out.print(
                f"{s.mode:<9} nDCG@10 {s.ndcg_at_10:.4f}  Recall@100 {s.recall_at_100:.4f}  MRR@10 {s.mrr_at_10:.4f}  ({s.queries} queries, {split}{empty})"
            )


# -- serving and status -----------------------------------------------------------------------


@app.command("serve")
def serve(
    host: Annotated[
        str | None, typer.Option(help="Listen address (default from settings: 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings: 8000).")] = None,
    jobs: Annotated[
        bool | None,
        typer.Option(
            "--jobs/--no-jobs",
            help="Run the shared background jobs (embedding new papers) in this process; --no-jobs when "
            "`paperwire worker` runs them (default from settings: PAPERWIRE_JOBS_IN_PROCESS, on).",
        ),
    ] = None,
) -> None:
    """Serve the web app, feeds and JSON API (loads the demo sample on first run).

    In the background it keeps its indexes up to what any process wrote (a cron ingest, a worker) and,
    unless --no-jobs, runs the shared jobs such as embedding new papers.
    """
    import uvicorn

    from paperwire.web.app import create_app
    from paperwire.web.server import uvicorn_options

    s = settings()
    if host or port:
        s = s.model_copy(update={k: v for k, v in (("host", host), ("port", port)) if v})
    if jobs is not None:
        s = s.model_copy(update={"jobs_in_process": jobs})
    from paperwire.keys import check_serving_key

    check_serving_key(s)  # before anything listens: a weak key never guards a reachable server
    out.print(f"paperwire serving on http://{s.host}:{s.port}/ (home {s.home})")
    if s.host in ("0.0.0.0", "::") and not (s.allowed_hosts or s.base_url):
        out.print(
            "note: only localhost names are answered; set PAPERWIRE_ALLOWED_HOSTS (or PAPERWIRE_BASE_URL) "
            "to the names and addresses clients use"
        )
    uvicorn.run(create_app(s), **uvicorn_options(s))


@app.command("worker")
def worker_cmd(
    once: Annotated[
        bool, typer.Option("--once", help="Run every job until it has no more work, then exit (for cron).")
    ] = False,
    digests: Annotated[
        bool,
        typer.Option(
            "--digests",
            help="Also send the digests due (the digest job): this worker then holds the search indexes and the "
            "embedding model as a server does, keeps them up to date and recomputes trending.",
        ),
    ] = False,
) -> None:
    """Run the shared background jobs (embedding new papers; with their settings, Hugging Face's daily lists and
    arXiv's harvest) without a web server, until stopped.

    Run any number of workers beside `paperwire serve --no-jobs`, on this machine or others sharing a
    PostgreSQL database: work is claimed, so each batch is done once. Every run is recorded (paperwire status).
    Digests are sent by a server with jobs, a worker with --digests (any number: the delivery ledger splits
    them), or `paperwire digest send` from cron.
    """
    import signal
    import threading

    from paperwire.jobs import Runner, runner_name
    from paperwire.jobs.builtin import shared_jobs
    from paperwire.store import open_store

    s = settings()
    store = open_store(s)
    name = runner_name()
    jobs = shared_jobs(s, store, name)
    pw = None
    if digests:  # as a server runs them: its indexes kept fresh, trending recomputed, then the digests due
        from paperwire.jobs.builtin import RefreshIndexJob
        from paperwire.jobs.digest import DigestJob
        from paperwire.jobs.trending import TrendingJob

        pw = _open(first_run=False)
        jobs += [
            RefreshIndexJob(pw.engine, s.refresh_interval),
            TrendingJob(pw.trending, s.refresh_interval, s.trending_recompute_interval),
            DigestJob(pw, name),
        ]
    runner = Runner(store, jobs, name=name)
    try:
        if once:
            runner.run_until_idle()
            runner.close()
        else:
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            err.print(
                f"paperwire worker {name}: jobs {', '.join(j.name for j in runner.jobs)} on {store.url}"
            )
            runner.run_forever(stop)
    finally:
        store.close()
        if pw is not None:
            pw.close()
    err.print("worker stopped")


@app.command("status")
def status_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What the store holds (papers, embeddings, newest paper, checkpoints) and each background job's last run.

    Exits 1 when something needs attention: a job's last run failed, was abandoned, or it is late; or the
    digest warns (arXiv's listing not harvested yet, digests the mail server did not take).
    """
    from paperwire.serialize import status_json

    pw = _open(first_run=False)
    st = status_json(pw, private=True)
    warnings = [j for j in st["jobs"] if j["warning"]] + st["digest"]["warnings"]
    if as_json:
        sys.stdout.write(json.dumps(st) + "\n")
    else:
        for k, v in st.items():
            if k not in ("jobs", "digest"):
                out.print(f"{k:<22} {escape(str(v))}")
        d = st["digest"]
        for k, v in d.items():
            if k != "warnings":
                out.print(f"{'digest ' + k:<22} {escape(str(v))}")
        for j in st["jobs"]:
            when = j["last_started"] or "never run"
            counts = ", ".join(f"{k} {v}" for k, v in j["last_counts"].items())
            line = f"job {j['job']:<18} {j['last_outcome'] or '-':<9} {when}" + (
                f"  ({counts})" if counts else ""
            )
            out.print(escape(line))
            if j["warning"]:
                err.print(f"[yellow]warning:[/] job {escape(j['job'])}: {escape(j['warning'])}")
        for w in d["warnings"]:
            err.print(f"[yellow]warning:[/] digest: {escape(w)}")
    if warnings:
        raise typer.Exit(1)


@app.command("settings")
def settings_cmd() -> None:
    """Every setting, its value in force and what it does (set them as PAPERWIRE_<NAME>)."""
    s = settings()
    for name, f in Settings.model_fields.items():
        out.print(
            f"[bold]PAPERWIRE_{name.upper()}[/] = {escape(repr(getattr(s, name)))}\n    {escape(f.description or '')}"
        )


def _bar(bytes_: bool = False) -> Progress:
    cols: list[Any] = [TextColumn("{task.description}"), BarColumn()]
    cols.append(DownloadColumn() if bytes_ else MofNCompleteColumn())
    cols.append(TimeRemainingColumn())
    return Progress(*cols, console=err, transient=False)


def main() -> None:
    """Entry point: run the app, turning paperwire's errors into one line and an exit code."""
    try:
        app()
    except PaperwireError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]: everything committed so far is kept; rerun to continue")
        sys.exit(130)
