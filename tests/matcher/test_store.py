"""A table's rows as queries read them: subsets of a large table look their records up when read."""

from __future__ import annotations

import numpy as np

from matcher.store import Picked


def test_picked_items_are_the_items_at_their_positions_read_when_asked() -> None:
    items = [f"row {i}" for i in range(10)]
    picked = Picked(items, np.array([7, 2, 9]))
    assert len(picked) == 3
    assert list(picked) == ["row 7", "row 2", "row 9"]
    assert picked[-1] == "row 9"
    assert list(picked[1:]) == ["row 2", "row 9"]
    items[2] = "row 2, rewritten"  # nothing was copied
    assert picked[1] == "row 2, rewritten"
