"""Excel exports: sheets of Chinese headers and rows as an .xlsx file, text never read as a formula."""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from typing import Any

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Column = tuple[str, int]
"""A column's header and its width in characters."""
Sheet = tuple[str, Sequence[Column], Sequence[Sequence[Any]]]
"""A sheet's title, its columns and its rows."""


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    """Sheets of (title, columns, rows) as an .xlsx file: bold frozen headers, text never a formula."""
    from openpyxl import Workbook  # 0.2 s to import: not at every start-up
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    workbook.remove(workbook.worksheets[0])
    for title, columns, rows in sheets:
        sheet = workbook.create_sheet(title)
        sheet.append([header for header, _ in columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(list(row))
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
                cell.alignment = Alignment(vertical="top", wrap_text=isinstance(cell.value, str))
        for index, (_, width) in enumerate(columns, start=1):
            sheet.column_dimensions[sheet.cell(1, index).column_letter].width = width
        sheet.freeze_panes = "A2"
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
