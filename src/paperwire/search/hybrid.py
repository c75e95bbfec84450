"""The search engine: keyword and semantic lists, fused (search/fusion.py), with explanations."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np

from paperwire.config import Settings
from paperwire.embed import Embedder, get_embedder, vector_space
from paperwire.errors import NotFoundError, QueryError
from paperwire.models import Paper, SearchHit
from paperwire.search.fusion import (
    Fused,
    QuerySignals,
    adaptive_alpha,
    convex_fuse,
    list_signals,
    rrf_fuse,
)
from paperwire.search.keyword import KeywordHit, KeywordIndex, date_key, paper_date
from paperwire.search.query import Query, parse_query
from paperwire.search.semantic import GraphBuild, VectorIndex
from paperwire.store.base import Store

Mode = Literal["keyword", "semantic", "hybrid"]
Sort = Literal["relevance", "date", "popular"]
MODES: tuple[Mode, ...] = ("keyword", "semantic", "hybrid")
SORTS: tuple[Sort, ...] = ("relevance", "date", "popular")
Popularity = Callable[[Sequence[str]], dict[str, float]]
# "popular" orders keyword matches by popularity: this many at most (a query matching more says so); hybrid and
# semantic order their fused list (settings.fusion_depth deep) by it
POPULAR_CANDIDATES = 1000
_QUERY_VECTORS_KEPT = 512
# the deepest result a search serves (offset + limit): more than arXiv holds, so the daily list can still ask
# for a day's last paper; the indexes never collect more than they hold whatever is asked
MAX_RESULTS = 10_000_000
MAX_PAGE = 1000  # the last page number the web pages, the API and the CLI serve


@dataclass
class SearchResults:
    """One page of results and what produced it."""

    query: Query
    mode: Mode
    hits: list[SearchHit]
    total: int
    offset: int
    limit: int
    notes: list[str] = field(default_factory=list)
    semantic_share: float | None = None  # hybrid: the weight the semantic list had in the mix


class SearchEngine:
    """Keyword + semantic search over a store, with indexes derived from it."""

    def __init__(
        self, settings: Settings, store: Store, embedder: Embedder | None = None, graph: GraphBuild = "auto"
    ) -> None:
        self.settings = settings
        self.graph = graph  # how the vector graph gets built: see VectorIndex.sync
        self.store = store
        self._embedder = embedder
        self.keyword = KeywordIndex(settings.index_dir / "keyword", settings.title_boost)
        self.model_name = (
            embedder.name
            if embedder is not None
            else vector_space(settings.embedding_model, settings.embedding_max_length)
        )
        self.vectors = VectorIndex(settings.index_dir, self.model_name)
        self._refresh_lock = threading.Lock()
        self._query_vectors: dict[str, np.ndarray] = {}
        self._query_vectors_lock = threading.Lock()  # never the refresh lock: a refresh may take minutes
        self._ids_learned = 0
        self._keyword_fresh = False  # the keyword index was brought up to date in this process
        # (papers' change sequence, vectors' change sequence) the last refresh read up to; None: none yet
        self.synced: tuple[int, int] | None = None
        # each paper's popularity (>= 0; trending/ sets it): the "popular" sort and the relevance lift read it
        self.popularity: Popularity | None = None

    @property
    def embedder(self) -> Embedder:
        """The query embedder, loaded on first use."""
        if self._embedder is None:
            self._embedder = get_embedder(self.settings)
        return self._embedder

    def refresh(self) -> tuple[int, int]:
        """Bring both indexes up to date with the store; returns (papers indexed, vectors changed)."""
        with self._refresh_lock:
            # read first: whatever arrives while this runs is caught by the next refresh
            cursor = self.store.vector_cursor(self.model_name)
            n = self._refresh_keyword()
            v = self.vectors.sync(self.store, self.store.store_id(), self.graph)
            for pid in self.vectors.ids[self._ids_learned :]:  # most keyword hits resolve from memory
                self.keyword.learn_id(pid)
            self._ids_learned = len(self.vectors.ids)
            self.synced = (cursor.papers, cursor.vectors)
            return n, v

    def refresh_keyword(self) -> int:
        """Bring the keyword index up to date (never reads a vector: what `paperwire ingest` does);
        returns papers indexed."""
        with self._refresh_lock:
            return self._refresh_keyword()

    def _refresh_keyword(self) -> int:
        self._keyword_fresh = True
        sid = self.store.store_id()
        top = self.store.max_seq()
        follows = self.keyword.store_id
        if (follows is not None and follows != sid) or top < self.keyword.seq:
            # built from another database (a home pointed at a copy): its sequence numbers mean nothing here
            self.keyword.clear()
        if follows != sid:
            self.keyword.follow(sid)
        if top > self.keyword.seq:
            return self.keyword.add(self.store.iter_papers(after_seq=self.keyword.seq))
        self.keyword.reload()  # another process may have indexed them
        return 0

    def ready(self, vectors: bool = True) -> None:
        """Refresh once if this process has not yet (the indexes load on first use; a keyword search
        never loads the vectors)."""
        if self.synced is None and vectors:
            self.refresh()
        elif not self._keyword_fresh:
            self.refresh_keyword()

    def rebuild(self) -> tuple[int, int]:
        """Drop and rebuild both indexes from the store (the vector graph whole, here and now)."""
        import shutil

        with self._refresh_lock:
            self.keyword.clear()
            self.vectors.close()
            shutil.rmtree(self.vectors.dir, ignore_errors=True)
            self.vectors = VectorIndex(self.settings.index_dir, self.model_name)
            self._ids_learned = 0
        graph, self.graph = self.graph, "inline"
        try:
            return self.refresh()
        finally:
            self.graph = graph

    def vector_state(self) -> dict[str, int | bool | None]:
        """The vector index as the status page shows it: this process's when loaded, else the saved one."""
        if self.vectors.cursor is not None:
            return dict(self.vectors.state())
        from paperwire.search.semantic import saved_count

        return {
            "vectors": saved_count(self.settings.index_dir, self.model_name),
            "graph": None,
            "building": None,
        }

    def close(self) -> None:
        """Stop a background graph build and save the vector index's unsaved changes."""
        self.vectors.close()

    # -- search -------------------------------------------------------------------------------

    def search(
        self,
        text: str,
        *,
        mode: Mode = "hybrid",
        categories: list[str] | None = None,
        authors: list[str] | None = None,
        after: date | None = None,
        before: date | None = None,
        sort: Sort = "relevance",
        limit: int = 10,
        offset: int = 0,
        explain: bool = True,
        query_vector: np.ndarray | None = None,
        papers: Mapping[str, Paper] | None = None,
    ) -> SearchResults:
        """Run a query-language search; raises QueryError for malformed queries. ``explain=False``: the hits
        carry their papers but not the matched terms or popularity (a digest's watch needs neither).
        ``query_vector``: the query's embedding, made already (``embed_queries``). ``papers``: papers read
        already (a digest pass holds its listing's): hits among them are not read from the store again."""
        if mode not in MODES:
            raise QueryError(f"unknown mode {mode!r}: use keyword, semantic or hybrid")
        if sort not in SORTS:
            raise QueryError(f"unknown sort {sort!r}: use relevance, date or popular")
        if limit < 1 or offset < 0:
            raise QueryError("limit must be at least 1 and offset at least 0")
        if offset + limit > MAX_RESULTS:
            raise QueryError(
                f"too deep: results stop at the {MAX_RESULTS:,}th (asked for {offset:,} + {limit:,}); "
                "narrow the search with words or filters"
            )
        q = parse_query(text, categories=categories, authors=authors, after=after, before=before)
        self.ready(vectors=mode != "keyword" and q.has_text)  # filters alone are listed by the keyword index
        if q.paper_id:
            return SearchResults(q, mode, [self.paper(q.paper_id)], 1, 0, limit, ["exact arXiv id"])
        notes: list[str] = []
        if not q.has_text and not q.has_constraints:
            raise QueryError('empty query: type some words, a "phrase", author:, cat: or a date filter')
        if not q.has_text:
            mode = "keyword"  # filters alone: list what matches, newest first (or most popular first)
            sort = "popular" if sort == "popular" else "date"
        elif mode != "keyword" and not len(self.vectors):
            notes.append("no embeddings yet for this model: keyword results only (run `paperwire embed`)")
            mode = "keyword"
        depth = max(self.settings.fusion_depth, offset + limit)
        if mode == "keyword" and sort == "popular":  # every match qualifies (up to POPULAR_CANDIDATES)
            kw, total = self.keyword.search(q, limit=max(depth, POPULAR_CANDIDATES), by_date=not q.has_text)
            ranked = self._by_popularity(
                [(h.paper_id, h.score, [r, None]) for r, h in enumerate(kw, 1)], notes
            )
            if total > len(kw):
                first = "most relevant" if q.has_text else "newest"
                notes.append(f"popular: the {len(kw):,} {first} of {total:,} matches, most popular first")
            hits = [
                SearchHit(Paper(id=pid, title="", abstract=""), score, keyword_rank=ranks[0])
                for pid, score, ranks in ranked[offset : offset + limit]
            ]
            return self._finish(
                SearchResults(q, mode, hits, min(total, len(kw)), offset, limit, notes), explain
            )
        if mode == "keyword":
            kw, total = self.keyword.search(q, limit=limit, offset=offset, by_date=sort == "date")
            hits = [
                SearchHit(
                    Paper(id=h.paper_id, title="", abstract=""),
                    h.score,
                    keyword_rank=offset + i + 1,
                    keyword_score=h.score if sort != "date" else None,
                )
                for i, h in enumerate(kw)
            ]
            return self._finish(SearchResults(q, mode, hits, total, offset, limit, notes), explain)
        sem = self._semantic(q, depth, query_vector)
        fused: Fused
        share: float | None = None
        kw_score: dict[str, float] = {}
        if mode == "semantic":
            fused = [(h.paper_id, h.similarity, [None, r]) for r, h in enumerate(sem, start=1)]
        else:
            kw, _ = self.keyword.search(q, limit=depth, count=False)  # fusion needs the hits, not how many
            fused, share = self.fuse(q, kw, sem, papers)
            kw_score = {h.paper_id: h.score for h in kw}
        sims = {h.paper_id: h.similarity for h in sem}
        total = len(fused)
        if (
            sort == "popular"
        ):  # semantic neighbours never run out: the fused list's depth bounds what qualifies
            fused = self._by_popularity(fused, notes)
        elif self.settings.popularity_lift > 0:
            fused = self._lifted(fused)
        if sort == "date":
            dates = {
                pid: date_key(paper_date(p))
                for pid, p in self.store.get_papers([f[0] for f in fused]).items()
            }
            fused.sort(key=lambda f: -dates.get(f[0], 0))
        hits = []
        for pid, score, ranks in fused[offset : offset + limit]:
            hits.append(
                SearchHit(
                    Paper(id=pid, title="", abstract=""),
                    score,
                    keyword_rank=ranks[0],
                    semantic_rank=ranks[1],
                    keyword_score=kw_score.get(pid) if mode == "hybrid" else None,
                    similarity=sims.get(pid),
                )
            )
        res = SearchResults(q, mode, hits, total, offset, limit, notes, semantic_share=share)
        return self._finish(res, explain, papers)

    def _popularity_of(self, ids: Sequence[str]) -> dict[str, float] | None:
        return self.popularity(ids) if self.popularity is not None and ids else None

    def _by_popularity(self, fused: Fused, notes: list[str]) -> Fused:
        """The list most popular first; papers equally popular (or never seen) keep their relevance order."""
        pop = self._popularity_of([f[0] for f in fused])
        if not pop or not any(pop.values()):
            notes.append("none of these has popularity signals: most relevant first")
            return fused
        order = sorted(range(len(fused)), key=lambda i: (-pop.get(fused[i][0], 0.0), i))
        return [fused[i] for i in order]

    def _lifted(self, fused: Fused) -> Fused:
        """Relevance lifted by popularity: score x (1 + lift x p), p = log(1 + popularity) scaled to [0, 1]
        over the candidates; relevance still decides among papers nobody has signalled."""
        pop = self._popularity_of([f[0] for f in fused])
        if not pop:
            return fused
        top = math.log1p(max(pop.values()))
        if top <= 0:
            return fused
        lift = self.settings.popularity_lift
        out = [
            (pid, score * (1 + lift * math.log1p(pop.get(pid, 0.0)) / top), ranks)
            for pid, score, ranks in fused
        ]
        out.sort(key=lambda f: -f[1])
        return out

    def fuse(
        self,
        q: Query,
        kw: list[KeywordHit],
        sem: list,  # type: ignore[type-arg]
        papers: Mapping[str, Paper] | None = None,
    ) -> tuple[Fused, float | None]:
        """Merge the two lists as settings say; returns the fused list and the semantic share (if convex)."""
        s = self.settings
        kw_pairs = [(h.paper_id, h.score) for h in kw]
        sem_pairs = [(h.paper_id, h.similarity) for h in sem]
        if s.fusion == "rrf":
            ids = [[h.paper_id for h in kw], [h.paper_id for h in sem]]
            return rrf_fuse(ids, [s.keyword_weight, s.semantic_weight], s.rrf_k), None
        if not kw_pairs or not sem_pairs:  # one list alone: it is the answer, whatever the mix would be
            return convex_fuse(kw_pairs, sem_pairs, 0.0), 1.0 if sem_pairs else 0.0
        if s.fusion == "convex":
            return convex_fuse(kw_pairs, sem_pairs, s.convex_alpha), s.convex_alpha
        alpha = adaptive_alpha(self.signals(q, kw_pairs, sem_pairs, papers))
        return convex_fuse(kw_pairs, sem_pairs, alpha, norm="zscore"), alpha

    def signals(
        self,
        q: Query,
        kw: list[tuple[str, float]],
        sem: list[tuple[str, float]],
        papers: Mapping[str, Paper] | None = None,
    ) -> QuerySignals:
        """What the adaptive fusion reads about this query (search/fusion.py)."""
        idf, n_docs = self.keyword.idf(q)
        coverage = 0.0
        if kw and idf:
            top = (papers or {}).get(kw[0][0]) or self.store.get_paper(kw[0][0])
            if top is not None:
                have = set(self.keyword.terms(f"{top.title} {top.abstract}"))
                coverage = sum(v for t, v in idf.items() if t in have) / sum(idf.values())
        kw_gap, sem_top, sem_gap, overlap = list_signals(kw, sem)
        return QuerySignals(
            terms=len(idf),
            # idf relative to the largest an index of this size can give: the same query reads the same in a
            # 5,000-paper test corpus and a million-paper home
            idf_mean=sum(idf.values()) / len(idf) / math.log(2.0 + n_docs) if idf else 0.0,
            coverage=coverage,
            kw_gap=kw_gap,
            sem_top=sem_top,
            sem_gap=sem_gap,
            overlap=overlap,
        )

    def forget_query_vectors(self) -> None:
        """Drop the kept query vectors (benchmarks measure the embedding of every query)."""
        with self._query_vectors_lock:
            self._query_vectors.clear()

    def _query_vector(self, text: str) -> np.ndarray:
        """The query's embedding; the last few are kept, so paging through results embeds once."""
        vec = self._query_vectors.get(text)
        if vec is None:
            vec = self.embedder.embed_query(text)
            with self._query_vectors_lock:
                if len(self._query_vectors) >= _QUERY_VECTORS_KEPT:
                    self._query_vectors.pop(next(iter(self._query_vectors)))
                self._query_vectors[text] = vec
        return vec

    def embed_queries(self, texts: Sequence[str], batch: int = 32) -> dict[str, np.ndarray]:
        """The embeddings of many queries, made in batches (a digest pass embeds every watch it runs at once,
        several times faster than one by one): {query: vector} for each query that parses and has words; pass
        one to ``search(query_vector=...)``."""
        semantic: dict[str, str] = {}
        for text in dict.fromkeys(texts):
            try:
                q = parse_query(text)
            except QueryError:
                continue
            if q.has_text and not q.paper_id:
                semantic[text] = q.semantic_text
        todo = sorted(set(semantic.values()), key=len)  # alike lengths together: little padding
        vecs: dict[str, np.ndarray] = {}
        for i in range(0, len(todo), batch):
            chunk = todo[i : i + batch]
            vecs.update(zip(chunk, self.embedder.embed_queries(chunk), strict=True))
        return {text: vecs[sem] for text, sem in semantic.items()}

    def _semantic(self, q: Query, depth: int, qvec: np.ndarray | None = None) -> list:  # type: ignore[type-arg]
        if qvec is None:
            qvec = self._query_vector(q.semantic_text)
        allowed: set[str] | None = None
        if q.authors:
            allowed = self.keyword.matching_ids(Query(authors=q.authors), limit=50_000)
        after = date_key(q.after) if q.after else None
        before = date_key(q.before) if q.before else None
        # categories and authors: the rows they allow, listed (a narrow filter never passes over every row);
        # dates alone: a mask
        rows = self.vectors.rows(q.categories, after, before, allowed)
        mask = self.vectors.mask(after=after, before=before) if rows is None else None
        if not (q.phrases or q.excluded):
            return self.vectors.search(qvec, depth, mask, rows=rows)
        # phrases and exclusions are checked by the keyword index on a deeper candidate list
        cands = self.vectors.search(qvec, depth * 5, mask, rows=rows)
        ok = self.keyword.matching_ids(
            Query(phrases=q.phrases, excluded=q.excluded), among=[h.paper_id for h in cands]
        )
        return [h for h in cands if h.paper_id in ok][:depth]

    def _finish(
        self, res: SearchResults, explain: bool = True, known: Mapping[str, Paper] | None = None
    ) -> SearchResults:
        ids = [h.paper.id for h in res.hits]
        have = {i: p for i in ids if (p := (known or {}).get(i)) is not None}
        papers = have | (
            self.store.get_papers([i for i in ids if i not in have]) if len(have) < len(ids) else {}
        )
        matched = (
            self.keyword.matched_terms(res.query, papers.values())
            if explain and (res.query.words or res.query.phrases)
            else {}
        )
        signals = self.store.latest_signals(ids) if ids and explain else {}
        kept = []
        for h in res.hits:
            p = papers.get(h.paper.id)
            if p is None:  # indexed but gone from the store: the index is derived, the store wins
                continue
            h.paper = p
            h.matched_terms = matched.get(p.id, [])
            h.attach(signals.get(p.id))
            kept.append(h)
        res.hits = kept
        return res

    def paper(self, paper_id: str) -> SearchHit:
        """One paper as every surface shows it, its signals attached (NotFoundError when it is not here)."""
        from paperwire.sources.arxiv_ids import parse_arxiv_ref

        pid = parse_arxiv_ref(paper_id)[0]
        found = self.find_paper(pid)
        if found is None:
            raise NotFoundError(
                f"arXiv {pid} is not in this paperwire (try: paperwire ingest arxiv --id {pid})"
            )
        return found

    def find_paper(self, pid: str) -> SearchHit | None:
        """One paper by its base id with its signals attached, or None."""
        paper = self.store.get_paper(pid)
        if paper is None:
            return None
        hit = SearchHit(paper, 1.0)
        hit.attach(self.store.latest_signals([pid]).get(pid))
        return hit

    def similar(self, paper_id: str, limit: int = 10) -> list[SearchHit]:
        """Nearest papers to ``paper_id`` by embedding."""
        from paperwire.sources.arxiv_ids import parse_arxiv_ref

        pid = parse_arxiv_ref(paper_id)[0]
        paper = self.store.get_paper(pid)
        if paper is None:
            raise NotFoundError(f"arXiv {pid} is not in this paperwire")
        self.ready()
        vec = self.vectors.vector(pid)
        if vec is None:
            vec = self.store.get_embedding(self.model_name, pid)
        if vec is None:
            vec = self.embedder.embed_batch([paper.embedding_text])[0]
        hits = [h for h in self.vectors.search(np.asarray(vec), limit + 1) if h.paper_id != pid][:limit]
        ids = [h.paper_id for h in hits]
        papers = self.store.get_papers(ids)
        signals = self.store.latest_signals(ids) if ids else {}
        out = []
        for i, h in enumerate(hits):
            if h.paper_id in papers:
                hit = SearchHit(
                    papers[h.paper_id], h.similarity, semantic_rank=i + 1, similarity=h.similarity
                )
                hit.attach(signals.get(h.paper_id))
                out.append(hit)
        return out
