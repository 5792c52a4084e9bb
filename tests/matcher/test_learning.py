"""Learning the weights from outcomes: recovery of known weights, no evidence from noise, honest replays."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from sklearn.base import clone

from demo.recovery import TRUE, cosine, demo_history, outcomes_of
from matcher.outcomes import MIN_EACH, Outcome, TooFewOutcomes, learn_weights
from matcher.replay import MIN_GROUPS, BadSplit, Proposal, list_metrics, propose, replay, telling_lists
from matcher.scorer import MatchScorer
from matcher.weights import Weights
from models.lead import LeadKind, OutcomeStage, Stage, outcome

VISITED = OutcomeStage.visited


@pytest.fixture(scope="module")
def learned_from_truth() -> tuple[list[Outcome], Proposal]:
    """The outcomes of the history drawn from the true weights, and the proposal learned from them."""
    outcomes = outcomes_of(demo_history(), VISITED)
    return outcomes, propose(outcomes, Weights(), current_version=1, stage=VISITED)


def test_learned_weights_recover_the_true_weights_and_replay_as_well_as_they_do(
    learned_from_truth: tuple[list[Outcome], Proposal],
) -> None:
    outcomes, proposal = learned_from_truth
    assert cosine(Weights(), TRUE) < 0.75, "the defaults are far from the truth, so recovery means something"
    assert cosine(proposal.proposed, TRUE) >= 0.9
    lists = telling_lists([o for o in outcomes if o.began >= proposal.split])
    true_replay = replay(lists, proposal.current, TRUE, proposal.position_bias)
    assert true_replay.proposed.ndcg10 > 0
    assert proposal.replay.proposed.ndcg10 >= 0.95 * true_replay.proposed.ndcg10
    assert proposal.replay.groups == len(lists) >= MIN_GROUPS


def test_the_position_bias_found_falls_with_the_rank_when_there_is_one(
    learned_from_truth: tuple[list[Outcome], Proposal],
) -> None:
    _, proposal = learned_from_truth
    noise = propose(
        outcomes_of(demo_history(pure_noise=True), VISITED), Weights(), current_version=1, stage=VISITED
    )
    lower = range(5, 11)
    assert np.mean([proposal.position_bias[rank] for rank in lower]) < 0.4
    assert np.mean([noise.position_bias[rank] for rank in lower]) > 0.6


def test_pure_noise_gives_no_evidence_of_an_improvement() -> None:
    outcomes = outcomes_of(demo_history(pure_noise=True), VISITED)
    proposal = propose(outcomes, Weights(), current_version=1, stage=VISITED)
    low, high = proposal.replay.difference_ci95
    assert low <= 0 <= high
    assert not proposal.evidence
    assert proposal.message.startswith("无证据表明有改进")
    assert "建议保持当前权重" in proposal.message
    assert cosine(proposal.proposed, TRUE) < 0.9, "noise does not look like the truth"


def test_a_clear_improvement_is_called_evidence() -> None:
    """Lists where the pair that progressed always has the best area but the worst text similarity."""
    start = date(2026, 1, 1)
    outcomes = []
    rng = np.random.default_rng(7)
    for firm in range(400):
        for rank in range(1, 6):
            good = rank == 5
            values = {
                "semantic": 0.1 if good else 0.9,
                "industry": 0.5,
                "district": 0.5,
                "area": 1.0 if good else float(rng.uniform(0.0, 0.3)),
                "rent": 0.5,
                "fit_out": 0.5,
                "amenities": 0.5,
                "cluster": 0.5,
                "incentives": 0.5,
            }
            began = start + timedelta(days=firm)
            outcomes.append(Outcome("buildings", f"F{firm}", began, rank, values, good))
    proposal = propose(outcomes, Weights(), current_version=3, stage=VISITED)
    assert proposal.evidence
    assert proposal.replay.difference_ci95[0] > 0
    assert proposal.proposed.area > proposal.current.area
    assert proposal.proposed.semantic < proposal.current.semantic
    assert proposal.message.startswith("有证据表明建议权重更好")
    assert "场景推荐（达到 0 条、未达到 0 条）的数据不足（各需至少 30 条）" in proposal.message
    assert proposal.proposed.budget / proposal.proposed.urgency == pytest.approx(
        proposal.current.budget / proposal.current.urgency, rel=0.02
    ), "a pairing without data keeps its own weights' ratios"


def test_ndcg_is_one_for_the_ideal_order_and_lower_for_the_reverse() -> None:
    values = {"semantic": 0.5, "industry": 0.5, "district": 0.5, "budget": 0.5}
    pairs = [
        Outcome("scenarios", "F", date(2026, 1, 1), rank, values | {"urgency": urgency}, progressed)
        for rank, urgency, progressed in ((1, 0.9, False), (2, 0.1, True))
    ]
    only_urgency = Weights(
        **dict.fromkeys(Weights().factor_weights(("semantic", "industry", "district", "budget")), 0.0)
    )
    reverse = Weights(**(only_urgency.model_dump() | {"semantic": 0.0, "urgency": 0.0, "budget": 0.0}))
    ndcg, recall = list_metrics([pairs], only_urgency, {})
    assert ndcg[0] == pytest.approx(1 / np.log2(3)), "urgency puts the pair that did not progress first"
    assert recall[0] == 1.0
    ties, _ = list_metrics([pairs], reverse, {})
    assert ties[0] == pytest.approx(1 / np.log2(3)), "a tie keeps the order shown"
    flipped = [Outcome(p.pairing, p.group, p.began, p.rank, p.values, not p.progressed) for p in pairs]
    best, _ = list_metrics([flipped], only_urgency, {})
    assert best[0] == pytest.approx(1.0)


def test_fit_without_outcomes_only_validates_and_with_outcomes_learns() -> None:
    outcomes = outcomes_of(demo_history(), VISITED)
    plain = MatchScorer().fit()
    assert plain.weights_ == Weights()
    learned = MatchScorer().fit(outcomes)
    assert learned.weights_ != Weights()
    assert learned.get_params()["rent"] == learned.weights_.rent
    assert clone(learned).get_params() == learned.get_params()
    assert learned.weights_.spread == Weights().spread
    assert learned.weights_.lexical_blend == Weights().lexical_blend
    assert set(learned.learned_.learned) == {"buildings", "scenarios"}
    assert all(0.0 <= value <= 1.0 for value in learned.weights_.model_dump().values())


def test_too_few_outcomes_say_how_many_are_needed() -> None:
    few = outcomes_of(demo_history(), VISITED)[:40]
    with pytest.raises(TooFewOutcomes, match=f"至少需要 {MIN_EACH} 条"):
        learn_weights(few, Weights())


def test_a_split_outside_the_data_or_without_lists_after_it_is_refused() -> None:
    outcomes = outcomes_of(demo_history(), VISITED)
    first = min(o.began for o in outcomes)
    last = max(o.began for o in outcomes)
    for split in (first, last + timedelta(days=1), date(2000, 1, 1)):
        with pytest.raises(BadSplit, match="不在跟进记录的时间范围内"):
            propose(outcomes, Weights(), current_version=1, stage=VISITED, split=split)
    with pytest.raises(BadSplit, match=f"至少需要 {MIN_GROUPS} 个"):
        propose(outcomes, Weights(), current_version=1, stage=VISITED, split=last)
    with pytest.raises(BadSplit, match="还没有可学习的跟进记录"):
        propose([], Weights(), current_version=1, stage=VISITED)


def test_an_outcome_is_known_once_reached_or_ended_and_unknown_while_open() -> None:
    building = LeadKind.building
    assert outcome(building, [Stage.recommended, Stage.intent], Stage.intent, VISITED) is True, (
        "a skipped visit"
    )
    assert outcome(building, [Stage.recommended, Stage.contacted, Stage.lost], Stage.lost, VISITED) is False
    assert outcome(building, [Stage.recommended, Stage.contacted], Stage.contacted, VISITED) is None
    assert outcome(building, [Stage.recommended, Stage.visited], Stage.visited, OutcomeStage.signed) is None
    scenario = LeadKind.scenario
    assert outcome(
        scenario, [Stage.recommended, Stage.applied, Stage.shortlisted], Stage.shortlisted, VISITED
    )
    assert outcome(scenario, [Stage.applied, Stage.not_won], Stage.not_won, OutcomeStage.signed) is False
    assert outcome(scenario, [Stage.applied, Stage.shortlisted, Stage.won], Stage.won, OutcomeStage.signed)
