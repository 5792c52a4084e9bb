"""Text encoders: a local sentence-transformers model (never a hub download) and a vector cache."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from matcher.batching import EncodeBatcher

PREFIX = "query: "
"""multilingual-e5 matches symmetric texts best with the query prefix on both sides."""

DEFAULT_MODEL_DIR = Path("var/models/multilingual-e5-small")
"""Where `make model` builds the default model folder (git-ignored, ~470 MB), relative to the repository."""

QUANTIZED_ONNX = "onnx/model_qint8.onnx"
"""The int8 ONNX copy of a folder's transformer (built by `tools.e5_export`), relative to the folder."""

QUERY_CACHE_SIZE = 1024
"""Typed-in query texts whose vectors a cached encoder keeps in memory."""

QUANTIZED_SUFFIX = "+onnx-qint8"
"""Appended to the model id of the int8 variant: its vectors differ, so its cache keys must too."""


def model_id(folder: str | Path, quantized: bool) -> str:
    """The id the vectors of a model folder (or of its int8 copy) are cached under."""
    return Path(folder).resolve().name + (QUANTIZED_SUFFIX if quantized else "")


def expected_model_id(folder: str | Path, quantize: bool) -> str:
    """The id `SentenceEncoder(folder, quantize=quantize)` will have, found without loading the model."""
    return model_id(folder, quantize and _quantized_unusable(Path(folder)) is None)


class EncoderUnavailable(RuntimeError):
    """The configured model cannot be loaded from a local folder."""


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape [n, dim]."""

    model_id: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode texts into an array of shape [n, dim]."""
        ...


def _read_json(path: Path) -> Any:
    """A JSON file's content, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def module_folder(folder: Path, kind: str) -> Path | None:
    """The sub-folder of a sentence-transformers folder's first `kind` module ("Transformer", "Pooling")."""
    modules = _read_json(folder / "modules.json")
    for module in modules if isinstance(modules, list) else []:
        if isinstance(module, dict) and str(module.get("type", "")).endswith(f".{kind}"):
            return folder / str(module.get("path", ""))
    return None


def _onnx_layout(folder: Path) -> tuple[Path, bool]:
    """The folder's Transformer sub-folder and whether it pools by mean (else CLS); ValueError when the
    layout is not one `_OnnxTransformer` reproduces."""
    transformer = module_folder(folder, "Transformer")
    pooling = module_folder(folder, "Pooling")
    if transformer is None or pooling is None:
        raise ValueError("modules.json names no Transformer and Pooling module")
    pooling_config = _read_json(pooling / "config.json") or {}
    modes = {key for key, value in pooling_config.items() if key.startswith("pooling_mode_") and value}
    if modes not in ({"pooling_mode_mean_tokens"}, {"pooling_mode_cls_token"}):
        raise ValueError(f"pooling {sorted(modes)} is not mean or CLS")
    return transformer, modes == {"pooling_mode_mean_tokens"}


def _quantized_unusable(folder: Path) -> str | None:
    """Why the folder's int8 ONNX copy cannot be used, found without opening it; None when it can."""
    if not (folder / QUANTIZED_ONNX).is_file():
        return f"{folder / QUANTIZED_ONNX} 不存在（请运行 make model）"
    try:
        _onnx_layout(folder)
    except ValueError as error:
        return f"{error}"
    missing = [name for name in ("onnxruntime", "tokenizers") if importlib.util.find_spec(name) is None]
    return f"No module named {', '.join(missing)}" if missing else None


def _pooled_dim(folder: Path) -> int | None:
    """The vectors' dimension the folder's Pooling module declares, or None when it declares none."""
    pooling = module_folder(folder, "Pooling")
    config = _read_json(pooling / "config.json") if pooling is not None else None
    dim = config.get("word_embedding_dimension") if isinstance(config, dict) else None
    return dim if isinstance(dim, int) and dim > 0 else None


class _OnnxTransformer:
    """The int8 ONNX transformer under onnxruntime, with the folder's tokenizer and pooling (no torch)."""

    def __init__(self, folder: Path, threads: int | None) -> None:
        """Open the session; raise ValueError when the folder's layout is not one this class reproduces."""
        transformer, self._mean = _onnx_layout(folder)

        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(folder / QUANTIZED_ONNX), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(transformer / "tokenizer.json"))
        bert_config = _read_json(transformer / "sentence_bert_config.json") or {}
        self._tokenizer.enable_truncation(int(bert_config.get("max_seq_length") or 512))
        pad_token = str((_read_json(transformer / "tokenizer_config.json") or {}).get("pad_token", "<pad>"))
        pad_id = self._tokenizer.token_to_id(pad_token)
        if pad_id is None:
            raise ValueError(f"the tokenizer has no padding token {pad_token}")
        self._tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
        self.dim = int(self._session.get_outputs()[0].shape[-1])

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """L2-normalised float32 [n, dim]; longest texts first, so that a batch pads little."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            encodings = self._tokenizer.encode_batch([texts[i] for i in rows])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            tokens = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            if self._mean:
                weights = mask[..., None].astype(np.float32)
                pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            else:
                pooled = tokens[:, 0]
            out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out


class SentenceEncoder:
    """A sentence-transformers model loaded from a local folder, fully offline.

    With `quantize` (the default) it runs the folder's int8 ONNX copy (`onnx/model_qint8.onnx`, built by
    `make model`) under onnxruntime: about 3× the texts per second of the float32 PyTorch model on two
    cores, vectors within cosine 0.99 of it. A folder without that file (an operator's own model) falls
    back to the float32 model with a warning.

    With `lazy`, the model is opened on the first `encode` (once, whichever thread asks first), not here:
    a server started from its snapshot needs it only for typed-in texts. Its id and dimension are read
    from the folder meanwhile; an int8 copy that passes those checks but then fails to open raises
    `EncoderUnavailable` on that first use (its vectors' id is already in use, so no fallback then).
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        batch_size: int = 32,
        threads: int | None = None,
        quantize: bool = True,
        lazy: bool = False,
    ) -> None:
        """Check the folder (and load the model unless `lazy`); fail fast with a clear message when the
        folder is not a local model."""
        path = Path(folder)
        if not (path / "modules.json").is_file():
            raise EncoderUnavailable(
                f"嵌入模型目录不可用：{folder}（需要本地 sentence-transformers 目录，含 modules.json；"
                "不会从网上下载）。请运行 make model，或把 XINGPEI_EMBEDDING_MODEL 设为本地模型目录。"
            )
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        self._path = path
        self._batch_size = batch_size
        self._threads = threads
        self._onnx: _OnnxTransformer | None = None
        self._model: Any = None
        self._loading = threading.Lock()
        reason = _quantized_unusable(path) if quantize else None
        if reason is not None:
            _warn_float32(path, reason)
        self._set_variant(quantized=quantize and reason is None)
        dim = _pooled_dim(path) if lazy else None
        if dim is None:
            self._load(fall_back=True)
        else:
            self.dim = dim

    @property
    def loaded(self) -> bool:
        """Whether the model is open (a lazy encoder opens it on its first `encode`)."""
        return self._onnx is not None or self._model is not None

    def _set_variant(self, *, quantized: bool) -> None:
        """Name the variant this encoder runs, and the model id its vectors are cached under."""
        self.variant = "onnx-qint8" if quantized else "fp32"
        self.model_id = model_id(self._path, quantized=quantized)

    def _load(self, *, fall_back: bool) -> None:
        """Open the model once; with `fall_back` an int8 copy that fails to open gives way to float32."""
        with self._loading:
            if self.loaded:
                return
            promised = getattr(self, "dim", None)
            if self.variant == "onnx-qint8":
                try:
                    onnx = _OnnxTransformer(self._path, self._threads)
                except (ImportError, ValueError) as error:
                    if not fall_back:
                        raise EncoderUnavailable(
                            f"嵌入模型 {self._path} 的 int8 版本无法打开：{error}；"
                            "请检查模型目录后重启服务（或设 XINGPEI_EMBEDDING_QUANTIZE=false）"
                        ) from error
                    _warn_float32(self._path, f"{error}")
                    self._set_variant(quantized=False)
                else:
                    self._check_dim(promised, onnx.dim)
                    self.dim = onnx.dim
                    self._onnx = onnx
                    return
            model = self._open_float32()
            dim = int(model.get_embedding_dimension() or 0)
            self._check_dim(promised, dim)
            self.dim = dim
            self._model = model

    def _check_dim(self, promised: int | None, dim: int) -> None:
        """Refuse a model whose vectors' dimension is not the one its folder declared."""
        if promised is not None and promised != dim:
            raise EncoderUnavailable(
                f"嵌入模型 {self._path} 的向量维度为 {dim}，与其目录声明的 {promised} 不符"
            )

    def _open_float32(self) -> Any:
        """The float32 PyTorch model of the folder."""
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        if self._threads:
            torch.set_num_threads(self._threads)
        return SentenceTransformer(str(self._path), device="cpu", local_files_only=True)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode with the query prefix; returns float32 [n, dim], L2-normalised."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not self.loaded:
            self._load(fall_back=False)
        prefixed = [PREFIX + text for text in texts]
        if self._onnx is not None:
            return self._onnx.encode(prefixed, self._batch_size)
        vectors = self._model.encode(
            prefixed,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def _warn_float32(path: Path, reason: str) -> None:
    """Warn that the folder's int8 copy is not used, and why."""
    warnings.warn(
        f"嵌入模型 {path} 的 int8 版本不可用：{reason}；改用 float32 模型（较慢）。"
        "设 XINGPEI_EMBEDDING_QUANTIZE=false 可不再提示。",
        RuntimeWarning,
        stacklevel=3,
    )


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

    def __init__(
        self, encoder: Encoder, store: VectorStore, *, batch_window: float = 0.0, batch_max: int = 32
    ) -> None:
        """Wrap `encoder`, keeping vectors in `store`; typed-in texts of concurrent callers share model
        calls when `batch_window` (seconds) is above 0 (see `EncodeBatcher`)."""
        self.inner = encoder
        self.store = store
        self.model_id = encoder.model_id
        self.dim = encoder.dim
        self.encoded = 0
        """How many texts were actually encoded (not found in the store)."""
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries_lock = threading.Lock()
        self._batcher = EncodeBatcher(encoder.encode, window=batch_window, max_batch=batch_max)

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

    def encode_query(self, text: str) -> np.ndarray:
        """One query text's vector [dim]: read from the store when a record has it, else encoded and kept

        only in a small in-memory cache. Typed-in profiles (anyone may send one) never grow the table.
        """
        key = content_key(self.model_id, text)
        with self._queries_lock:
            if key in self._queries:
                self._queries.move_to_end(key)
                return self._queries[key]
        stored = self.store.get_many([key]).get(key)
        vector = stored if stored is not None else self._batcher.encode(text)
        with self._queries_lock:
            self._queries[key] = vector
            while len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
        return vector


def encode_query(encoder: Encoder, text: str) -> np.ndarray:
    """One query text's vector [dim]; a cached encoder reads its store but never writes a query into it."""
    if isinstance(encoder, CachedEncoder):
        return encoder.encode_query(text)
    vector: np.ndarray = encoder.encode([text])[0]
    return vector
