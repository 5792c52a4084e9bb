"""The incremental TF-IDF channel gives the cosines of a TfidfVectorizer fitted on the catalogue as is."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from demo.generate import generate_buildings, generate_enterprises
from matcher import lexical
from matcher.lexical import LexicalRows, Vocabulary, ngrams
from matcher.text import record_text
from models.enums import Industry
from models.records import BuildingRecord, EnterpriseRecord

BUILDINGS = [record_text(BuildingRecord.model_validate(r)) for r in generate_buildings(40, seed=8)]
FIRMS = [record_text(EnterpriseRecord.model_validate(r)) for r in generate_enterprises(30, seed=8)]
QUERIES = [*FIRMS[:5], "做机器视觉质检和工业大模型", "ＡＢＣ 全角 and Mixed Case 文本"]


def _sklearn_cosines(items: list[str], others: list[str]) -> np.ndarray:
    """Cosines [queries, items] from a TfidfVectorizer fitted on items, others and the industry names."""
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    vectorizer.fit([*items, *others, *(industry.label for industry in Industry)])
    return np.asarray((vectorizer.transform(QUERIES) @ vectorizer.transform(items).T).todense())


def _cosines(vocabulary: Vocabulary, rows: LexicalRows, keep: np.ndarray) -> np.ndarray:
    """Our cosines [queries, kept rows]."""
    lexicon = vocabulary.snapshot()
    return np.array([rows.similarities(lexicon.query(text))[keep] for text in QUERIES])


def test_cosines_match_a_vectorizer_fitted_on_the_same_texts() -> None:
    vocabulary = Vocabulary()
    tf = vocabulary.tf(BUILDINGS)
    vocabulary.count_in(tf, 1)
    vocabulary.count_in(vocabulary.tf(FIRMS), 1)
    rows = LexicalRows.empty().appended(tf, vocabulary.snapshot(), 8)
    ours = _cosines(vocabulary, rows, np.ones(len(BUILDINGS), dtype=bool))
    assert np.allclose(ours, _sklearn_cosines(BUILDINGS, FIRMS), atol=1e-6)


def test_cosines_follow_removals_and_additions() -> None:
    vocabulary = Vocabulary()
    first, later = BUILDINGS[:25], BUILDINGS[25:]
    tf = vocabulary.tf(first)
    vocabulary.count_in(tf, 1)
    rows = LexicalRows.empty().appended(tf, vocabulary.snapshot(), 8)
    for text in later:  # one write at a time, as the API makes them
        before = vocabulary.snapshot()
        added = vocabulary.tf([text])
        vocabulary.count_in(added, 1)
        after = vocabulary.snapshot()
        moved = np.flatnonzero(after.df != np.pad(before.df, (0, len(after.df) - len(before.df))))
        rows = rows.shifted(before, after, moved).appended(added, after, 8)
    before = vocabulary.snapshot()
    vocabulary.count_in(vocabulary.tf(first[:10]), -1)
    after = vocabulary.snapshot()
    rows = rows.shifted(before, after, np.flatnonzero(after.df != before.df))
    keep = np.r_[np.zeros(10, dtype=bool), np.ones(len(BUILDINGS) - 10, dtype=bool)]
    assert np.allclose(_cosines(vocabulary, rows, keep), _sklearn_cosines(BUILDINGS[10:], []), atol=1e-6)
    compacted = rows.compacted(keep)
    assert np.array_equal(
        _cosines(vocabulary, compacted, np.ones(keep.sum(), dtype=bool)), _cosines(vocabulary, rows, keep)
    )


def test_a_text_is_its_own_nearest_neighbour() -> None:
    vocabulary = Vocabulary()
    tf = vocabulary.tf(FIRMS)
    vocabulary.count_in(tf, 1)
    lexicon = vocabulary.snapshot()
    rows = LexicalRows.empty().appended(tf, lexicon, 8)
    for row, text in enumerate(FIRMS[:5]):
        cosines = rows.similarities(lexicon.query(text))
        assert cosines.argmax() == row
        assert abs(cosines[row] - 1.0) < 1e-5


def _two_segments() -> tuple[Vocabulary, LexicalRows]:
    """The buildings in a large segment and a recent one (recent limit 8), over the same vocabulary."""
    vocabulary = Vocabulary()
    first, second = vocabulary.tf(BUILDINGS[:30]), vocabulary.tf(BUILDINGS[30:])
    vocabulary.count_in(first, 1)
    vocabulary.count_in(second, 1)
    rows = LexicalRows.empty().appended(first, vocabulary.snapshot(), 8)
    return vocabulary, rows.appended(second, vocabulary.snapshot(), 16)


def test_the_rarest_terms_fit_the_budget_and_leave_out_the_commonest() -> None:
    vocabulary, _ = _two_segments()
    lexicon = vocabulary.snapshot()
    query = lexicon.query(FIRMS[0])
    frequencies = lexicon.df[query.terms]
    budget = int(frequencies.sum()) // 3
    rare = lexicon.rarest(query, budget)
    assert int(lexicon.df[rare.terms].sum()) <= budget
    assert 0 < len(rare.terms) < len(query.terms)
    assert lexicon.df[rare.terms].max() <= np.sort(frequencies)[len(rare.terms)]  # none commoner than left
    assert np.isin(rare.terms, query.terms).all()
    kept = np.isin(query.terms, rare.terms)
    assert np.array_equal(rare.terms, query.terms[kept])  # in the query's own order, weights unchanged
    assert np.array_equal(rare.weights, query.weights[kept])
    assert len(lexicon.rarest(query, 0).terms) == 0
    assert np.array_equal(lexicon.rarest(query, int(frequencies.sum())).terms, query.terms)


def test_a_lexicon_keeps_recent_queries_and_a_write_starts_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical, "QUERY_CACHE", 2)
    vocabulary = Vocabulary()
    vocabulary.count_in(vocabulary.tf(BUILDINGS), 1)
    lexicon = vocabulary.snapshot()
    first = lexicon.query(QUERIES[0])
    assert lexicon.query(QUERIES[0]) is first
    with pytest.raises(ValueError, match="read-only"):
        first.weights[0] = 0.0
    lexicon.query(QUERIES[1])
    lexicon.query(QUERIES[2])  # the third text empties the cache of two
    again = lexicon.query(QUERIES[0])
    assert again is not first
    assert np.array_equal(again.terms, first.terms)
    assert np.array_equal(again.weights, first.weights)
    vocabulary.count_in(vocabulary.tf(FIRMS), 1)
    moved = vocabulary.snapshot().query(QUERIES[0])
    assert not np.array_equal(moved.weights, first.weights)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a",
        "Ab",
        "  多个   空格\t\n换行 ",
        "ＡＢＣ 全角 and Mixed CASE",
        "工业互联网平台。机器视觉",
        *QUERIES,
    ],
)
def test_ngrams_are_the_vectorizers(text: str) -> None:
    assert ngrams(text) == CountVectorizer(analyzer="char", ngram_range=(1, 3)).build_analyzer()(text)
