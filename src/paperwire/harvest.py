"""Harvest orchestration: arXiv pages into the store, each page committed with its checkpoint (H3)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from paperwire.config import Settings
from paperwire.errors import PaperwireError
from paperwire.sources.arxiv_api import FetchResult, fetch_papers
from paperwire.sources.arxiv_oai import OaiPage, harvest
from paperwire.sources.http import PoliteClient
from paperwire.store.base import Store, UpsertResult

LAST_HARVEST = "oai:last-harvest"


def _names(prefix: str, set_spec: str) -> tuple[str, str]:
    base = f"oai:{prefix}:{set_spec}"
    return f"{base}:resume", f"{base}:from"


def harvest_set(
    store: Store,
    settings: Settings,
    set_spec: str,
    *,
    from_date: str | None = None,
    until: str | None = None,
    prefix: str = "arXiv",
    on_page: Callable[[int, int | None], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> str:
    """Harvest a set incrementally: resume an interrupted run, else start from ``from_date`` or the last run.

    Returns a one-line report. A killed harvest loses nothing committed and resumes at the page it stopped.
    """
    resume_cp, from_cp = _names(prefix, set_spec)
    saved = store.get_checkpoint(resume_cp)
    state: dict[str, str | None] = json.loads(saved) if saved and not from_date else {}
    token = state.get("token")
    start = from_date or state.get("from") or store.get_checkpoint(from_cp)
    if not start and not token:
        raise PaperwireError(f"first harvest of set {set_spec}: say where to start with --from YYYY-MM-DD")
    total = UpsertResult()
    pages = 0
    first_response: dict[str, str] = {}
    if state.get("next_from"):
        first_response["date"] = str(state["next_from"])

    def commit(page: OaiPage, next_token: str | None) -> None:
        nonlocal pages
        first_response.setdefault("date", page.response_date)
        value = None
        if next_token:
            value = json.dumps({"token": next_token, "from": start, "next_from": first_response["date"]})
        total.__iadd__(store.upsert_papers_with_checkpoint(page.papers, resume_cp, value))
        pages += 1
        if on_page:
            on_page(page.record_count, page.complete_list_size)

    with PoliteClient(settings, transport=transport) as client:
        response_date = harvest(
            client,
            settings,
            set_spec,
            None if token else start,
            until=until,
            metadata_prefix=prefix,
            resume_token=token,
            on_page=commit,
        )
    next_from = first_response.get("date") or response_date
    store.set_checkpoint(from_cp, next_from[:10])
    store.set_checkpoint(
        LAST_HARVEST, json.dumps({"set": set_spec, "prefix": prefix, "response_date": next_from})
    )
    return (
        f"harvested {pages} pages of set {set_spec}: {total.inserted} new, {total.updated} updated, "
        f"{total.unchanged} unchanged; next harvest starts from {next_from[:10]}"
    )


def fetch_by_ids(
    store: Store, settings: Settings, refs: list[str], transport: httpx.BaseTransport | None = None
) -> FetchResult:
    """Fetch single papers from the arXiv API by id or URL and store them; what came back, what did not, and
    what was refused as a bad record."""
    with PoliteClient(settings, transport=transport) as client:
        result = fetch_papers(client, settings, refs)
    store.upsert_papers(result.papers)
    return result
