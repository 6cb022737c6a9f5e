(function () {
  "use strict";
  // Sortable tables: click a header to sort by its column (numbers by the
  // cell's data-v), click again to reverse. The trade list sorts its data
  // instead (below).
  document.querySelectorAll("table.sortable:not(.trades)").forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var numeric = th.dataset.type === "num";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var key = function (row) {
          var cell = row.cells[col];
          var v = cell.dataset.v !== undefined ? cell.dataset.v : cell.textContent.trim();
          return numeric ? parseFloat(v) : v.toLowerCase();
        };
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var c = numeric ? x - y : (x < y ? -1 : x > y ? 1 : 0);
          return asc ? c : -c;
        });
        var frag = document.createDocumentFragment();
        rows.forEach(function (r) { frag.appendChild(r); });
        body.appendChild(frag);
      });
    });
  });

  // Trade list: drawn a page at a time from the embedded data, sorted over
  // every trade, all rows while printing, downloadable as CSV.
  // expandTrades rebuilds the rows of the compact trade data (see
  // tradewire.go): per row, each column's text and value, then its tone.
  // begin expandTrades
  function expandTrades(w) {
    // goG is the number as Go's strconv.FormatFloat(x, 'g', -1, 64).
    var goG = function (x) {
      if (x === 0) return 1 / x < 0 ? "-0" : "0";
      var a = Math.abs(x);
      if (a >= 1e-4 && a < 1e6) return String(x); // Go's 'g' writes these without an exponent too
      var sign = x < 0 ? "-" : "", s = String(Math.abs(x)), k = s.indexOf("e"), digits, e;
      if (k >= 0) {
        digits = s.slice(0, k).replace(".", "");
        e = +s.slice(k + 1);
      } else {
        var dot = s.indexOf("."), ip = dot < 0 ? s : s.slice(0, dot), all = ip + (dot < 0 ? "" : s.slice(dot + 1));
        var lead = all.length - all.replace(/^0+/, "").length;
        digits = all.slice(lead).replace(/0+$/, "");
        e = ip.length - 1 - lead;
      }
      if (e >= -4 && e < 6) return sign + s;
      var ae = Math.abs(e);
      return sign + digits.charAt(0) + (digits.length > 1 ? "." + digits.slice(1) : "") + "e" + (e < 0 ? "-" : "+") + (ae < 10 ? "0" : "") + ae;
    };
    var fixed = function (x, d) {
      var s = x.toFixed(d);
      if (s.charAt(0) === "-" && /^[0.]*$/.test(s.slice(1))) s = s.slice(1);
      return s;
    };
    var grouped = function (x, d) {
      var s = fixed(x, d), neg = s.charAt(0) === "-";
      if (neg) s = s.slice(1);
      var dot = s.indexOf("."), ip = dot < 0 ? s : s.slice(0, dot), out = "";
      for (var i = 0; i < ip.length; i++) {
        if (i > 0 && (ip.length - i) % 3 === 0) out += ",";
        out += ip.charAt(i);
      }
      return (neg ? "-" : "") + out + (dot < 0 ? "" : s.slice(dot));
    };
    var plus = function (s, zeros) { return s.charAt(0) !== "-" && zeros.test(s) ? "+" + s : s; };
    var autoDec = function (x) {
      var a = Math.abs(x);
      return a >= 100 || a === 0 ? 2 : a >= 1 ? 3 : a >= 0.01 ? 4 : 6;
    };
    var pad2 = function (n) { return (n < 10 ? "0" : "") + n; };
    var dur = function (m) {
      m = Math.round(m);
      if (m < 0) return "-" + dur(-m);
      if (m < 60) return m + "m";
      if (m < 1440) return Math.floor(m / 60) + "h " + pad2(m % 60) + "m";
      return Math.floor(m / 1440) + "d " + Math.floor(m % 1440 / 60) + "h";
    };
    var formats = {
      price: function (x) {
        var a = Math.abs(x);
        return a === 0 ? "0" : fixed(x, a >= 1000 ? 2 : a >= 10 ? 3 : a >= 1 ? 4 : a >= 0.01 ? 6 : 8);
      },
      grouped2: function (x) { return grouped(x, 2); },
      lev: function (x) { return fixed(x, 1) + "\u00d7"; },
      pct: function (x) { return plus(fixed(x * 100, 2), /[1-9]/) + "%"; },
      auto: function (x) { return plus(grouped(x, autoDec(x)), /[1-9]/); },
      dur: dur,
      tone: function (x) { return x > 0 ? "pos" : x < 0 ? "neg" : ""; }
    };
    // decode rebuilds a column from its encoding e; base is the column's
    // other encoding (for times sent once), values the values a format
    // formats.
    var decode = function (e, base, values) {
      var out = new Array(w.n), i;
      if (e.seq) {
        for (i = 0; i < w.n; i++) out[i] = String(i + 1);
      } else if (e.dict) {
        for (i = 0; i < w.n; i++) out[i] = e.dict[e.idx ? e.idx[i] : 0];
      } else if (e.list) {
        out = e.list;
      } else if (e.num) {
        for (i = 0; i < w.n; i++) out[i] = e.num[i] === null ? "" : goG(e.num[i]);
      } else if (e.f64 !== undefined) {
        var bin = atob(e.f64), bytes = new Uint8Array(bin.length);
        for (i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        var dv = new DataView(bytes.buffer), x;
        for (i = 0; i < w.n; i++) {
          x = dv.getFloat64(8 * i, true);
          out[i] = x !== x ? "" : goG(x);
        }
      } else if (e.fmt) {
        var f = formats[e.fmt];
        for (i = 0; i < w.n; i++) {
          if (e.fix && e.fix[i] !== undefined) out[i] = e.fix[i];
          else if (values[i] === "" && e.none !== undefined) out[i] = e.none;
          else out[i] = f(parseFloat(values[i]));
        }
      } else {
        var at = e.at || base.at, t = e.at ? e.time : base.time, step = e.at ? e.step : base.step;
        for (i = 0; i < w.n; i++) {
          if (at[i] === null) { out[i] = e.none; continue; }
          t += at[i] * step;
          var s = new Date(t).toISOString();
          out[i] = e.as === "minute" ? s.slice(0, 10) + " " + s.slice(11, 16)
            : s.slice(0, 19) + s.slice(19, 23).replace(/\.?0+$/, "") + "Z";
        }
      }
      return out;
    };
    // The texts of a formatted column are made when first asked for
    // (text below): a page of the table shows a hundred rows of
    // thousands.
    var lazy = [], cols = [], c, i;
    for (c = 0; c < w.cols.length; c++) {
      var te = w.text[c], ve = w.value[c], text, value;
      if (te.fmt) {
        value = decode(ve, te);
        text = new Array(w.n);
        lazy[c] = { f: formats[te.fmt], e: te };
      } else if (te.as && !te.at) {
        value = decode(ve, te);
        text = decode(te, ve, value);
      } else {
        text = decode(te);
        value = ve ? decode(ve, te) : text;
      }
      cols.push(text, value);
    }
    cols.push(decode(w.tone, null, cols[2 * w.tone.of + 1]));
    var rows = new Array(w.n);
    for (i = 0; i < w.n; i++) {
      var r = new Array(cols.length);
      for (c = 0; c < cols.length; c++) r[c] = cols[c][i];
      rows[i] = r;
    }
    // text is the text shown in column c of row r (a row of rows, in
    // whatever order).
    var textOf = function (r, c) {
      var s = r[2 * c], z = lazy[c];
      if (s === undefined && z) {
        var k = +r[0] - 1, v = r[2 * c + 1];
        s = z.e.fix && z.e.fix[k] !== undefined ? z.e.fix[k] : v === "" && z.e.none !== undefined ? z.e.none : z.f(parseFloat(v));
        r[2 * c] = s;
      }
      return s;
    };
    return { file: w.file, cols: w.cols, rows: rows, text: textOf };
  }
  // end expandTrades
  // expandMarks rebuilds the trades on a price chart from their columns
  // (marksWire in tradewire.go), the trade list's data and the chart's
  // mapping (left, top, width, height, first and last time, lowest and
  // highest value): each trade's markers and where its levels end.
  // begin expandMarks
  function expandMarks(w, data, map) {
    var col = {};
    data.cols.forEach(function (c, i) { col[c.csv] = 2 * i + 1; });
    var left = map[0], top = map[1], width = map[2], height = map[3], t0 = map[4], t1 = map[5], lo = map[6], hi = map[7];
    var r1 = function (x) { return Math.round(x * 10) / 10; };
    var perMs = width / Math.max(t1 - t0, 1);
    var xOf = function (t) { return left + (t - t0) / (t1 - t0) * width; };
    var yOf = function (v) { return top + (hi - v) / (hi - lo) * height; };
    var out = [], n = 0, i, k;
    for (i = 0; i < w.dn.length; i++) {
      n += w.dn[i];
      var row = data.rows[n - 1], open = Date.parse(row[col.open_date]), end = t1;
      var m = { n: n, "in": [r1(xOf(open)), r1(yOf(parseFloat(row[col.open_rate])))] };
      if (row[col.close_date]) {
        end = Date.parse(row[col.close_date]);
        m.out = [r1(xOf(end)), r1(yOf(parseFloat(row[col.close_rate])))];
      }
      var x0 = xOf(open), scale = Math.max(perMs, w.span / Math.max(end - open, 60000));
      var xAt = function (t) { return r1(x0 + (t - open) * scale); };
      m.end = xAt(end);
      var note = [], p;
      if ((p = w.sl0 && w.sl0[i]) !== null && p !== undefined) {
        m.sl0 = r1(yOf(parseFloat(p)));
        note.push("stop " + p);
        if ((p = w.sl && w.sl[i]) !== null && p !== undefined) {
          m.sl = r1(yOf(parseFloat(p)));
          note[0] += " \u2192 " + p;
        }
      }
      if ((p = w.liq && w.liq[i]) !== null && p !== undefined) {
        m.liq = r1(yOf(parseFloat(p)));
        note.push("liquidation " + p);
      }
      var roi = w.roi && w.roi[i], prices = [];
      for (k = 0; roi && k < roi.length; k++) {
        if (roi[k] === null) continue;
        var to = k + 1 < w.roiMin.length ? Math.min(end, open + w.roiMin[k + 1] * 60000) : end;
        (m.roi = m.roi || []).push([xAt(open + w.roiMin[k] * 60000), xAt(to), r1(yOf(parseFloat(roi[k])))]);
        prices.push(roi[k]);
      }
      if (prices.length) note.push("ROI " + prices.join(" \u2192 "));
      if (note.length) m.note = note.join(" \u00b7 ");
      out.push(m);
    }
    return out;
  }
  // end expandMarks
  // tradeData is the expanded trade data, null without trades.
  var tradeData = null;
  // showOnChart(n) selects trade n's pair and shows the trade on its price
  // chart; set by the pairs section.
  var showOnChart = null;
  var tradeList = function (data) {
    var cols = data.cols, rows = data.rows.slice();
    var section = document.getElementById("trades");
    var table = section.querySelector("table.trades");
    var body = table.tBodies[0];
    var heads = table.tHead.rows[0].cells;
    var pagers = section.querySelectorAll(".pager");
    var sizes = [100, 500, 1000, 0]; // 0: all
    var size = 100, page = 0;
    var pages = function () { return size ? Math.max(1, Math.ceil(rows.length / size)) : 1; };
    var cell = function (row, c) {
      var td = document.createElement("td");
      var text = data.text(row, c), kind = cols[c].kind;
      if (kind === "side") {
        var span = document.createElement("span");
        span.className = "side " + text;
        span.textContent = text;
        td.appendChild(span);
      } else {
        td.textContent = text;
        if (kind === "tone") td.className = row[row.length - 1];
        else if (kind) td.className = kind;
      }
      return td;
    };
    var draw = function (all) {
      var from = all || !size ? 0 : page * size;
      var to = all || !size ? rows.length : Math.min(rows.length, from + size);
      var frag = document.createDocumentFragment();
      for (var i = from; i < to; i++) {
        var tr = document.createElement("tr");
        for (var c = 0; c < cols.length; c++) tr.appendChild(cell(rows[i], c));
        tr.dataset.n = rows[i][0];
        frag.appendChild(tr);
      }
      body.textContent = "";
      body.appendChild(frag);
      pagers.forEach(function (p) {
        p.hidden = rows.length <= sizes[0];
        p.querySelector(".pos").textContent = "Page " + (page + 1) + " of " + pages() +
          " · trades " + (to > from ? from + 1 : 0) + "–" + to + " of " + rows.length;
        p.querySelector(".first").disabled = p.querySelector(".prev").disabled = page === 0;
        p.querySelector(".next").disabled = p.querySelector(".last").disabled = page >= pages() - 1;
        p.querySelector("select").value = String(size);
      });
    };
    var go = function (to) { page = Math.max(0, Math.min(pages() - 1, to)); draw(false); };
    pagers.forEach(function (p) {
      var button = function (cls, label, to) {
        var b = document.createElement("button");
        b.type = "button"; b.className = cls; b.textContent = label;
        b.addEventListener("click", function () { go(to()); });
        p.appendChild(b);
      };
      button("first", "«", function () { return 0; });
      button("prev", "‹", function () { return page - 1; });
      var pos = document.createElement("span");
      pos.className = "pos";
      p.appendChild(pos);
      button("next", "›", function () { return page + 1; });
      button("last", "»", function () { return pages() - 1; });
      var sel = document.createElement("select");
      sizes.forEach(function (n) {
        var o = document.createElement("option");
        o.value = String(n); o.textContent = n ? n + " per page" : "all";
        sel.appendChild(o);
      });
      sel.addEventListener("change", function () { size = parseInt(sel.value, 10); go(0); });
      p.appendChild(sel);
    });
    Array.prototype.forEach.call(heads, function (th, c) {
      th.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var key = cols[c].num
          ? function (r) { var v = parseFloat(r[2 * c + 1]); return v === v ? v : -1e308; /* no value first */ }
          : function (r) { return r[2 * c + 1].toLowerCase(); };
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var d = x < y ? -1 : x > y ? 1 : 0;
          return asc ? d : -d;
        });
        go(0);
      });
    });
    // A click on a trade shows it on its pair's price chart.
    body.addEventListener("click", function (ev) {
      var tr = ev.target.closest("tr");
      if (tr && showOnChart) showOnChart(parseInt(tr.dataset.n, 10));
    });
    window.addEventListener("beforeprint", function () { draw(true); });
    window.addEventListener("afterprint", function () { draw(false); });

    var csvButton = section.querySelector(".csv-button");
    csvButton.hidden = false;
    csvButton.addEventListener("click", function () {
      var quote = function (v) { return /[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; };
      var lines = [cols.map(function (c) { return quote(c.csv); }).join(",")];
      data.rows.forEach(function (r) {
        lines.push(cols.map(function (c, i) { return quote(r[2 * i + 1]); }).join(","));
      });
      var url = URL.createObjectURL(new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" }));
      var a = document.createElement("a");
      a.download = data.file;
      a.setAttribute("href", url);
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    });
    draw(false);
  };
  var tradeEl = document.getElementById("trade-data");
  if (tradeEl) {
    tradeData = expandTrades(JSON.parse(tradeEl.textContent));
    tradeList(tradeData);
  }

  // Pairs: a tab per pair shows its panel. Over a price chart the pointer
  // picks the nearest trade marker: the trade's entry, exit, profit and
  // exit reason (from the trade list's data) and its stop-loss and ROI
  // levels over its life; away from the markers, the time and price under
  // the pointer.
  (function () {
    var section = document.getElementById("pairs");
    if (!section) return;
    var tabs = section.querySelectorAll(".pair-tab");
    var panels = section.querySelectorAll(".pair-panel");
    var select = function (t) {
      tabs.forEach(function (u) { u.setAttribute("aria-selected", u === t ? "true" : "false"); });
      panels.forEach(function (p) { p.hidden = p.dataset.pair !== t.dataset.pair; });
    };
    tabs.forEach(function (t) { t.addEventListener("click", function () { select(t); }); });
    var pinned = []; // per panel: show trade n, or false when the panel lacks it
    var col = null; // column of each CSV name, once asked for
    var text = function (row, name) {
      if (!col) {
        col = {};
        tradeData.cols.forEach(function (c, i) { col[c.csv] = i; });
      }
      return col[name] === undefined ? "" : tradeData.text(row, col[name]);
    };
    panels.forEach(function (panel) {
      var layer = panel.querySelector(".trade-sel");
      if (!layer) return;
      var svg = layer.ownerSVGElement;
      var tip = panel.querySelector(".trade-tip");
      var map = JSON.parse(layer.getAttribute("data-map"));
      var left = map[0], top = map[1], width = map[2], height = map[3];
      var marks = [], loaded = false, shown = null;
      // load expands the chart's marks when first needed.
      var load = function () {
        if (loaded || !tradeData) return;
        marks = expandMarks(JSON.parse(panel.querySelector(".pair-marks").textContent), tradeData, map);
        loaded = true;
      };
      var add = function (name, attrs) {
        var e = document.createElementNS(svg.namespaceURI, name);
        for (var k in attrs) e.setAttribute(k, attrs[k]);
        layer.appendChild(e);
      };
      var level = function (cls, x0, x1, y) {
        if (y !== undefined && y !== null) add("line", { "class": cls, x1: x0, x2: x1, y1: y, y2: y });
      };
      var line = function (cls, s) {
        var d = document.createElement("div");
        d.className = cls;
        d.textContent = s;
        tip.appendChild(d);
      };
      var place = function (x, y) {
        var scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
        tip.style.left = (x * scale) + "px";
        tip.style.top = (y * scale) + "px";
        tip.style.display = "block";
      };
      var showTrade = function (m) {
        layer.textContent = "";
        tip.textContent = "";
        var end = m.end;
        if (m.out) add("line", { "class": "sel-link", x1: m.in[0], y1: m.in[1], x2: m.out[0], y2: m.out[1] });
        level("sel-stop0", m.in[0], end, m.sl0);
        level("sel-stop", m.in[0], end, m.sl);
        level("sel-liq", m.in[0], end, m.liq);
        (m.roi || []).forEach(function (r) { level("sel-roi", r[0], r[1], r[2]); });
        add("circle", { "class": "sel-ring", cx: m.in[0], cy: m.in[1], r: 8 });
        if (m.out) add("circle", { "class": "sel-ring", cx: m.out[0], cy: m.out[1], r: 8 });
        var row = tradeData && tradeData.rows[m.n - 1];
        if (row) {
          var tag = text(row, "enter_tag");
          line("tip-head", "#" + m.n + " · " + text(row, "side") + " · " + text(row, "pair") + (tag ? " · " + tag : ""));
          line("", text(row, "open_date") + " → " + text(row, "close_date") + " (" + text(row, "trade_duration") + ")");
          line("", text(row, "open_rate") + " → " + text(row, "close_rate") + " · " + text(row, "profit_ratio") +
            " (" + text(row, "profit_abs") + ") · " + text(row, "exit_reason"));
        }
        if (m.note) line("tip-levels", m.note);
        // Beside the trade's levels, on the side with more room.
        var ys = [m.in[1]];
        if (m.out) ys.push(m.out[1]);
        var mid = (Math.min.apply(null, ys) + Math.max.apply(null, ys)) / 2;
        var right = m.in[0] < left + width * 0.6;
        tip.classList.toggle("left", !right);
        place(right ? Math.max(end, m.out ? m.out[0] : 0) : m.in[0], mid);
      };
      var showCursor = function (x, y) {
        layer.textContent = "";
        add("line", { "class": "sel-cross", x1: x, x2: x, y1: top, y2: top + height });
        add("line", { "class": "sel-cross", x1: left, x2: left + width, y1: y, y2: y });
        var t = map[4] + (x - left) / width * (map[5] - map[4]);
        var v = map[7] - (y - top) / height * (map[7] - map[6]);
        tip.classList.remove("left");
        tip.textContent = new Date(t).toISOString().slice(0, 16).replace("T", " ") + " · " + v.toPrecision(6);
        place(x, y);
      };
      var hide = function () {
        layer.textContent = "";
        tip.style.display = "none";
        shown = null;
      };
      pinned.push(function (n) {
        load();
        for (var i = 0; i < marks.length; i++) {
          if (marks[i].n === n) {
            select(tabs[+panel.dataset.pair]);
            panel.scrollIntoView({ block: "center" });
            shown = marks[i];
            showTrade(marks[i]);
            return true;
          }
        }
        return false;
      });
      svg.addEventListener("mousemove", function (ev) {
        load();
        var r = svg.getBoundingClientRect();
        var scale = r.width / svg.viewBox.baseVal.width;
        var x = (ev.clientX - r.left) / scale, y = (ev.clientY - r.top) / scale;
        if (x < left || x > left + width || y < top || y > top + height) { hide(); return; }
        var best = null, bestD = 12 * 12;
        for (var i = 0; i < marks.length; i++) {
          var m = marks[i];
          var dx = m.in[0] - x, dy = m.in[1] - y, d = dx * dx + dy * dy;
          if (d < bestD) { best = m; bestD = d; }
          if (m.out) {
            dx = m.out[0] - x; dy = m.out[1] - y; d = dx * dx + dy * dy;
            if (d < bestD) { best = m; bestD = d; }
          }
        }
        if (best) {
          if (best !== shown) { shown = best; showTrade(best); }
          return;
        }
        shown = null;
        showCursor(x, y);
      });
      svg.addEventListener("mouseleave", hide);
    });
    showOnChart = function (n) {
      for (var i = 0; i < pinned.length; i++) if (pinned[i](n)) return;
    };
  })();

  // Equity chart: linear or log scale.
  var logToggle = document.getElementById("equity-log-toggle");
  if (logToggle) {
    logToggle.addEventListener("change", function () {
      document.getElementById("equity-linear-wrap").hidden = logToggle.checked;
      document.getElementById("equity-log-wrap").hidden = !logToggle.checked;
    });
  }

  // Chart read-out: nearest point to the pointer.
  document.querySelectorAll("svg.chart .hover").forEach(function (g) {
    var pts = JSON.parse(g.getAttribute("data-pts") || "[]");
    if (!pts.length) return;
    var svg = g.ownerSVGElement;
    var tip = svg.parentNode.querySelector(".tip");
    var line = g.querySelector(".hover-line"), dot = g.querySelector(".hover-dot");
    var vbW = svg.viewBox.baseVal.width;
    var move = function (ev) {
      var r = svg.getBoundingClientRect();
      var scale = r.width / vbW;
      var x = (ev.clientX - r.left) / scale;
      var lo = 0, hi = pts.length - 1;
      while (hi - lo > 1) {
        var mid = (lo + hi) >> 1;
        if (pts[mid][0] < x) lo = mid; else hi = mid;
      }
      var p = Math.abs(pts[lo][0] - x) <= Math.abs(pts[hi][0] - x) ? pts[lo] : pts[hi];
      line.setAttribute("x1", p[0]); line.setAttribute("x2", p[0]);
      dot.setAttribute("cx", p[0]); dot.setAttribute("cy", p[1]);
      g.classList.add("on");
      tip.textContent = p[2];
      tip.style.display = "block";
      tip.style.left = (p[0] * scale) + "px";
      tip.style.top = (p[1] * scale) + "px";
    };
    var leave = function () { g.classList.remove("on"); tip.style.display = "none"; };
    g.addEventListener("mousemove", move);
    g.addEventListener("mouseleave", leave);
  });
})();
