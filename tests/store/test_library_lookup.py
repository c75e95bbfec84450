"""The store contract for library imports, on every backend: papers found by DOI."""

from __future__ import annotations

from paperwire.store import Store
from tests.conftest import make_paper


def test_papers_by_doi_ignores_case_and_skips_unknown(store: Store) -> None:
    store.upsert_papers(
        [
            make_paper("2501.00001", doi="10.1109/CVPR.2016.90"),
            make_paper("2501.00002", doi="10.18653/v1/N19-1423"),
            make_paper("2501.00003"),  # no DOI
        ]
    )
    got = store.papers_by_doi(["10.1109/cvpr.2016.90", "10.18653/V1/N19-1423", "10.9999/nobody", " "])
    assert got == {"10.1109/cvpr.2016.90": "2501.00001", "10.18653/v1/n19-1423": "2501.00002"}
    assert store.papers_by_doi([]) == {}


def test_papers_by_doi_many_at_once_and_a_shared_doi(store: Store) -> None:
    papers = [make_paper(f"2502.{i:05d}", doi=f"10.5555/pw.{i}") for i in range(1200)]
    papers.append(make_paper("2501.09999", doi="10.5555/PW.7"))  # an erratum sharing paper 7's DOI
    store.upsert_papers(papers)
    wanted = [f"10.5555/PW.{i}" for i in range(0, 1300, 3)]  # past the 500-a-statement chunks
    got = store.papers_by_doi(wanted)
    assert len(got) == len(range(0, 1200, 3))
    assert got["10.5555/pw.3"] == "2502.00003"
    assert store.papers_by_doi(["10.5555/pw.7"]) == {"10.5555/pw.7": "2501.09999"}  # the lowest id
