"""A schematic map of the 12 districts as inline SVG: tiles in rough geographic order, results marked."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from models.enums import District

CELL_W, CELL_H, GAP, MARGIN = 150, 100, 10, 10
COLUMNS, ROWS = 4, 4
WIDTH = 2 * MARGIN + COLUMNS * CELL_W + (COLUMNS - 1) * GAP
HEIGHT = 2 * MARGIN + ROWS * CELL_H + (ROWS - 1) * GAP
MARKER_R, MARKER_STEP, MARKERS_PER_ROW = 13, 29, 4

LAYOUT: dict[District, tuple[int, int, int, int]] = {
    District.beibei: (1, 0, 1, 1),
    District.yubei: (2, 0, 1, 1),
    District.liangjiang: (3, 0, 1, 2),
    District.gaoxin: (0, 1, 1, 2),
    District.shapingba: (1, 1, 1, 1),
    District.jiangbei: (2, 1, 1, 1),
    District.jiulongpo: (1, 2, 1, 1),
    District.yuzhong: (2, 2, 1, 1),
    District.nanan: (3, 2, 1, 1),
    District.dadukou: (1, 3, 1, 1),
    District.banan: (2, 3, 1, 1),
    District.jingkai: (3, 3, 1, 1),
}
"""Each district's tile as (column, row, column span, row span): 北碚 north, 渝中 centre, 巴南 south."""


@dataclass(frozen=True)
class MapMark:
    """One result placed on the map: its rank, its name (shown on hover) and its district."""

    rank: int
    name: str
    district: str


def _x(column: float) -> float:
    """Left edge of a column."""
    return MARGIN + column * (CELL_W + GAP)


def _y(row: float) -> float:
    """Top edge of a row."""
    return MARGIN + row * (CELL_H + GAP)


def _gap_x(column: int) -> float:
    """Middle of the gap to the right of a column."""
    return _x(column + 1) - GAP / 2


def _gap_y(row: int) -> float:
    """Middle of the gap below a row."""
    return _y(row + 1) - GAP / 2


def _rivers() -> str:
    """The Yangtze and the Jialing, drawn in the gaps between tiles (schematic)."""
    yangtze = f"M0 {_gap_y(2)} H{_gap_x(2)} V{_gap_y(1)} H{WIDTH}"
    jialing = f"M{_gap_x(1)} 0 V{_gap_y(1)} H{_gap_x(2)}"
    style = 'fill="none" stroke="#9cc3ea" stroke-width="7" stroke-linejoin="round"'
    label = f'<text x="{_x(0) + 8}" y="{_gap_y(2) + 22}" font-size="13" fill="#4a86c5">长江</text>'
    return f'<path d="{yangtze}" {style}/><path d="{jialing}" {style}/>{label}'


def _markers(marks: Sequence[MapMark], left: float, top: float, rows: int) -> str:
    """Numbered circles for the results of one district, wrapping onto further rows; `+N` when full."""
    room = MARKERS_PER_ROW * rows
    shown = marks if len(marks) <= room else marks[: room - 1]
    parts = []
    for index, mark in enumerate(shown):
        cx = left + 18 + (index % MARKERS_PER_ROW) * MARKER_STEP
        cy = top + 52 + (index // MARKERS_PER_ROW) * MARKER_STEP
        fill = "#1f5fbf" if mark.rank <= 3 else "#4f8ee8"
        parts.append(
            f'<a href="#result-{mark.rank}"><title>第 {mark.rank} 名 · {escape(mark.name)}</title>'
            f'<circle cx="{cx}" cy="{cy}" r="{MARKER_R}" fill="{fill}"/>'
            f'<text x="{cx}" y="{cy + 5}" font-size="13" font-weight="700" fill="#fff" '
            f'text-anchor="middle">{mark.rank}</text></a>'
        )
    if len(shown) < len(marks):
        index = len(shown)
        cx = left + 18 + (index % MARKERS_PER_ROW) * MARKER_STEP
        cy = top + 52 + (index // MARKERS_PER_ROW) * MARKER_STEP
        parts.append(
            f'<text x="{cx}" y="{cy + 5}" font-size="13" fill="#1f5fbf" text-anchor="middle">'
            f"+{len(marks) - len(shown)}</text>"
        )
    return "".join(parts)


def _tile(district: District, marks: Sequence[MapMark], preferred: bool, filtered_out: bool) -> str:
    """One district's tile: its name, how many results it holds, and their markers."""
    column, row, span_x, span_y = LAYOUT[district]
    left, top = _x(column), _y(row)
    width, height = span_x * CELL_W + (span_x - 1) * GAP, span_y * CELL_H + (span_y - 1) * GAP
    fill, stroke, ink = ("#e8f0fc", "#1f5fbf", "#1d2433") if marks else ("#fff", "#c5cdd8", "#1d2433")
    if filtered_out:
        fill, stroke, ink = "#eef0f3", "#d5dae1", "#9aa4b1"
    dash = ' stroke-dasharray="6 3"' if preferred else ""
    if preferred:
        stroke = "#b25e09"
    count = f"{len(marks)} 个" if marks else ""
    rows = (height - 38) // MARKER_STEP
    return (
        f'<g class="district" data-district="{district.value}">'
        f'<rect x="{left}" y="{top}" width="{width}" height="{height}" rx="10" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="2"{dash}/>'
        f'<text x="{left + 10}" y="{top + 25}" font-size="18" font-weight="700" fill="{ink}">'
        f"{district.label}</text>"
        f'<text x="{left + width - 8}" y="{top + 24}" font-size="13" fill="#1f5fbf" text-anchor="end">'
        f"{count}</text>"
        f"{_markers(marks, left, top, rows)}</g>"
    )


def district_map(
    marks: Sequence[MapMark], *, preferred: Collection[str] = (), only: Collection[str] = ()
) -> Markup:
    """The SVG map: results by district, preferred districts outlined, those outside `only` greyed."""
    by_district: dict[str, list[MapMark]] = {district.value: [] for district in District}
    for mark in sorted(marks, key=lambda mark: mark.rank):
        by_district.setdefault(mark.district, []).append(mark)
    summary = "；".join(
        f"{district.label} {len(by_district[district.value])} 个"
        for district in District
        if by_district[district.value]
    )
    tiles = "".join(
        _tile(
            district,
            by_district[district.value],
            district.value in preferred,
            bool(only) and district.value not in only,
        )
        for district in LAYOUT
    )
    label = escape(f"重庆中心城区示意图：{summary or '暂无结果'}")
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{label}"><title>{label}</title>{_rivers()}{tiles}</svg>'
    )
