"""Single-record writes: any sequence of upserts, removals and replacements equals a fresh load, exactly."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from demo.generate import generate_buildings, generate_enterprises, generate_scenarios
from matcher import store
from matcher.directions import DIRECTIONS, for_firm
from matcher.hashing import HashingEncoder
from matcher.recommender import KINDS, Recommender
from matcher.text import record_text
from matcher.weights import Weights
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, RecordKind, ScenarioRecord
from tests.files import enterprise

TODAY = date(2026, 12, 1)
BASE: dict[RecordKind, int] = {"buildings": 30, "enterprises": 16, "scenarios": 24}
"""How many records of each kind the catalogue starts with; the pools hold half as many again."""


def _records(kind: RecordKind, count: int, seed: int) -> list[CatalogueRecord]:
    """Generated records of one kind (ids numbered from 1, so two seeds give two versions of an id)."""
    if kind == "buildings":
        return [BuildingRecord.model_validate(r) for r in generate_buildings(count, seed=seed)]
    if kind == "enterprises":
        return [EnterpriseRecord.model_validate(r) for r in generate_enterprises(count, seed=seed)]
    return [
        ScenarioRecord.model_validate(r) for r in generate_scenarios(count, seed=seed, reference_date=TODAY)
    ]


START = {kind: _records(kind, size, seed=3) for kind, size in BASE.items()}
POOL = {kind: START[kind] + _records(kind, size * 3 // 2, seed=4) for kind, size in BASE.items()}
"""Every record a write may carry: the starting ones, other versions of them, and new ids."""

Write = tuple[str, RecordKind, list[int]]

writes = st.lists(
    st.tuples(
        st.sampled_from(["upsert", "remove", "replace", "capacity"]),
        st.sampled_from(KINDS),
        st.lists(st.integers(0, 10_000), min_size=1, max_size=6),
    ),
    min_size=1,
    max_size=12,
)


def _apply(
    recommender: Recommender, state: dict[RecordKind, dict[str, CatalogueRecord]], write: Write
) -> None:
    """Apply one write to the recommender and to the plain dictionaries that say what it should hold."""
    action, kind, picks = write
    if action == "capacity":
        recommender.set_capacity(*_capacity(picks))
        return
    pool = POOL[kind]
    chosen = [pool[pick % len(pool)] for pick in picks]
    if action == "upsert":
        recommender.upsert(kind, chosen)
        state[kind].update({record.id: record for record in chosen})
    elif action == "remove":
        recommender.remove(kind, [record.id for record in chosen])
        for record in chosen:
            state[kind].pop(record.id, None)
    else:
        kept = [record for record in state[kind].values() if sum(map(ord, record.id)) % 3] + chosen
        recommender.replace(kind, kept)
        state[kind] = {record.id: record for record in kept}


def _capacity(picks: list[int]) -> tuple[dict[str, float], set[str]]:
    """Area taken off some buildings (some of them wholly) and some firms placed, drawn from `picks`."""
    buildings, firms = POOL["buildings"], POOL["enterprises"]
    taken = {buildings[pick % len(buildings)].id: float(100 * (pick % 7) + 50 * (pick % 2)) for pick in picks}
    taken |= {buildings[picks[0] % len(buildings)].id: 1e7}  # more than any vacancy: the building is full
    return taken, {firms[pick % len(firms)].id for pick in picks[1:]}


def _written(sequence: list[Write]) -> tuple[Recommender, dict[RecordKind, dict[str, CatalogueRecord]]]:
    """The starting catalogue loaded, then the writes applied; with what it should hold."""
    # Tiny thresholds, so that segment merges and compactions happen within a few writes.
    with (
        patch.object(store, "RECENT_ROWS", 5),
        patch.object(store, "DEAD_MIN", 2),
        patch.object(store, "DEAD_SHARE", 4),
    ):
        catalogue: dict[RecordKind, list[CatalogueRecord]] = {kind: list(START[kind]) for kind in KINDS}
        recommender = Recommender(HashingEncoder(), today=TODAY).load(catalogue)
        state = {kind: {record.id: record for record in records} for kind, records in catalogue.items()}
        for write in sequence:
            _apply(recommender, state, write)
    return recommender, state


def _answers(recommender: Recommender, firms: Sequence[CatalogueRecord]) -> list[object]:
    """Everything the four directions answer, for a sample of queries."""
    answers: list[object] = []
    ad_hoc = EnterpriseRecord.model_validate(enterprise(id="phone", description="做工业机器视觉和数据标注"))
    for firm in [*firms[:6], ad_hoc]:
        assert isinstance(firm, EnterpriseRecord)
        answers.append(recommender.match(DIRECTIONS["firm_buildings"], firm, 8))
        answers.append(
            recommender.match(
                DIRECTIONS["firm_buildings"], firm, 5, weights=Weights(spread=1.0), districts=["渝北区"]
            )
        )
        answers.append(recommender.match(DIRECTIONS["firm_scenarios"], firm, 8, weights=Weights(spread=0.0)))
        ids, dense, lexical = recommender.channel_similarities(firm, "buildings")
        answers.append((ids, dense.tolist(), lexical.tolist()))
    for building in recommender.tables["buildings"].records[:3]:
        assert isinstance(building, BuildingRecord)
        answers.append(recommender.match(DIRECTIONS["building_firms"], building, 6))
    for scenario in recommender.tables["scenarios"].records[:3]:
        assert isinstance(scenario, ScenarioRecord)
        answers.append(recommender.match(DIRECTIONS["scenario_firms"], scenario, 6))
    return answers


@settings(max_examples=25, deadline=None)
@given(writes)
def test_any_sequence_of_writes_equals_a_fresh_load(sequence: list[Write]) -> None:
    recommender, state = _written(sequence)
    fresh = Recommender(HashingEncoder(), today=TODAY)
    fresh.set_capacity(recommender.taken, recommender.placed)
    fresh.load({kind: list(state[kind].values()) for kind in KINDS})
    assert recommender.ledger == state["buildings"]
    for kind in KINDS:
        assert recommender.records[kind] == fresh.records[kind]
        assert [r.id for r in recommender.tables[kind].records] == [r.id for r in fresh.tables[kind].records]
    firms = fresh.tables["enterprises"].records
    assert _answers(recommender, firms) == _answers(fresh, firms)
    assert np.array_equal(recommender._snapshot.district_shares, fresh._snapshot.district_shares)
    assert np.array_equal(recommender._snapshot.district_peers, fresh._snapshot.district_peers)


def test_a_write_leaves_earlier_snapshots_untouched() -> None:
    recommender = Recommender(HashingEncoder(), today=TODAY).load({kind: START[kind] for kind in KINDS})
    firm = START["enterprises"][0]
    assert isinstance(firm, EnterpriseRecord)
    before = recommender.match(DIRECTIONS["firm_buildings"], firm, 10)
    snapshot = recommender._snapshot
    for record in POOL["buildings"][BASE["buildings"] :]:
        recommender.upsert("buildings", [record])
    recommender.remove("buildings", [record.id for record in START["buildings"][:10]])
    assert recommender._snapshot is not snapshot
    recommender._snapshot, current = snapshot, recommender._snapshot
    assert recommender.match(DIRECTIONS["firm_buildings"], firm, 10) == before
    recommender._snapshot = current
    assert recommender.match(DIRECTIONS["firm_buildings"], firm, 10) != before


def test_unchanged_records_cost_no_write() -> None:
    recommender = Recommender(HashingEncoder(), today=TODAY).load({kind: START[kind] for kind in KINDS})
    snapshot = recommender._snapshot
    recommender.upsert("buildings", START["buildings"])
    recommender.replace("scenarios", START["scenarios"])
    recommender.remove("enterprises", ["no-such-firm"])
    assert recommender._snapshot is snapshot


@pytest.mark.parametrize("kind", KINDS)
def test_removing_everything_leaves_empty_answers(kind: RecordKind) -> None:
    recommender = Recommender(HashingEncoder(), today=TODAY).load({k: START[k] for k in KINDS})
    recommender.remove(kind, [record.id for record in START[kind]])
    assert len(recommender.tables[kind]) == 0
    firm = EnterpriseRecord.model_validate(enterprise(id="phone"))
    if kind != "enterprises":
        assert recommender.match(for_firm(kind), firm, 5).results == []


@settings(max_examples=25, deadline=None)
@given(writes)
def test_a_stored_firm_keeps_its_texts_query_through_any_writes(sequence: list[Write]) -> None:
    """Firms keep their text's terms (`ItemTable.queries`): the query made of them equals the query of the
    text, bit for bit, whatever writes, segment merges and compactions came between."""
    recommender, _ = _written(sequence)
    snapshot = recommender._snapshot
    firms = snapshot.tables["enterprises"]
    assert firms.queries is not None
    assert len(firms.queries.ends) == firms.size
    assert snapshot.tables["buildings"].queries is None
    texts = [record_text(firms.rows[row]) for row in np.flatnonzero(firms.alive).tolist()]
    by_text, by_terms = dataclasses.replace(snapshot.lexicon), dataclasses.replace(snapshot.lexicon)
    cut = [by_text.query(text) for text in texts]  # a copy keeps nothing asked of another
    kept = [
        by_terms.query(text, firms.queries.of(row))
        for row, text in zip(np.flatnonzero(firms.alive).tolist(), texts, strict=True)
    ]
    for ours, theirs in zip(kept, cut, strict=True):
        assert (ours.terms.tobytes(), ours.weights.tobytes()) == (
            theirs.terms.tobytes(),
            theirs.weights.tobytes(),
        )
