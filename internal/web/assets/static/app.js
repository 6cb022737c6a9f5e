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
      el._equity = eq;
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

  // line turns a line's columns into points; a point's colour is that of
  // the segment to the next one (transparent: left out).
  function line(cols, color) {
    var out = [], t = cols.t || [], v = cols.v || [], on = cols.on || [];
    for (var i = 0; i < t.length; i++) {
      out.push({ time: t[i], value: v[i], color: on[i] ? color : "rgba(0,0,0,0)" });
    }
    return out;
  }

  function candles(el, LC, pair) {
    var note = document.querySelector("[data-chart-note]");
    el.removeAttribute("data-ready");
    if (el._chart) { el._chart.remove(); el._chart = null; }
    getJSON(el.dataset.src + "?pair=" + encodeURIComponent(pair)).then(function (d) {
      var chart = LC.createChart(el, chartOptions());
      el._chart = chart;
      var c = chart.addSeries(LC.CandlestickSeries, { upColor: "#2b8a3e", downColor: "#c92a2a", borderVisible: false, wickUpColor: "#2b8a3e", wickDownColor: "#c92a2a" });
      var k = d.candles, bars = new Array((k.t || []).length);
      for (var i = 0; i < bars.length; i++) {
        bars[i] = { time: k.t[i], open: k.o[i], high: k.h[i], low: k.l[i], close: k.c[i] };
      }
      c.setData(bars);
      var tr = d.trades, n = (tr.o || []).length, markers = [];
      for (var j = 0; j < n; j++) {
        markers.push({ time: tr.o[j], position: tr.s[j] ? "aboveBar" : "belowBar", shape: tr.s[j] ? "arrowDown" : "arrowUp", color: "#1565c0", text: "entry" });
        markers.push({ time: tr.c[j], position: "aboveBar", shape: "circle", color: tr.w[j] ? "#2e7d32" : "#c62828", text: tr.r[j] });
      }
      LC.createSeriesMarkers(c, markers);
      if ((d.stops.t || []).length) {
        chart.addSeries(LC.LineSeries, { color: "#e03131", lineWidth: 1, lineStyle: 1, lastValueVisible: false, priceLineVisible: false }).setData(line(d.stops, "#e03131"));
      }
      if ((d.roi.t || []).length) {
        chart.addSeries(LC.LineSeries, { color: "#2f9e44", lineWidth: 1, lineStyle: 1, lineType: 1, lastValueVisible: false, priceLineVisible: false }).setData(line(d.roi, "#2f9e44"));
      }
      chart.timeScale().fitContent();
      if (note) { note.textContent = d.note || ""; }
      el.setAttribute("aria-label", "Candles of " + d.pair + " with " + n + " trades");
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

  // convergence is a study's loss by trial number (dots) and the best
  // loss so far (a line), on a numeric horizontal scale.
  function convergence(el, LC) {
    getJSON(el.dataset.src).then(function (d) {
      var opts = chartOptions();
      opts.timeScale = {};
      var chart = LC.createOptionsChart(el, opts);
      var loss = chart.addSeries(LC.LineSeries, { color: "#868e96", lineVisible: false, pointMarkersVisible: true, pointMarkersRadius: 2, title: "loss", lastValueVisible: false, priceLineVisible: false });
      loss.setData(d.loss || []);
      var best = chart.addSeries(LC.LineSeries, { color: "#0b5cad", lineWidth: 2, lineType: 1, title: "best" });
      best.setData(d.best || []);
      chart.timeScale().fitContent();
      el.setAttribute("data-points", String((d.loss || []).length));
      ready(el);
    }).catch(function (e) { el.textContent = "The chart could not be loaded (" + e.message + ")."; });
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

  // follow streams a deployment's live part (server-sent events): each
  // "live" event replaces it (without the htmx polling it started with),
  // each "equity" mark extends the equity chart; "end" closes the stream.
  // Without EventSource the polling stays.
  function follow(live) {
    if (!window.EventSource) { return; }
    var es = new EventSource(live.dataset.events);
    es.addEventListener("live", function (ev) {
      var cur = document.getElementById("deployment-live");
      if (cur) { cur.outerHTML = ev.data; }
    });
    es.addEventListener("equity", function (ev) {
      var el = document.querySelector("[data-chart=equity]");
      var p = JSON.parse(ev.data);
      if (el && el._equity) {
        try { el._equity.update(p); } catch (e) { /* a mark older than the chart's last */ }
      }
      if (el) { el.setAttribute("data-last-mark", String(p.time)); }
    });
    es.addEventListener("end", function () { es.close(); });
  }

  function init() {
    reloadWhenDone();
    var live = document.querySelector("#deployment-live[data-events]");
    if (live) { follow(live); }
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (sel) {
      sel.addEventListener("change", function () { sel.form.submit(); });
    });
    var LC = window.LightweightCharts;
    if (!LC) { return; }
    document.querySelectorAll("[data-chart=equity]").forEach(function (el) { equity(el, LC); });
    document.querySelectorAll("[data-chart=convergence]").forEach(function (el) { convergence(el, LC); });
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
