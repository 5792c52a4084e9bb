"""Row-level errors of an import, with the validation messages translated into Chinese."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

_MESSAGES = {
    "missing": "必填项缺失",
    "extra_forbidden": "未知的字段",
    "float_parsing": "应为数字，实际为「{input}」",
    "float_type": "应为数字，实际为「{input}」",
    "finite_number": "应为有限的数字，实际为「{input}」",
    "int_parsing": "应为整数，实际为「{input}」",
    "int_type": "应为整数，实际为「{input}」",
    "int_from_float": "应为整数，实际为「{input}」",
    "bool_parsing": "应为 是/否（true/false），实际为「{input}」",
    "bool_type": "应为 是/否（true/false），实际为「{input}」",
    "greater_than": "应大于 {gt}，实际为 {input}",
    "greater_than_equal": "应不小于 {ge}，实际为 {input}",
    "less_than": "应小于 {lt}，实际为 {input}",
    "less_than_equal": "应不大于 {le}，实际为 {input}",
    "string_too_short": "不能为空",
    "string_too_long": "长度不能超过 {max_length} 个字符",
    "string_type": "应为文本，实际为「{input}」",
    "list_type": "应为列表（CSV 和 Excel 中用 | 分隔），实际为「{input}」",
    "date_parsing": "应为日期（YYYY-MM-DD），实际为「{input}」",
    "date_type": "应为日期（YYYY-MM-DD），实际为「{input}」",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD），实际为「{input}」",
    "date_from_datetime_inexact": "应为日期（YYYY-MM-DD），不含时间，实际为「{input}」",
    "model_type": "应为一条记录（JSON 对象）",
    "dict_type": "应为一条记录（JSON 对象）",
}
_LONG_INPUT = 60


@dataclass(frozen=True)
class RowError:
    """One problem in an import file: its row (0 for the whole file), field and reason."""

    row: int
    field: str | None
    message: str
    label: str | None = None

    def __str__(self) -> str:
        """Render as a person reads it: `第 3 行，district（所在区）：未知的区…`."""
        where = "文件" if self.row == 0 else f"第 {self.row} 行"
        if self.field is None:
            return f"{where}：{self.message}"
        name = f"{self.field}（{self.label}）" if self.label and self.label != self.field else self.field
        return f"{where}，{name}：{self.message}"


class ImportRejected(Exception):
    """A file that was rejected whole; `errors` lists every bad row."""

    def __init__(self, errors: list[RowError]) -> None:
        """Keep the errors, sorted by row."""
        self.errors = sorted(errors, key=lambda error: (error.row, error.field or ""))
        super().__init__(f"导入被拒绝：{len(self.errors)} 处错误，未写入任何数据")


def _shorten(value: Any) -> str:
    """Quote an input value briefly enough for a one-line message."""
    text = str(value)
    return text if len(text) <= _LONG_INPUT else text[:_LONG_INPUT] + "…"


def _is_number(value: object) -> bool:
    """An int or a float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: float) -> str:
    """A limit as people write it: 1,000,000 rather than 1e+06 or 1000000; 0.5 as 0.5."""
    return f"{value:,.0f}" if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


def describe(error: ErrorDetails) -> tuple[str | None, str]:
    """Return the field an error names and its reason in Chinese."""
    ctx = error.get("ctx") or {}
    if error["type"] == "cross_field":
        return str(ctx["field"]), str(ctx["message"])
    field = str(error["loc"][0]) if error["loc"] else None
    if error["type"] == "value_error":
        return field, str(ctx.get("error", error["msg"]))
    template = _MESSAGES.get(error["type"])
    if template is None:
        return field, error["msg"]
    values = {key: (_number(value) if _is_number(value) else value) for key, value in ctx.items()}
    return field, template.format(input=_shorten(error.get("input")), **values)


def row_errors(row: int, exc: ValidationError, labels: dict[str, str]) -> list[RowError]:
    """Translate a validation error of one row into row errors, one per field."""
    errors = []
    for error in exc.errors(include_url=False):
        field, message = describe(error)
        errors.append(RowError(row, field, message, labels.get(field) if field else None))
    return errors
