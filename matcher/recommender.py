"""The recommender: hard constraints, soft factors, weights, spread and reasons, in every direction."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy import sparse

from matcher.ann import DenseIndex
from matcher.directions import Direction
from matcher.encoder import Encoder, encode_query
from matcher.industry import (
    INDUSTRY_CODES,
    IndustryGuess,
    industry_rows,
    lexicon_scan,
    stored_evidence,
)
from matcher.industry_model import IndustryModel
from matcher.lexical import Vocabulary
from matcher.ranking import Match, MatchResult, Query, Request, Snapshot, declared, rank, single_threaded
from matcher.store import ItemTable, NewRows, TableStore
from matcher.tables import DISTRICTS, columns_of
from matcher.text import record_text
from matcher.weights import Weights
from models.clock import china_today
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, RecordKind

__all__ = ["KINDS", "Match", "MatchResult", "Recommender", "RecommenderState"]

KINDS: tuple[RecordKind, ...] = ("buildings", "enterprises", "scenarios")
PEER_CONFIDENCE = 0.5
"""A building counts as gathering an industry when its confidence for it is at least this."""

LARGE_TABLE_ROWS = 300_000
"""Tables of at least this many rows (or with a dense index) are large: their TF-IDF channel walks only
the query's rarest terms and their dense calibration reads a sample (`matcher.ranking.rank`)."""
DENSE_INDEX_ROWS = 2_000_000
"""Tables of at least this many rows find their dense candidates with an index (`matcher.ann`) and
complete them exactly; smaller ones scan every row, the dense scan on a second thread. At a million rows
the index pays at the median on 2 cores (bench/large_tables.py, bench/README.md), but a write that makes
it stale rebuilds it under the writer's lock, which takes minutes at that size: hence the higher bar."""
STALE_SHARE = 20
TUNING_QUERIES = 500
"""Vectors of the other side a new dense index tunes its probes on."""

MODEL_KINDS: frozenset[RecordKind] = frozenset({"enterprises", "scenarios"})
"""The kinds whose industries the industry model infers (the kinds it is trained on). A building's text
describes premises, not a trade: the lexicon reads the industries it names, and one naming none stays
open to every industry."""

Changes = Mapping[RecordKind, tuple[Sequence[CatalogueRecord], Sequence[str]]]
"""Per kind: records to add or replace, and ids to remove."""


@dataclass(frozen=True, eq=False)
class RecommenderState:
    """Everything a build computed from the catalogue (what `matcher.snapshot` keeps on disk).

    The encoder, industry model, weights and day are not part of it: they are given again on restoring.
    """

    records: dict[RecordKind, dict[str, CatalogueRecord]]
    ledger: dict[str, BuildingRecord]
    taken: Mapping[str, float]
    placed: frozenset[str]
    stores: dict[RecordKind, TableStore]
    vocabulary: Vocabulary
    district_totals: np.ndarray
    """[districts, 12] float64."""
    district_peers: np.ndarray
    """[districts, 12] int64."""
    dense_indexes: dict[RecordKind, DenseIndex] = dataclasses.field(default_factory=dict)
    """The dense index of each large table, over its rows as they stand."""


class Recommender:
    """Matches firms to buildings and scenarios (and back), over an in-memory copy of the catalogue.

    The database is the source of truth: `load` builds the tables, `upsert`/`remove`/`replace` keep
    them in step at the cost of the records written (appended rows, dead rows dropped now and then),
    and a change is visible to the next query. Any sequence of writes leaves exactly the numbers a
    fresh `load` of the same records (and capacity) gives. Each write publishes a new snapshot, so
    queries running meanwhile see the catalogue before or after it, never half of it. Vectors come
    from `encoder`; pass a `CachedEncoder` so that unchanged texts are never encoded again.

    Industries a record does not declare are inferred from its text: by `industry_model` (a classifier
    on the same vectors, combined with the lexicon) when given, else by the lexicon alone.

    Capacity (`set_capacity`): buildings are matched on their available area (the ledger's vacancy
    less the area leads have taken), and firms already placed in a building are not offered for
    buildings. `records` holds buildings as matched; the ledger's figures stay in `ledger`.
    """

    def __init__(
        self,
        encoder: Encoder,
        *,
        weights: Weights | None = None,
        today: date | None = None,
        industry_model: IndustryModel | None = None,
        dense_index_rows: int = DENSE_INDEX_ROWS,
    ) -> None:
        """Store the encoder, the weights (defaults when None), the day deadlines are judged on, the
        industry model (the lexicon alone when None) and the table size from which a dense index serves."""
        if industry_model is not None and industry_model.model_id != encoder.model_id:
            raise ValueError(f"产业模型基于 {industry_model.model_id}，与嵌入模型 {encoder.model_id} 不符")
        self.encoder = encoder
        self.industry_model = industry_model
        self.weights = weights or Weights()
        self.today = today
        self.records: dict[RecordKind, dict[str, CatalogueRecord]] = {kind: {} for kind in KINDS}
        self.ledger: dict[str, BuildingRecord] = {}
        self.taken: Mapping[str, float] = {}
        """Per building id, the ㎡ taken off its ledger vacancy."""
        self.placed: frozenset[str] = frozenset()
        """Enterprise ids no longer offered for buildings."""
        self.dense_index_rows = dense_index_rows
        self._dense_indexes: dict[RecordKind, tuple[list[CatalogueRecord], DenseIndex]] = {}
        """Per large table, its index and the row list it was built over (a compaction replaces the list)."""
        self._writing = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        """Empty tables and the vocabulary of the industries' names alone."""
        self._vocabulary = Vocabulary()
        self._stores = {kind: TableStore(kind, self.encoder.dim) for kind in KINDS}
        shape = (len(DISTRICTS), len(INDUSTRY_CODES))
        self._district_totals = np.zeros(shape)
        self._district_peers = np.zeros(shape, dtype=np.int64)
        self._publish()

    def state(self) -> RecommenderState:
        """The tables as built so far, shared, not copied: serialise them before the next write."""
        with self._writing:
            return RecommenderState(
                self.records,
                self.ledger,
                self.taken,
                self.placed,
                self._stores,
                self._vocabulary,
                self._district_totals,
                self._district_peers,
                {kind: index for kind, (_, index) in self._dense_indexes.items()},
            )

    @classmethod
    def restored(
        cls,
        encoder: Encoder,
        state: RecommenderState,
        *,
        weights: Weights | None = None,
        today: date | None = None,
        industry_model: IndustryModel | None = None,
        dense_index_rows: int = DENSE_INDEX_ROWS,
    ) -> Recommender:
        """A recommender over a state `state()` gave (built with the same encoder and industry model);
        its dense indexes are taken as they were, not trained again."""
        recommender = cls(
            encoder,
            weights=weights,
            today=today,
            industry_model=industry_model,
            dense_index_rows=dense_index_rows,
        )
        if any(store.vectors.shape[1] != encoder.dim for store in state.stores.values()):
            raise ValueError(f"快照的向量维度与嵌入模型 {encoder.model_id} 不符")
        recommender.records = state.records
        recommender.ledger = state.ledger
        recommender.taken = state.taken
        recommender.placed = state.placed
        recommender._stores = state.stores
        recommender._vocabulary = state.vocabulary
        recommender._district_totals = state.district_totals
        recommender._district_peers = state.district_peers
        recommender._dense_indexes = {
            kind: (state.stores[kind].rows, index) for kind, index in state.dense_indexes.items()
        }
        recommender._publish()
        return recommender

    @property
    def tables(self) -> dict[RecordKind, ItemTable]:
        """The current table of each kind."""
        return self._snapshot.tables

    @property
    def indexes(self) -> Mapping[RecordKind, DenseIndex]:
        """The dense index of each table large enough to have one."""
        return self._snapshot.indexes

    def load(self, catalogue: Mapping[RecordKind, Sequence[CatalogueRecord]]) -> Recommender:
        """Build every table from scratch, rows in id order."""
        with self._writing:
            self.records = {kind: {} for kind in KINDS}
            self.ledger = {}
            self._reset()
            latest = {
                kind: {record.id: record for record in self._offered(kind, catalogue.get(kind, ()))}
                for kind in KINDS
            }
            self._write({kind: (sorted(latest[kind].values(), key=lambda r: r.id), ()) for kind in KINDS})
        return self

    def upsert(self, kind: RecordKind, records: Sequence[CatalogueRecord]) -> None:
        """Add or replace records (unchanged ones cost nothing); the next query sees them."""
        with self._writing:
            self._write({kind: (self._changed(kind, self._offered(kind, records)), ())})

    def replace(self, kind: RecordKind, records: Sequence[CatalogueRecord]) -> None:
        """Take every record of a kind afresh (after changes made by another process)."""
        with self._writing:
            wanted = {record.id for record in records}
            gone = [record_id for record_id in self.records[kind] if record_id not in wanted]
            for record_id in gone if kind == "buildings" else ():
                self.ledger.pop(record_id, None)
            self._write({kind: (self._changed(kind, self._offered(kind, records)), gone)})

    def remove(self, kind: RecordKind, ids: Sequence[str]) -> None:
        """Forget records; the next query no longer returns them."""
        with self._writing:
            for record_id in ids if kind == "buildings" else ():
                self.ledger.pop(record_id, None)
            self._write({kind: ((), [i for i in dict.fromkeys(ids) if i in self.records[kind]])})

    def set_capacity(self, taken: Mapping[str, float], placed: Collection[str]) -> None:
        """Take `taken` ㎡ off each building's ledger vacancy, and stop offering `placed` firms for buildings.

        Only the buildings whose taken area moved are rewritten; the next query sees the change.
        """
        with self._writing:
            before = self.taken
            self.taken = dict(taken)
            moved = {i for i in before.keys() | self.taken.keys() if before.get(i) != self.taken.get(i)}
            put = [self._available(self.ledger[i]) for i in sorted(moved) if i in self.ledger]
            placed_before, self.placed = self.placed, frozenset(placed)
            if put:
                self._write({"buildings": (self._changed("buildings", put), ())})
            if self.placed != placed_before:
                self._publish()

    def _offered(self, kind: RecordKind, records: Sequence[CatalogueRecord]) -> Sequence[CatalogueRecord]:
        """Records as matched: buildings with their available area (their ledger figures kept)."""
        if kind != "buildings":
            return records
        buildings = [record for record in records if isinstance(record, BuildingRecord)]
        self.ledger.update({record.id: record for record in buildings})
        return [self._available(record) for record in buildings]

    def _available(self, building: BuildingRecord) -> BuildingRecord:
        """The building with its vacancy less the area leads have taken (never below 0)."""
        taken = self.taken.get(building.id, 0.0)
        if not taken:
            return building
        return building.model_copy(update={"vacant_area_m2": max(0.0, building.vacant_area_m2 - taken)})

    def _changed(self, kind: RecordKind, records: Sequence[CatalogueRecord]) -> list[CatalogueRecord]:
        """The records (the last of each id) that differ from what is stored."""
        latest = {record.id: record for record in records}
        return [record for record in latest.values() if self.records[kind].get(record.id) != record]

    def _write(self, changes: Changes) -> None:
        """Retire replaced and removed rows, move the TF-IDF numbers, append the new rows, publish."""
        if not any(put or drop for put, drop in changes.values()):
            return
        retired = {kind: self._retire(kind, put, drop) for kind, (put, drop) in changes.items()}
        added = self._recount(retired, {kind: put for kind, (put, _) in changes.items()})
        for kind, (put, _) in changes.items():
            self._append(kind, put, retired[kind], added[kind])
        self._publish()

    def _retire(self, kind: RecordKind, put: Sequence[CatalogueRecord], drop: Sequence[str]) -> np.ndarray:
        """Mark dead the rows of records replaced or removed; returns those rows [m]."""
        store = self._stores[kind]
        rows = store.kill([record.id for record in put if record.id in store.row_of] + list(drop))
        for record_id in drop:
            del self.records[kind][record_id]
        self.records[kind].update({record.id: record for record in put})
        return rows

    def _recount(
        self, retired: Mapping[RecordKind, np.ndarray], put: Mapping[RecordKind, Sequence[CatalogueRecord]]
    ) -> dict[RecordKind, sparse.csr_matrix]:
        """Count retired texts out of the document frequencies and new ones in; returns the new tf rows.

        Every table's norms then follow the frequencies that moved (and the number of documents).
        """
        before = self._vocabulary.snapshot()
        gone = [record_text(self._stores[kind].rows[row]) for kind, rows in retired.items() for row in rows]
        self._vocabulary.count_in(self._vocabulary.tf(gone), -1)
        added = {kind: self._vocabulary.tf([record_text(record) for record in put[kind]]) for kind in put}
        for tf in added.values():
            self._vocabulary.count_in(tf, 1)
        after = self._vocabulary.snapshot()
        moved = np.flatnonzero(after.df != np.pad(before.df, (0, len(after.df) - len(before.df))))
        if len(moved) or after.documents != before.documents:
            for store in self._stores.values():
                store.shift(before, after, moved)
        return added

    def _append(
        self, kind: RecordKind, put: Sequence[CatalogueRecord], retired: np.ndarray, tf: sparse.csr_matrix
    ) -> None:
        """Write the new rows of one kind (vectors, industries, columns, TF-IDF) and tidy up."""
        store = self._stores[kind]
        if kind == "buildings":
            self._count_districts(
                store.columns["district"][retired], store.industry_columns[:, retired].T, -1
            )
        if put:
            texts = [record_text(record) for record in put]
            vectors = self.encoder.encode(texts)
            industries, terms = self._industries(kind, put, texts, vectors)
            store.append(NewRows(put, vectors, industries, tf, terms), self._vocabulary.snapshot())
            if kind == "buildings":
                new_rows = slice(store.size - len(put), store.size)
                self._count_districts(store.columns["district"][new_rows], industries, 1)
        store.compact_if_worth_it()

    def _count_districts(self, districts: np.ndarray, industries: np.ndarray, sign: int) -> None:
        """Add (sign 1) or take away (−1) buildings' industries [m, 12] from their districts' [m] totals.

        Confidences are 0 or at least 0.125 in float32, multiples of 2^-26, so float64 sums of up to
        2^26 of them are exact and do not depend on the order of writes.
        """
        np.add.at(self._district_totals, districts, sign * industries.astype(np.float64))
        np.add.at(self._district_peers, districts, sign * (industries >= PEER_CONFIDENCE).astype(np.int64))

    def _publish(self) -> None:
        """Make the current tables the ones queries read."""
        totals = self._district_totals
        best = totals.max(axis=0, keepdims=True)
        tables = {kind: store.table() for kind, store in self._stores.items()}
        tables["enterprises"] = self._mark_placed(tables["enterprises"])
        self._snapshot = Snapshot(
            tables,
            self._vocabulary.snapshot(),
            np.divide(totals, best, out=np.zeros(totals.shape), where=best > 0),
            self._district_peers.copy(),
            self._indexes(),
            frozenset(
                kind
                for kind, store in self._stores.items()
                if store.size >= min(LARGE_TABLE_ROWS, self.dense_index_rows)
            ),
        )

    def _indexes(self) -> dict[RecordKind, DenseIndex]:
        """The dense index of each table of at least `dense_index_rows` rows, rebuilt after a compaction
        renumbered its rows, or once the rows appended since (scanned exactly) pass 1/STALE_SHARE of it."""
        for kind, store in self._stores.items():
            built = self._dense_indexes.get(kind)
            if store.size < self.dense_index_rows:
                self._dense_indexes.pop(kind, None)
            elif (
                built is None
                or built[0] is not store.rows
                or store.size - built[1].size > built[1].size // STALE_SHARE
            ):
                index = DenseIndex.build(store.vectors[: store.size], self._asking(kind))
                self._dense_indexes[kind] = (store.rows, index)
        return {kind: index for kind, (_, index) in self._dense_indexes.items()}

    def _asking(self, kind: RecordKind) -> np.ndarray:
        """Vectors [≤ TUNING_QUERIES, dim] of records that ask for `kind` (firms; for firms, the offers)."""
        askers: list[RecordKind] = ["enterprises"] if kind != "enterprises" else ["buildings", "scenarios"]
        vectors = np.concatenate(
            [self._stores[other].vectors[: self._stores[other].size] for other in askers]
        )
        every = max(1, len(vectors) // TUNING_QUERIES)
        return np.asarray(vectors[::every][:TUNING_QUERIES])

    def _mark_placed(self, table: ItemTable) -> ItemTable:
        """The firms' table with the `placed` column set on the rows of placed firms."""
        if not self.placed:
            return table
        placed = np.zeros(table.size, dtype=bool)
        placed[[row for i in self.placed if (row := table.row_of.get(i, table.size)) < table.size]] = True
        return dataclasses.replace(table, columns={**table.columns, "placed": placed})

    def day(self) -> date:
        """The day deadlines are judged on: the one fixed at creation, else today in China."""
        return self.today or china_today()

    def _query(self, snapshot: Snapshot, kind: RecordKind, record: CatalogueRecord) -> Query:
        """A stored record's row, or an ad-hoc profile encoded on the spot."""
        table = snapshot.tables[kind]
        text = record_text(record)
        row = table.row(record)
        if row is not None:
            kept = table.queries.of(row) if table.queries is not None else None
            lexical = snapshot.lexicon.query(text, kept)
            columns = {name: values[row : row + 1] for name, values in table.columns.items()}
            if kind == "enterprises":  # a placed firm is only kept out of others' results, never refused
                columns["placed"] = np.zeros(1, dtype=bool)
            industries = table.industries[row : row + 1]
            return Query(
                record, columns, table.vectors[row], lexical, industries, stored_evidence(table.terms[row])
            )
        vector = encode_query(self.encoder, text)
        industries, terms = self._industries(kind, [record], [text], vector[np.newaxis, :])
        lexical = snapshot.lexicon.query(text)
        return Query(
            record, columns_of(kind, [record]), vector, lexical, industries, stored_evidence(terms[0])
        )

    def _industries(
        self, kind: RecordKind, records: Sequence[CatalogueRecord], texts: Sequence[str], vectors: np.ndarray
    ) -> tuple[np.ndarray, list[bytes]]:
        """[m, 12] industry confidences of records (declared 1, inferred ones their probability), and their
        texts' lexicon terms (`lexicon_scan`)."""
        inferred, terms = lexicon_scan(texts)
        if self.industry_model is not None and kind in MODEL_KINDS:
            inferred = self.industry_model.combine(vectors, inferred)
        return industry_rows(inferred, [declared(record) for record in records]), terms

    def industries(self, kind: RecordKind, record: CatalogueRecord) -> tuple[IndustryGuess, ...]:
        """A record's industries (declared, then inferred) with the words that show them, best first."""
        return self._query(self._snapshot, kind, record).guesses()

    def channel_similarities(
        self, firm: EnterpriseRecord, kind: RecordKind
    ) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Ids of a table's records (by id) with the firm's raw dense and TF-IDF similarities to each."""
        snapshot = self._snapshot
        query = self._query(snapshot, "enterprises", firm)
        table = snapshot.tables[kind]
        rows = table.by_id
        lexical = table.lexical.similarities(query.lexical)
        return [record.id for record in table.records], table.dense(query.vector)[rows], lexical[rows]

    def stored(self, kind: RecordKind, record_id: str) -> CatalogueRecord:
        """A stored record by id (KeyError when unknown)."""
        return self.records[kind][record_id]

    def single_threaded(self, direction: Direction) -> bool:
        """Whether a match of a stored record in this direction runs on the caller's thread alone, within a
        few milliseconds (its table has no dense index and is scanned on one thread)."""
        return single_threaded(self._snapshot, direction.result)

    def match(
        self,
        direction: Direction,
        record: CatalogueRecord,
        k: int = 10,
        *,
        weights: Weights | None = None,
        districts: Sequence[str] = (),
        scan_all: bool = False,
        reasons: bool = True,
    ) -> MatchResult:
        """The best `k` records of `direction.result` for a record (stored or ad hoc) of `direction.query`.

        `districts` keeps only results in those districts (directions whose results have one); `scan_all`
        scores every row even of a table with a dense index (what the index is checked against);
        without `reasons` the results carry none (for callers after the scores alone).
        """
        snapshot = dataclasses.replace(self._snapshot, indexes={}) if scan_all else self._snapshot
        query = self._query(snapshot, direction.query, record)
        today = self.day()
        firm, offer = direction.sides(query.columns, snapshot.tables[direction.result].columns)
        violations = direction.pairing.violations(firm, offer, today.toordinal())
        if direction.refusal is not None:
            names = direction.pairing.constraints
            broken = [names[name] for name, mask in violations.items() if mask.any()]
            if broken:
                note = f"{direction.refusal}：{'；'.join(broken)}"
                return MatchResult([], k, 0, note=note, industries=query.guesses())
            violations = {}
        request = Request(direction, violations, k, weights or self.weights, districts, today, reasons)
        return rank(snapshot, query, request)
