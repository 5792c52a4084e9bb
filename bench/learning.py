"""Learning the weights from outcomes, over many simulated histories: recovery, replay, false evidence.

Usage: python bench/learning.py [SEEDS]   (default 20)

The demo catalogue is ranked once under the default weights with the model-free hashing encoder (as
the tests do); each seed then draws a history from the true preference model (demo.preference) and
one from pure noise, over the same shown pairs, and learns from each at the default target (带看 /
入围) and split (70 % of the outcomes before it). Printed per kind of history: the cosine of the
learned to the true weights, the learned and the true weights' replay nDCG@10 on the same lists (and
the current weights'), how often the replay claims evidence of an improvement, and the fit time. On
pure noise, evidence should be claimed in about 2.5 % of histories (the one-sided error of a 95 %
interval); the true model's histories show how often a real improvement is detected at this size.
"""

from __future__ import annotations

import os
import sys
import time
from statistics import mean, median

os.environ.setdefault("OMP_NUM_THREADS", "2")

import results

from demo.history import simulate
from demo.preference import PreferenceModel
from demo.recovery import TODAY, TRUE, cosine, demo_shown, outcomes_of
from matcher.replay import propose, replay, telling_lists
from matcher.weights import Weights
from models.lead import OutcomeStage

STAGE = OutcomeStage.visited


def run(seeds: int) -> None:
    """Learn from `seeds` true and `seeds` noise histories and print what was found."""
    shown = demo_shown()
    print(
        f"{len(shown)} shown pairs; {seeds} seeds; target {STAGE.label}; cos(defaults, true) "
        f"{cosine(Weights(), TRUE):.3f}"
    )
    for name, model in (("true model", PreferenceModel()), ("pure noise", PreferenceModel(pure_noise=True))):
        cosines, learned, true, current, evidence, seconds, gaps = [], [], [], [], 0, [], []
        for seed in range(seeds):
            outcomes = outcomes_of(simulate(shown, today=TODAY, model=model, seed=1000 + seed), STAGE)
            start = time.perf_counter()
            proposal = propose(outcomes, Weights(), current_version=1, stage=STAGE)
            seconds.append(time.perf_counter() - start)
            lists = telling_lists([outcome for outcome in outcomes if outcome.began >= proposal.split])
            truth = replay(lists, Weights(), TRUE, proposal.position_bias)
            cosines.append(cosine(proposal.proposed, TRUE))
            learned.append(proposal.replay.proposed.ndcg10)
            current.append(proposal.replay.current.ndcg10)
            true.append(truth.proposed.ndcg10)
            gaps.append(proposal.replay.proposed.ndcg10 / truth.proposed.ndcg10)
            evidence += proposal.evidence
        print(
            f"{name}: cosine learned·true min {min(cosines):.3f} median {median(cosines):.3f}; "
            f"replay nDCG@10 current {mean(current):.3f}, learned {mean(learned):.3f}, true {mean(true):.3f} "
            f"(learned/true min {min(gaps):.3f}); evidence claimed {evidence}/{seeds}; "
            f"propose median {median(seconds) * 1000:.0f} ms"
        )
        if model.pure_noise:
            results.record(
                "learning",
                "noise: evidence claimed",
                f"{evidence}/{seeds} histories",
                "≈ 2.5 % (95 % interval)",
                None,
            )
        else:
            results.record(
                "learning",
                "recovery cosine (min over seeds)",
                f"{min(cosines):.3f}",
                "≥ 0.9",
                min(cosines) >= 0.9,
            )
            results.record(
                "learning",
                "learned/true replay nDCG@10 (min)",
                f"{min(gaps):.3f}",
                "≥ 0.95",
                min(gaps) >= 0.95,
            )
            results.record(
                "learning", "true model: evidence detected", f"{evidence}/{seeds} histories", "quoted", None
            )


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
