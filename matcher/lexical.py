"""The lexical channel: TF-IDF over character 1–3-grams, which needs no word segmentation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from models.enums import Industry


class LexicalModel:
    """A character n-gram TF-IDF space fitted on the catalogue's texts."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), max_features: int | None = 200_000) -> None:
        """Store the vectoriser's settings; `fit` learns the vocabulary."""
        self.ngram_range = ngram_range
        self.max_features = max_features

    def fit(self, texts: Sequence[str]) -> LexicalModel:
        """Learn the vocabulary and inverse document frequencies from `texts`."""
        self.vectorizer_ = TfidfVectorizer(
            analyzer="char",
            ngram_range=self.ngram_range,
            sublinear_tf=True,
            max_features=self.max_features,
            dtype=np.float32,
        )
        # The industries' names keep the vocabulary non-empty when the catalogue is.
        self.vectorizer_.fit([*texts, *(industry.label for industry in Industry)])
        return self

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """L2-normalised sparse rows, [n, vocabulary]."""
        if not texts:
            return sparse.csr_matrix((0, len(self.vectorizer_.vocabulary_)), dtype=np.float32)
        return sparse.csr_matrix(self.vectorizer_.transform(list(texts)))


def lexical_similarity(query: sparse.csr_matrix, items: sparse.csr_matrix) -> np.ndarray:
    """Cosine similarity of one query row to every item row: [n] float32."""
    if items.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    return np.asarray((items @ query.T).toarray()).ravel().astype(np.float32)
