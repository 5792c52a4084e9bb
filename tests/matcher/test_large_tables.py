"""Large tables: a dense index and a bounded TF-IDF walk propose the rows scored; the numbers stay exact."""

from __future__ import annotations

import pickle
from datetime import date
from unittest.mock import patch

import numpy as np
import pytest

from demo.generate import generate_buildings, generate_enterprises, generate_scenarios
from matcher import ranking, recommender
from matcher.ann import DenseIndex
from matcher.directions import DIRECTIONS
from matcher.hashing import HashingEncoder
from matcher.lexical import LexicalQuery, Lexicon
from matcher.recommender import Recommender
from matcher.store import CALIBRATION_SAMPLE
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, RecordKind, ScenarioRecord

TODAY = date(2026, 12, 1)
SIZE = 4_500
"""Buildings and scenarios: past CALIBRATION_SAMPLE, so the calibration reads a sample of the rows."""


@pytest.fixture(scope="module")
def catalogue() -> dict[RecordKind, list[CatalogueRecord]]:
    """SIZE buildings and scenarios, 80 firms."""
    return {
        "buildings": [BuildingRecord.model_validate(r) for r in generate_buildings(SIZE, seed=5)],
        "enterprises": [EnterpriseRecord.model_validate(r) for r in generate_enterprises(80, seed=5)],
        "scenarios": [
            ScenarioRecord.model_validate(r) for r in generate_scenarios(SIZE, seed=5, reference_date=TODAY)
        ],
    }


@pytest.fixture(scope="module")
def pair(catalogue: dict[RecordKind, list[CatalogueRecord]]) -> tuple[Recommender, Recommender]:
    """The same catalogue scanned row by row, and with a dense index on every table of 2,000 rows or more."""
    exact = Recommender(HashingEncoder(), today=TODAY).load(catalogue)
    indexed = Recommender(HashingEncoder(), today=TODAY, dense_index_rows=2_000).load(catalogue)
    return exact, indexed


def test_only_tables_past_the_threshold_get_an_index(pair: tuple[Recommender, Recommender]) -> None:
    exact, indexed = pair
    assert not exact.indexes
    assert set(indexed.indexes) == {"buildings", "scenarios"}  # 80 firms stay scanned


def test_a_table_past_the_large_size_walks_rare_terms_without_an_index(
    catalogue: dict[RecordKind, list[CatalogueRecord]],
) -> None:
    with patch.object(recommender, "LARGE_TABLE_ROWS", 2_000):
        large = Recommender(HashingEncoder(), today=TODAY).load(catalogue)
    assert not large.indexes
    firm = large.tables["enterprises"].records[0]
    budgets: list[int] = []
    real = Lexicon.rarest

    def rarest(lexicon: Lexicon, query: LexicalQuery, budget: int) -> LexicalQuery:
        budgets.append(budget)
        return real(lexicon, query, budget)

    with patch.object(Lexicon, "rarest", rarest):
        large.match(DIRECTIONS["firm_buildings"], firm, 10)
    assert budgets == [ranking.POSTINGS_BUDGET]


def test_indexed_answers_keep_exact_scores_and_counts(pair: tuple[Recommender, Recommender]) -> None:
    _, indexed = pair
    same_ids, same_scores, total = 0, 0, 0
    for firm in indexed.tables["enterprises"].records:
        for name in ("firm_buildings", "firm_scenarios"):
            a = indexed.match(DIRECTIONS[name], firm, 10, scan_all=True)  # every row scored
            b = indexed.match(DIRECTIONS[name], firm, 10)
            assert (b.eligible, b.excluded) == (a.eligible, a.excluded)
            unspread = {m.id: m.score - m.components.get("spread", 0.0) for m in a.results}
            shared = [m for m in b.results if m.id in unspread]
            # equal unless the index missed the best eligible row (the calibration's high end)
            same_scores += all(m.score - m.components.get("spread", 0.0) == unspread[m.id] for m in shared)
            same_ids += [m.id for m in a.results] == [m.id for m in b.results]
            total += 1
    assert same_scores / total >= 0.9, f"scores equal for {same_scores} of {total}"
    assert same_ids / total >= 0.99, f"top-10 equal for {same_ids} of {total}"


def test_rows_neither_channel_proposes_are_scored_when_they_could_be_picked(
    pair: tuple[Recommender, Recommender],
) -> None:
    # With 20 candidates per channel, most answers need rows that are in neither channel's best but
    # whose other factors carry them into the top 10: the completion must find them all.
    _, indexed = pair
    same, total = 0, 0
    with patch.object(ranking, "DENSE_CANDIDATES", 20), patch.object(ranking, "LEXICAL_CANDIDATES", 20):
        for firm in indexed.tables["enterprises"].records[:40]:
            for name in ("firm_buildings", "firm_scenarios"):
                exact = indexed.match(DIRECTIONS[name], firm, 10, scan_all=True)
                same += exact == indexed.match(DIRECTIONS[name], firm, 10)
                total += 1
    assert same == total, f"answers equal to every row's for {same} of {total}"


def test_rows_written_after_the_index_was_built_are_found(pair: tuple[Recommender, Recommender]) -> None:
    _, indexed = pair
    firm = indexed.tables["enterprises"].records[0]
    assert isinstance(firm, EnterpriseRecord)
    twin = BuildingRecord.model_validate(generate_buildings(1, seed=99)[0]).model_copy(
        update={"id": "B-TWIN", "description": firm.description, "focus_industries": firm.industries}
    )
    index = indexed.indexes["buildings"]
    indexed.upsert("buildings", [twin])
    answers = [
        [m.id for m in indexed.match(DIRECTIONS["firm_buildings"], firm, 10, scan_all=every).results]
        for every in (True, False)
    ]
    indexed.remove("buildings", ["B-TWIN"])
    assert indexed.indexes["buildings"] is index  # a row appended is scanned exactly, not indexed again
    assert answers[0] == answers[1]
    assert "B-TWIN" in answers[0]


def test_the_calibration_sample_does_not_depend_on_where_rows_lie(
    catalogue: dict[RecordKind, list[CatalogueRecord]], pair: tuple[Recommender, Recommender]
) -> None:
    fresh = pair[0]
    moved = Recommender(HashingEncoder(), today=TODAY).load(catalogue)
    buildings = catalogue["buildings"]
    moved.remove("buildings", [record.id for record in buildings[:100]])
    moved.upsert("buildings", buildings[:100])  # the same records, now in the last rows
    ids = [
        {table.rows[row].id for row in table.calibration_rows.tolist()}
        for table in (fresh.tables["buildings"], moved.tables["buildings"])
    ]
    assert len(ids[0]) == CALIBRATION_SAMPLE
    assert ids[0] == ids[1]
    assert (
        moved.tables["buildings"].row_of[buildings[0].id] != fresh.tables["buildings"].row_of[buildings[0].id]
    )


def test_a_small_table_calibrates_on_every_live_row(
    catalogue: dict[RecordKind, list[CatalogueRecord]],
) -> None:
    small = {kind: records[:300] for kind, records in catalogue.items()}
    table = Recommender(HashingEncoder(), today=TODAY).load(small).tables["buildings"]
    assert np.array_equal(table.calibration_rows, np.flatnonzero(table.alive))


def test_a_restored_state_keeps_the_index_and_answers_the_same(pair: tuple[Recommender, Recommender]) -> None:
    _, indexed = pair
    state = pickle.loads(pickle.dumps(indexed.state(), protocol=5))
    with patch.object(DenseIndex, "build", side_effect=AssertionError("trained again")):
        restored = Recommender.restored(HashingEncoder(), state, today=TODAY, dense_index_rows=2_000)
    assert set(restored.indexes) == {"buildings", "scenarios"}
    assert restored.indexes["buildings"].size == indexed.indexes["buildings"].size
    for firm in indexed.tables["enterprises"].records[:10]:
        for name in ("firm_buildings", "firm_scenarios"):
            assert restored.match(DIRECTIONS[name], firm, 10) == indexed.match(DIRECTIONS[name], firm, 10)
