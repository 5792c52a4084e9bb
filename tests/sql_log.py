"""The SQL statements a block of a test runs, for tests that bound how many queries a page or call makes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


@contextmanager
def statements_run(engine: Engine | type[Engine] = Engine) -> Iterator[list[str]]:
    """Collect the statements run on `engine` (on every engine by default) while the block runs."""
    statements: list[str] = []

    def seen(connection: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)
