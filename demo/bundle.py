"""The bundled demo: the catalogue's JSON Lines files shipped in the package, and its follow-up history."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session

from demo.generate import demo_catalogue
from demo.history import generate_history
from demo.history_store import HistoryReport, write_history
from demo.vectors import SessionVectorStore
from matcher.encoder import CachedEncoder, Encoder
from matcher.hashing import HashingEncoder
from models.catalogue import ImportReport, count, import_file, iter_records
from models.clock import china_today
from models.interchange import write_records
from models.records import RECORD_TYPES, CatalogueRecord, RecordKind

DATA_DIR = Path(__file__).parent / "data"
KINDS: tuple[RecordKind, ...] = ("buildings", "enterprises", "scenarios")


def demo_file(kind: RecordKind, directory: Path = DATA_DIR) -> Path:
    """Where the demo file of a kind lies."""
    return directory / f"{kind}.jsonl"


def write_demo_files(directory: Path = DATA_DIR) -> dict[RecordKind, int]:
    """Regenerate the demo files from the fixed seed; return the row count of each."""
    directory.mkdir(parents=True, exist_ok=True)
    catalogue = demo_catalogue()
    counts = {}
    for kind in KINDS:
        record_type = RECORD_TYPES[kind]
        records = [record_type.model_validate(values) for values in catalogue[kind]]
        counts[kind] = write_records(records, demo_file(kind, directory), record_type)
    return counts


def demo_records() -> dict[RecordKind, list[CatalogueRecord]]:
    """The demo catalogue's records as the files hold them (no database needed)."""
    return {
        kind: [
            RECORD_TYPES[kind].model_validate(json.loads(line))
            for line in demo_file(kind).read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        for kind in KINDS
    }


def catalogue_is_empty(session: Session) -> bool:
    """Whether no building, enterprise or scenario is stored yet."""
    return all(count(session, kind) == 0 for kind in KINDS)


def load_demo_catalogue(session: Session) -> list[ImportReport]:
    """Import the bundled demo files, in the caller's transaction."""
    return [import_file(session, kind, demo_file(kind).read_bytes(), demo_file(kind).name) for kind in KINDS]


def load_demo(session: Session, model: Encoder | None = None) -> list[ImportReport | HistoryReport]:
    """Import the bundled demo files and an 18-month follow-up history for them, in the caller's transaction.

    The history's matches are ranked with `model`, the embedding model the server uses, whose vectors
    are then kept in the vector cache so that the server's start does not encode them again; without
    one, with the model-free hashing encoder (fast; the matches' semantic parts then differ a little from
    what the server would compute).
    """
    reports: list[ImportReport | HistoryReport] = [*load_demo_catalogue(session)]
    encoder = HashingEncoder() if model is None else CachedEncoder(model, SessionVectorStore(session))
    catalogue = {kind: list(iter_records(session, kind)) for kind in KINDS}
    report, _ = write_history(session, generate_history(catalogue, encoder, today=china_today()))
    return [*reports, report]
