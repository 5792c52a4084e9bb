"""Text encoders: a local sentence-transformers model (never a hub download) and a vector cache."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

PREFIX = "query: "
"""multilingual-e5 matches symmetric texts best with the query prefix on both sides."""


class EncoderUnavailable(RuntimeError):
    """The configured model cannot be loaded from a local folder."""


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape [n, dim]."""

    model_id: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode texts into an array of shape [n, dim]."""
        ...


class SentenceEncoder:
    """A sentence-transformers model loaded from a local folder, fully offline."""

    def __init__(self, folder: str | Path, *, batch_size: int = 32, threads: int | None = None) -> None:
        """Load the model; fail fast with a clear message when the folder is not a local model."""
        path = Path(folder)
        if not (path / "modules.json").is_file():
            raise EncoderUnavailable(
                f"嵌入模型目录不可用：{folder}（需要本地 sentence-transformers 目录，含 modules.json；"
                "不会从网上下载）。请运行 make model，或把 XINGPEI_EMBEDDING_MODEL 设为本地模型目录。"
            )
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        if threads:
            torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self._batch_size = batch_size
        self.model_id = path.resolve().name
        self.dim = int(self._model.get_embedding_dimension() or 0)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode with the query prefix; returns float32 [n, dim], L2-normalised."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            [PREFIX + text for text in texts],
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


class VectorStore(Protocol):
    """Where vectors are kept by content key (a database table, or memory in tests)."""

    def get_many(self, keys: Sequence[str]) -> Mapping[str, np.ndarray]:
        """The stored vectors of the keys that are present."""
        ...

    def put_many(self, model_id: str, vectors: Mapping[str, np.ndarray]) -> None:
        """Store vectors by key."""
        ...


class MemoryVectorStore:
    """A vector store in a dictionary."""

    def __init__(self) -> None:
        """Start empty."""
        self.vectors: dict[str, np.ndarray] = {}

    def get_many(self, keys: Sequence[str]) -> Mapping[str, np.ndarray]:
        """The stored vectors of the keys that are present."""
        return {key: self.vectors[key] for key in keys if key in self.vectors}

    def put_many(self, model_id: str, vectors: Mapping[str, np.ndarray]) -> None:
        """Store vectors by key."""
        self.vectors.update(vectors)


def content_key(model_id: str, text: str) -> str:
    """The cache key of a text under a model: unchanged text is never encoded twice."""
    return hashlib.sha256(f"{model_id}\x00{text}".encode()).hexdigest()


class CachedEncoder:
    """An encoder that looks vectors up by content hash and encodes only what it has not seen."""

    def __init__(self, encoder: Encoder, store: VectorStore) -> None:
        """Wrap `encoder`, keeping vectors in `store`."""
        self.inner = encoder
        self.store = store
        self.model_id = encoder.model_id
        self.dim = encoder.dim
        self.encoded = 0
        """How many texts were actually encoded (not found in the store)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for texts, [n, dim], encoding only the unseen ones."""
        keys = [content_key(self.model_id, text) for text in texts]
        found = dict(self.store.get_many(list(dict.fromkeys(keys))))
        missing = list(dict.fromkeys(key for key in keys if key not in found))
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            fresh = self.inner.encode([text_of[key] for key in missing])
            new = dict(zip(missing, fresh, strict=True))
            self.store.put_many(self.model_id, new)
            found.update(new)
            self.encoded += len(missing)
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[key] for key in keys]).astype(np.float32, copy=False)
