// TradAI web app: charts (lightweight-charts) and small conveniences. The
// pages work without it; it adds charts and saves a click.
(function () {
  "use strict";
  var palette = ["#0b5cad", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#1098ad", "#e67700", "#5c7cfa", "#495057", "#a61e4d"];

  function ready(el) { el.setAttribute("data-ready", "true"); }

  function chartOptions() {
    return {
      autoSize: true,
      layout: { attributionLogo: true, textColor: "#1b1f24", background: { color: "#ffffff" } },
      grid: { vertLines: { color: "#eef1f4" }, horzLines: { color: "#eef1f4" } },
      timeScale: { timeVisible: true, secondsVisible: false },
      localization: { locale: "en-GB" }
    };
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error(url + ": " + r.status); }
      return r.json();
    });
  }

  function equity(el, LC) {
    getJSON(el.dataset.src).then(function (d) {
      var chart = LC.createChart(el, chartOptions());
      var eq = chart.addSeries(LC.LineSeries, { color: "#0b5cad", lineWidth: 2, title: "equity" });
      eq.setData(d.equity || []);
      if (d.benchmark && d.benchmark.length) {
        var b = chart.addSeries(LC.LineSeries, { color: "#868e96", lineWidth: 1, lineStyle: 2, title: "buy and hold" });
        b.setData(d.benchmark);
      }
      var dd = chart.addSeries(LC.AreaSeries, { lineColor: "#b3261e", topColor: "rgba(179,38,30,0.05)", bottomColor: "rgba(179,38,30,0.35)", lineWidth: 1, title: "drawdown %" }, 1);
      dd.setData(d.drawdown || []);
      chart.timeScale().fitContent();
      ready(el);
    }).catch(function (e) { el.textContent = "The chart could not be loaded (" + e.message + ")."; });
  }

  function candles(el, LC, pair) {
    var note = document.querySelector("[data-chart-note]");
    el.removeAttribute("data-ready");
    if (el._chart) { el._chart.remove(); el._chart = null; }
    getJSON(el.dataset.src + "?pair=" + encodeURIComponent(pair)).then(function (d) {
      var chart = LC.createChart(el, chartOptions());
      el._chart = chart;
      var c = chart.addSeries(LC.CandlestickSeries, { upColor: "#2b8a3e", downColor: "#c92a2a", borderVisible: false, wickUpColor: "#2b8a3e", wickDownColor: "#c92a2a" });
      c.setData(d.candles || []);
      LC.createSeriesMarkers(c, d.markers || []);
      if (d.stops && d.stops.length) {
        var st = chart.addSeries(LC.LineSeries, { color: "#e03131", lineWidth: 1, lineStyle: 1, lastValueVisible: false, priceLineVisible: false });
        st.setData(d.stops);
      }
      if (d.roi && d.roi.length) {
        var roi = chart.addSeries(LC.LineSeries, { color: "#2f9e44", lineWidth: 1, lineStyle: 1, lineType: 1, lastValueVisible: false, priceLineVisible: false });
        roi.setData(d.roi);
      }
      chart.timeScale().fitContent();
      if (note) { note.textContent = d.note || ""; }
      el.setAttribute("aria-label", "Candles of " + d.pair + " with " + (d.markers || []).length / 2 + " trades");
      ready(el);
    }).catch(function (e) { el.textContent = "The chart could not be loaded (" + e.message + ")."; });
  }

  function compare(el, LC) {
    var src = document.getElementById("compare-data");
    if (!src) { return; }
    var series = JSON.parse(src.textContent);
    var chart = LC.createChart(el, chartOptions());
    var legend = document.querySelector("[data-legend]");
    series.forEach(function (s, i) {
      var color = palette[i % palette.length];
      var line = chart.addSeries(LC.LineSeries, { color: color, lineWidth: 2, title: s.id });
      line.setData(s.points || []);
      if (legend) {
        var li = document.createElement("li");
        li.style.setProperty("--c", color);
        li.textContent = s.label;
        legend.appendChild(li);
      }
    });
    chart.timeScale().fitContent();
    ready(el);
  }

  // A run's page while the run is queued or running: once its status
  // (refreshed by htmx) is final, reload to show the results.
  function reloadWhenDone() {
    if (!document.querySelector("[data-reload-when-done]")) { return; }
    var done = function () { return document.querySelector(".facts [data-final]"); };
    var obs = new MutationObserver(function () {
      if (done()) { obs.disconnect(); window.location.reload(); }
    });
    obs.observe(document.body, { childList: true, subtree: true });
  }

  function init() {
    reloadWhenDone();
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (sel) {
      sel.addEventListener("change", function () { sel.form.submit(); });
    });
    var LC = window.LightweightCharts;
    if (!LC) { return; }
    document.querySelectorAll("[data-chart=equity]").forEach(function (el) { equity(el, LC); });
    document.querySelectorAll("[data-chart=compare]").forEach(function (el) { compare(el, LC); });
    document.querySelectorAll("[data-chart=candles]").forEach(function (el) {
      candles(el, LC, el.dataset.pair);
      var form = document.querySelector("form[data-pair-form]");
      if (form) {
        form.addEventListener("submit", function (ev) {
          ev.preventDefault();
          candles(el, LC, form.elements.pair.value);
        });
        form.elements.pair.addEventListener("change", function () { candles(el, LC, form.elements.pair.value); });
      }
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
