"""A demo lead while its history is drawn: the stages it is planned to reach, each on a day."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np

from demo.shown import ShownPair
from demo.staff import loss_note
from models.lead import LostReason, Stage
from models.lead_facts import StageFacts


@dataclass(frozen=True)
class Step:
    """One planned stage change: the stage, its day (in Chongqing), its facts and note."""

    stage: Stage
    day: date
    facts: StageFacts
    note: str


@dataclass
class Plan:
    """A shown pair taken up as a lead, its owner, its true utility and its steps (days strictly rising)."""

    pair: ShownPair
    owner: str
    utility: float
    steps: list[Step] = field(default_factory=list)

    def step(self, stage: Stage) -> Step | None:
        """The step to `stage`, if planned."""
        return next((step for step in self.steps if step.stage == stage), None)

    def after(self, stage: Stage) -> Step | None:
        """The step that follows the step to `stage`, if any."""
        stages = [step.stage for step in self.steps]
        at = stages.index(stage) + 1 if stage in stages else len(stages)
        return self.steps[at] if at < len(stages) else None

    def revise(self, stage: Stage, facts: StageFacts) -> None:
        """Change the facts of the step to `stage`."""
        self.steps = [replace(step, facts=facts) if step.stage == stage else step for step in self.steps]

    def lose(self, day: date, end: date, reason: LostReason, note: str = "") -> None:
        """End the lead as lost on `day`, dropping the steps from then on (it stays open if `day` ≥ `end`)."""
        self.steps = [step for step in self.steps if step.day < day]
        if day < end:
            facts = StageFacts(lost_reason=reason)
            self.steps.append(Step(Stage.lost, day, facts, note or loss_note(self.pair.kind, reason)))


def later(day: date, median_days: float, sigma: float, rng: np.random.Generator) -> date:
    """A day after `day`: a lognormal delay of this median (in days) and log-spread, at least one day."""
    return day + timedelta(days=max(1, round(median_days * float(rng.lognormal(0.0, sigma)))))
