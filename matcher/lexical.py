"""The lexical channel: TF-IDF over character 1–3-grams (no word segmentation), kept up to date per write.

The numbers are those of a TfidfVectorizer (char 1–3-grams, lowercase, sublinear tf, smooth idf, L2
norm) fitted on every stored text of every kind plus the industries' names. Rows keep their sublinear
tf only; the idf enters at query time. A row's norm √Σ tf²·idf² moves whenever a document frequency
does, so it is kept as three integer sums in fixed point: with u = ln(1 + df), idf = A − u where
A = 1 + ln(1 + N), and norm² = A²·S0 − 2A·S1 + S2 for S0 = Σ tf², S1 = Σ tf²·u, S2 = Σ tf²·u². A write
adds the change of u to S1 and S2 of the rows sharing a changed term; integer sums do not depend on
the order they were added in, so any sequence of writes gives exactly the numbers of a fresh load.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import repeat

import numpy as np
from scipy import sparse

from models.enums import Industry

TF_SCALE = 2**16
"""Fixed-point scale of tf² (a text of 20,000 characters keeps Σ tf² below 2^17)."""
U_SCALE = 2**22
"""Fixed-point scale of u = ln(1 + df); S1 stays below 2^60 for up to 2^31 texts."""
U2_SCALE = 2**18
"""Fixed-point scale of u²; S2 stays below 2^60 likewise."""
TF_CHUNK = 20_000
"""Texts counted at a time when many are added at once."""
QUERY_CACHE = 4_096
"""Texts whose queries one lexicon keeps (it is replaced by the next write that moves a frequency)."""


_WHITE_SPACES = re.compile(r"\s\s+")


def ngrams(text: str) -> list[str]:
    """A text's character 1–3-grams as TfidfVectorizer(analyzer="char", ngram_range=(1, 3)) cuts them:
    lowercased, each run of whitespace one space; every 1-gram, then every 2-gram, then every 3-gram."""
    text = _WHITE_SPACES.sub(" ", text.lower())
    return [text[start : start + n] for n in (1, 2, 3) for start in range(len(text) - n + 1)]


def sublinear(counts: np.ndarray) -> np.ndarray:
    """1 + ln(count) as float32, the tf of every stored entry: [m] → [m]."""
    return (1.0 + np.log(counts.astype(np.float64))).astype(np.float32)


def tf_squared(tf: np.ndarray) -> np.ndarray:
    """tf² in fixed point, rounded down (int64), from the stored float32 tf: [m] → [m].

    (tf · 2^8)² is exact in float64 (24-bit mantissas), so this is the same number wherever it is done.
    """
    scaled = np.multiply(tf, float(np.sqrt(TF_SCALE)), dtype=np.float64)
    np.square(scaled, out=scaled)
    fixed: np.ndarray = scaled.astype(np.int64)
    return fixed


def _fixed(values: np.ndarray, scale: int) -> np.ndarray:
    """Values in fixed point: int64 [m]."""
    fixed: np.ndarray = np.rint(values * float(scale)).astype(np.int64)
    return fixed


@dataclass(frozen=True, eq=False)
class LexicalQuery:
    """One text's TF-IDF weights: stored terms in a fixed order (by the term's own string)."""

    terms: np.ndarray
    """[q] int64 term ids, in the order the text first shows them (`ngrams`), so that sums run in the same
    order on every load."""
    weights: np.ndarray
    """[q] float32: tf · idf² / norm of the query, so that a row's dot product over its norm is the cosine."""


@dataclass(frozen=True, eq=False)
class Lexicon:
    """The vocabulary as one query sees it: document frequencies [V] and the number of documents."""

    ids: dict[str, int]
    """Term → id; shared with the writer, which only adds to it (ids ≥ len(df) are unknown here)."""
    terms: list[str]
    """Id → term; shared and only appended to."""
    df: np.ndarray
    """[V] int64 documents holding each term."""
    documents: int

    @property
    def a(self) -> float:
        """1 + ln(1 + N): idf = a − u."""
        return 1.0 + float(np.log1p(self.documents))

    @cached_property
    def u(self) -> np.ndarray:
        """ln(1 + df) in fixed point: [V] int64."""
        return _fixed(np.log1p(self.df.astype(np.float64)), U_SCALE)

    @cached_property
    def u2(self) -> np.ndarray:
        """ln(1 + df)² in fixed point: [V] int64."""
        return _fixed(np.log1p(self.df.astype(np.float64)) ** 2, U2_SCALE)

    def norms(self, s0: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
        """Row norms √(a²·S0 − 2a·S1 + S2) from the fixed-point sums [n] int64: [n] float64."""
        a = self.a
        square = (
            (a * a / TF_SCALE) * s0.astype(np.float64)
            - (2.0 * a / (TF_SCALE * U_SCALE)) * s1.astype(np.float64)
            + (1.0 / (TF_SCALE * U2_SCALE)) * s2.astype(np.float64)
        )
        return np.sqrt(np.maximum(square, np.finfo(np.float64).tiny))

    def rarest(self, query: LexicalQuery, budget: int) -> LexicalQuery:
        """The query over its rarest terms only: fewest documents first (ties in the query's order), while
        their documents add up to at most `budget`, so that no walk of their postings is longer."""
        frequencies = self.df[query.terms]
        order = np.argsort(frequencies, kind="stable")
        kept = np.sort(order[np.cumsum(frequencies[order]) <= budget])
        return LexicalQuery(query.terms[kept], query.weights[kept])

    @cached_property
    def _queries(self) -> dict[str, LexicalQuery]:
        """The queries of the texts asked for last (stored records are queried again and again)."""
        return {}

    def query(self, text: str, kept: tuple[np.ndarray, np.ndarray] | None = None) -> LexicalQuery:
        """A text's weights over the terms that some stored text holds (the last QUERY_CACHE texts' kept).

        `kept`: the text's term ids [q] and their tf [q], as a table keeps them for a stored text
        (`KeptTerms`), which spares cutting and counting the text again (the same query, bit for bit).
        """
        known = self._queries.get(text)
        if known is None:
            if len(self._queries) >= QUERY_CACHE:
                self._queries.clear()
            weighed = (
                self._weighed(text) if kept is None else self._weights(kept[0].astype(np.int64), kept[1])
            )
            known = self._queries[text] = weighed
        return known

    def _weighed(self, text: str) -> LexicalQuery:
        """A text's weights over the terms that some stored text holds, in the order the text first shows
        them (so a row's sum runs in the same order on every load, whatever ids the terms got)."""
        counts = Counter(ngrams(text))
        count = len(counts)
        found = np.fromiter(map(self.ids.get, counts, repeat(len(self.df))), dtype=np.int64, count=count)
        return self._weights(found, sublinear(np.fromiter(counts.values(), dtype=np.int64, count=count)))

    def _weights(self, found: np.ndarray, tf: np.ndarray) -> LexicalQuery:
        """The query over the terms `found` [q] (ids; len(df) for an unknown one) with their tf [q] float32:
        tf · idf² / norm over those some stored text holds."""
        held = found < len(self.df)
        held[held] = self.df[found[held]] > 0
        terms, tf = found[held], tf[held]
        squared = tf_squared(tf)
        u, u2 = self.u[terms], self.u2[terms]
        norm = self.norms(np.array([squared.sum()]), np.array([squared @ u]), np.array([squared @ u2]))[0]
        idf = self.a - u.astype(np.float64) / U_SCALE
        weights = (tf.astype(np.float64) * idf * idf / norm).astype(np.float32)
        terms.setflags(write=False)
        weights.setflags(write=False)
        return LexicalQuery(terms, weights)


@dataclass(frozen=True, eq=False)
class KeptTerms:
    """Each row's text terms (ids in the order the text first shows them, and their tf), row after row."""

    ids: np.ndarray
    """[≥ used] uint32."""
    tf: np.ndarray
    """[≥ used] float32."""
    ends: np.ndarray
    """[rows] int64: where each row's terms end (and the next row's start)."""

    def of(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """One row's term ids [q] and tf [q] (views)."""
        start = int(self.ends[row - 1]) if row else 0
        end = int(self.ends[row])
        return self.ids[start:end], self.tf[start:end]


class Vocabulary:
    """Every n-gram ever seen, and how many stored texts (plus the industries' names) hold each."""

    def __init__(self) -> None:
        """Start from the industries' names, which keep the vocabulary non-empty."""
        self.ids: dict[str, int] = {}
        self.terms: list[str] = []
        self.df = np.zeros(0, dtype=np.int64)
        self.documents = 0
        self.count_in(self.tf([industry.label for industry in Industry]), 1)

    def tf(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Sublinear tf of texts over the vocabulary, adding unseen terms: [m, V] float32.

        Counted TF_CHUNK texts at a time, so that the n-grams of a million texts never sit in lists at once.
        """
        parts = [self._counted(texts[start : start + TF_CHUNK]) for start in range(0, len(texts), TF_CHUNK)]
        if len(self.df) < len(self.terms):
            self.df = np.concatenate([self.df, np.zeros(len(self.terms) - len(self.df), dtype=np.int64)])
        widened = [_widened(part, len(self.terms)) for part in parts]
        if len(widened) == 1:
            return widened[0]
        return sparse.vstack(widened, format="csr") if widened else sparse.csr_matrix((0, len(self.terms)))

    def _counted(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Sublinear tf of a few texts over the vocabulary as it stands after adding their unseen terms."""
        ids, terms = self.ids, self.terms
        indptr, indices, counts = [0], list[int](), list[int]()
        for text in texts:
            grams = Counter(ngrams(text))
            for term in [term for term in grams if term not in ids]:
                ids[term] = len(terms)
                terms.append(term)
            indices.extend(map(ids.__getitem__, grams))
            counts.extend(grams.values())
            indptr.append(len(indices))
        return sparse.csr_matrix(
            (sublinear(np.array(counts, dtype=np.int64)), np.array(indices, dtype=np.int64), indptr),
            shape=(len(texts), len(terms)),
        )

    def count_in(self, rows: sparse.csr_matrix, sign: int) -> None:
        """Count texts [m, V] in (sign 1) or out (sign −1) of the document frequencies."""
        present = np.bincount(rows.indices, minlength=len(self.df)).astype(np.int64)
        self.df = self.df + sign * present
        self.documents += sign * rows.shape[0]

    def snapshot(self) -> Lexicon:
        """The vocabulary as it stands, for queries (the frequencies are not changed afterwards)."""
        return Lexicon(self.ids, self.terms, self.df, self.documents)


@dataclass(frozen=True, eq=False)
class Segment:
    """Rows [start, start + rows) of a table: their sublinear tf, [rows, V at build time] float32."""

    start: int
    tf: sparse.csc_matrix


def _widened(matrix: sparse.csr_matrix, width: int) -> sparse.csr_matrix:
    """The same rows over a wider vocabulary."""
    return sparse.csr_matrix((matrix.data, matrix.indices, matrix.indptr), shape=(matrix.shape[0], width))


def _sums(tf: sparse.csr_matrix | sparse.csc_matrix, lexicon: Lexicon) -> tuple[np.ndarray, ...]:
    """S0, S1, S2 of every row of `tf` [m, V]: three [m] int64."""
    squared = tf.copy()
    squared.data = tf_squared(tf.data)
    width = squared.shape[1]
    return (
        np.asarray(squared.sum(axis=1), dtype=np.int64).ravel(),
        squared @ lexicon.u[:width],
        squared @ lexicon.u2[:width],
    )


@dataclass(frozen=True, eq=False)
class LexicalRows:
    """One table's TF-IDF rows: a large segment and a small one of recent rows, with norm sums [size]."""

    segments: tuple[Segment, ...]
    s0: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    norms: np.ndarray
    """[size] float64 under the lexicon the rows were last brought up to."""

    @classmethod
    def empty(cls) -> LexicalRows:
        """No rows."""
        nothing = np.zeros(0, dtype=np.int64)
        return cls((), nothing, nothing, nothing, np.zeros(0))

    @property
    def size(self) -> int:
        """How many rows, live or dead."""
        return len(self.s0)

    def similarities(self, query: LexicalQuery) -> np.ndarray:
        """Cosine of the query to every row: [size] float64.

        scipy's column slice and product (C loops; each row's sum in the order of the query's terms):
        gathering the postings with numpy instead was faster at 1,000 rows but 3× slower at 100,000.
        """
        dots = np.zeros(self.size, dtype=np.float32)
        for segment in self.segments:
            inside = query.terms < segment.tf.shape[1]
            if inside.any():
                end = segment.start + segment.tf.shape[0]
                dots[segment.start : end] = segment.tf[:, query.terms[inside]] @ query.weights[inside]
        cosines: np.ndarray = dots / self.norms
        return cosines

    def shifted(self, old: Lexicon, new: Lexicon, terms: np.ndarray) -> LexicalRows:
        """The rows after the frequencies of `terms` [t] changed from `old` to `new`."""
        du = new.u[terms] - _padded(old.u, len(new.df))[terms]
        du2 = new.u2[terms] - _padded(old.u2, len(new.df))[terms]
        moving = (du != 0) | (du2 != 0)
        terms, du, du2 = terms[moving], du[moving], du2[moving]
        s1, s2 = self.s1.copy(), self.s2.copy()
        for segment in self.segments:
            inside = terms < segment.tf.shape[1]
            if not inside.any():
                continue
            part = segment.tf[:, terms[inside]]
            part.data = tf_squared(part.data)
            end = segment.start + segment.tf.shape[0]
            s1[segment.start : end] += part @ du[inside]
            s2[segment.start : end] += part @ du2[inside]
        return LexicalRows(self.segments, self.s0, s1, s2, new.norms(self.s0, s1, s2))

    def appended(self, tf: sparse.csr_matrix, lexicon: Lexicon, recent_limit: int) -> LexicalRows:
        """The rows with `tf` [m, V] added at the end (into the segment of recent rows)."""
        width = max([tf.shape[1], *(segment.tf.shape[1] for segment in self.segments)])
        tf = _widened(tf, width)
        s0, s1, s2 = _sums(tf, lexicon)
        segments = list(self.segments)
        recent = [_widened(segments.pop().tf.tocsr(), width)] if len(segments) > 1 else []
        if not segments or sum(part.shape[0] for part in recent) + tf.shape[0] > recent_limit:
            large = [_widened(segments.pop().tf.tocsr(), width)] if segments else []
            segments = [Segment(0, sparse.csc_matrix(sparse.vstack([*large, *recent, tf], format="csr")))]
        else:
            start = self.size - sum(part.shape[0] for part in recent)
            segments.append(Segment(start, sparse.csc_matrix(sparse.vstack([*recent, tf], format="csr"))))
        s0, s1, s2 = (
            np.concatenate([self.s0, s0]),
            np.concatenate([self.s1, s1]),
            np.concatenate([self.s2, s2]),
        )
        return LexicalRows(tuple(segments), s0, s1, s2, lexicon.norms(s0, s1, s2))

    def compacted(self, keep: np.ndarray) -> LexicalRows:
        """Only the rows where `keep` [size] is true, in one segment."""
        segments: tuple[Segment, ...] = ()
        if keep.any():
            width = max(segment.tf.shape[1] for segment in self.segments)
            rows = sparse.vstack(
                [_widened(segment.tf.tocsr(), width) for segment in self.segments], format="csr"
            )
            segments = (Segment(0, sparse.csc_matrix(rows[np.flatnonzero(keep)])),)
        return LexicalRows(segments, self.s0[keep], self.s1[keep], self.s2[keep], self.norms[keep])


def _padded(values: np.ndarray, length: int) -> np.ndarray:
    """Values [v] followed by zeros up to `length` (the terms added since)."""
    return np.concatenate([values, np.zeros(length - len(values), dtype=values.dtype)])
