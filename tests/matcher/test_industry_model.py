"""The industry classifier: its training corpus, what fitting learns on data with known truth, and its use."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from matcher.directions import for_firm
from matcher.encoder import DEFAULT_MODEL_DIR, SentenceEncoder
from matcher.hashing import HashingEncoder
from matcher.industry import INDUSTRY_CODES, lexicon_matrix
from matcher.industry_model import (
    CORPUS_DIR,
    DEFAULT_CACHE_DIR,
    IndustryModel,
    Labelled,
    Softmax,
    fit,
    read_labelled,
    trained,
    training_corpus,
)
from matcher.recommender import Recommender
from models.records import BuildingRecord, EnterpriseRecord
from tests.files import building, enterprise
from tools.industry_eval import EVAL_DIR, VALIDATION_DIR, calibration_error

STYLES = {"terse", "brochure", "call_notes", "acronym", "indirect"}
CLASSES = (
    *(f"651{digit}" for digit in "1239"),
    "6520",
    "6531",
    "6532",
    "6540",
    "6550",
    "6560",
    "6571",
    "6572",
    "6579",
    "6591",
    "6599",
    "6450",
)
"""The GB/T 4754-2017 classes the corpus must define: class 65's subclasses and 645."""


def _normalised(text: str) -> str:
    """The text without whitespace and punctuation, lower-cased."""
    return re.sub(r"[\W_]+", "", text).lower()


def _bigrams(text: str) -> set[str]:
    """The text's character bigrams."""
    folded = _normalised(text)
    return {folded[start : start + 2] for start in range(len(folded) - 1)}


def test_the_corpus_covers_every_industry_kind_and_style() -> None:
    corpus = training_corpus()
    counts = Counter((item.industry, item.kind) for item in corpus)
    for code in INDUSTRY_CODES:
        assert counts[code, "firm"] >= 100, code
        assert counts[code, "scenario"] >= 50, code
        for kind in ("firm", "scenario"):
            styles = Counter(item.style for item in corpus if item.industry == code and item.kind == kind)
            assert set(styles) == STYLES, (code, kind)
            assert min(styles.values()) >= 10, (code, kind, styles)
    definitions = [item for item in corpus if item.kind == "definition"]
    assert {item.industry for item in definitions} == set(INDUSTRY_CODES)
    assert all(any(item.text.startswith(code) for item in definitions) for code in CLASSES)
    assert all(code not in item.also for item in corpus for code in [item.industry])
    assert len({_normalised(item.text) for item in corpus}) == len(corpus)


def _closest(grams: set[str], others: list[set[str]]) -> float:
    """The largest share of bigrams (Jaccard) `grams` has in common with any of `others`."""
    return max(len(grams & other) / (len(grams | other) or 1) for other in others)


def test_the_corpus_shares_no_text_with_the_frozen_evaluation_set() -> None:
    """Written apart: no evaluation text is in the corpus, and only the odd stock phrase comes close.

    Two writers put short texts the same way now and then (弱电智能化系统集成 in both, 0.62 of their
    character bigrams shared): 6 of 420 evaluation texts have a corpus text sharing half their bigrams.
    """
    corpus = training_corpus()
    grams = [_bigrams(item.text) for item in corpus]
    evaluation = [
        item
        for name in ("firms", "scenarios")
        for item in read_labelled(EVAL_DIR / f"{name}.jsonl", name[:-1])
    ]
    assert not {_normalised(item.text) for item in evaluation} & {_normalised(item.text) for item in corpus}
    close = [item.text for item in evaluation if _closest(_bigrams(item.text), grams) >= 0.5]
    assert len(close) <= 0.02 * len(evaluation), close


def test_the_validation_set_is_apart_from_the_corpus_and_the_frozen_set() -> None:
    """The set variants are chosen on: every need different, none in the corpus or the frozen set."""
    validation = [
        item
        for name in ("firms", "scenarios")
        for item in read_labelled(VALIDATION_DIR / f"{name}.jsonl", name[:-1])
    ]
    counts = Counter((item.industry, item.kind) for item in validation)
    assert all(counts[code, "firm"] >= 5 and counts[code, "scenario"] >= 10 for code in INDUSTRY_CODES), (
        counts
    )
    assert sum(item.style == "indirect" for item in validation) >= len(validation) / 2
    others = [*training_corpus()]
    others += [
        item
        for name in ("firms", "scenarios")
        for item in read_labelled(EVAL_DIR / f"{name}.jsonl", name[:-1])
    ]
    seen = {_normalised(item.text) for item in others}
    assert len({_normalised(item.text) for item in validation}) == len(validation)
    assert not {_normalised(item.text) for item in validation} & seen


def test_a_corpus_row_with_an_unknown_code_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    rows = [{"text": "芯片设计", "industry": "ic_design", "style": "terse", "kind": "firm"}]
    rows.append({"text": "房地产中介", "industry": "real_estate", "style": "terse", "kind": "firm"})
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows), encoding="utf-8")
    with pytest.raises(ValueError, match=r"第 2 行.*real_estate"):
        read_labelled(path)


def _synthetic(
    rng: np.random.Generator,
    centres: np.ndarray,
    per_class: int,
    noise: float,
    texts: list[str] | None = None,
) -> tuple[np.ndarray, list[Labelled]]:
    """Vectors scattered round each industry's centre, labelled with that industry (texts optional)."""
    classes = np.repeat(np.arange(len(INDUSTRY_CODES)), per_class)
    vectors = centres[classes] + noise * rng.standard_normal((len(classes), centres.shape[1]))
    items = [
        Labelled(texts[label] if texts else f"样本{index}", INDUSTRY_CODES[label], (), "terse", "firm")
        for index, label in enumerate(classes)
    ]
    return vectors, items


def _accuracy(probabilities: np.ndarray, items: list[Labelled]) -> float:
    """Share of items whose likeliest industry is their label."""
    return float(
        np.mean(
            [
                INDUSTRY_CODES[int(column)] == item.industry
                for column, item in zip(np.argmax(probabilities, axis=1), items, strict=True)
            ]
        )
    )


def test_fitting_learns_known_classes_and_its_probabilities_are_calibrated() -> None:
    """Overlapping clusters with known truth: held-out accuracy near the clusters' separability, and the
    first guess's probability matches how often it is right."""
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((len(INDUSTRY_CODES), 16))
    vectors, items = _synthetic(rng, centres, 120, 0.9)
    model = fit(vectors, items, "synthetic")
    held_vectors, held = _synthetic(rng, centres, 200, 0.9)
    probabilities = model.infer([item.text for item in held], held_vectors)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    accuracy = _accuracy(probabilities, held)
    assert 0.6 < accuracy < 0.995  # learnt, and the task is not trivial
    assert calibration_error(held, probabilities) < 0.05
    shuffled = [Labelled(item.text, str(rng.choice(INDUSTRY_CODES)), (), "terse", "firm") for item in items]
    noise = fit(vectors, shuffled, "synthetic").infer([item.text for item in held], held_vectors)
    assert _accuracy(noise, held) < 0.2  # shuffled labels teach nothing: about 1 in 12
    assert noise.max(axis=1).mean() < 0.35  # and the model says it is unsure


TERMS = {
    "software_dev": "软件开发",
    "ic_design": "芯片设计",
    "industrial_design": "工业设计",
    "info_security": "网络安全",
    "ai": "人工智能",
    "industrial_internet": "工业互联网",
    "iot_embedded": "嵌入式",
    "it_services": "运维服务",
    "digital_content": "动漫",
    "data_services": "数据标注",
    "internet_platform": "电商平台",
    "emerging_tech": "区块链",
}
"""One lexicon term per industry."""


def test_the_combination_trusts_the_lexicon_where_the_vectors_say_nothing() -> None:
    texts = [TERMS[code] for code in INDUSTRY_CODES]
    assert [INDUSTRY_CODES[int(i)] for i in lexicon_matrix(texts).argmax(axis=1)] == list(INDUSTRY_CODES)
    rng = np.random.default_rng(3)
    blind = np.zeros((len(INDUSTRY_CODES), 16))  # every class at the same centre: vectors carry no signal
    vectors, items = _synthetic(rng, blind, 60, 1.0, texts)
    model = fit(vectors, items, "synthetic")
    held_vectors, held = _synthetic(rng, blind, 50, 1.0, texts)
    assert _accuracy(model.classify(held_vectors), held) < 0.2
    assert _accuracy(model.infer([item.text for item in held], held_vectors), held) > 0.95


def test_a_secondary_label_keeps_probability_on_both_industries() -> None:
    rng = np.random.default_rng(5)
    centres = 4 * rng.standard_normal((len(INDUSTRY_CODES), 16))
    vectors, items = _synthetic(rng, centres, 60, 0.5)
    ii, iot = INDUSTRY_CODES.index("industrial_internet"), INDUSTRY_CODES.index("iot_embedded")
    mixed = [
        Labelled(item.text, item.industry, ("iot_embedded",), item.style, item.kind)
        if item.industry == "industrial_internet"
        else item
        for item in items
    ]
    probabilities = fit(vectors, mixed, "synthetic").classify(centres[ii : ii + 1])[0]
    assert probabilities[ii] > probabilities[iot] > 0.2
    single = fit(vectors, items, "synthetic").classify(centres[ii : ii + 1])[0]
    assert single[iot] < 0.05


def test_a_fit_is_kept_and_read_back_unchanged(tmp_path: Path) -> None:
    encoder = HashingEncoder()
    model = trained(encoder, tmp_path)
    assert len(encoder.calls) == len(training_corpus())
    (saved,) = tmp_path.glob("industry-hashing-test-encoder-*.npz")
    again = IndustryModel.load(saved)
    assert again.model_id == "hashing-test-encoder"
    for part in ("classifier", "combiner"):
        np.testing.assert_array_equal(getattr(again, part).weights, getattr(model, part).weights)
        np.testing.assert_array_equal(getattr(again, part).bias, getattr(model, part).bias)
    other = HashingEncoder()
    assert trained(other, tmp_path) is model  # the same process fits once
    assert not other.calls


def make_building(building_id: str, **overrides: Any) -> BuildingRecord:
    """A valid building record."""
    return BuildingRecord.model_validate(building(id=building_id, **overrides))


def make_firm(firm_id: str, **overrides: Any) -> EnterpriseRecord:
    """A valid firm record that declares no industry unless told to."""
    return EnterpriseRecord.model_validate(enterprise(id=firm_id, **{"industries": [], **overrides}))


def fixed(model_id: str, probabilities: dict[str, float]) -> IndustryModel:
    """A model that gives every text the same probabilities (its combiner passes the classifier's on)."""
    width = len(INDUSTRY_CODES)
    chances = np.full(width, 1e-9)
    for code, probability in probabilities.items():
        chances[INDUSTRY_CODES.index(code)] = probability
    classifier = Softmax(np.zeros((width, HashingEncoder.dim)), np.log(chances))
    combiner = Softmax(np.hstack([np.eye(width), np.zeros((width, width))]), np.zeros(width))
    return IndustryModel(model_id, classifier, combiner)


def test_a_mixed_firm_fits_both_kinds_of_building_a_little_and_the_reasons_say_how_sure() -> None:
    model = fixed("hashing-test-encoder", {"industrial_internet": 0.6, "iot_embedded": 0.4})
    buildings = [
        make_building(f"B{index}", focus_industries=[code])
        for index, code in enumerate(("industrial_internet", "iot_embedded", "ai"))
    ]
    recommender = Recommender(HashingEncoder(), industry_model=model).load(
        {"buildings": buildings, "enterprises": [], "scenarios": []}
    )
    result = recommender.match(for_firm("buildings"), make_firm("F1", description="做设备联网的软件"), k=3)
    industry = {match.id: match.components["industry"] for match in result.results}
    assert industry["B0"] > industry["B1"] > industry["B2"] == 0
    assert industry["B0"] / industry["B1"] == pytest.approx(0.6 / 0.4, rel=1e-3)
    reasons = {match.id: match.reasons for match in result.results}
    assert (
        "产业契合：楼宇重点引进工业互联网，企业主业推断为工业互联网（把握一般；依据：设备联网）"
        in reasons["B0"]
    )
    assert any("企业主业推断为物联网和嵌入式软件（把握较小" in reason for reason in reasons["B1"])
    assert [(guess.code, guess.certainty) for guess in result.industries] == [
        ("industrial_internet", "把握一般"),
        ("iot_embedded", "把握较小"),
    ]
    declared = make_firm("F2", description="做设备的软件", industries=["iot_embedded"])
    answer = recommender.match(for_firm("buildings"), declared, k=3)
    assert answer.results[0].id == "B1"
    assert any("与企业主业一致" in reason for reason in answer.results[0].reasons)


def test_buildings_keep_the_lexicon_and_a_model_of_another_encoder_is_refused() -> None:
    model = fixed("hashing-test-encoder", {"ai": 1.0})
    plain = make_building("B1", focus_industries=[], description="一栋写字楼")
    recommender = Recommender(HashingEncoder(), industry_model=model).load(
        {"buildings": [plain], "enterprises": [], "scenarios": []}
    )
    assert not recommender.tables["buildings"].industries.any()  # open to all, not guessed "ai"
    with pytest.raises(ValueError, match="hashing-test-encoder"):
        Recommender(HashingEncoder(), industry_model=fixed("another-model", {"ai": 1.0}))


@pytest.fixture(scope="module")
def e5() -> SentenceEncoder:
    """The default embedding model (built by `make model`)."""
    return SentenceEncoder(DEFAULT_MODEL_DIR, threads=2)


def test_on_the_frozen_set_the_combination_reaches_the_goal_and_beats_the_lexicon(
    e5: SentenceEncoder,
) -> None:
    """The issue's goal, top-1 ≥ 0.85 for firms and scenarios, held by the model the service fits (and keeps
    where the service does, so that only the first run fits it)."""
    model = trained(e5, DEFAULT_CACHE_DIR)
    for name in ("firms", "scenarios"):
        found = read_labelled(EVAL_DIR / f"{name}.jsonl", name[:-1])
        texts = [item.text for item in found]
        combined = model.infer(texts, e5.encode(texts))
        lexicon = lexicon_matrix(texts)
        assert _accuracy(combined, found) >= 0.85, name
        assert _accuracy(combined, found) > _accuracy(lexicon, found) + 0.1, name
        assert calibration_error(found, combined) < 0.1, name


def test_corpus_files_are_one_per_industry_plus_the_definitions() -> None:
    names = sorted(path.stem for path in CORPUS_DIR.glob("*.jsonl"))
    assert names == sorted([*INDUSTRY_CODES, "definitions"])
