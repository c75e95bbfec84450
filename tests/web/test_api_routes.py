"""The JSON API as served by the combined app: the daily list, and the schema that documents it."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_daily_api(web: TestClient) -> None:
    body = web.get("/api/daily").json()
    assert body["day"] == "2025-01-03" and body["previous"] == "2025-01-02" and body["next"] is None
    assert sorted(p["id"] for p in body["papers"]) == ["2501.00001", "2501.00002"]
    earlier = web.get("/api/daily", params={"day": "2025-01-02", "category": "cs.LG"}).json()
    assert [p["id"] for p in earlier["papers"]] == ["2501.00003"] and earlier["next"] == "2025-01-03"
    assert web.get("/api/daily", params={"day": "nope"}).status_code == 422
    bad = web.get("/api/daily", params={"category": "!!"})
    assert bad.status_code == 400 and "not an arXiv category" in bad.json()["error"]


def test_openapi_documents_the_api_only(web: TestClient) -> None:
    paths = set(web.get("/openapi.json").json()["paths"])
    assert {"/api/search", "/api/daily", "/api/status", "/api/papers/{paper_id}"} <= paths
    assert not [p for p in paths if not p.startswith("/api")]


def test_unknown_api_path_stays_json(web: TestClient) -> None:
    r = web.get("/api/nope")
    assert r.status_code == 404 and r.json() == {"status": 404, "error": "Not Found"}


def test_upvotes_in_every_paper_the_api_returns(web: TestClient) -> None:
    assert web.get("/api/papers/2501.00002").json()["upvotes"] == 42
    assert web.get("/api/papers/2501.00001").json()["upvotes"] is None
    daily = {p["id"]: p["upvotes"] for p in web.get("/api/daily").json()["papers"]}
    assert daily == {"2501.00001": None, "2501.00002": 42}
    hits = web.get("/api/search", params={"q": "diffusion video", "mode": "keyword"}).json()["hits"]
    assert hits[0]["paper"]["id"] == "2501.00002" and hits[0]["paper"]["upvotes"] == 42
    similar = web.get("/api/papers/2501.00003/similar").json()["hits"]
    assert {h["paper"]["id"]: h["paper"]["upvotes"] for h in similar}.get("2501.00002") == 42
    exact = web.get("/api/search", params={"q": "arXiv:2501.00002"}).json()["hits"]  # a pasted id: that paper
    assert [h["paper"]["upvotes"] for h in exact] == [42]
