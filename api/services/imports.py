"""Ledger files, all or nothing: every bad row named, or every row written, audited and seen at once."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from api.services.write import Actor, CatalogueChange, Live, after_catalogue_write, commit
from models.audit import record as audit
from models.catalogue import ImportReport, Progress, iter_records, parse_file, upsert_records
from models.database import begin_write
from models.records import CatalogueRecord, RecordKind

MAX_UPLOAD_BYTES = 50 * 2**20
"""The largest file the API and the data page accept (the command line has no limit)."""
MAX_AUDIT_NAME = 64
"""Length of the audit log's target column."""


def audit_name(filename: str) -> str:
    """The file's name as the audit log keeps it: printable and cut to the column's length."""
    return "".join(char for char in filename if char.isprintable())[:MAX_AUDIT_NAME]


def import_records(
    *,
    session: Session,
    actor: Actor,
    live: Live | None,
    kind: RecordKind,
    records: Sequence[CatalogueRecord],
    filename: str,
    progress: Progress | None = None,
) -> ImportReport:
    """Upsert validated records by id, audit the import, commit, and make the next match see them."""
    begin_write(session)
    report = upsert_records(session, kind, records, progress)
    audit(
        session,
        actor=actor.name,
        action="import",
        target_kind=kind,
        target_id=audit_name(filename),
        after={
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "drafted": report.drafted,
        },
    )
    changed = report.created or report.updated
    put = list(iter_records(session, kind)) if changed and live is not None else []
    moved = after_catalogue_write(session, kind) if changed else ()
    commit(session, live, CatalogueChange(kind, report.stamp, put=put), *moved)
    return report


def import_ledger(
    *, session: Session, actor: Actor, live: Live | None, kind: RecordKind, data: bytes, filename: str
) -> ImportReport:
    """Validate a whole file (ImportRejected names every bad row, nothing written), then import it.

    Blocking (parsing, writing): call it from a plain `def` route, which FastAPI runs on a worker thread.
    The file is validated before the write lock is taken, so a large file keeps other writers waiting
    only while it is written.
    """
    records = parse_file(kind, data, filename)
    return import_records(
        session=session, actor=actor, live=live, kind=kind, records=records, filename=filename
    )
