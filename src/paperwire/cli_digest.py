"""`paperwire digest`: render a subscriber's digest without sending it (preview), send the digests due (send)."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, time
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

digest_app = typer.Typer(
    help="The daily digest: preview one subscriber's, send the ones due (idempotent: for cron).",
    no_args_is_help=True,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DateOption = Annotated[
    str | None, typer.Option("--date", help="As of this day (YYYY-MM-DD, its end in UTC); default: now.")
]


def _as_of(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        err.print(f"[red]--date {escape(value)!r}: use YYYY-MM-DD[/red]")
        raise typer.Exit(2) from None
    return datetime.combine(day, time(23, 59), UTC)


@digest_app.command("preview")
def preview_cmd(
    address: Annotated[str, typer.Argument(help="The subscriber's mail address.")],
    day: DateOption = None,
    html: Annotated[
        bool, typer.Option("--html", help="Print the HTML part instead of the text part.")
    ] = False,
) -> None:
    """Render the digest ADDRESS gets next (as of --date; the last one when none is due), without sending it
    or recording anything."""
    from paperwire.cli import _open
    from paperwire.digest.deliver import DigestSender
    from paperwire.jobs.digest import digest_base_url
    from paperwire.mail import get_mailer, normalise_address

    pw = _open(first_run=False)
    try:
        sub = pw.store.subscriber_by_email(normalise_address(address))
        if sub is None:
            err.print(f"[red]{escape(address)} is not subscribed[/red]")
            raise typer.Exit(3)
        sender = DigestSender(pw, get_mailer(pw.settings), digest_base_url(pw))
        due, rendered = sender.preview(sub, _as_of(day))
        covers = ", ".join(d.isoformat() for d in due.covers) or "no announcement"
        err.print(f"[dim]{sub.status} · covers {covers}[/dim]")
        print(f"Subject: {rendered.subject}\n")
        print(rendered.html if html else rendered.text)
    finally:
        pw.close()


@digest_app.command("send")
def send_cmd(
    day: DateOption = None,
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            min=1,
            max=32,
            help="Sender processes at once, up to one per core: each loads the indexes and the model, and the "
            "delivery ledger splits the digests between them (10,000 digests on a 2-core machine: 42 s over SQLite "
            "with two, 50 s over PostgreSQL with three).",
        ),
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json", hidden=True)] = False,
) -> None:
    """Send every digest due (as of --date): each subscriber's once, however often this runs (the delivery
    ledger decides), beside a server or a worker doing the same. Prints what it did."""
    import json
    import subprocess
    import sys

    from paperwire.cli import _open
    from paperwire.digest.deliver import DigestSender
    from paperwire.jobs import runner_name
    from paperwire.jobs.digest import digest_base_url
    from paperwire.mail import get_mailer

    as_of = _as_of(day) if day else None  # a bad --date stops here: nothing started, nothing recorded
    helpers = [
        subprocess.Popen(
            [sys.executable, "-m", "paperwire", "digest", "send", "--json"]
            + (["--date", day] if day else []),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes - 1)
    ]  # started first: they load while this one does
    pw = _open(first_run=False)
    mailer = get_mailer(pw.settings)
    # the pass is recorded as a job run (paperwire status, /about: the last digest run), by the first process
    run_id = None if as_json else pw.store.start_job_run("digest-send", f"{runner_name()} (digest send)")
    try:
        try:
            run = DigestSender(pw, mailer, digest_base_url(pw)).send_due(as_of)
        finally:
            close = getattr(mailer, "close", None)
            if callable(close):
                close()
        counts, notes = run.counts(), list(run.notes)
        for h in helpers:
            stdout, _ = h.communicate()
            try:
                got = json.loads(stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                notes.append(
                    f"a sender process exited {h.returncode} without its counts (see its errors above)"
                )
                continue
            counts = {k: v + int(got["counts"].get(k, 0)) for k, v in counts.items()}
            notes += [n for n in got["notes"] if n not in notes]
        if run_id is not None:
            pw.store.finish_job_run(run_id, "ok", counts, None)
    except BaseException as exc:
        if run_id is not None:
            with contextlib.suppress(Exception):
                pw.store.finish_job_run(run_id, "failed", {}, f"{type(exc).__name__}: {exc}"[:500])
        raise
    finally:
        pw.close()
    if as_json:
        print(json.dumps({"counts": counts, "notes": notes}))
        return
    out.print(", ".join(f"{k} {v}" for k, v in counts.items()))
    for note in notes:
        out.print(f"[yellow]{escape(note)}[/yellow]")
    if counts["deferred"] or counts["failed"] or any(h.returncode not in (0, 1) for h in helpers):
        raise typer.Exit(1)
