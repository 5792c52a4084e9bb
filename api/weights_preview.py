"""Weight previews: how a weight change would move some firms' top lists and the evaluation figures."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from api.services.weights import diff
from matcher.devset import DevSet, ItemKind, load_devset, relevance
from matcher.directions import for_firm
from matcher.encoder import Encoder
from matcher.evaluation import build_recommender, coverage, district_concentration, ndcg_at_k, reciprocal_rank
from matcher.recommender import Match, Recommender
from matcher.weights import Weights
from models.records import EnterpriseRecord
from models.row_errors import ImportRejected

TOP = 10
"""How many results a preview compares per firm and kind."""
ITEM_KINDS: tuple[ItemKind, ...] = ("buildings", "scenarios")


@dataclass(frozen=True)
class _DevBench:
    """The labelled development set, a recommender over it, and each firm's grade of every item."""

    devset: DevSet
    recommender: Recommender
    all_grades: dict[tuple[ItemKind, str], list[int]]


_bench_lock = threading.Lock()
_bench: list[tuple[Encoder, _DevBench | None]] = []
"""The bench of the last encoder asked for (the app has one encoder, so it is built once per process)."""


def _load_bench(encoder: Encoder) -> _DevBench | None:
    """The development-set bench for an encoder, or None when the set cannot be read."""
    try:
        devset = load_devset()
    except (OSError, ValueError, ImportRejected):
        return None
    grades = {
        (kind, firm.id): [relevance(devset, firm.id, kind, item.id) for item in devset.items(kind)]
        for kind in ITEM_KINDS
        for firm in devset.enterprises
    }
    return _DevBench(devset, build_recommender(devset, encoder), grades)


def dev_bench(encoder: Encoder) -> _DevBench | None:
    """The development-set bench over `encoder`, built once and then reused."""
    with _bench_lock:
        if not _bench or _bench[0][0] is not encoder:
            _bench[:] = [(encoder, _load_bench(encoder))]
        return _bench[0][1]


def _top(recommender: Recommender, firm: EnterpriseRecord, kind: ItemKind, weights: Weights) -> list[Match]:
    """A firm's top results of one kind under some weights."""
    return recommender.match(for_firm(kind), firm, TOP, weights=weights).results


def _changes(old: list[str], new: list[str]) -> dict[str, Any]:
    """How a top list changed: the ids that entered, that left, and that moved (with both ranks)."""
    old_rank = {item: rank for rank, item in enumerate(old, start=1)}
    new_rank = {item: rank for rank, item in enumerate(new, start=1)}
    return {
        "old": old,
        "new": new,
        "entered": [item for item in new if item not in old_rank],
        "left": [item for item in old if item not in new_rank],
        "moved": {
            item: [old_rank[item], new_rank[item]]
            for item in new
            if item in old_rank and old_rank[item] != new_rank[item]
        },
        "changed": old != new,
    }


def _figures(lists: Sequence[list[Match]], catalogue_size: int) -> dict[str, float]:
    """Mean score, catalogue coverage and district concentration of a set of top lists."""
    scores = [match.score for matches in lists for match in matches]
    return {
        "mean_score": float(np.mean(scores)) if scores else 0.0,
        "coverage": coverage([[match.id for match in matches] for matches in lists], catalogue_size),
        "district_concentration": district_concentration(
            [[match.district for match in matches] for matches in lists]
        ),
    }


def _dev_figures(bench: _DevBench, kind: ItemKind, weights: Weights) -> dict[str, float]:
    """nDCG@10 and MRR on the development set for one kind under some weights."""
    ndcgs, mrrs = [], []
    for firm in bench.devset.enterprises:
        ranked = [match.id for match in _top(bench.recommender, firm, kind, weights)]
        grades = [relevance(bench.devset, firm.id, kind, item_id) for item_id in ranked]
        ndcgs.append(ndcg_at_k(grades, bench.all_grades[(kind, firm.id)], TOP))
        mrrs.append(reciprocal_rank(grades))
    return {"ndcg_at_10": float(np.mean(ndcgs)), "mrr": float(np.mean(mrrs))}


class UnknownFirms(ValueError):
    """Firm ids asked for in a preview that are not stored."""

    def __init__(self, ids: list[str]) -> None:
        """Keep the ids; the message names them."""
        self.ids = ids
        super().__init__(f"有不存在的企业编号：{'、'.join(ids)}")


def _sample(recommender: Recommender, firm_ids: list[str] | None, sample: int) -> list[str]:
    """The firms to preview: the ids given (UnknownFirms naming unknown ones), else the first by id."""
    stored = recommender.records["enterprises"]
    if firm_ids is None:
        return sorted(stored)[:sample]
    unknown = [firm_id for firm_id in dict.fromkeys(firm_ids) if firm_id not in stored]
    if unknown:
        raise UnknownFirms(unknown)
    return list(dict.fromkeys(firm_ids))


def preview(
    recommender: Recommender, old: Weights, new: Weights, firm_ids: list[str] | None, sample: int
) -> dict[str, Any]:
    """How some firms' top-10 buildings and scenarios and the evaluation figures change; saves nothing."""
    ids = _sample(recommender, firm_ids, sample)
    firms: list[dict[str, Any]] = []
    tops: dict[tuple[ItemKind, str], list[list[Match]]] = {}
    for firm_id in ids:
        firm = cast(EnterpriseRecord, recommender.stored("enterprises", firm_id))
        entry: dict[str, Any] = {"id": firm_id, "name": firm.name}
        for kind in ITEM_KINDS:
            before, after = _top(recommender, firm, kind, old), _top(recommender, firm, kind, new)
            tops.setdefault((kind, "old"), []).append(before)
            tops.setdefault((kind, "new"), []).append(after)
            entry[kind] = _changes([m.id for m in before], [m.id for m in after])
        firms.append(entry)
    figures = {}
    for kind in ITEM_KINDS:
        size = len(recommender.records[kind])
        changed = sum(1 for entry in firms if entry[kind]["changed"])
        figures[kind] = {
            "old": _figures(tops.get((kind, "old"), []), size),
            "new": _figures(tops.get((kind, "new"), []), size),
            "changed_share": changed / len(firms) if firms else 0.0,
        }
    bench = dev_bench(recommender.encoder)
    devset = (
        None
        if bench is None
        else {
            kind: {"old": _dev_figures(bench, kind, old), "new": _dev_figures(bench, kind, new)}
            for kind in ITEM_KINDS
        }
    )
    return {
        "changed_weights": diff(old.model_dump(), new.model_dump()),
        "firms": firms,
        "figures": figures,
        "devset": devset,
    }
