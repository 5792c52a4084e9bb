"""The frozen industry evaluation set (matcher/industry_eval/): lexicon, classifier and combined compared.

Run: `python -m tools.industry_eval [MODEL_DIR] [--validation]` (part of `make eval`); `--validation`
reads the validation set (matcher/industry_validation/) instead, the one to choose between variants on.
For each method it prints top-1 (the text's primary industry first), top-1 counting a secondary label
as right too, top-3 (the primary among the first three) and, for the lexicon, how many texts it finds
no industry in; by style and by industry, for firms and scenarios. The classifier and the combination
are fitted on the training corpus (matcher/industry_corpus/) only. The frozen set is for evaluation
only: nothing may be tuned on its texts (its README says why).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from matcher.encoder import DEFAULT_MODEL_DIR, SentenceEncoder
from matcher.industry import INDUSTRY_CODES, MIN_CONFIDENCE, lexicon_matrix
from matcher.industry_model import DEFAULT_CACHE_DIR, IndustryModel, Labelled, read_labelled, trained

EVAL_DIR = Path(__file__).resolve().parent.parent / "matcher" / "industry_eval"
VALIDATION_DIR = EVAL_DIR.parent / "industry_validation"
STYLES = ("terse", "brochure", "call_notes", "acronym", "indirect")
KINDS = {"firms": "firm", "scenarios": "scenario"}
BINS = 10
"""Bins of the calibration error."""

Probabilities = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Score:
    """How a method did on some items."""

    items: int
    top1: float
    """Share whose primary industry comes first."""
    accepted: float
    """Share whose first guess is the primary or a secondary industry."""
    top3: float
    """Share whose primary industry is among the first three guesses."""
    none: float
    """Share with no guess at all."""


def items(kind: str, folder: Path = EVAL_DIR) -> list[Labelled]:
    """A set's firms or scenarios (the frozen evaluation set unless another folder is given)."""
    return read_labelled(folder / f"{kind}.jsonl", KINDS[kind])


def ranked(probabilities: Probabilities, floor: float = 0.0) -> list[list[str]]:
    """Each row's industries above `floor`, most likely first (ties in code order)."""
    order = np.argsort(-probabilities, axis=1, kind="stable")
    return [
        [INDUSTRY_CODES[column] for column in row_order if row[column] > floor]
        for row, row_order in zip(probabilities, order, strict=True)
    ]


def score(found: Sequence[Labelled], guesses: Sequence[Sequence[str]]) -> Score:
    """Top-1, accepted top-1, top-3 and no-guess shares of `guesses` for `found`."""
    count = len(found) or 1
    pairs = list(zip(found, guesses, strict=True))
    return Score(
        items=len(found),
        top1=sum(bool(g) and g[0] == item.industry for item, g in pairs) / count,
        accepted=sum(bool(g) and g[0] in (item.industry, *item.also) for item, g in pairs) / count,
        top3=sum(item.industry in g[:3] for item, g in pairs) / count,
        none=sum(not g for _, g in pairs) / count,
    )


def calibration_error(found: Sequence[Labelled], probabilities: Probabilities) -> float:
    """Expected calibration error of the first guess: |confidence − accuracy| averaged over 10 bins."""
    confidence = probabilities.max(axis=1)
    first = [INDUSTRY_CODES[int(column)] for column in np.argmax(probabilities, axis=1)]
    right = np.array([code == item.industry for code, item in zip(first, found, strict=True)])
    bins = np.minimum((confidence * BINS).astype(int), BINS - 1)
    gaps = [
        abs(confidence[bins == b].mean() - right[bins == b].mean()) * np.mean(bins == b) for b in set(bins)
    ]
    return float(sum(gaps))


Method = Callable[[Sequence[Labelled]], list[list[str]]]


def methods(model: IndustryModel, encode: Callable[[list[str]], np.ndarray]) -> dict[str, Method]:
    """The three methods compared: lexicon alone, classifier alone, both combined."""

    def lexicon(found: Sequence[Labelled]) -> list[list[str]]:
        return ranked(lexicon_matrix([item.text for item in found]), MIN_CONFIDENCE)

    def classifier(found: Sequence[Labelled]) -> list[list[str]]:
        return ranked(model.classify(encode([item.text for item in found])))

    def combined(found: Sequence[Labelled]) -> list[list[str]]:
        texts = [item.text for item in found]
        return ranked(model.infer(texts, encode(texts)))

    return {"lexicon": lexicon, "classifier": classifier, "combined": combined}


def table(found: Sequence[Labelled], guesses: dict[str, list[list[str]]], by: str) -> list[str]:
    """One Markdown table: the whole set, then each style (or industry); a column group per method."""
    names = list(guesses)
    header = "| " + by + " | n | " + " | ".join(f"{name} top-1 | top-1 (+2nd) | top-3" for name in names)
    lines = [header + " | lexicon no guess |", "|---" * (3 + 3 * len(names)) + "|"]
    groups = STYLES if by == "style" else INDUSTRY_CODES
    for group in ("all", *groups):
        rows = [i for i, item in enumerate(found) if group == "all" or getattr(item, by) == group]
        cells = []
        none = 0.0
        for name in names:
            result = score([found[i] for i in rows], [guesses[name][i] for i in rows])
            cells.append(f"{result.top1:.2f} | {result.accepted:.2f} | {result.top3:.2f}")
            none = result.none if name == "lexicon" else none
        lines.append(f"| {group} | {len(rows)} | " + " | ".join(cells) + f" | {none:.2f} |")
    return lines


def main() -> None:
    """Fit (or read the cached fit of) the industry model and print the tables for firms and scenarios."""
    arguments = [argument for argument in sys.argv[1:] if argument != "--validation"]
    labelled = VALIDATION_DIR if "--validation" in sys.argv else EVAL_DIR
    encoder = SentenceEncoder(Path(arguments[0]) if arguments else DEFAULT_MODEL_DIR)
    model = trained(encoder, DEFAULT_CACHE_DIR)
    for kind in KINDS:
        found = items(kind, labelled)
        texts = [item.text for item in found]
        vectors = dict(zip(texts, encoder.encode(texts), strict=True))  # each text encoded once
        compared = methods(model, lambda batch: np.stack([vectors[text] for text in batch]))  # noqa: B023
        guesses = {name: method(found) for name, method in compared.items()}
        error = calibration_error(found, model.infer(texts, np.stack([vectors[text] for text in texts])))
        print(f"\nIndustry of {kind} in {labelled.name} ({len(found)} texts), by style:")
        print("\n".join(table(found, guesses, "style")))
        print("\nby industry (primary label):")
        print("\n".join(table(found, guesses, "industry")))
        print(f"\ncombined: calibration error of the first guess (10 bins) {error:.3f}")


if __name__ == "__main__":
    main()
