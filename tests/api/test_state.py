"""The app state follows this process's own writes in the order of their stamps, never undoing a newer one."""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker

from api.config import Settings
from api.services.write import CatalogueChange
from api.state import AppState
from matcher.hashing import HashingEncoder
from matcher.recommender import Recommender
from models.records import BuildingRecord
from tests.files import building


def _state() -> AppState:
    """A state over an empty catalogue whose buildings were last written at stamp 0."""
    recommender = Recommender(HashingEncoder()).load({})
    return AppState(Settings(), sessionmaker(), recommender, 1, {"buildings": 0})


def _record(record_id: str) -> BuildingRecord:
    """A building with this id."""
    return BuildingRecord.model_validate(building(id=record_id))


def test_writes_applied_in_stamp_order_are_counted_as_seen() -> None:
    state = _state()
    state.apply(CatalogueChange("buildings", 1, put=[_record("A")]))
    state.apply(CatalogueChange("buildings", 2, put=[_record("B")]))
    assert state.catalogue_stamps["buildings"] == 2
    assert set(state.recommender.records["buildings"]) == {"A", "B"}


def test_a_write_after_a_gap_is_shown_but_leaves_the_reload_to_the_next_query() -> None:
    state = _state()
    state.apply(CatalogueChange("buildings", 2, put=[_record("B")]))
    assert state.catalogue_stamps["buildings"] == 0
    state.apply(CatalogueChange("buildings", 1, put=[_record("A")]))
    assert state.catalogue_stamps["buildings"] == 1  # the database is at 2: the next query reloads
    assert set(state.recommender.records["buildings"]) == {"A", "B"}


def test_a_write_the_tables_already_reflect_is_not_applied_again() -> None:
    state = _state()
    state.catalogue_stamps["buildings"] = 5  # a reload from the database saw writes up to stamp 5
    state.apply(CatalogueChange("buildings", 4, put=[_record("OLD")]))
    state.apply(CatalogueChange("buildings", 3, drop=["ANY"]))
    assert state.catalogue_stamps["buildings"] == 5
    assert state.recommender.records["buildings"] == {}
