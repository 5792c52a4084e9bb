"""Evaluation: ranking metrics, and a harness comparing single channels with the full scorer.

`python -m matcher.evaluation [MODEL_DIR] [--float32]` (or `make eval`) prints the comparison on the
labelled development set in matcher/devset_data, with the int8 model (`--float32`: the full one).
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from matcher.devset import REFERENCE_DATE, DevSet, load_devset, relevance, violates_hard_constraints
from matcher.directions import for_firm
from matcher.encoder import DEFAULT_MODEL_DIR, CachedEncoder, Encoder, MemoryVectorStore, SentenceEncoder
from matcher.industry_model import DEFAULT_CACHE_DIR, IndustryModel, trained
from matcher.recommender import Recommender
from matcher.weights import Weights
from models.records import EnterpriseRecord

K = 10
ItemKind = Literal["buildings", "scenarios"]
RELEVANT = 2
"""Grade from which an item counts as relevant for MRR and recall."""


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain with exponential gains."""
    return float(sum((2.0**gain - 1.0) / math.log2(rank + 2) for rank, gain in enumerate(gains)))


def ndcg_at_k(ranked: Sequence[float], all_grades: Sequence[float], k: int = K) -> float:
    """nDCG@k of a ranking's grades against the best possible ordering of every item's grade."""
    ideal = dcg(sorted(all_grades, reverse=True)[:k])
    return dcg(list(ranked)[:k]) / ideal if ideal > 0 else 0.0


def reciprocal_rank(ranked: Sequence[float], threshold: float = RELEVANT) -> float:
    """1 / rank of the first relevant item (0 when none)."""
    return next((1.0 / rank for rank, grade in enumerate(ranked, start=1) if grade >= threshold), 0.0)


def recall_at_k(
    ranked: Sequence[float], all_grades: Sequence[float], k: int = K, threshold: float = RELEVANT
) -> float:
    """Share of the relevant items found in the top k (of at most k findable)."""
    relevant = sum(1 for grade in all_grades if grade >= threshold)
    found = sum(1 for grade in list(ranked)[:k] if grade >= threshold)
    return found / min(relevant, k) if relevant else 0.0


def coverage(lists: Sequence[Sequence[str]], catalogue_size: int) -> float:
    """Share of the catalogue that appears in at least one result list."""
    return len({item for items in lists for item in items}) / catalogue_size if catalogue_size else 0.0


def district_concentration(lists: Sequence[Sequence[str | None]]) -> float:
    """Mean Herfindahl index of districts within each result list: 1 = all from one district."""
    values = []
    for districts in lists:
        if districts:
            counts = Counter(districts)
            values.append(sum((count / len(districts)) ** 2 for count in counts.values()))
    return float(np.mean(values)) if values else 0.0


@dataclass(frozen=True)
class Row:
    """One method's figures for one kind of item."""

    ndcg: float
    mrr: float
    recall: float
    violations: int
    coverage: float
    concentration: float


Ranker = Callable[[EnterpriseRecord], list[str]]
SEMANTIC_ONLY = Weights(
    **{
        **dict.fromkeys(Weights.model_fields, 0.0),
        "semantic": 1.0,
        "lexical_blend": Weights().lexical_blend,
    }
)
"""The hybrid semantic channel with the hard constraints, and no other factor: what the factors add."""


def _measure(devset: DevSet, kind: ItemKind, ranker: Ranker) -> Row:
    """Average the metrics of a ranker over every firm of the development set."""
    items = devset.buildings if kind == "buildings" else devset.scenarios
    by_id = {item.id: item for item in items}
    ndcgs, mrrs, recalls, lists, districts = [], [], [], [], []
    violations = 0
    for firm in devset.enterprises:
        ranked = ranker(firm)[:K]
        grades = [relevance(devset, firm.id, kind, item_id) for item_id in ranked]
        all_grades = [relevance(devset, firm.id, kind, item.id) for item in items]
        ndcgs.append(ndcg_at_k(grades, all_grades))
        mrrs.append(reciprocal_rank(grades))
        recalls.append(recall_at_k(grades, all_grades))
        violations += sum(violates_hard_constraints(firm, by_id[i], REFERENCE_DATE) for i in ranked)
        lists.append(ranked)
        districts.append([getattr(by_id[i], "district", None) for i in ranked])
    return Row(
        float(np.mean(ndcgs)),
        float(np.mean(mrrs)),
        float(np.mean(recalls)),
        violations,
        coverage(lists, len(items)),
        district_concentration(districts),
    )


def _channel_ranker(recommender: Recommender, kind: ItemKind, channel: str) -> Ranker:
    """Rank every item by one similarity channel alone (no constraints, no other factor)."""

    def rank(firm: EnterpriseRecord) -> list[str]:
        ids, dense, lexical = recommender.channel_similarities(firm, kind)
        values = dense if channel == "dense" else lexical
        return [ids[row] for row in np.argsort(-values, kind="stable")[:K]]

    return rank


def _full_ranker(recommender: Recommender, kind: ItemKind, weights: Weights) -> Ranker:
    """Rank with the full scorer (constraints, factors, weights, spread)."""

    def rank(firm: EnterpriseRecord) -> list[str]:
        return [result.id for result in recommender.match(for_firm(kind), firm, K, weights=weights).results]

    return rank


def build_recommender(
    devset: DevSet, encoder: Encoder, industry_model: IndustryModel | None = None
) -> Recommender:
    """A recommender over the development set, judging deadlines on its reference date."""
    return Recommender(encoder, today=REFERENCE_DATE, industry_model=industry_model).load(
        {"buildings": devset.buildings, "enterprises": devset.enterprises, "scenarios": devset.scenarios}
    )


def compare(
    devset: DevSet, recommender: Recommender, weights: Weights | None = None
) -> dict[str, dict[str, Row]]:
    """Figures of TF-IDF only, dense only, hybrid with constraints, and the full scorer, per kind."""
    weights = weights or Weights()
    table: dict[str, dict[str, Row]] = {}
    kinds: tuple[ItemKind, ...] = ("buildings", "scenarios")
    for kind in kinds:
        table[kind] = {
            "TF-IDF only": _measure(devset, kind, _channel_ranker(recommender, kind, "lexical")),
            "dense only": _measure(devset, kind, _channel_ranker(recommender, kind, "dense")),
            "hybrid+rules": _measure(devset, kind, _full_ranker(recommender, kind, SEMANTIC_ONLY)),
            "full scorer": _measure(devset, kind, _full_ranker(recommender, kind, weights)),
        }
    return table


def sweep(
    devset: DevSet, recommender: Recommender, name: str, values: Sequence[float]
) -> list[tuple[float, float, float]]:
    """nDCG@10 for buildings and scenarios as one weight varies, the others at their defaults."""
    out = []
    for value in values:
        weights = Weights(**{**Weights().model_dump(), name: value})
        out.append(
            (
                value,
                _measure(devset, "buildings", _full_ranker(recommender, "buildings", weights)).ndcg,
                _measure(devset, "scenarios", _full_ranker(recommender, "scenarios", weights)).ndcg,
            )
        )
    return out


def format_table(table: dict[str, dict[str, Row]]) -> str:
    """The comparison as a plain-text table."""
    lines = [
        f"{'kind':<10}{'method':<14}{'nDCG@10':>9}{'MRR':>8}{'recall@10':>11}{'violations':>12}"
        f"{'coverage':>10}{'district HHI':>14}"
    ]
    for kind, rows in table.items():
        for method, row in rows.items():
            lines.append(
                f"{kind:<10}{method:<14}{row.ndcg:>9.3f}{row.mrr:>8.3f}{row.recall:>11.3f}"
                f"{row.violations:>12d}{row.coverage:>10.2f}{row.concentration:>14.2f}"
            )
    return "\n".join(lines)


def main(argv: Sequence[str]) -> None:
    """Print the comparison on the development set with the local embedding model."""
    args = [arg for arg in argv if arg != "--float32"]
    folder = args[0] if args else str(DEFAULT_MODEL_DIR)
    started = time.perf_counter()
    devset = load_devset()
    model = SentenceEncoder(folder, threads=2, quantize="--float32" not in argv)
    encoder = CachedEncoder(model, MemoryVectorStore())
    industries = trained(model, DEFAULT_CACHE_DIR)
    print(
        f"development set: {len(devset.enterprises)} firms, {len(devset.buildings)} buildings, "
        f"{len(devset.scenarios)} scenarios; model {folder} ({model.variant}); "
        f"reference date {REFERENCE_DATE}"
    )
    for name, industry_model in (("lexicon", None), ("classifier + lexicon", industries)):
        print(f"\nindustries inferred by the {name}:")
        print(format_table(compare(devset, build_recommender(devset, encoder, industry_model))))
    print(f"({encoder.encoded} texts encoded; {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
