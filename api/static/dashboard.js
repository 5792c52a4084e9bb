// Draws the dashboard's bar charts with the locally served Chart.js; the figures come from the
// page's <script type="application/json" id="dashboard-data"> block (the tables show the same numbers).
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  var COLOURS = ["#1f5fbf", "#f0a030", "#1d8a4e", "#8e5cc4", "#c0392b"];
  var styles = getComputedStyle(document.body);
  Chart.defaults.font.family = styles.fontFamily;
  Chart.defaults.color = "#1d2433";

  // A number with Chinese digit grouping, and its unit.
  function withUnit(value, unit) {
    var digits = unit === "%" ? 1 : 0;
    var text = Number(value).toLocaleString("zh-CN", { maximumFractionDigits: digits });
    return unit === "%" ? text + "%" : text + " " + unit;
  }

  // Height of a chart's box: every label gets a band of its own, so that labels never overlap.
  function boxHeight(figure) {
    var bars = figure.stacked ? 1 : figure.series.length;
    return figure.labels.length * (14 + 12 * bars) + 90;
  }

  function draw(figure) {
    var canvas = document.getElementById("chart-" + figure.key);
    if (!canvas) {
      return;
    }
    canvas.parentElement.style.height = boxHeight(figure) + "px";
    var valueAxis = {
      stacked: figure.stacked,
      beginAtZero: true,
      title: { display: true, text: figure.unit },
      ticks: { callback: function (value) { return Number(value).toLocaleString("zh-CN"); } },
    };
    var labelAxis = { stacked: figure.stacked, ticks: { autoSkip: false } };
    // Horizontal bars: long Chinese labels stay readable on a phone, and the unit title is never rotated.
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: figure.labels,
        datasets: figure.series.map(function (series, index) {
          return { label: series.label, data: series.values, backgroundColor: COLOURS[index % COLOURS.length] };
        }),
      },
      options: {
        indexAxis: "y",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: figure.series.length > 1, position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (context) {
                var series = figure.series[context.datasetIndex];
                return series.label + "：" + withUnit(context.raw, series.unit);
              },
            },
          },
        },
        scales: { x: valueAxis, y: labelAxis },
      },
    });
  }

  JSON.parse(source.textContent).forEach(draw);
})();
