"""The frozen industry evaluation set (matcher/industry_eval/) read by the lexicon: top-1 and top-3 by style.

Run: `python -m tools.industry_eval` (part of `make eval`). A guess is right when it is the text's
primary industry or its secondary one; "no guess" counts texts the lexicon finds no industry in. The
set is for evaluation only: nothing may be tuned on its texts (its README says why).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from matcher.industry import infer_industries

EVAL_DIR = Path(__file__).resolve().parent.parent / "matcher" / "industry_eval"
STYLES = ("terse", "brochure", "call_notes", "acronym", "indirect")
Guesser = Callable[[str], Sequence[str]]
"""A text → industry codes, most likely first."""


@dataclass(frozen=True)
class Item:
    """One labelled text of the set."""

    text: str
    style: str
    labels: frozenset[str]


@dataclass(frozen=True)
class Score:
    """How a guesser did on some items: share right first, right in the first three, with no guess."""

    items: int
    top1: float
    top3: float
    none: float


def items(kind: str) -> list[Item]:
    """The set's firms or scenarios."""
    rows = (
        json.loads(line) for line in (EVAL_DIR / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines()
    )
    return [Item(row["text"], row["style"], frozenset([row["industry"], *row["also"]])) for row in rows]


def lexicon(text: str) -> list[str]:
    """The lexicon's industries for a text, most likely first."""
    return [guess.code for guess in infer_industries(text)]


def score(found: Sequence[Item], guess: Guesser) -> Score:
    """The guesser's top-1, top-3 and no-guess shares on `found`."""
    guesses = [list(guess(item.text)) for item in found]
    count = len(found) or 1
    return Score(
        items=len(found),
        top1=sum(bool(g) and g[0] in item.labels for g, item in zip(guesses, found, strict=True)) / count,
        top3=sum(any(code in item.labels for code in g[:3]) for g, item in zip(guesses, found, strict=True))
        / count,
        none=sum(not g for g in guesses) / count,
    )


def table(kind: str, guess: Guesser) -> list[str]:
    """One Markdown table: the whole set, then each style."""
    found = items(kind)
    lines = ["| style | n | top-1 | top-3 | no guess |", "|---|---|---|---|---|"]
    for style in ("all", *STYLES):
        chosen = found if style == "all" else [item for item in found if item.style == style]
        result = score(chosen, guess)
        lines.append(
            f"| {style} | {result.items} | {result.top1:.2f} | {result.top3:.2f} | {result.none:.2f} |"
        )
    return lines


def main() -> None:
    """Print the lexicon's tables for firms and scenarios."""
    for kind in ("firms", "scenarios"):
        print(f"\nIndustry of {kind} on the frozen evaluation set, lexicon alone:")
        print("\n".join(table(kind, lexicon)))


if __name__ == "__main__":
    main()
