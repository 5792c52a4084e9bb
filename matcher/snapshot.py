"""The recommender's build kept in a file, so that a server starts without rebuilding it.

A file holds: MAGIC, the header's length (8 bytes, little-endian), the header (JSON: the key, the
catalogue stamps the build reflects, where the pickle and each array lie, and the SHA-256 of all of
them), then the pickle (protocol 5) of a `Saved` and, out of band, every array's bytes at a 64-byte
boundary. Reading maps the file copy-on-write: the arrays are views of its pages, shared by every
worker that reads the same file and copied only where a write touches them. A file whose key differs
from the reader's (another model, industry setting, database, code or format) or whose bytes do not
hash to the header's digest is refused with the reason (`SnapshotRejected`), never half read.
"""

from __future__ import annotations

import gc
import hashlib
import json
import mmap
import os
import pickle
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # unpickling imports it; a check of the key (`check`) does not need the matcher
    from matcher.recommender import RecommenderState

FORMAT = 1
"""The file layout's version; a file of another version is refused."""
MAGIC = b"XINGPEI-SNAPSHOT"
LENGTH_BYTES = 8
ALIGN = 64
SOURCES = (Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent / "models")
"""What a build depends on besides the catalogue: the matcher (with the industry corpus) and the records."""


@cache
def code_digest() -> str:
    """SHA-256 of every file under SOURCES: changing the code or corpus a build uses invalidates snapshots."""
    digest = hashlib.sha256()
    for folder in SOURCES:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(folder.parent)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class SnapshotKey:
    """What must equal between the build kept and the one the reader would make (catalogue stamps aside)."""

    model_id: str
    """The embedding model's id (`Encoder.model_id`)."""
    industry: str
    """How undeclared industries are inferred (the settings' `industry_inference`)."""
    lineage: str
    """The database's lineage id: a database dropped and created again gets another one."""
    code: str = field(default_factory=code_digest)
    format: int = FORMAT


REASONS = {
    "format": "快照格式版本不同",
    "code": "程序或产业语料已更新",
    "model_id": "嵌入模型不同",
    "industry": "产业推断设置不同",
    "lineage": "快照属于另一个数据库",
}
"""Why a key field differing refuses a snapshot, said to operators."""


class SnapshotRejected(Exception):
    """A snapshot that cannot be used; the message says why (in Chinese, for the log)."""


@dataclass(frozen=True, eq=False)
class Saved:
    """A build and the catalogue stamps (per kind) of the records it was built from."""

    stamps: dict[str, int]
    state: RecommenderState


def write(path: Path, key: SnapshotKey, stamps: Mapping[str, int], state: RecommenderState) -> None:
    """Write a snapshot atomically: a temporary file beside `path`, then renamed over it."""
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(Saved(dict(stamps), state), protocol=5, buffer_callback=buffers.append)
    parts = [memoryview(data), *(buffer.raw() for buffer in buffers)]
    places, offset, digest = [], 0, hashlib.sha256()
    for part in parts:
        places.append([offset, part.nbytes])
        digest.update(part)
        offset = _aligned(offset + part.nbytes)
    header = json.dumps(
        {"key": asdict(key), "stamps": dict(stamps), "parts": places, "sha256": digest.hexdigest()}
    ).encode()
    start = _aligned(len(MAGIC) + LENGTH_BYTES + len(header))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(MAGIC + len(header).to_bytes(LENGTH_BYTES, "little") + header)
            for part, (at, _) in zip(parts, places, strict=True):
                out.seek(start + at)
                out.write(part)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check(path: Path, key: SnapshotKey) -> dict[str, int]:
    """The stamps of a snapshot with this key and its full length; SnapshotRejected else.

    Its digest is not computed (that is a pass over the whole file): `read` verifies it before using it.
    """
    view, header = _verified(path, key, hashed=False)
    view.release()
    return {kind: int(stamp) for kind, stamp in header["stamps"].items()}


def read(path: Path, key: SnapshotKey) -> Saved:
    """The build kept in `path` if it is whole and its key is `key`; SnapshotRejected else."""
    view, header = _verified(path, key)
    start, parts = header["start"], header["parts"]
    pieces = [view[start + at : start + at + length] for at, length in parts]
    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of new objects (the records): collecting meanwhile triples the time
    try:
        saved = pickle.loads(pieces[0], buffers=pieces[1:])
    except Exception as error:
        raise SnapshotRejected(f"快照无法解析（{type(error).__name__}）") from error
    finally:
        if collecting:
            gc.enable()
    if not isinstance(saved, Saved):
        raise SnapshotRejected("快照内容不是推荐器的构建结果")
    return saved


def _aligned(offset: int) -> int:
    """`offset` rounded up to ALIGN."""
    return -(-offset // ALIGN) * ALIGN


def _verified(path: Path, key: SnapshotKey, *, hashed: bool = True) -> tuple[memoryview, dict[str, Any]]:
    """The file mapped copy-on-write and its header, once the key, the length and the digest are checked."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < len(MAGIC) + LENGTH_BYTES:
                raise SnapshotRejected("快照文件不完整（被截断或为空）")
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY)
    except FileNotFoundError:
        raise SnapshotRejected("尚无快照") from None
    except OSError as error:
        raise SnapshotRejected(f"快照无法打开（{error.strerror}）") from error
    view = memoryview(mapped)
    if bytes(view[: len(MAGIC)]) != MAGIC:
        raise SnapshotRejected("不是快照文件（文件头不符）")
    length = int.from_bytes(view[len(MAGIC) : len(MAGIC) + LENGTH_BYTES], "little")
    header = _header(bytes(view[len(MAGIC) + LENGTH_BYTES : len(MAGIC) + LENGTH_BYTES + length]))
    _check_key(header["key"], key)
    start = _aligned(len(MAGIC) + LENGTH_BYTES + length)
    parts = header["parts"]
    if any(start + at + part > size for at, part in parts):
        raise SnapshotRejected("快照文件不完整（被截断）")
    digest = hashlib.sha256()
    for at, part in parts if hashed else ():
        digest.update(view[start + at : start + at + part])
    if hashed and digest.hexdigest() != header["sha256"]:
        raise SnapshotRejected("快照已损坏（校验和不符）")
    return view, {**header, "start": start}


def _header(raw: bytes) -> dict[str, Any]:
    """The parsed header, checked for the fields every reader uses."""
    try:
        header = json.loads(raw)
        parts = [[int(at), int(length)] for at, length in header["parts"]]
        stamps = {str(kind): int(stamp) for kind, stamp in header["stamps"].items()}
        if not parts or not isinstance(header["key"], dict) or not isinstance(header["sha256"], str):
            raise ValueError("incomplete header")
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise SnapshotRejected("快照文件头已损坏") from error
    return {"key": header["key"], "stamps": stamps, "parts": parts, "sha256": header["sha256"]}


def _check_key(found: dict[str, Any], wanted: SnapshotKey) -> None:
    """Refuse a snapshot whose key differs from `wanted`, naming the first field that does."""
    for name, value in asdict(wanted).items():
        if found.get(name) != value:
            raise SnapshotRejected(f"{REASONS[name]}（快照 {found.get(name)}，当前 {value}）")
