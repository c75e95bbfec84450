"""`paperwire digest` in a real process over a real store: preview renders without sending, send is idempotent
(the outbox gets one message however often it runs)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from paperwire.config import Settings
from paperwire.store import open_store
from tests.conftest import make_paper
from tests.test_cli import Home, fresh, run  # noqa: F401  (fresh: the fixture)


def test_preview_then_send_once(fresh: Home) -> None:  # noqa: F811
    settings = Settings(home=fresh.path, database_url=fresh.database_url, load_sample=False)
    store = open_store(settings)
    try:
        store.upsert_papers(
            [
                make_paper(
                    "2501.00041",
                    title="Graph networks for $x^2$",
                    categories=("cs.LG",),
                    announced=date(2025, 1, 3),
                ),
                make_paper(
                    "2501.00042", title="A vision paper", categories=("cs.CV",), announced=date(2025, 1, 3)
                ),
            ]
        )
        prefs = {"categories": ["cs.LG"], "trending_n": 0, "hour": 8, "timezone": "UTC"}
        sub = store.subscribe("cli@example.org", json.dumps(prefs), datetime(2025, 1, 1, tzinfo=UTC))
        store.set_subscriber_status(sub.id, "active", datetime(2025, 1, 1, tzinfo=UTC))
    finally:
        store.close()
    r = run(fresh, "digest", "preview", "cli@example.org", "--date", "2025-01-03")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Subject: ") and "2501.00041" in r.stdout and "2501.00042" not in r.stdout
    assert "Unsubscribe" in r.stdout or "unsubscribe" in r.stdout
    assert not list((fresh.path / "outbox").glob("*.eml"))  # a preview sends nothing
    assert run(fresh, "digest", "preview", "nobody@example.org").returncode == 3
    for _ in range(2):
        r = run(fresh, "digest", "send", "--date", "2025-01-03")
        assert r.returncode == 0, r.stderr
    assert "sent 0" in r.stdout  # the second run: nothing twice
    [mail] = list((fresh.path / "outbox").glob("*.eml"))
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in mail.read_text()
    assert run(fresh, "digest", "send", "--date", "nonsense").returncode == 2
    # the runs are on the status (a cron user's last digest run), never "late" (cron says when they run)
    r = run(fresh, "status", "--json")
    st = json.loads(r.stdout)
    jobs = {j["job"]: j for j in st["jobs"]}
    assert jobs["digest-send"]["last_outcome"] == "ok" and jobs["digest-send"]["warning"] is None
    assert st["digest"]["last_run_counts"]["sent"] == 0 and st["digest"]["next_delivery"]
    # the store's newest listing is of January 2025: today's is not harvested, a subscriber waits for it
    assert any("has not been harvested yet" in w for w in st["digest"]["warnings"]) and r.returncode == 1


def test_send_in_several_processes_sends_each_digest_once(fresh: Home) -> None:  # noqa: F811
    settings = Settings(home=fresh.path, database_url=fresh.database_url, load_sample=False)
    store = open_store(settings)
    emails = [f"p{i}@example.org" for i in range(40)]
    try:
        store.upsert_papers(
            [
                make_paper(
                    "2501.00041", title="Graph networks", categories=("cs.LG",), announced=date(2025, 1, 3)
                )
            ]
        )
        prefs = json.dumps({"categories": ["cs.LG"], "trending_n": 0, "hour": 8, "timezone": "UTC"})
        for e in emails:
            sub = store.subscribe(e, prefs, datetime(2025, 1, 1, tzinfo=UTC))
            store.set_subscriber_status(sub.id, "active", datetime(2025, 1, 1, tzinfo=UTC))
    finally:
        store.close()
    r = run(fresh, "digest", "send", "--date", "2025-01-03", "--processes", "3")
    assert r.returncode == 0, r.stderr
    assert "sent 40" in r.stdout  # the three processes' counts, summed
    mails = list((fresh.path / "outbox").glob("*.eml"))
    to = sorted(
        line.split(": ", 1)[1]
        for m in mails
        for line in m.read_text().splitlines()
        if line.startswith("To: ")
    )
    assert to == sorted(emails)  # each subscriber exactly once, whichever process sent it
    assert "sent 0" in run(fresh, "digest", "send", "--date", "2025-01-03", "--processes", "2").stdout
