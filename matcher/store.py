"""One kind's rows: appended on write, marked dead on removal, compacted now and then; read as snapshots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar, overload

import numpy as np
from scipy import sparse

from matcher.lexical import KeptTerms, LexicalRows, Lexicon
from matcher.tables import columns_of
from models.records import CatalogueRecord, RecordKind

RECENT_ROWS = 2048
"""Rows appended since the last merge stay in a small TF-IDF segment of their own, up to this many."""
DEAD_SHARE = 8
"""Compact once more than 1/DEAD_SHARE of the rows are dead (and more than DEAD_MIN)."""
DEAD_MIN = 256
CALIBRATION_SAMPLE = 4096
"""Rows whose similarities give a query's 10th percentile (the calibration's low end) in larger tables."""
GATHER_ROWS = 1024
"""Rows whose vectors `inner_products` gathers at a time (1.5 MB of float32 at 384 dimensions)."""
KEPT_QUERIES: frozenset[RecordKind] = frozenset({"enterprises"})
"""Kinds whose rows keep their text's terms for their own TF-IDF query (`ItemTable.queries`): firms ask
for buildings and scenarios, and cutting a text again cost a fifth of a firm's first match (8 bytes a
term, about 1.8 KB a firm, in arrays the workers share from the start-up snapshot)."""
T = TypeVar("T")


class Picked(Sequence[T]):
    """Some items of a sequence, each looked up when read (a subset of a large table reads only a few)."""

    def __init__(self, items: Sequence[T], positions: np.ndarray) -> None:
        """Item i is items[positions[i]]."""
        self.items = items
        self.positions = positions

    def __len__(self) -> int:
        """How many items are picked."""
        return len(self.positions)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> Picked[T]: ...

    def __getitem__(self, index: int | slice) -> T | Picked[T]:
        """One picked item, or some of them."""
        if isinstance(index, slice):
            return Picked(self.items, self.positions[index])
        return self.items[int(self.positions[index])]


@dataclass(frozen=True, eq=False)
class ItemTable:
    """One kind's rows as queries see them: published whole by the writer, never changed afterwards.

    Rows are in the order they were written; removed and replaced rows stay, marked dead, until the
    next compaction. Arrays cover `size` rows, dead ones included.
    """

    kind: RecordKind
    rows: Sequence[CatalogueRecord]
    """Row → record; shared with the writer, which only appends beyond `size`."""
    terms: Sequence[bytes]
    """Row → the industry lexicon's terms in its text (`industry.lexicon_scan`); shared like `rows`."""
    row_of: dict[str, int]
    """Id → live row; shared with the writer, so `row` checks what it finds."""
    alive: np.ndarray
    """[size] bool."""
    live: int
    vectors: np.ndarray
    """[size, dim] float32, L2-normalised."""
    industries: np.ndarray
    """[size, 12] float32: confidence of each industry (declared = 1); a view of [12, size] storage."""
    industry_best: np.ndarray
    """[size] float32: each row's highest industry confidence."""
    columns: dict[str, np.ndarray]
    """Attribute columns, each [size] (or [size, 12])."""
    lexical: LexicalRows
    queries: KeptTerms | None
    """Each row's text terms for its own TF-IDF query (`Lexicon.query`; kinds in KEPT_QUERIES, else None)."""

    @property
    def size(self) -> int:
        """Rows, live or dead."""
        return len(self.alive)

    def __len__(self) -> int:
        """How many records the table holds."""
        return self.live

    @cached_property
    def by_id(self) -> np.ndarray:
        """The live rows in id order: [live] int64."""
        live = np.flatnonzero(self.alive)
        ids = [self.rows[row].id for row in live.tolist()]
        return live[sorted(range(len(live)), key=ids.__getitem__)]

    @cached_property
    def calibration_rows(self) -> np.ndarray:
        """The live rows [≤ CALIBRATION_SAMPLE] whose similarities stand for all rows' 10th percentile.

        Every live row when there are at most CALIBRATION_SAMPLE; otherwise those with the smallest sample
        keys (a pseudo-random choice by id), so the choice does not depend on where rows lie.
        """
        live = np.flatnonzero(self.alive)
        if len(live) <= CALIBRATION_SAMPLE:
            return live
        keys = self.columns["sample_key"][live]
        return np.sort(live[np.argpartition(keys, CALIBRATION_SAMPLE - 1)[:CALIBRATION_SAMPLE]])

    @cached_property
    def district_groups(self) -> tuple[np.ndarray, ...]:
        """The rows of each district (city-level scenarios are a district of their own), each [m] int64."""
        districts = self.columns["district"]
        order = np.argsort(districts.astype(np.int8), kind="stable")
        return tuple(np.split(order, np.flatnonzero(np.diff(districts[order])) + 1))

    @property
    def records(self) -> list[CatalogueRecord]:
        """The live records, by id."""
        return [self.rows[row] for row in self.by_id.tolist()]

    def row(self, record: CatalogueRecord) -> int | None:
        """The live row holding exactly this record, if any."""
        row = self.row_of.get(record.id)
        if row is None or row >= self.size or not self.alive[row] or self.rows[row] != record:
            return None
        return row

    def subset(self, rows: np.ndarray) -> ItemTable:
        """Some rows [m] of the table as a table of their own (row i is rows[i]; no vectors, TF-IDF rows or
        ids: what ranking candidates reads; records and terms are looked up when read)."""
        return ItemTable(
            self.kind,
            Picked(self.rows, rows),
            Picked(self.terms, rows),
            {},
            self.alive[rows],
            int(np.count_nonzero(self.alive[rows])),
            self.vectors[:0],
            self.industries[rows],
            self.industry_best[rows],
            {name: values[rows] for name, values in self.columns.items()},
            LexicalRows.empty(),
            None,
        )

    def dense(self, vector: np.ndarray) -> np.ndarray:
        """Inner product of every row with `vector` [dim] (see `inner_products`): [size] float32."""
        return inner_products(self.vectors, vector)


def inner_products(vectors: np.ndarray, vector: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Each row's inner product with `vector` [dim] (cosine, for unit vectors): [n] float32; given `rows`
    [m], only those rows' [m], gathered GATHER_ROWS at a time into one small buffer (a whole copy of a
    hundred thousand rows is written out and read back: 1.6× slower at 130,000 of a million).

    Row by row (`np.vecdot`), not BLAS's matrix-vector product: BLAS sums a row in an order that depends on
    where the row lies in the matrix (and on the threads), and rows lie elsewhere after writes than after a
    fresh load; a row's own dot product is the same wherever it lies (test_dense_products), and twice as
    fast as einsum's.
    """
    if rows is None:
        return np.asarray(np.vecdot(vectors, vector))
    products = np.empty(len(rows), dtype=np.result_type(vectors, vector))
    gathered = np.empty((min(len(rows), GATHER_ROWS), vectors.shape[1]), dtype=vectors.dtype)
    for start in range(0, len(rows), GATHER_ROWS):
        some = rows[start : start + GATHER_ROWS]
        np.take(vectors, some, axis=0, out=gathered[: len(some)])
        np.vecdot(gathered[: len(some)], vector, out=products[start : start + len(some)])
    return products


@dataclass(frozen=True, eq=False)
class NewRows:
    """Rows to append: records [m] with their vectors [m, dim], industries [m, 12] and TF-IDF rows [m, V]."""

    records: Sequence[CatalogueRecord]
    vectors: np.ndarray
    industries: np.ndarray
    tf: sparse.csr_matrix
    terms: Sequence[bytes]
    """Each record's industry lexicon terms, as `industry.lexicon_scan` packs them."""


def _room(array: np.ndarray, used: int, needed: int, axis: int = 0) -> np.ndarray:
    """`array` if it has room for `needed` rows along `axis`, else a copy of its `used` rows, room doubled."""
    if array.shape[axis] >= needed:
        return array
    shape = list(array.shape)
    shape[axis] = max(needed, 2 * shape[axis])
    grown = np.empty(shape, dtype=array.dtype)
    np.moveaxis(grown, axis, 0)[:used] = np.moveaxis(array, axis, 0)[:used]
    return grown


class TableStore:
    """The writer's side of one kind: arrays with spare room at the end, so that appends do not copy."""

    def __init__(self, kind: RecordKind, dim: int) -> None:
        """No rows yet."""
        self.kind = kind
        self.rows: list[CatalogueRecord] = []
        self.terms: list[bytes] = []
        self.row_of: dict[str, int] = {}
        self.alive = np.zeros(0, dtype=bool)
        self.vectors = np.zeros((0, dim), dtype=np.float32)
        self.industry_columns = np.zeros((12, 0), dtype=np.float32)
        """[12, capacity]: one industry's confidences contiguous, as the industry factor reads them."""
        self.industry_best = np.zeros(0, dtype=np.float32)
        self.columns = columns_of(kind, [])
        self.lexical = LexicalRows.empty()
        self.kept_ids = np.zeros(0, dtype=np.uint32)
        self.kept_tf = np.zeros(0, dtype=np.float32)
        self.kept_ends = np.zeros(0, dtype=np.int64)
        """Each row's text terms (kinds in KEPT_QUERIES), row after row (see `KeptTerms`), with spare room."""

    @property
    def size(self) -> int:
        """Rows, live or dead."""
        return len(self.rows)

    def kill(self, ids: Sequence[str]) -> np.ndarray:
        """Mark the rows of these ids dead; returns the rows [m]."""
        rows = np.array([self.row_of.pop(record_id) for record_id in ids], dtype=np.int64)
        if len(rows):
            self.alive = self.alive.copy()
            self.alive[rows] = False
        return rows

    def append(self, new: NewRows, lexicon: Lexicon) -> None:
        """Write new rows after the last one."""
        start, count = self.size, len(new.records)
        end = start + count
        self.vectors = _room(self.vectors, start, end)
        self.vectors[start:end] = new.vectors
        self.industry_columns = _room(self.industry_columns, start, end, axis=1)
        self.industry_columns[:, start:end] = new.industries.T
        self.industry_best = _room(self.industry_best, start, end)
        self.industry_best[start:end] = new.industries.max(axis=1)
        for name, values in columns_of(self.kind, new.records).items():
            self.columns[name] = _room(self.columns[name], start, end)
            self.columns[name][start:end] = values
        self.rows.extend(new.records)
        self.terms.extend(new.terms)
        if self.kind in KEPT_QUERIES:
            self._keep_terms(start, new.tf)
        self.row_of.update({record.id: row for row, record in enumerate(new.records, start=start)})
        self.alive = np.concatenate([self.alive, np.ones(count, dtype=bool)])
        self.lexical = self.lexical.appended(new.tf, lexicon, RECENT_ROWS)

    def _keep_terms(self, start: int, tf: sparse.csr_matrix) -> None:
        """Keep the text terms of the rows appended from `start` on (their tf rows [m, V], in text order)."""
        used = int(self.kept_ends[start - 1]) if start else 0
        end, rows = used + tf.nnz, tf.shape[0]
        self.kept_ids = _room(self.kept_ids, used, end)
        self.kept_ids[used:end] = tf.indices
        self.kept_tf = _room(self.kept_tf, used, end)
        self.kept_tf[used:end] = tf.data
        self.kept_ends = _room(self.kept_ends, start, start + rows)
        self.kept_ends[start : start + rows] = used + tf.indptr[1:]

    def _compact_kept_terms(self, keep: np.ndarray) -> None:
        """Keep the text terms of the rows `keep` [m] only."""
        ends = self.kept_ends[: self.size]
        starts = np.concatenate([np.zeros(1, dtype=np.int64), ends[:-1]])[keep]
        lengths = ends[keep] - starts
        positions = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
        self.kept_ids, self.kept_tf = self.kept_ids[positions], self.kept_tf[positions]
        self.kept_ends = np.cumsum(lengths)

    def shift(self, old: Lexicon, new: Lexicon, terms: np.ndarray) -> None:
        """Bring the TF-IDF norms up to a change of document frequencies (of `terms`) and of N."""
        self.lexical = self.lexical.shifted(old, new, terms)

    def compact_if_worth_it(self) -> None:
        """Drop dead rows once there are many of them."""
        dead = self.size - int(self.alive.sum())
        if dead <= max(DEAD_MIN, self.size // DEAD_SHARE):
            return
        keep = np.flatnonzero(self.alive)
        if self.kind in KEPT_QUERIES:
            self._compact_kept_terms(keep)
        self.vectors = self.vectors[keep]
        self.industry_columns = self.industry_columns[:, keep]
        self.industry_best = self.industry_best[keep]
        self.columns = {name: values[keep] for name, values in self.columns.items()}
        self.rows = [self.rows[row] for row in keep]
        self.terms = [self.terms[row] for row in keep]
        self.row_of = {record.id: row for row, record in enumerate(self.rows)}
        self.lexical = self.lexical.compacted(self.alive)
        self.alive = np.ones(len(keep), dtype=bool)

    def table(self) -> ItemTable:
        """A snapshot for queries."""
        size = self.size
        return ItemTable(
            self.kind,
            self.rows,
            self.terms,
            self.row_of,
            self.alive,
            int(self.alive.sum()),
            self.vectors[:size],
            self.industry_columns[:, :size].T,
            self.industry_best[:size],
            {name: values[:size] for name, values in self.columns.items()},
            self.lexical,
            KeptTerms(self.kept_ids, self.kept_tf, self.kept_ends[:size])
            if self.kind in KEPT_QUERIES
            else None,
        )
