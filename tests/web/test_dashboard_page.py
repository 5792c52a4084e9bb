"""The admin dashboard in the browser: charts drawn from local assets, tables with the database's figures."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.api.test_dashboard_http import assert_tables_equal, expected_tables, number, stored_records
from tests.web.conftest import LiveServer, login, no_overflow, shot

FIGURES = 7
BRAND = (31, 95, 191)
"""The first series' colour in dashboard.js: pixels of it mean bars were drawn."""

PAINT = """([red, green, blue]) => {
  const near = (value, target) => Math.abs(value - target) < 8;
  return Array.from(document.querySelectorAll('.dash-chart canvas')).map((canvas) => {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0, bars = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 0) painted++;
      if (near(data[i], red) && near(data[i + 1], green) && near(data[i + 2], blue)) bars++;
    }
    return {id: canvas.id, painted: painted, bars: bars, width: canvas.getBoundingClientRect().width};
  });
}"""

TABLES = """() => Object.fromEntries(
  Array.from(document.querySelectorAll('table[data-figure]')).map((table) => [
    table.dataset.figure,
    Array.from(table.tBodies[0].rows).map((row) => Array.from(row.cells).map((c) => c.textContent.trim())),
  ])
)"""


def _assert_charts_drawn(page: Page) -> list[dict[str, Any]]:
    """Every figure has a canvas with bars painted on it; return what was measured."""
    expect(page.locator(".dash-chart canvas")).to_have_count(FIGURES)
    canvases: list[dict[str, Any]] = page.evaluate(PAINT, list(BRAND))
    for canvas in canvases:
        assert canvas["painted"] > 1000, canvas
        assert canvas["bars"] > 100, canvas
    return canvases


def test_dashboard_draws_every_chart_with_the_database_figures(page: Page, live_server: LiveServer) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    login(page, "admin")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="指标看板").click()
    expect(page.get_by_role("heading", name="指标看板", level=1)).to_be_visible()
    _assert_charts_drawn(page)
    shown = {
        key: {row[0]: [number(cell) for cell in row[1:]] for row in rows}
        for key, rows in page.evaluate(TABLES).items()
    }
    stored = stored_records(live_server.database_url)
    assert_tables_equal(
        shown, expected_tables(stored["buildings"], stored["enterprises"], stored["scenarios"])
    )
    shares = [figures[1] for figures in shown["recommendations"].values()]
    assert abs(sum(shares) - 100.0) < 0.7
    assert 0 < sum(figures[0] for figures in shown["recommendations"].values()) <= 300
    expect(page.get_by_text("推荐集中度 HHI")).to_be_visible()
    assert requested
    assert all(url.startswith(live_server.url) for url in requested), "只应请求本站资源（不用 CDN）"
    assert any(url.endswith("/static/vendor/chart.umd.min.js") for url in requested)
    shot(page, "dashboard-desktop")


def test_dashboard_fits_a_phone(phone: Page) -> None:
    login(phone, "admin")
    phone.goto("/admin/dashboard")
    canvases = _assert_charts_drawn(phone)
    assert all(canvas["width"] <= 390 for canvas in canvases)
    no_overflow(phone)
    shot(phone, "dashboard-phone")
