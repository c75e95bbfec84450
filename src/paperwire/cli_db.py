"""`paperwire db`: the database itself: bring its schema up to date (migrate), copy it to another (copy)."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from paperwire.errors import MigrationError, StoreError

db_app = typer.Typer(
    help="The database: migrate its schema, copy it to another database (SQLite <-> PostgreSQL).",
    no_args_is_help=True,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

URLS = "sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE"


def _settings_url() -> str:
    from paperwire.cli import settings  # at call time: cli imports this module

    return settings().db_url


@db_app.command("migrate")
def migrate_cmd(
    url: Annotated[
        str | None, typer.Option("--url", help=f"The database ({URLS}); default: the settings' database.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show the version and what is pending; apply nothing.")
    ] = False,
) -> None:
    """Show the database's schema version, row counts and pending migrations, then apply them.

    `paperwire serve`, `ingest` and `worker` migrate the database they open by themselves (SQLite or
    PostgreSQL, given the rights); a shared PostgreSQL database is best migrated here, once, by its owner,
    before new versions of the app start on it.
    """
    from paperwire.store import open_url
    from paperwire.store.migrations import LATEST, MIGRATIONS
    from paperwire.store.schema import (
        SchemaStatus,
        apply_migrations,
        schema_status,
        sqlite_path,
        table_counts,
    )

    url = url or _settings_url()
    path = sqlite_path(url)
    counts: dict[str, int] = {}
    if path is not None and not path.is_file():  # a look creates no file
        shown, status = url, SchemaStatus(0, LATEST, [(v, d) for v, d, _ in MIGRATIONS])
        out.print(f"database   {escape(shown)} (no file yet)")
    else:
        store = open_url(url, migrate=False)
        try:
            shown, status = store.url, schema_status(store)
            if status.version >= 1 and not status.too_new:
                counts = table_counts(store)
        finally:
            store.close()
        out.print(f"database   {escape(shown)}")
    out.print(f"schema     version {status.version}, latest {status.latest}")
    if counts:
        out.print("rows       " + escape(", ".join(f"{k} {v}" for k, v in counts.items())))
    if status.too_new:
        raise MigrationError(
            f"{shown} has schema version {status.version}, newer than this paperwire's {LATEST}: upgrade paperwire"
        )
    for v, d in status.pending:
        out.print(f"pending    {v}  {escape(d)}")
    if not status.pending:
        out.print("up to date: nothing to apply")
        return
    if dry_run:
        out.print(f"dry run: {len(status.pending)} pending, nothing applied")
        return
    after = apply_migrations(url)
    for v, d in status.pending:
        if v <= after.version:
            out.print(f"applied    {v}  {escape(d)}")
    out.print(f"schema     version {after.version}: up to date")


@db_app.command("copy")
def copy_cmd(
    to: Annotated[
        str,
        typer.Option(
            "--to", help=f"The database to copy into ({URLS}); migrated to the latest schema first."
        ),
    ],
    from_: Annotated[
        str | None,
        typer.Option("--from", help="The database to copy from; default: the settings' database."),
    ] = None,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Rows per committed batch.")] = 2000,
    restart: Annotated[
        bool,
        typer.Option(
            "--restart",
            help="Forget where earlier runs stopped and walk the whole source again (only rows that differ "
            "are written): after the source changed under a finished copy.",
        ),
    ] = False,
) -> None:
    """Copy every paper, embedding (of every model), signal and checkpoint into another database, then check.

    Resumable: the copy's position is kept in the target, so a killed copy continues where it stopped and a
    finished one, rerun, changes nothing. The target must be empty or a copy of this source. At the end the
    two sides are compared, table by table (row counts and a digest over every row); when they differ the
    command says what differs and exits with status 1.
    """
    from paperwire.store.copy import copy_store, open_for_copy, verify_copy

    source, target = open_for_copy(from_ or _settings_url(), to)
    try:
        out.print(f"copying {escape(source.url)} -> {escape(target.url)}")
        with _progress() as bar:
            tasks: dict[str, TaskID] = {}

            def note(part: str, done: int, total: int) -> None:
                if part not in tasks:
                    tasks[part] = bar.add_task(part, total=total, completed=done)
                bar.update(tasks[part], completed=done, total=total)

            report = copy_store(source, target, batch=batch, restart=restart, on_progress=note)
        w = max(len(p.name) for p in report.parts)
        for p in report.parts:
            rate = f" ({p.per_second:,.0f}/s)" if p.rows and p.seconds >= 0.1 else ""
            extra = f"; {p.note}" if p.note else ""
            out.print(
                f"{escape(p.name):<{w}}  {p.rows:>9,} copied in {p.seconds:6.1f} s{rate}{escape(extra)}"
            )
        t0 = time.perf_counter()
        with err.status("comparing source and target"):
            checks = verify_copy(source, target)
        checked = time.perf_counter() - t0
    finally:
        source.close()
        target.close()
    # plain lines, not a rich Table: a pipe's 80 columns would wrap the model names and digests
    w = max(len(c.name) for c in checks)
    out.print(f"{'checked':<{w}}  {'source':>9}  {'target':>9}  digest")
    for c in checks:
        digest = c.source_digest[:12] if c.ok else f"{c.source_digest[:12]} != {c.target_digest[:12]}"
        verdict = "ok" if c.ok else "[red]DIFFERS[/]"
        out.print(f"{escape(c.name):<{w}}  {c.source_rows:>9,}  {c.target_rows:>9,}  {digest:<28}  {verdict}")
    bad = [c for c in checks if not c.ok]
    if bad:
        raise StoreError(
            "the copy differs from its source: "
            + " | ".join(c.describe() for c in bad)
            + " (if the source changed since the copy began, --restart brings the changes over)"
        )
    out.print(
        f"verified: the target equals the source ({report.seconds:.1f} s copying, {checked:.1f} s checking)"
    )


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
    )
