"""What inferring industries with the classifier costs: per text, per typed-in match, and fitting once.

Usage: python bench/industry.py [MODEL_DIR] [QUERIES]   (defaults: var/models/multilingual-e5-small, 100)

Over the demo catalogue with the real model (int8), in one run:
- inference per text for the lexicon alone and for classifier + lexicon, the vectors given (the service
  has them already: the semantic factor computed them);
- a typed-in firm → top-10 buildings, each firm's text new to the encoder's memory, with the lexicon
  and with the classifier, alternating, counting the texts encoded per match (one, either way);
- fitting the model from scratch (encoding the corpus, then the regressions), which a server does once
  per model and corpus before reading the fit from its cache directory.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import results

from demo.bundle import demo_records
from matcher.directions import for_firm
from matcher.encoder import DEFAULT_MODEL_DIR, CachedEncoder, Encoder, MemoryVectorStore, SentenceEncoder
from matcher.industry import lexicon_matrix
from matcher.industry_model import trained, training_corpus
from matcher.recommender import Recommender
from matcher.text import record_text
from models.records import EnterpriseRecord


class Counting:
    """An encoder that counts the texts it encodes."""

    def __init__(self, inner: Encoder) -> None:
        """Wrap `inner`."""
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.texts = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode with the inner model, counting."""
        self.texts += len(texts)
        return self.inner.encode(texts)


def _ms(call: Callable[[], object]) -> float:
    """Wall time of one call, in milliseconds."""
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def main(folder: Path, queries: int) -> None:
    """Print the figures and keep them in var/bench/results.jsonl."""
    model = SentenceEncoder(folder)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        industries = trained(model, Path(scratch))
    fit_s = time.perf_counter() - started
    print(f"fit from scratch: {fit_s:.1f} s ({len(training_corpus())} corpus texts encoded and fitted)")

    catalogue = demo_records()
    firms = [firm for firm in catalogue["enterprises"] if isinstance(firm, EnterpriseRecord)][:queries]
    texts = [record_text(firm) for firm in firms]
    vectors = model.encode(texts)
    lexicon_us = _ms(lambda: [lexicon_matrix([text]) for text in texts]) * 1000 / len(texts)
    combined_us = (
        _ms(lambda: [industries.infer([text], vectors[row : row + 1]) for row, text in enumerate(texts)])
        * 1000
        / len(texts)
    )
    print(f"inference per text: lexicon {lexicon_us:.0f} µs, classifier + lexicon {combined_us:.0f} µs")

    counting = {name: Counting(model) for name in ("lexicon", "combined")}
    recommenders = {
        "lexicon": Recommender(CachedEncoder(counting["lexicon"], MemoryVectorStore())).load(catalogue),
        "combined": Recommender(
            CachedEncoder(counting["combined"], MemoryVectorStore()), industry_model=industries
        ).load(catalogue),
    }
    before = {name: counter.texts for name, counter in counting.items()}
    times: dict[str, list[float]] = {name: [] for name in recommenders}
    direction = for_firm("buildings")
    for number, firm in enumerate(firms):
        for name, recommender in recommenders.items():
            typed_in = firm.model_copy(
                update={"id": f"TYPED{number}", "description": f"{firm.description}（新）"}
            )
            times[name].append(_ms(lambda: recommender.match(direction, typed_in, 10)))  # noqa: B023
    medians = {name: statistics.median(values) for name, values in times.items()}
    per_match = {name: (counting[name].texts - before[name]) / len(firms) for name in counting}
    ratio = medians["combined"] / medians["lexicon"]
    print(
        f"typed-in firm → top-10 buildings, median of {len(firms)}: lexicon {medians['lexicon']:.1f} ms, "
        f"classifier + lexicon {medians['combined']:.1f} ms (ratio {ratio:.2f}); texts encoded per match: "
        f"{per_match['lexicon']:.2f} and {per_match['combined']:.2f}"
    )
    results.record(
        "industry", "typed-in match, classifier ÷ lexicon", f"{ratio:.2f}", "≈ 1, no extra encoding", None
    )
    results.record("industry", "fit from scratch", f"{fit_s:.1f} s", "once per model and corpus", None)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(
        Path(arguments[0]) if arguments else DEFAULT_MODEL_DIR,
        int(arguments[1]) if len(arguments) > 1 else 100,
    )
