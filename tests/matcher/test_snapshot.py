"""The recommender's snapshot: a restored build answers exactly as a fresh one; a bad file is refused."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from demo.generate import generate_buildings, generate_enterprises, generate_scenarios
from matcher import snapshot
from matcher.directions import DIRECTIONS
from matcher.hashing import HashingEncoder
from matcher.industry_model import IndustryModel, trained
from matcher.recommender import KINDS, MatchResult, Recommender
from matcher.snapshot import SnapshotKey, SnapshotRejected
from matcher.weights import Weights
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, RecordKind, ScenarioRecord
from tests.files import enterprise

TODAY = date(2026, 12, 1)
KEY = SnapshotKey(HashingEncoder.model_id, "combined", "lineage-a")
STAMPS = {"buildings": 3, "enterprises": 1, "scenarios": 2}


def _catalogue(seed: int) -> dict[RecordKind, list[CatalogueRecord]]:
    """A small generated catalogue of every kind."""
    return {
        "buildings": [BuildingRecord.model_validate(r) for r in generate_buildings(40, seed=seed)],
        "enterprises": [EnterpriseRecord.model_validate(r) for r in generate_enterprises(30, seed=seed)],
        "scenarios": [
            ScenarioRecord.model_validate(r) for r in generate_scenarios(40, seed=seed, reference_date=TODAY)
        ],
    }


CATALOGUE = _catalogue(5)
OTHER = _catalogue(6)
"""Other versions of the same ids (and the same generator's texts): what later writes carry."""
NEW_FIRM = EnterpriseRecord.model_validate(enterprise(id="NEW1", description="做智慧物流调度软件"))
CAPACITY = ({CATALOGUE["buildings"][0].id: 1e7, CATALOGUE["buildings"][1].id: 120.0}, {"E0003"})


@pytest.fixture(scope="module")
def industries() -> IndustryModel:
    """The hashing encoder's industry model (so that inferred industries go through the classifier)."""
    return trained(HashingEncoder())


def _fresh(catalogue: dict[RecordKind, list[CatalogueRecord]], industries: IndustryModel) -> Recommender:
    """A recommender built from scratch over `catalogue`, with CAPACITY."""
    recommender = Recommender(HashingEncoder(), today=TODAY, industry_model=industries)
    recommender.set_capacity(*CAPACITY)
    return recommender.load(catalogue)


def _restored(path: Path, industries: IndustryModel) -> Recommender:
    """A recommender restored from the snapshot at `path`."""
    saved = snapshot.read(path, KEY)
    assert saved.stamps == STAMPS
    return Recommender.restored(
        HashingEncoder(),
        saved.state,
        today=TODAY,
        industry_model=industries,
    )


def _answers(recommender: Recommender, firms: Sequence[CatalogueRecord]) -> list[object]:
    """What every direction answers for a sample of stored and typed-in queries."""
    answers: list[object] = []
    typed = EnterpriseRecord.model_validate(enterprise(id="phone", description="做工业机器视觉和数据标注"))
    for firm in [*firms[:8], typed]:
        assert isinstance(firm, EnterpriseRecord)
        answers.append(recommender.match(DIRECTIONS["firm_buildings"], firm, 8))
        answers.append(recommender.match(DIRECTIONS["firm_buildings"], firm, 5, weights=Weights(spread=1.0)))
        answers.append(recommender.match(DIRECTIONS["firm_scenarios"], firm, 8))
        ids, dense, lexical = recommender.channel_similarities(firm, "buildings")
        answers.append((ids, dense.tolist(), lexical.tolist()))
    for building in recommender.tables["buildings"].records[:4]:
        answers.append(recommender.match(DIRECTIONS["building_firms"], building, 6))
    for scenario in recommender.tables["scenarios"].records[:4]:
        answers.append(recommender.match(DIRECTIONS["scenario_firms"], scenario, 6))
    answers.append({kind: len(table) for kind, table in recommender.tables.items()})
    return answers


def test_a_restored_build_answers_exactly_as_a_fresh_one(tmp_path: Path, industries: IndustryModel) -> None:
    path = tmp_path / "r.snapshot"
    snapshot.write(path, KEY, STAMPS, _fresh(CATALOGUE, industries).state())
    restored, fresh = _restored(path, industries), _fresh(CATALOGUE, industries)
    firms = fresh.tables["enterprises"].records
    answers = _answers(restored, firms)
    assert sum(len(a.results) for a in answers if isinstance(a, MatchResult)) > 100
    assert answers == _answers(fresh, firms)
    assert restored.records == fresh.records
    assert restored.ledger == fresh.ledger
    assert (restored.taken, restored.placed) == (fresh.taken, fresh.placed)
    assert list(path.parent.iterdir()) == [path]  # the temporary file was renamed, none is left


def test_writes_after_restoring_equal_the_same_writes_on_a_fresh_build(
    tmp_path: Path, industries: IndustryModel
) -> None:
    path = tmp_path / "r.snapshot"
    snapshot.write(path, KEY, STAMPS, _fresh(CATALOGUE, industries).state())
    restored, fresh = _restored(path, industries), _fresh(CATALOGUE, industries)
    for recommender in (restored, fresh):
        recommender.upsert("buildings", OTHER["buildings"][:5])
        recommender.upsert("enterprises", [*OTHER["enterprises"][:3], NEW_FIRM])
        recommender.remove("scenarios", [r.id for r in CATALOGUE["scenarios"][:7]])
        recommender.replace("enterprises", CATALOGUE["enterprises"][10:] + OTHER["enterprises"][:2])
        recommender.set_capacity({CATALOGUE["buildings"][2].id: 300.0}, {"E0012"})
    rebuilt = Recommender(HashingEncoder(), today=TODAY, industry_model=industries)
    rebuilt.set_capacity(fresh.taken, fresh.placed)
    rebuilt.load(
        {
            kind: list(fresh.ledger.values()) if kind == "buildings" else list(fresh.records[kind].values())
            for kind in KINDS
        }
    )
    firms = rebuilt.tables["enterprises"].records
    assert _answers(restored, firms) == _answers(fresh, firms) == _answers(rebuilt, firms)


def test_the_restored_arrays_are_writable_copies_on_write(tmp_path: Path, industries: IndustryModel) -> None:
    path = tmp_path / "r.snapshot"
    snapshot.write(path, KEY, STAMPS, _fresh(CATALOGUE, industries).state())
    before = path.read_bytes()
    restored = _restored(path, industries)
    vectors = restored.tables["buildings"].vectors
    assert vectors.flags.writeable
    vectors[0] = 0.0  # private to this process: the file is untouched
    assert path.read_bytes() == before
    assert np.array_equal(_restored(path, industries).tables["buildings"].vectors[1], vectors[1])


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (replace(KEY, model_id="another-model"), "嵌入模型不同"),
        (replace(KEY, industry="lexicon"), "产业推断设置不同"),
        (replace(KEY, lineage="lineage-b"), "另一个数据库"),
        (replace(KEY, code="0" * 64), "程序或产业语料已更新"),
        (replace(KEY, format=0), "快照格式版本不同"),
    ],
)
def test_a_snapshot_under_another_key_is_refused(
    tmp_path: Path, key: SnapshotKey, reason: str, industries: IndustryModel
) -> None:
    path = tmp_path / "r.snapshot"
    snapshot.write(path, key, STAMPS, _fresh(CATALOGUE, industries).state())
    with pytest.raises(SnapshotRejected, match=reason):
        snapshot.read(path, KEY)
    with pytest.raises(SnapshotRejected, match=reason):
        snapshot.check(path, KEY)


def _damaged(path: Path, how: str) -> None:
    """Damage a snapshot file one way."""
    data = bytearray(path.read_bytes())
    if how == "flipped":
        data[len(data) * 2 // 3] ^= 0x40
    elif how == "truncated":
        data = data[: len(data) // 2]
    elif how == "random":
        data = bytearray(np.random.default_rng(7).bytes(len(data)))
    elif how == "header":
        data[30:60] = b"\xff" * 30
    else:
        data = bytearray()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("flipped", "校验和不符"),
        ("truncated", "被截断"),
        ("random", "不是快照文件"),
        ("header", "文件头已损坏"),
        ("empty", "不完整"),
    ],
)
def test_a_damaged_snapshot_is_refused(
    tmp_path: Path, how: str, reason: str, industries: IndustryModel
) -> None:
    path = tmp_path / "r.snapshot"
    snapshot.write(path, KEY, STAMPS, _fresh(CATALOGUE, industries).state())
    assert snapshot.check(path, KEY) == STAMPS
    _damaged(path, how)
    with pytest.raises(SnapshotRejected, match=reason):
        snapshot.read(path, KEY)
    if how == "flipped":  # the quick check reads the header and the length only; reading verifies the digest
        assert snapshot.check(path, KEY) == STAMPS
        return
    with pytest.raises(SnapshotRejected, match=reason):
        snapshot.check(path, KEY)


def test_a_missing_snapshot_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SnapshotRejected, match="尚无快照"):
        snapshot.read(tmp_path / "none.snapshot", KEY)


def test_a_state_for_another_dimension_is_refused(tmp_path: Path, industries: IndustryModel) -> None:
    state = _fresh(CATALOGUE, industries).state()

    class Wider(HashingEncoder):
        dim = 32

    with pytest.raises(ValueError, match="维度"):
        Recommender.restored(Wider(), state)
