"""A row's dense similarity is the same wherever it lies (rows move with writes and compactions)."""

from __future__ import annotations

import numpy as np

from matcher.store import GATHER_ROWS, inner_products


def _at_offset(array: np.ndarray, offset: int) -> np.ndarray:
    """A copy of `array` whose data starts `offset` bytes past an aligned allocation."""
    buffer = np.zeros(array.nbytes + 64, dtype=np.uint8)
    copy = np.frombuffer(buffer[offset : offset + array.nbytes].data, dtype=array.dtype).reshape(array.shape)
    copy[...] = array
    return copy


def test_a_rows_product_does_not_depend_on_where_it_lies() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((2_000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    query = vectors[11].copy()
    reference = inner_products(vectors, query)
    assert reference.dtype == np.float32
    assert reference.shape == (2_000,)
    assert np.allclose(reference, vectors.astype(np.float64) @ query.astype(np.float64), atol=1e-6)
    for offset in range(0, 64, 4):
        moved, moved_query = _at_offset(vectors, offset), _at_offset(query, (offset * 3) % 64)
        assert np.array_equal(inner_products(moved, moved_query), reference)
        rows = rng.choice(len(vectors), 300, replace=False)
        assert np.array_equal(inner_products(moved[rows], moved_query), reference[rows])  # gathered
        assert np.array_equal(inner_products(moved[999:1001], moved_query), reference[999:1001])  # a slice
        reversed_rows = np.ascontiguousarray(moved[::-1])
        assert np.array_equal(inner_products(reversed_rows, moved_query)[::-1], reference)


def test_products_of_some_rows_equal_the_whole_tables_at_those_rows() -> None:
    rng = np.random.default_rng(4)
    vectors = rng.standard_normal((6_000, 384)).astype(np.float32)
    query = rng.standard_normal(384).astype(np.float32)
    reference = inner_products(vectors, query)
    for count in (0, 1, GATHER_ROWS, 2 * GATHER_ROWS + 7, 6_000):  # none, one gather, past its seams, all
        rows = rng.permutation(len(vectors))[:count]
        products = inner_products(vectors, query, rows)
        assert products.dtype == np.float32
        assert np.array_equal(products, reference[rows])
