(function () {
  "use strict";
  // Sortable tables: click a header to sort by its column (numbers by the
  // cell's data-v), click again to reverse.
  document.querySelectorAll("table.sortable").forEach(function (table) {
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
