"""BM25 keyword search over a tantivy index derived from the store (rebuildable; never the only copy)."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import tantivy

from paperwire.errors import IndexBusyError
from paperwire.models import Paper
from paperwire.search.query import Query

AUTHOR_BOOST = 0.5
# A word in more than this share of the papers does not rank (unless the query has nothing else): BM25's
# original idf, log((N - n + 0.5) / (n + 0.5)), is zero or less there, so it says nothing about which paper is
# meant; and it costs the most, since every posting of a ranked term is scored (tantivy-py never skips: ~15 ns
# a posting; "model" is in 82% of arXiv cs papers). Only over COMMON_MIN_DOCS papers or more.
COMMON_SHARE = 0.5
COMMON_MIN_DOCS = 1000
_SCHEMA_VERSION = 4  # 4: title and abstract keep stop words (pw_en_all), so phrases match as written
_TEXT = "pw_en"
_ALL = "pw_en_all"
_WORD_CACHE_SIZE = 200_000  # distinct words remembered by word_terms (a few tens of MB at most)
_NAME = "pw_name"
# Words that say nothing about a paper's topic. BM25 still counts the few that tantivy's short stop list keeps
# ("from", "we": measured, a longer stop list costs SciFact keyword nDCG@10 0.003), at their tiny idf; but none
# is ever shown as a match or highlighted on its own (inside a matched phrase it is part of the phrase).
FUNCTION_WORDS = frozenset(
    {
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "may",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "us",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
    }
)


def _text_analyzer(stop_words: bool = True) -> Any:
    """Words as index terms: lowercased, ascii-folded, stemmed; English stop words dropped with ``stop_words``.

    Without stop words (what BM25 ranks by) "of" and "for" are no terms at all; with them (the position-bearing
    title and abstract fields that phrases are matched in) every word keeps its place. A word that is no stop
    word gives the same term either way, so word queries work on both.
    """
    b = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
    )
    if stop_words:
        b = b.filter(tantivy.Filter.stopword("english"))
    return b.filter(tantivy.Filter.stemmer("english")).build()


def _name_analyzer() -> Any:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def _schema() -> Any:
    b = tantivy.SchemaBuilder()
    b.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    # title and abstract word for word, stop words included: what phrases match (and the title boost)
    b.add_text_field("title", stored=False, tokenizer_name=_ALL, index_option="position")
    b.add_text_field("abstract", stored=False, tokenizer_name=_ALL, index_option="position")
    # title and abstract as one field: what BM25 ranks by (one length norm, as classic BM25 baselines do)
    b.add_text_field("text", stored=False, tokenizer_name=_TEXT, index_option="freq")
    b.add_text_field("authors", stored=False, tokenizer_name=_NAME, index_option="position")
    b.add_text_field("cat", stored=False, tokenizer_name="raw", index_option="basic")
    b.add_integer_field("date", stored=False, indexed=True, fast=True)
    # a 64-bit hash of the id as a fast field: hits resolve to ids without reading stored documents
    b.add_unsigned_field("key", stored=False, indexed=False, fast=True)
    return b.build()


def id_key(paper_id: str) -> int:
    """The ``key`` fast field of a paper id: the first 8 bytes of its BLAKE2b hash."""
    return int.from_bytes(hashlib.blake2b(paper_id.encode(), digest_size=8).digest(), "big")


def date_key(d: date | None) -> int:
    """A date as the integer YYYYMMDD (0 when unknown)."""
    return d.year * 10000 + d.month * 100 + d.day if d else 0


def paper_date(p: Paper) -> date | None:
    """The date a paper is filtered and sorted by: announcement, else submission, else update."""
    return p.announced or p.published or p.updated


@dataclass
class KeywordHit:
    """A paper id with its BM25 score (or its date key when sorted by date)."""

    paper_id: str
    score: float


class KeywordIndex:
    """A tantivy index of title (boosted), abstract, authors, categories and dates."""

    def __init__(self, path: Path, title_boost: float = 0.25, lock_wait: float = 120.0) -> None:
        self.path = path
        self.title_boost = title_boost
        self.lock_wait = lock_wait
        self.text = _text_analyzer()
        self.all_words = _text_analyzer(stop_words=False)
        self.names = _name_analyzer()
        self._word_terms: dict[str, list[str]] = {}
        self._function_terms = {str(t) for w in FUNCTION_WORDS for t in self.text.analyze(w)}
        self._id_of: dict[int, str] = {}  # key fast field -> paper id ("" for a rare collision)
        self._writer_lock = threading.Lock()
        meta = path / "paperwire.json"
        if meta.exists() and json.loads(meta.read_text()).get("schema") != _SCHEMA_VERSION:
            shutil.rmtree(path)  # derived data in an old layout: rebuild from the store
        path.mkdir(parents=True, exist_ok=True)
        self.schema = _schema()
        self.index = tantivy.Index(self.schema, path=str(path), reuse=True)
        self.index.register_tokenizer(_TEXT, self.text)
        self.index.register_tokenizer(_ALL, self.all_words)
        self.index.register_tokenizer(_NAME, self.names)
        if not meta.exists():
            meta.write_text(json.dumps({"schema": _SCHEMA_VERSION, "seq": 0}))

    # -- state --------------------------------------------------------------------------------

    def _meta(self) -> dict[str, Any]:
        return dict(json.loads((self.path / "paperwire.json").read_text()))

    @property
    def seq(self) -> int:
        """The store change-sequence this index is up to date with."""
        return int(self._meta().get("seq", 0))

    @property
    def store_id(self) -> str | None:
        """The database this index follows (None: not yet known, an index made before ids existed)."""
        sid = self._meta().get("store")
        return str(sid) if sid else None

    def _set_seq(self, seq: int, store_id: str | None = None) -> None:
        meta = {"schema": _SCHEMA_VERSION, "seq": seq, "store": store_id or self.store_id}
        tmp = self.path / "paperwire.json.tmp"
        tmp.write_text(json.dumps(meta))
        tmp.replace(self.path / "paperwire.json")

    def follow(self, store_id: str) -> None:
        """Record that this index follows the database ``store_id`` (its sequence numbers mean nothing
        elsewhere)."""
        self._set_seq(self.seq, store_id)

    def reload(self) -> None:
        """See what other processes committed (tantivy also notices by itself, a little later)."""
        self.index.reload()

    def num_docs(self) -> int:
        """Documents in the index."""
        self.index.reload()
        return int(self.index.searcher().num_docs)

    # -- writing ------------------------------------------------------------------------------

    def add(self, items: Iterable[tuple[int, Paper]], heap_mb: int = 128) -> int:
        """Index (or re-index) papers with their change sequence; returns how many."""
        n = 0
        with self._writer_lock:
            writer = self._writer(heap_mb)
            top = self.seq  # read under the writer lock: another process may have moved it
            for seq, p in items:
                writer.delete_documents_by_term("id", p.id)
                writer.add_document(self._doc(p))
                top = max(top, seq)
                n += 1
            writer.commit()
            writer.wait_merging_threads()
            self._set_seq(top)
        self.index.reload()
        return n

    def _writer(self, heap_mb: int) -> Any:
        """The index writer, waiting while another process (a CLI ingest, a server) holds it."""
        deadline = time.monotonic() + self.lock_wait
        while True:
            try:
                return self.index.writer(heap_size=heap_mb * 1024 * 1024, num_threads=1)
            except ValueError as exc:
                if "LockBusy" not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise IndexBusyError(
                        f"another paperwire process has been writing the keyword index {self.path} for "
                        f"{self.lock_wait:.0f} s; nothing was indexed (the store has it all: rerun later)"
                    ) from exc
                time.sleep(0.2)

    def _doc(self, p: Paper) -> Any:
        doc = tantivy.Document()
        doc.add_text("id", p.id)
        doc.add_unsigned("key", self.learn_id(p.id))
        doc.add_text("title", p.title)
        doc.add_text("abstract", p.abstract)
        doc.add_text("text", f"{p.title}\n{p.abstract}")
        for a in p.authors:
            doc.add_text("authors", a)
        for c in p.categories:
            doc.add_text("cat", c)
        doc.add_integer("date", date_key(paper_date(p)))
        return doc

    def clear(self) -> None:
        """Drop every document (before a full rebuild)."""
        with self._writer_lock:
            writer = self._writer(64)
            writer.delete_all_documents()
            writer.commit()
            writer.wait_merging_threads()
            self._set_seq(0, "")
        self.index.reload()

    # -- queries ------------------------------------------------------------------------------

    def terms(self, text: str) -> list[str]:
        """The index terms of ``text`` (lowercased, stemmed, stop words dropped)."""
        return [str(t) for t in self.text.analyze(text)]

    def phrase_terms(self, text: str) -> list[str]:
        """The terms of ``text`` as phrases see it: every word in order, stop words included."""
        return [str(t) for t in self.all_words.analyze(text)]

    def highlight_terms(self, q: Query) -> set[str]:
        """The index terms of the query's words and phrases worth marking in a text: no function words."""
        return {t for w in [*q.words, *q.phrases] for t in self.terms(w) if t not in self._function_terms}

    def informative(self, tokens: Sequence[str]) -> list[str]:
        """``tokens`` (once each) without those in more than COMMON_SHARE of the papers, unless none would be
        left."""
        toks = list(dict.fromkeys(tokens))
        if len(toks) < 2:
            return toks
        searcher = self.index.searcher()
        n = int(searcher.num_docs)
        if n < COMMON_MIN_DOCS:
            return toks
        keep = [t for t in toks if int(searcher.doc_freq("text", t)) <= COMMON_SHARE * n]
        return keep or toks

    def idf(self, q: Query) -> tuple[dict[str, float], int]:
        """BM25 idf of each distinct index term of the query's words and phrases (the ``text`` field), and
        how many papers the index holds."""
        searcher = self.index.searcher()
        n = int(searcher.num_docs)
        out = {}
        for t in dict.fromkeys(t for w in [*q.words, *q.phrases] for t in self.terms(w)):
            df = int(searcher.doc_freq("text", t))
            out[t] = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
        return out, n

    def word_terms(self, word: str) -> list[str]:
        """``terms`` of one word, remembered: highlighting asks about the same words all day long."""
        got = self._word_terms.get(word)
        if got is None:
            got = self.terms(word)
            if len(self._word_terms) < _WORD_CACHE_SIZE:
                self._word_terms[word] = got
        return got

    def _terms_clauses(self, tokens: Sequence[str]) -> list[tuple[Any, Any]]:
        clauses = []
        for tok in dict.fromkeys(tokens):
            clauses.append((tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "text", tok)))
            if self.title_boost > 0:  # a title match counts extra, on top of its share of the text
                title = tantivy.Query.term_query(self.schema, "title", tok)
                clauses.append((tantivy.Occur.Should, tantivy.Query.boost_query(title, self.title_boost)))
        return clauses

    def _terms_query(self, tokens: Sequence[str]) -> Any:
        return tantivy.Query.boolean_query(self._terms_clauses(tokens))

    def _phrase_query(self, text: str) -> Any:
        """The words of ``text`` in a row in the title or the abstract, stop words included ("of" is not
        "for"); a single word as a word query (ranked as words are), unless it is a stop word, which only
        the title and abstract hold."""
        toks = self.phrase_terms(text)
        if not toks:
            return None
        if len(toks) == 1 and self.terms(text) == toks:
            return self._terms_query(toks)
        if len(toks) == 1:
            fields = [tantivy.Query.term_query(self.schema, f, toks[0]) for f in ("title", "abstract")]
        else:
            fields = [
                tantivy.Query.phrase_query(self.schema, f, list[Any](toks)) for f in ("title", "abstract")
            ]
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, f) for f in fields])

    def _author_query(self, name: str) -> Any:
        toks = [str(t) for t in self.names.analyze(name)]
        if not toks:
            return tantivy.Query.empty_query()
        if len(toks) == 1:
            return tantivy.Query.term_query(self.schema, "authors", toks[0])
        return tantivy.Query.phrase_query(self.schema, "authors", list[Any](toks))

    def _author_words_clauses(self, words: Sequence[str]) -> list[tuple[Any, Any]]:
        # plain words also find authors ("Kaiming He masked autoencoder"), at a lower weight
        toks = [str(t) for w in words for t in self.names.analyze(w) if len(str(t)) > 1]
        return [
            (
                tantivy.Occur.Should,
                tantivy.Query.boost_query(tantivy.Query.term_query(self.schema, "authors", t), AUTHOR_BOOST),
            )
            for t in toks
        ]

    def constraints(self, q: Query) -> list[tuple[Any, Any]]:
        """The clauses every result must satisfy: phrases, exclusions, authors, categories, dates."""
        clauses: list[tuple[Any, Any]] = []
        for phrase in q.phrases:
            pq = self._phrase_query(phrase)
            if pq is not None:
                clauses.append((tantivy.Occur.Must, pq))
        for ex in q.excluded:
            eq = self._phrase_query(ex)
            if eq is not None:
                clauses.append((tantivy.Occur.MustNot, eq))
        for name in q.authors:
            clauses.append((tantivy.Occur.Must, self._author_query(name)))
        if q.categories:
            cats = [
                (tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "cat", c)) for c in q.categories
            ]
            clauses.append((tantivy.Occur.Must, tantivy.Query.boolean_query(cats)))
        if q.after or q.before:
            clauses.append(
                (
                    tantivy.Occur.Must,
                    tantivy.Query.range_query(
                        self.schema,
                        "date",
                        tantivy.FieldType.Integer,
                        date_key(q.after) if q.after else None,
                        date_key(q.before) if q.before else None,
                    ),
                )
            )
        return clauses

    def build_query(self, q: Query) -> Any:
        """The tantivy query for ``q``: any word ranks (BM25), every constraint must hold.

        Words alone make one flat union of term clauses (each word in the text, its boosted title match, its
        boosted author match): tantivy then skips postings that cannot reach the top hits (block-max WAND),
        with the same hits and scores as the nested form constraints need (a boost over a union of terms is
        the union of the boosted terms)."""
        clauses = self.constraints(q)
        word_tokens = self.informative([t for w in q.words for t in self.terms(w)])
        ranked = self._terms_clauses(word_tokens) + self._author_words_clauses(q.words)
        if ranked and not clauses:
            return tantivy.Query.boolean_query(ranked)
        if ranked:
            clauses.append((tantivy.Occur.Must, tantivy.Query.boolean_query(ranked)))
        elif not any(occ == tantivy.Occur.Must for occ, _ in clauses):
            if q.words:  # only stop words: nothing can rank
                return tantivy.Query.empty_query()
            clauses.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(clauses)

    def search(
        self,
        q: Query,
        limit: int = 100,
        offset: int = 0,
        by_date: bool = False,
        within: Sequence[str] | None = None,
        count: bool = True,
    ) -> tuple[list[KeywordHit], int]:
        """Top hits for ``q`` and how many documents match (``within``: only among these paper ids). ``count``
        False: the count is not made (0), and tantivy may skip documents that cannot reach the top hits."""
        searcher = self.index.searcher()
        query = self.build_query(q)
        if within is not None:
            if not within:
                return [], 0
            among = tantivy.Query.term_set_query(self.schema, "id", list(within))
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, among)])
        # tantivy sets aside room for offset + limit hits before it looks (16 bytes each): never more than
        # the index holds, so a page far past the end costs nothing
        room = int(searcher.num_docs) - offset
        if room <= 0:
            res = searcher.search(query, 1, count=count)
            return [], int(getattr(res, "count", None) or 0)
        limit = min(limit, room)
        if by_date:
            res = searcher.search(query, limit, count=count, order_by_field="date", offset=offset)
        else:
            res = searcher.search(query, limit, count=count, offset=offset)
        ids = self._ids(searcher, [addr for _, addr in res.hits])
        hits = [KeywordHit(pid, float(score)) for pid, (score, _) in zip(ids, res.hits, strict=True)]
        total = getattr(res, "count", None)  # present at run time; missing from the stubs
        return hits, int(total or 0)

    def matching_ids(self, q: Query, among: Sequence[str] | None = None, limit: int = 100_000) -> set[str]:
        """Ids satisfying ``q``'s constraints (optionally only among ``among``)."""
        clauses = self.constraints(q)
        if among is not None:
            if not among:
                return set()
            clauses.append((tantivy.Occur.Must, tantivy.Query.term_set_query(self.schema, "id", list(among))))
            limit = len(among)
        if not any(occ == tantivy.Occur.Must for occ, _ in clauses):
            clauses.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        searcher = self.index.searcher()
        res = searcher.search(tantivy.Query.boolean_query(clauses), limit, count=False)
        return set(self._ids(searcher, [addr for _, addr in res.hits]))

    def learn_id(self, paper_id: str) -> int:
        """Remember which id a key stands for; returns the key."""
        key = id_key(paper_id)
        known = self._id_of.setdefault(key, paper_id)
        if known != paper_id:  # two ids, one hash (about 1 in 10^9 at a million papers): read those
            self._id_of[key] = ""
        return key

    def _ids(self, searcher: Any, addrs: list[Any]) -> list[str]:
        """The paper ids of hits: from the key fast field and the ids this process has seen, else
        from the stored document (learned for next time)."""
        if not addrs:
            return []
        out = []
        for addr, key in zip(addrs, searcher.fast_field_values("key", addrs), strict=True):
            pid = self._id_of.get(key) if key is not None else None
            if not pid:
                pid = str(searcher.doc(addr)["id"][0])
                if key is not None:
                    self.learn_id(pid)
            out.append(pid)
        return out

    def matched_terms(self, q: Query, papers: Iterable[Paper]) -> dict[str, list[str]]:
        """Which of the query's words and phrases occur in each paper (for "why this result").

        A word matches when all its terms are in the title or abstract, or it names an author; a
        phrase when its words are there in a row, stop words included (as the search matched it). Function
        words ("from", "we") alone never count as matches. The query is analysed once, each paper once (twice
        when the query has phrases).
        """
        words = []
        for w in q.words:
            toks = self.terms(w)
            if set(toks) <= self._function_terms:  # a function word (a stop word has no term at all)
                continue
            words.append((w, toks, [str(t) for t in self.names.analyze(w) if len(str(t)) > 1]))
        phrases = [(p, self.phrase_terms(p)) for p in q.phrases]
        out: dict[str, list[str]] = {}
        for paper in papers:
            doc_terms = set(self.terms(f"{paper.title} {paper.abstract}"))
            author_terms = {str(t) for t in self.names.analyze(" ; ".join(paper.authors))}
            fields = [self.phrase_terms(paper.title), self.phrase_terms(paper.abstract)] if phrases else []
            out[paper.id] = [
                w
                for w, toks, name_toks in words
                if (toks and all(t in doc_terms for t in toks)) or any(t in author_terms for t in name_toks)
            ] + [p for p, toks in phrases if toks and any(_in_a_row(toks, f) for f in fields)]
        return out


def _in_a_row(toks: Sequence[str], seq: Sequence[str]) -> bool:
    """Whether ``toks`` occur consecutively in ``seq``."""
    n = len(toks)
    return any(seq[i] == toks[0] and list(seq[i : i + n]) == list(toks) for i in range(len(seq) - n + 1))
