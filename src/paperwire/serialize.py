"""Papers, hits and results as JSON-ready dicts (shared by the CLI's --json and the API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from paperwire.models import Paper, SearchHit, Signal
from paperwire.search.hybrid import SearchResults

if TYPE_CHECKING:
    from paperwire.app_context import Paperwire
    from paperwire.listing import Day
    from paperwire.trending import TrendingList


def popularity_json(s: Signal | None) -> dict[str, Any] | None:
    """A paper's latest popularity observation (None: never observed); links are http(s) only (W3)."""
    from paperwire.web.render import safe_url  # pure; the web package's link rule, shared

    if s is None:
        return None
    return {
        "upvotes": s.upvotes,
        "comments": s.comments,
        "github_repo": safe_url(s.github_repo),
        "github_stars": s.github_stars,
        "project_page": safe_url(s.project_page),
        "observed_at": s.observed_at.isoformat(),
    }


def paper_json(p: Paper, upvotes: int | None = None, signal: Signal | None = None) -> dict[str, Any]:
    """A paper as the API shows it (``upvotes``: its latest Hugging Face daily-papers count, if listed;
    ``popularity``: that whole observation, repository and stars included)."""
    return {
        "id": p.id,
        "version": p.version,
        "title": p.title,
        "abstract": p.abstract,
        "authors": list(p.authors),
        "categories": list(p.categories),
        "primary_category": p.primary_category,
        "published": p.published.isoformat() if p.published else None,
        "updated": p.updated.isoformat() if p.updated else None,
        "announced": p.announced.isoformat() if p.announced else None,
        "comment": p.comment,
        "journal_ref": p.journal_ref,
        "doi": p.doi,
        "license": p.license,
        "abs_url": p.abs_url,
        "pdf_url": p.pdf_url,
        "upvotes": upvotes,
        "popularity": popularity_json(signal),
    }


def reasons(h: SearchHit) -> list[str]:
    """Why a hit matched, one reason a line: the page's "Why this result", the CLI's --explain, the API's summary."""
    out = []
    if h.matched_terms:
        out.append("matched " + ", ".join(f"“{t}”" for t in h.matched_terms))
    if h.keyword_rank is not None:
        bm25 = f" (BM25 score {h.keyword_score:.2f})" if h.keyword_score else ""
        out.append(f"keyword rank {h.keyword_rank}{bm25}")
    if h.semantic_rank is not None:
        out.append(f"semantic rank {h.semantic_rank}")
    if h.similarity is not None:
        out.append(f"cosine similarity to the query {h.similarity:.3f}")
    return out or ["matched the filters"]


def why(h: SearchHit) -> str:
    """The reasons on one line."""
    return "; ".join(reasons(h))


def hit_json(h: SearchHit) -> dict[str, Any]:
    """A hit: the paper (with its upvotes), its score and why it matched."""
    return {
        "paper": paper_json(h.paper, h.upvotes, h.signal),
        "score": round(h.score, 6),
        "why": {
            "matched_terms": h.matched_terms,
            "keyword_rank": h.keyword_rank,
            "keyword_score": None if h.keyword_score is None else round(h.keyword_score, 4),
            "semantic_rank": h.semantic_rank,
            "similarity": None if h.similarity is None else round(h.similarity, 4),
            "summary": why(h),
        },
    }


def results_json(res: SearchResults) -> dict[str, Any]:
    """A page of results."""
    q = res.query
    return {
        "query": q.text,
        "mode": res.mode,
        "total": res.total,
        "offset": res.offset,
        "limit": res.limit,
        "notes": res.notes,
        # hybrid: how much the semantic list counted in this search's mix (0..1); null for one list alone
        "semantic_share": None if res.semantic_share is None else round(res.semantic_share, 4),
        "parsed": {
            "words": q.words,
            "phrases": q.phrases,
            "excluded": q.excluded,
            "authors": q.authors,
            "categories": q.categories,
            "after": q.after.isoformat() if q.after else None,
            "before": q.before.isoformat() if q.before else None,
            "paper_id": q.paper_id,
        },
        "hits": [hit_json(h) for h in res.hits],
    }


def similar_json(paper_id: str, hits: list[SearchHit]) -> dict[str, Any]:
    """The papers nearest to ``paper_id``."""
    return {"paper": paper_id, "hits": [hit_json(h) for h in hits]}


def day_json(d: Day, category: str | None, limit: int) -> dict[str, Any]:
    """One announcement day's page of papers and the days around it."""
    res = d.results
    return {
        "day": d.day.isoformat() if d.day else None,
        "latest": d.latest.isoformat() if d.latest else None,
        "previous": d.previous.isoformat() if d.previous else None,
        "next": d.next.isoformat() if d.next else None,
        "category": category,
        "total": res.total if res else 0,
        "offset": res.offset if res else 0,
        "limit": limit,
        "papers": [paper_json(h.paper, h.upvotes, h.signal) for h in res.hits] if res else [],
    }


def trending_json(t: TrendingList, offset: int = 0, limit: int | None = None) -> dict[str, Any]:
    """One page of a trending list: each paper with its figures in the window and why it is there."""
    return {
        "window": t.window,
        "category": t.category,
        "sort": t.sort,
        "as_of": t.as_of.isoformat(),
        "clock_past_data": t.clock_past_data,  # true: the windows end at the newest data, not now
        "newest_data": t.newest_data.isoformat() if t.newest_data else None,
        "day": t.day.isoformat() if t.day else None,
        "total": t.total,
        "offset": offset,
        "limit": limit if limit is not None else len(t.entries),
        "entries": [
            {
                "rank": e.rank,
                "score": e.score,
                "reasons": e.reasons,
                "upvotes": e.upvotes,
                "upvotes_gained": e.upvotes_gained,
                "stars": e.stars,
                "stars_gained": e.stars_gained,
                "views": e.views,
                "local_upvotes": e.local_upvotes,
                "saves": e.saves,
                "paper": paper_json(e.paper, e.upvotes, e.signal),
            }
            for e in t.entries
        ],
    }


def digest_status(pw: Paperwire, jobs: list[dict[str, Any]], now: datetime | None = None) -> dict[str, Any]:
    """The digest at a glance: subscribers by status, deliveries of the last 7 days by outcome, what the last
    digest run (in ``jobs``, the job states already read) did and left waiting, what comes next (arXiv's next
    announcement, the next delivery moment of any active subscriber), and warnings (a listing not harvested
    yet, digests the mail server did not take)."""
    from paperwire.digest.deliver import prefs_of
    from paperwire.digest.schedule import (
        calendar_of,
        last_announcement,
        listing_day,
        next_announcement,
        next_delivery,
    )

    store = pw.store
    now = now or datetime.now(UTC)
    # the last pass of the server's digest job or of `paperwire digest send` (cron), whichever came later
    runs = [j for j in jobs if j["job"] in ("digest", "digest-send") and j["last_started"]]
    job = max(runs, key=lambda j: str(j["last_started"]), default=None)
    last = (job or {}).get("last_counts") or {}
    active = store.subscribers("active")
    slots = {(p.hour, p.timezone, p.frequency, p.weekday) for p in map(prefs_of, active)}
    nxt = min((next_delivery(now, h, tz, f, weekday=wd) for h, tz, f, wd in slots), default=None)
    warnings: list[str] = []
    cal = calendar_of(pw.settings.arxiv_holidays)
    announced = last_announcement(now, calendar=cal)
    newest, expected = store.latest_announced(), listing_day(announced)
    if active and (newest is None or newest < expected) and now - announced > timedelta(hours=2):
        warnings.append(
            f"arXiv's listing of {expected.isoformat()} has not been harvested yet (the newest here is "
            f"{newest.isoformat() if newest else 'none'}): digests covering it wait, up to "
            f"{pw.settings.digest_wait_hours:g} h"
        )
    if last.get("waiting"):
        warnings.append(f"the last digest run left {last['waiting']} digests waiting for arXiv's listing")
    if last.get("deferred") and not last.get("sent"):
        warnings.append(
            f"the last digest run could not hand {last['deferred']} digests to the mail server (deferred, to "
            "be retried): is it reachable?"
        )
    if last.get("failed"):
        warnings.append(f"the last digest run gave up on {last['failed']} digests after every retry")
    return {
        "subscribers": store.subscriber_counts(),
        "deliveries_7d": store.delivery_counts(since=now.date() - timedelta(days=7)),
        "last_run": (job or {}).get("last_started"),
        "last_run_counts": last,
        "waiting": last.get("waiting", 0),
        "next_announcement": next_announcement(now, calendar=cal).isoformat(),
        "next_delivery": nxt.isoformat() if nxt else None,
        "mail": "smtp" if pw.settings.smtp_host else "outbox",
        "warnings": warnings,
    }


def status_json(pw: Paperwire, private: bool = False) -> dict[str, Any]:
    """What the store holds, and each background job's last run (J1, J2)."""
    from paperwire.jobs.status import job_states

    store = pw.store
    model = pw.engine.model_name
    counts = pw.store_counts()
    pending = counts["pending_embeddings"]
    jobs = [j.as_json() for j in job_states(store, pw.settings, waiting={"embed": pending})]
    return {
        "home": str(pw.settings.home),
        "papers": counts["papers"],
        "newest_announced": counts["newest_announced"],
        "embedding_model": model,
        "embedded": counts["embedded"],
        "pending_embeddings": pending,
        "keyword_indexed": pw.engine.keyword.num_docs(),
        # this process's vector index when it has loaded it (a server), else what is saved (a command never
        # loads vectors for a status)
        "vector_indexed": (vs := pw.engine.vector_state())["vectors"],
        "vector_index": vs,
        "last_harvest": store.get_checkpoint("oai:last-harvest"),
        "jobs": jobs,
        "digest": digest_status(pw, jobs),
    } | ({"database": store.url} if private else {})  # where the data lives is the operator's business
