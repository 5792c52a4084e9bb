"""The dense-candidate index: recall against the exact scan, rows added and compacted, save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matcher.ann import DenseIndex, exact_top, recall

DIM = 384
ROWS = 20_000
DEPTH = 100


def _clustered(rng: np.random.Generator, centres: np.ndarray, count: int) -> np.ndarray:
    """`count` unit vectors [count, DIM] around `centres`, spread along 8 directions drawn for this call."""
    picked = rng.integers(0, len(centres), count)
    spread = rng.standard_normal((count, 8)).astype(np.float32) @ rng.standard_normal((8, DIM)).astype(
        np.float32
    )
    noise = rng.standard_normal((count, DIM)).astype(np.float32)
    vectors = centres[picked] + 0.05 * spread + 0.02 * noise
    unit: np.ndarray = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    return unit


@pytest.fixture(scope="module")
def world() -> tuple[np.ndarray, np.ndarray, np.ndarray, DenseIndex]:
    """Items, tuning queries and held-out queries drawn around 100 shared centres (and a common direction,
    as sentence embeddings have), and the index built over the items."""
    rng = np.random.default_rng(5)
    common = rng.standard_normal(DIM).astype(np.float32)
    centres = common + 0.4 * rng.standard_normal((100, DIM)).astype(np.float32)
    items = _clustered(rng, centres, ROWS)
    tuning, held_out = _clustered(rng, centres, 64), _clustered(rng, centres, 100)
    return items, tuning, held_out, DenseIndex.build(items, tuning)


def test_recall_of_the_exact_top_100_on_held_out_queries(
    world: tuple[np.ndarray, np.ndarray, np.ndarray, DenseIndex],
) -> None:
    """At the probes tuned on other queries, ≥ 0.99 of each exact top-100 is found, not reading every list."""
    items, _, held_out, index = world
    found = index.search_many(held_out, DEPTH, items)
    assert recall(found, exact_top(items, held_out, DEPTH)) >= 0.99
    assert index.probes < index.index.nlist


def test_results_are_rows_best_first_by_exact_score(
    world: tuple[np.ndarray, np.ndarray, np.ndarray, DenseIndex],
) -> None:
    """Each answer lists distinct table rows in order of their exact inner product with the query."""
    items, _, held_out, index = world
    rows = index.search(held_out[0], 10, items)
    scores = items[rows] @ held_out[0]
    assert len(set(rows.tolist())) == 10
    assert np.all(np.diff(scores) <= 0)
    assert rows[0] == int(np.argmax(items @ held_out[0]))


def test_save_and_load_give_the_same_answers(
    world: tuple[np.ndarray, np.ndarray, np.ndarray, DenseIndex], tmp_path: Path
) -> None:
    """A loaded copy keeps its probes and answers every query as the original does."""
    items, _, held_out, index = world
    index.save(tmp_path / "dense.faiss")
    loaded = DenseIndex.load(tmp_path / "dense.faiss")
    assert (loaded.size, loaded.probes) == (index.size, index.probes)
    assert np.array_equal(
        loaded.search_many(held_out, DEPTH, items), index.search_many(held_out, DEPTH, items)
    )


def test_a_file_that_is_not_an_index_is_refused(tmp_path: Path) -> None:
    """A corrupt file raises ValueError, so the caller can rebuild instead of serving it."""
    path = tmp_path / "dense.faiss"
    path.write_bytes(b"not an index at all")
    with pytest.raises(ValueError, match=r"dense\.faiss"):
        DenseIndex.load(path)


def test_rows_appended_after_the_build_are_found_before_and_after_add(
    world: tuple[np.ndarray, np.ndarray, np.ndarray, DenseIndex], tmp_path: Path
) -> None:
    """New rows beyond the index are scanned exactly; once added they are found through the index."""
    items, _, held_out, built = world
    built.save(tmp_path / "dense.faiss")
    index = DenseIndex.load(tmp_path / "dense.faiss")
    new = _clustered(np.random.default_rng(9), held_out[:5], 5)
    table = np.concatenate([items, new])
    for query in range(5):
        assert index.search(new[query], 10, table)[0] == ROWS + query
    index.add(new)
    assert index.size == ROWS + 5
    for query in range(5):
        assert index.search(new[query], 10, table)[0] == ROWS + query


def test_dead_rows_are_left_out_and_compaction_renumbers_rows(
    world: tuple[np.ndarray, np.ndarray, np.ndarray, DenseIndex], tmp_path: Path
) -> None:
    """Rows dead in `alive` never come back; after `compact` the answers are rows of the compacted table."""
    items, _, held_out, built = world
    built.save(tmp_path / "dense.faiss")
    index = DenseIndex.load(tmp_path / "dense.faiss")
    alive = np.ones(ROWS, dtype=bool)
    alive[np.random.default_rng(3).choice(ROWS, ROWS // 4, replace=False)] = False
    before = index.search_many(held_out, DEPTH, items, alive)
    assert alive[before[before >= 0]].all()
    index.compact(alive)
    compacted = items[alive]
    assert index.size == len(compacted)
    after = index.search_many(held_out, DEPTH, compacted)
    assert np.array_equal(np.flatnonzero(alive)[after], before)
    assert recall(after, exact_top(compacted, held_out, DEPTH)) >= 0.99


def test_few_alive_rows_are_scanned_exactly(
    world: tuple[np.ndarray, np.ndarray, np.ndarray, DenseIndex],
) -> None:
    """With 1 row in 100 alive (fewer than the probes would read), each answer is the exact top among them."""
    items, _, held_out, index = world
    alive = np.zeros(ROWS, dtype=bool)
    alive[np.random.default_rng(4).choice(ROWS, ROWS // 100, replace=False)] = True
    rows = np.flatnonzero(alive)
    for query in held_out[:20]:
        expected = rows[np.argsort(-(items[rows] @ query), kind="stable")[:DEPTH]]
        assert set(index.search(query, DEPTH, items, alive).tolist()) == set(expected.tolist())
