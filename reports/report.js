// Sorting (click a header) and filtering of the report's tables; no dependencies.
(function () {
  "use strict";

  function cellKey(cell, numeric) {
    var raw = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent.trim();
    if (!numeric) { return raw.toLowerCase(); }
    var x = parseFloat(raw);
    return isNaN(x) ? null : x;
  }

  function sortTable(table, index, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var numeric = th.classList.contains("num");
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    rows.sort(function (a, b) {
      var x = cellKey(a.cells[index], numeric), y = cellKey(b.cells[index], numeric);
      // Empty cells go last in both directions.
      if (x === null || x === "") { return (y === null || y === "") ? 0 : 1; }
      if (y === null || y === "") { return -1; }
      var c = x < y ? -1 : (x > y ? 1 : 0);
      return ascending ? c : -c;
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.forEach(function (r) { body.appendChild(r); });
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      th.setAttribute("tabindex", "0");
      th.addEventListener("click", function () { sortTable(table, index, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortTable(table, index, th); }
      });
    });
  });

  var table = document.getElementById("tss-table");
  if (!table) { return; }
  var text = document.getElementById("tss-filter-text");
  var selects = document.querySelectorAll("select[data-filter]");
  var shown = document.getElementById("tss-shown");
  function apply() {
    var needle = text.value.trim().toLowerCase();
    var n = 0;
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var ok = !needle || row.getAttribute("data-dataset").toLowerCase().indexOf(needle) !== -1;
      selects.forEach(function (s) {
        if (s.value && row.getAttribute("data-" + s.getAttribute("data-filter")) !== s.value) { ok = false; }
      });
      row.hidden = !ok;
      if (ok) { n += 1; }
    });
    shown.textContent = String(n);
  }
  text.addEventListener("input", apply);
  selects.forEach(function (s) { s.addEventListener("change", apply); });
  apply();
}());
