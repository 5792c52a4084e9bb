"""Print the follow-up pipeline's stage moves as Markdown tables, read from `models.lead.refusal`.

Run: `python -m tools.transition_table`. One table per kind of lead: a row per current stage, a column
per target stage, ✓ where the move is allowed and ✗ where it is refused; then the stages of the other
kind, which a lead of this kind refuses from every stage.
"""

from __future__ import annotations

from models.lead import LeadKind, Stage, refusal, stage_label, stages_of

ALLOWED, REFUSED = "✓", "✗"


def allowed(kind: LeadKind, current: Stage, target: Stage) -> bool:
    """Whether a lead of `kind` may move from `current` to `target`."""
    return refusal(kind, current, target) is None


def table(kind: LeadKind) -> str:
    """One kind's moves as a Markdown table, with the other kind's stages named below it."""
    stages = stages_of(kind)
    names = [f"{stage_label(kind, stage)} `{stage.value}`" for stage in stages]
    lines = [
        f"**{kind.label}跟进**（行：当前阶段；列：目标阶段）",
        "",
        f"| 当前 \\ 目标 | {' | '.join(names)} |",
        f"|---|{'---|' * len(stages)}",
    ]
    for current, name in zip(stages, names, strict=True):
        cells = (ALLOWED if allowed(kind, current, target) else REFUSED for target in stages)
        lines.append(f"| {name} | {' | '.join(cells)} |")
    others = [stage for stage in Stage if stage not in stages]
    exceptions = [
        f"{current.value} → {other.value}"
        for current in stages
        for other in others
        if allowed(kind, current, other)
    ]
    verdict = f"仅允许 {'、'.join(exceptions)}" if exceptions else "从任何阶段都拒绝"
    lines += ["", f"另一种跟进的阶段（{'、'.join(f'`{stage.value}`' for stage in others)}）：{verdict}。"]
    return "\n".join(lines)


def main() -> None:
    """Print both tables."""
    print("\n\n".join(table(kind) for kind in LeadKind))


if __name__ == "__main__":
    main()
