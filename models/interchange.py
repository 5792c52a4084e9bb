"""Reading and writing interchange files (catalogue, leads): JSON Lines, CSV (`|` lists) and Excel `.xlsx`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

from models.records import LIST_SEPARATOR, FileRow
from models.row_errors import RowError

FORMATS = (".jsonl", ".csv", ".xlsx")
HEADER_ROW = 1


@dataclass(frozen=True)
class RawRow:
    """One record as read from a file, keyed by English field names, before validation."""

    number: int
    values: dict[str, Any]


def file_format(filename: str) -> str:
    """Return the format suffix of a file name, or raise ValueError naming the allowed ones."""
    suffix = Path(filename).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"不支持的文件格式「{suffix or filename}」，应为 {' / '.join(FORMATS)}")
    return suffix


def _key_lookup(record_type: type[FileRow]) -> dict[str, str]:
    """Map every accepted column name (English key or Chinese label) to its English key."""
    lookup = {key: key for key in record_type.model_fields}
    lookup.update({label: key for key, label in record_type.LABELS.items()})
    return lookup


def _decode(data: bytes) -> str:
    """Decode UTF-8 text (with or without a BOM), explaining what to do with GBK files."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        hint = ""
        try:
            data.decode("gb18030")
            hint = "看起来是 GBK/GB18030 编码，"
        except UnicodeDecodeError:
            pass
        raise _FileProblem(
            f"文件不是 UTF-8 编码（第 {line} 行起无法解码）：{hint}请用 Excel 或 WPS 另存为“CSV UTF-8”后重试"
        ) from None


class _FileProblem(Exception):
    """A problem with the file as a whole (encoding, format, empty)."""


def _map_keys(number: int, raw: dict[str, Any], lookup: dict[str, str]) -> tuple[RawRow, list[RowError]]:
    """Rename columns to English keys, reporting unknown and repeated ones."""
    values: dict[str, Any] = {}
    errors = []
    for name, value in raw.items():
        key = lookup.get(str(name).strip())
        if key is None:
            errors.append(RowError(number, str(name), "未知的字段（列名应为英文字段名或中文表头）"))
        elif key in values:
            errors.append(RowError(number, key, "字段重复出现"))
        else:
            values[key] = value
    return RawRow(number, values), errors


def _read_jsonl(data: bytes, lookup: dict[str, str]) -> tuple[list[RawRow], list[RowError]]:
    """One JSON object a line; blank lines are skipped."""
    rows, errors = [], []
    for number, line in enumerate(_decode(data).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(RowError(number, None, f"不是合法的 JSON（第 {exc.colno} 列：{exc.msg}）"))
            continue
        if not isinstance(obj, dict):
            errors.append(RowError(number, None, "每行应为一个 JSON 对象 {…}"))
            continue
        row, row_errors = _map_keys(number, obj, lookup)
        rows.append(row)
        errors.extend(row_errors)
    return rows, errors


def _table_rows(
    header: list[Any], body: Iterable[tuple[int, list[Any]]], lookup: dict[str, str]
) -> tuple[list[RawRow], list[RowError]]:
    """Turn a header row and numbered body rows (CSV or Excel) into raw rows."""
    while header and (header[-1] is None or str(header[-1]).strip() == ""):
        header.pop()
    errors = []
    names = [str(cell).strip() if cell is not None else "" for cell in header]
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        key = lookup.get(name)
        if not name:
            errors.append(RowError(HEADER_ROW, None, f"第 {position} 列没有表头"))
        elif key is None:
            errors.append(RowError(HEADER_ROW, name, "未知的列（列名应为英文字段名或中文表头）"))
        elif key in seen:
            errors.append(RowError(HEADER_ROW, name, "列重复出现"))
        else:
            seen.add(key)
    if errors:
        return [], errors
    keys = [lookup[name] for name in names]
    rows = []
    for number, cells in body:
        while cells and (cells[-1] is None or cells[-1] == ""):
            cells.pop()
        if not cells:
            continue
        if len(cells) > len(keys):
            errors.append(RowError(number, None, f"有 {len(cells)} 列数据，多于表头的 {len(keys)} 列"))
            continue
        rows.append(RawRow(number, dict(zip(keys, cells, strict=False))))
    return rows, errors


def _read_csv(data: bytes, lookup: dict[str, str]) -> tuple[list[RawRow], list[RowError]]:
    """A header row, then one record a row; list cells are `|`-separated."""
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise _FileProblem("文件为空") from None
    except csv.Error as exc:
        raise _FileProblem(f"不是合法的 CSV：{exc}") from None
    try:
        body = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise _FileProblem(f"第 {reader.line_num} 行不是合法的 CSV：{exc}") from None
    return _table_rows(list(header), body, lookup)


def _read_xlsx(data: bytes, lookup: dict[str, str]) -> tuple[list[RawRow], list[RowError]]:
    """The first sheet: a header row, then one record a row."""
    try:
        from openpyxl import load_workbook  # only Excel files need it (a quick CLI)

        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _FileProblem(f"不是有效的 .xlsx 文件（{type(exc).__name__}）") from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise _FileProblem("文件为空")
        body = [(number, list(cells)) for number, cells in enumerate(rows, start=HEADER_ROW + 1)]
        return _table_rows(list(header), body, lookup)
    finally:
        workbook.close()


_READERS = {".jsonl": _read_jsonl, ".csv": _read_csv, ".xlsx": _read_xlsx}


def read_rows(data: bytes, filename: str, record_type: type[FileRow]) -> tuple[list[RawRow], list[RowError]]:
    """Read an interchange file into raw rows plus every structural error found (row 0: whole file)."""
    try:
        reader = _READERS[file_format(filename)]
        if not data.strip():
            raise _FileProblem("文件为空")
        rows, errors = reader(data, _key_lookup(record_type))
    except (ValueError, _FileProblem) as exc:
        return [], [RowError(0, None, str(exc))]
    if not rows and not errors:
        errors.append(RowError(0, None, "文件中没有任何记录"))
    return rows, errors


def _plain(value: Any, *, chinese: bool) -> Any:
    """A JSON-ready value: enum codes (or Chinese labels), ISO dates, lists as lists."""
    if isinstance(value, Enum):
        return getattr(value, "label", value.value) if chinese else value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_plain(item, chinese=chinese) for item in value]
    return value


def _cell(value: Any, *, chinese: bool, native_dates: bool = False) -> Any:
    """A spreadsheet cell value: lists joined by `|`, booleans as words, absent as empty."""
    if native_dates and isinstance(value, date):
        return value
    plain = _plain(value, chinese=chinese)
    if isinstance(plain, list):
        return LIST_SEPARATOR.join(str(item) for item in plain)
    if isinstance(plain, bool):
        return ("是" if plain else "否") if chinese else ("true" if plain else "false")
    return plain


def _header(record_type: type[FileRow], *, chinese: bool) -> list[str]:
    """Column names in field order."""
    fields = list(record_type.model_fields)
    return [record_type.LABELS[key] for key in fields] if chinese else fields


def _jsonl_lines(records: Iterable[FileRow]) -> Iterator[str]:
    """One compact JSON object per record, leaving out absent values."""
    for record in records:
        values = {
            key: _plain(value, chinese=False) for key, value in record if value is not None and value != []
        }
        yield json.dumps(values, ensure_ascii=False) + "\n"


def write_records(
    records: Iterable[FileRow],
    path: Path,
    record_type: type[FileRow],
    *,
    chinese: bool = False,
) -> int:
    """Write records in the format of the path's suffix; return how many were written."""
    suffix = file_format(path.name)
    fields = list(record_type.model_fields)
    count = 0
    if suffix == ".jsonl":
        with path.open("w", encoding="utf-8") as handle:
            for line in _jsonl_lines(records):
                handle.write(line)
                count += 1
    elif suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(_header(record_type, chinese=chinese))
            for record in records:
                cells = (_cell(getattr(record, key), chinese=chinese) for key in fields)
                writer.writerow(["" if cell is None else cell for cell in cells])
                count += 1
    else:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(record_type.KIND)
        sheet.append(_header(record_type, chinese=chinese))
        for record in records:
            sheet.append(
                [
                    _text_cell(sheet, _cell(getattr(record, key), chinese=chinese, native_dates=True))
                    for key in fields
                ]
            )
            count += 1
        workbook.save(path)
    return count


def _text_cell(sheet: Any, value: Any) -> Any:
    """Keep strings as text so that a value starting with `=` never becomes a formula."""
    if isinstance(value, str) and value.startswith("="):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value
