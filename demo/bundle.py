"""The bundled demo catalogue: JSON Lines files shipped inside the package."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from demo.generate import demo_catalogue
from models.catalogue import ImportReport, count, import_file
from models.interchange import write_records
from models.records import RECORD_TYPES, RecordKind

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


def catalogue_is_empty(session: Session) -> bool:
    """Whether no building, enterprise or scenario is stored yet."""
    return all(count(session, kind) == 0 for kind in KINDS)


def load_demo(session: Session) -> list[ImportReport]:
    """Import the bundled demo files, in the caller's transaction."""
    return [import_file(session, kind, demo_file(kind).read_bytes(), demo_file(kind).name) for kind in KINDS]
