"""Replaying learned weights before anyone approves them: fit before a date, rank what came after.

Outcomes that began before the split date train the weights (`MatchScorer.fit`); each list shown after
it (a firm's recommended pairs of one kind, with at least one pair that progressed and one that did
not) is re-ranked by the current weights and by the proposed ones, and both rankings are scored the
same way: nDCG@10 and recall@3 of the pairs that progressed. A bootstrap over lists (both weights on
the same resamples) gives 95 % intervals for each and for their difference; only when the difference's
interval lies above zero is there evidence of an improvement.

The lists were ranked by the weights in use then, and a pair shown higher was more likely taken up, so
the replay leans towards weights like those: it can understate an improvement, not invent one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from matcher.outcomes import MIN_EACH, PAIRINGS, TOP_RANK, Outcome, counts, value_matrix
from matcher.registry import OfferKind, factor_names
from matcher.scorer import MatchScorer
from matcher.weights import Weights
from models.lead import OutcomeStage

BOOTSTRAP_SAMPLES = 1000
MIN_GROUPS = 20
"""A replay needs at least this many lists after the split date that tell a better ranking from a worse."""
MIN_KIND_GROUPS = 5
"""A kind's own replay is shown from this many lists."""
NDCG_AT = 10
RECALL_AT = 3
SPLIT_QUANTILE = 0.7
"""By default the split falls where this share of the outcomes began before it."""
MIN_PROPENSITY = 0.1
"""Propensities are floored here, so that one pair at a rarely examined rank cannot dominate a replay."""
KIND_NAMES: dict[OfferKind, str] = {"buildings": "楼宇", "scenarios": "场景"}


@dataclass(frozen=True)
class Figure:
    """One set of weights replayed: nDCG@10 with its 95 % interval, and recall@3."""

    ndcg10: float
    ci95: tuple[float, float]
    recall3: float

    def json(self) -> dict[str, Any]:
        """The figure as JSON."""
        return {"ndcg10": self.ndcg10, "ci95": list(self.ci95), "recall3": self.recall3}


@dataclass(frozen=True)
class Replay:
    """The current and the proposed weights on the same lists, and the interval of their difference."""

    current: Figure
    proposed: Figure
    difference_ci95: tuple[float, float]
    groups: int

    def json(self) -> dict[str, Any]:
        """The replay as JSON."""
        return {
            "current": self.current.json(),
            "proposed": self.proposed.json(),
            "difference_ci95": list(self.difference_ci95),
            "groups": self.groups,
        }


@dataclass(frozen=True)
class Proposal:
    """Learned weights with their replay against the current ones; a suggestion, never applied by itself."""

    current: Weights
    proposed: Weights
    current_version: int
    stage: OutcomeStage
    split: date
    positives: int
    negatives: int
    replay: Replay
    per_kind: dict[OfferKind, Replay]
    evidence: bool
    message: str
    position_bias: dict[int, float]

    def json(self) -> dict[str, Any]:
        """The proposal in the documented shape (`weights learn --json`, `POST /weights/learn`)."""
        return {
            "current": self.current.model_dump(),
            "proposed": self.proposed.model_dump(),
            "current_version": self.current_version,
            "stage": self.stage.value,
            "split": self.split.isoformat(),
            "positives": self.positives,
            "negatives": self.negatives,
            "replay": self.replay.json(),
            "per_kind": {kind: replay.json() for kind, replay in self.per_kind.items()},
            "evidence": self.evidence,
            "message": self.message,
            "position_bias": {str(rank): value for rank, value in self.position_bias.items()},
        }

    def reason(self) -> str:
        """A reason to save the proposal under, for the administrator to edit."""
        return (
            f"从跟进结果学习（{self.stage.label}，切分 {self.split.isoformat()}）：nDCG@10 "
            f"{self.replay.current.ndcg10:.3f} → {self.replay.proposed.ndcg10:.3f}"
        )


class BadSplit(ValueError):
    """A split date that leaves nothing to learn from or nothing to replay on."""


def default_split(outcomes: Sequence[Outcome]) -> date:
    """The day before which `SPLIT_QUANTILE` of the outcomes began."""
    days = sorted(outcome.began.toordinal() for outcome in outcomes)
    return date.fromordinal(days[min(len(days) - 1, int(len(days) * SPLIT_QUANTILE))])


def check_split(outcomes: Sequence[Outcome], split: date) -> None:
    """Raise BadSplit unless some outcomes began before `split` and some on or after it."""
    first = min(outcome.began for outcome in outcomes)
    last = max(outcome.began for outcome in outcomes)
    if not first < split <= last:
        raise BadSplit(
            f"切分日期 {split.isoformat()} 不在跟进记录的时间范围内：应在 "
            f"{(first + timedelta(days=1)).isoformat()} 至 {last.isoformat()} 之间"
        )


def telling_lists(outcomes: Sequence[Outcome]) -> list[list[Outcome]]:
    """The lists (pairing, firm) holding a pair that progressed and one that did not, in a fixed order."""
    lists: dict[tuple[OfferKind, str], list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        lists[outcome.pairing, outcome.group].append(outcome)
    return [lists[key] for key in sorted(lists) if 0 < counts(lists[key])[0] < len(lists[key])]


def list_metrics(
    lists: Sequence[Sequence[Outcome]], weights: Weights, bias: Mapping[int, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Each list's nDCG@10 and recall@3 when ranked by `weights` (ties keep the order shown)."""
    scorer = MatchScorer.from_weights(weights)
    ndcg, recall = np.zeros(len(lists)), np.zeros(len(lists))
    gains = 1.0 / np.log2(np.arange(2, NDCG_AT + 2))
    for at, pairs in enumerate(lists):
        pairing = pairs[0].pairing
        values = value_matrix(pairs, pairing)
        scores = scorer.score({name: values[:, i] for i, name in enumerate(factor_names(pairing))})
        order = np.lexsort((np.array([pair.rank for pair in pairs]), -scores))
        relevant = np.array([pair.progressed / _propensity(bias, pair.rank) for pair in pairs])[order]
        ideal = float(np.sort(relevant)[::-1][:NDCG_AT] @ gains[: min(len(relevant), NDCG_AT)])
        ndcg[at] = float(relevant[:NDCG_AT] @ gains[: min(len(relevant), NDCG_AT)]) / ideal
        recall[at] = relevant[:RECALL_AT].sum() / relevant.sum()
    return ndcg, recall


def _propensity(bias: Mapping[int, float], rank: int) -> float:
    """The estimated chance a pair shown at `rank` was looked at, relative to rank 1 (floored)."""
    return max(MIN_PROPENSITY, min(1.0, bias.get(min(rank, TOP_RANK), 1.0)))


def replay(
    lists: Sequence[Sequence[Outcome]],
    current: Weights,
    proposed: Weights,
    bias: Mapping[int, float],
    seed: int = 0,
) -> Replay:
    """Both weights on the same lists, with bootstrap intervals over lists (the same resamples for both)."""
    now_ndcg, now_recall = list_metrics(lists, current, bias)
    new_ndcg, new_recall = list_metrics(lists, proposed, bias)
    samples = np.random.default_rng(seed).integers(0, len(lists), size=(BOOTSTRAP_SAMPLES, len(lists)))
    now_means, new_means = now_ndcg[samples].mean(axis=1), new_ndcg[samples].mean(axis=1)
    return Replay(
        current=Figure(float(now_ndcg.mean()), _interval(now_means), float(now_recall.mean())),
        proposed=Figure(float(new_ndcg.mean()), _interval(new_means), float(new_recall.mean())),
        difference_ci95=_interval(new_means - now_means),
        groups=len(lists),
    )


def _interval(samples: np.ndarray) -> tuple[float, float]:
    """The central 95 % of bootstrap samples."""
    low, high = np.percentile(samples, [2.5, 97.5])
    return float(low), float(high)


def propose(
    outcomes: Sequence[Outcome],
    current: Weights,
    *,
    current_version: int,
    stage: OutcomeStage,
    split: date | None = None,
    seed: int = 0,
) -> Proposal:
    """Weights learned from the outcomes before `split`, replayed with the current ones on those after it.

    Raises BadSplit for a split outside the data or too few lists after it, and TooFewOutcomes (from the
    fit) when the outcomes before it are too few to learn from.
    """
    if not outcomes:
        raise BadSplit("还没有可学习的跟进记录：须有从匹配结果加入、并已推进或结束的跟进")
    split = split or default_split(outcomes)
    check_split(outcomes, split)
    train = [outcome for outcome in outcomes if outcome.began < split]
    scorer = MatchScorer(**current.model_dump()).fit(train)
    lists = telling_lists([outcome for outcome in outcomes if outcome.began >= split])
    if len(lists) < MIN_GROUPS:
        raise BadSplit(
            f"切分日期 {split.isoformat()} 之后能比较排序的推荐列表只有 {len(lists)} 个"
            f"（既有达到也有未达到{stage.label}的跟进），至少需要 {MIN_GROUPS} 个：请选更早的切分日期"
        )
    bias = scorer.learned_.position_bias
    pooled = replay(lists, current, scorer.weights_, bias, seed)
    per_kind = {
        pairing: replay(kind_lists, current, scorer.weights_, bias, seed)
        for pairing in PAIRINGS
        if len(kind_lists := [pairs for pairs in lists if pairs[0].pairing == pairing]) >= MIN_KIND_GROUPS
    }
    positives, negatives = counts(train)
    evidence = pooled.difference_ci95[0] > 0
    return Proposal(
        current=current,
        proposed=scorer.weights_,
        current_version=current_version,
        stage=stage,
        split=split,
        positives=positives,
        negatives=negatives,
        replay=pooled,
        per_kind=per_kind,
        evidence=evidence,
        message=_message(pooled, split, evidence, _too_thin(train, scorer.learned_.learned)),
        position_bias=scorer.learned_.position_bias,
    )


def _too_thin(train: Sequence[Outcome], learned: tuple[OfferKind, ...]) -> str:
    """Which pairings were not learned and how many outcomes they had, in Chinese ("" when none)."""
    thin = []
    for pairing in PAIRINGS:
        if pairing not in learned:
            positives, negatives = counts([outcome for outcome in train if outcome.pairing == pairing])
            thin.append(f"{KIND_NAMES[pairing]}推荐（达到 {positives} 条、未达到 {negatives} 条）")
    if not thin:
        return ""
    return f"；{'、'.join(thin)}的数据不足（各需至少 {MIN_EACH} 条），其专属权重保持当前值"


def _message(pooled: Replay, split: date, evidence: bool, note: str) -> str:
    """What the replay says, in Chinese, for the administrator."""
    low, high = pooled.difference_ci95
    figures = (
        f"{split.isoformat()} 之后的 {pooled.groups} 个推荐列表上 nDCG@10 "
        f"{pooled.current.ndcg10:.3f} → {pooled.proposed.ndcg10:.3f}"
        f"（差值 95% 区间 {low:+.3f} ~ {high:+.3f}）"
    )
    if evidence:
        return f"有证据表明建议权重更好：{figures}。可预览后保存为新版本{note}。"
    return f"无证据表明有改进：{figures}，区间含 0 或为负，建议保持当前权重{note}。"
