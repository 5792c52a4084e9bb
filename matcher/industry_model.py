"""An industry classifier on the embedding vectors, combined with the lexicon and calibrated.

Two multinomial logistic regressions (scikit-learn, imported only to fit), fitted on the labelled corpus in
`matcher/industry_corpus/` (firms, scenarios and the official definitions, written for training):

- the *classifier* reads a text's embedding vector, the one the semantic factor already computed;
- the *combiner* reads the classifier's log-probabilities and the lexicon's twelve confidences, and is
  fitted on the classifier's out-of-fold probabilities, so it learns how far to trust each source on
  texts the classifier did not see. Its softmax is the calibrated answer.

A text with a secondary industry (`also`) counts as that industry with weight `SECONDARY_WEIGHT`, so a
genuinely mixed text keeps probability on both. Prediction is plain numpy; the fitted numbers are kept
in a small `.npz` file per model and corpus, so a server fits once and then only loads.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from matcher.encoder import Encoder
from matcher.industry import INDUSTRY_CODES, lexicon_matrix

CORPUS_DIR = Path(__file__).resolve().parent / "industry_corpus"
"""The training corpus: one JSONL file per industry, plus `definitions.jsonl`."""

DEFAULT_CACHE_DIR = Path("var/cache")
"""Where fitted industry models are kept unless configured otherwise (git-ignored; relative path)."""

CLASSIFIER_C = 0.1
"""Inverse regularisation of the classifier on standardised vectors (chosen by cross-validation)."""
COMBINER_C = 1.0
"""Inverse regularisation of the combiner."""
SECONDARY_WEIGHT = 0.5
"""The weight of a text's secondary industry as a training example (its primary's is 1)."""
FOLDS = 5
"""Folds of the out-of-fold classifier probabilities the combiner learns from."""
FLOOR = 1e-4
"""Probabilities are floored here before their logarithm is taken."""
VERSION = 1
"""Bumped whenever fitting changes, so cached fits of an older method are not reused."""

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Labelled:
    """One labelled text: its primary industry, any secondary ones, its style and kind."""

    text: str
    industry: str
    also: tuple[str, ...]
    style: str
    kind: str


def read_labelled(path: Path, kind: str | None = None) -> list[Labelled]:
    """The labelled texts of one JSONL file (`kind` given when the file's rows lack one)."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        industry = row["industry"]
        also = tuple(row.get("also", ()))
        unknown = [code for code in (industry, *also) if code not in INDUSTRY_CODES]
        if unknown:
            raise ValueError(f"{path.name} 第 {number} 行：未知产业代码 {unknown}")
        items.append(Labelled(row["text"], industry, also, row["style"], kind or row["kind"]))
    return items


def training_corpus(folder: Path = CORPUS_DIR) -> list[Labelled]:
    """Every labelled text of the training corpus, files in name order."""
    return [item for path in sorted(folder.glob("*.jsonl")) for item in read_labelled(path)]


@dataclass(frozen=True)
class Softmax:
    """A fitted multinomial linear model: probabilities = softmax(x · weightsᵀ + bias)."""

    weights: Array
    bias: Array

    def __call__(self, features: Array) -> Array:
        """[m, 12] probabilities of [m, d] features."""
        logits = features @ self.weights.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        probabilities: Array = exp / exp.sum(axis=1, keepdims=True)
        return probabilities


@dataclass(frozen=True)
class IndustryModel:
    """The fitted classifier and combiner of one embedding model."""

    model_id: str
    classifier: Softmax
    combiner: Softmax

    def classify(self, vectors: npt.NDArray[np.floating]) -> Array:
        """[m, 12]: the classifier's probabilities from the embedding vectors alone."""
        return self.classifier(np.asarray(vectors, dtype=np.float64))

    def combine(self, vectors: npt.NDArray[np.floating], lexicon: Array) -> Array:
        """[m, 12]: the calibrated probabilities from the vectors and the lexicon's confidences [m, 12]."""
        return self.combiner(_combiner_features(self.classify(vectors), lexicon))

    def infer(self, texts: Sequence[str], vectors: npt.NDArray[np.floating]) -> Array:
        """[m, 12]: the calibrated industry probabilities of texts whose vectors are given."""
        return self.combine(vectors, lexicon_matrix(texts))

    def save(self, path: Path) -> None:
        """Write the fitted numbers to an `.npz` file (written aside, then moved into place)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npz")
        np.savez(
            partial,
            model_id=np.array(self.model_id),
            classifier_weights=self.classifier.weights,
            classifier_bias=self.classifier.bias,
            combiner_weights=self.combiner.weights,
            combiner_bias=self.combiner.bias,
        )
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> IndustryModel:
        """Read a model `save` wrote."""
        with np.load(path) as saved:
            return cls(
                str(saved["model_id"]),
                Softmax(saved["classifier_weights"], saved["classifier_bias"]),
                Softmax(saved["combiner_weights"], saved["combiner_bias"]),
            )


def _combiner_features(probabilities: Array, lexicon: Array) -> Array:
    """[m, 24]: the classifier's log-probabilities beside the lexicon's confidences."""
    return np.hstack([np.log(np.maximum(probabilities, FLOOR)), lexicon])


def _examples(corpus: Sequence[Labelled]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], Array]:
    """Training rows: (index of the text, class, weight), one per primary and per secondary industry."""
    rows = [(index, INDUSTRY_CODES.index(item.industry), 1.0) for index, item in enumerate(corpus)]
    rows += [
        (index, INDUSTRY_CODES.index(code), SECONDARY_WEIGHT)
        for index, item in enumerate(corpus)
        for code in item.also
    ]
    texts, classes, weights = zip(*rows, strict=True)
    return np.array(texts), np.array(classes), np.array(weights)


def _fit_softmax(features: Array, classes: npt.NDArray[np.int64], weights: Array, c: float) -> Softmax:
    """A multinomial logistic regression on standardised features, folded back to the raw features."""
    from sklearn.linear_model import LogisticRegression  # only fitting needs scikit-learn (~1 s to import)

    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit((features - mean) / scale, classes, sample_weight=weights)
    if list(model.classes_) != list(range(len(INDUSTRY_CODES))):
        raise ValueError("训练语料须覆盖全部 12 个产业")
    coefficients = model.coef_ / scale
    return Softmax(coefficients, model.intercept_ - coefficients @ mean)


def fit(
    vectors: npt.NDArray[np.floating], corpus: Sequence[Labelled], model_id: str, *, seed: int = 0
) -> IndustryModel:
    """Fit the classifier on all of `corpus`, and the combiner on its out-of-fold probabilities."""
    from sklearn.model_selection import StratifiedKFold

    features = np.asarray(vectors, dtype=np.float64)
    lexicon = lexicon_matrix([item.text for item in corpus])
    texts, classes, weights = _examples(corpus)
    primary = np.array([INDUSTRY_CODES.index(item.industry) for item in corpus])
    out_of_fold = np.zeros((len(corpus), len(INDUSTRY_CODES)))
    for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(features, primary):
        rows = np.isin(texts, train)
        fold = _fit_softmax(features[texts[rows]], classes[rows], weights[rows], CLASSIFIER_C)
        out_of_fold[test] = fold(features[test])
    classifier = _fit_softmax(features[texts], classes, weights, CLASSIFIER_C)
    stacked = _combiner_features(out_of_fold, lexicon)
    combiner = _fit_softmax(stacked[texts], classes, weights, COMBINER_C)
    return IndustryModel(model_id, classifier, combiner)


def corpus_digest(corpus: Sequence[Labelled]) -> str:
    """A short hash of the corpus and the fitting method: a cached fit is reused only while both hold."""
    digest = hashlib.sha256(f"v{VERSION} C{CLASSIFIER_C} {COMBINER_C} {SECONDARY_WEIGHT}".encode())
    for item in corpus:
        digest.update(json.dumps([item.text, item.industry, item.also], ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


def trained(encoder: Encoder, cache: Path | None = None, corpus_dir: Path = CORPUS_DIR) -> IndustryModel:
    """An encoder's industry model: from this process's memory or from `cache` when fitted before, else
    fitted (and kept in both)."""
    corpus, digest = _read_once(corpus_dir)
    name = f"industry-{encoder.model_id}-{digest}.npz"
    path = cache / name if cache else None
    key = str(path.resolve()) if path else name
    with _FITTING:
        if key in _FITTED:
            return _FITTED[key]
        if path is not None and path.is_file():
            model = IndustryModel.load(path)
        else:
            model = fit(encoder.encode([item.text for item in corpus]), corpus, encoder.model_id)
            if path is not None:
                model.save(path)
        _FITTED[key] = model
        return model


@cache
def _read_once(folder: Path) -> tuple[tuple[Labelled, ...], str]:
    """The corpus of a folder and its digest, read once per process (every server start asks for them)."""
    corpus = tuple(training_corpus(folder))
    return corpus, corpus_digest(corpus)


_FITTED: dict[str, IndustryModel] = {}
"""Models fitted or read in this process, by cache file (or file name, when not kept)."""
_FITTING = threading.Lock()
