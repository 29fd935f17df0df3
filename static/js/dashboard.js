/* Province dashboard charts (Chart.js). Data comes from the json_script "dashboard-data";
   every chart has a data table next to it as its text alternative. No inline script (CSP). */
(function () {
  "use strict";
  var el = document.getElementById("dashboard-data");
  if (!el || typeof Chart === "undefined") { return; }
  var data = JSON.parse(el.textContent);
  var locale = data.locale || "vi";
  var fmt = new Intl.NumberFormat(locale, { maximumFractionDigits: 2, minimumFractionDigits: 0 });
  var colors = { self_assessed: "#9DC3E6", appraised: "#1F4E79", final: "#C55A11", max: "#D9D9D9" };
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.locale = locale;
  // No animation: figures are read, not watched (and screenshots/prints show the real values).
  Chart.defaults.animation = false;

  function tooltipLabel(ctx) {
    return ctx.dataset.label + ": " + (ctx.parsed.y === null ? "—" : fmt.format(ctx.parsed.y));
  }

  var mains = document.getElementById("chart-mains");
  if (mains && data.mains.labels.length) {
    new Chart(mains, {
      type: "bar",
      data: {
        labels: data.mains.labels,
        datasets: [
          { label: data.series_labels.self_assessed, data: data.mains.self_assessed, backgroundColor: colors.self_assessed },
          { label: data.series_labels.appraised, data: data.mains.appraised, backgroundColor: colors.appraised },
          { label: data.series_labels.max, data: data.mains.max, backgroundColor: colors.max }
        ]
      },
      options: {
        responsive: true, maintainAspectRatio: false,
        plugins: {
          tooltip: { callbacks: { label: tooltipLabel, title: function (items) {
            var i = items[0].dataIndex; return data.mains.labels[i] + ". " + data.mains.names[i];
          } } }
        },
        scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return fmt.format(v); } } } },
        onClick: function (evt, elements) {
          if (!elements.length) { return; }
          var code = data.mains.labels[elements[0].index];
          var link = document.querySelector('#table-mains tr[data-code="' + CSS.escape(code) + '"] a');
          if (link) { window.location.href = link.href; }
        }
      }
    });
  }

  var trend = document.getElementById("chart-trend");
  if (trend && data.trend.labels.length) {
    var sets = [];
    // A period without data is null: drawn as a gap (spanGaps off), never as a drop to 0.
    ["self_assessed", "appraised", "final"].forEach(function (k) {
      if (data.trend[k].some(function (v) { return v !== null; })) {
        sets.push({ label: data.series_labels[k], data: data.trend[k], borderColor: colors[k],
                    backgroundColor: colors[k], tension: 0.2, spanGaps: false });
      }
    });
    if (data.trend.target !== null) {
      sets.push({ label: data.series_labels.target, data: data.trend.labels.map(function () { return data.trend.target; }),
                  borderColor: "#C00000", borderDash: [6, 4], pointRadius: 0, fill: false });
    }
    new Chart(trend, {
      type: "line",
      data: { labels: data.trend.labels, datasets: sets },
      options: {
        responsive: true, maintainAspectRatio: false,
        plugins: { tooltip: { callbacks: { label: tooltipLabel } } },
        scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return fmt.format(v); } } } }
      }
    });
  }
})();
