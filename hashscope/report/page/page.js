(function () {
  "use strict";
  // The page reads without this script: it only sorts tables (click a header), filters
  // the flow tables (a text box) and collapses sections. No markup is ever built from
  // data: text goes through textContent.

  function sortKey(cell) {
    var raw = cell.getAttribute("data-sort");
    if (raw === null) return {missing: false, value: cell.textContent.trim().toLowerCase()};
    if (raw === "") return {missing: true, value: 0};
    var n = Number(raw);
    return {missing: false, value: isNaN(n) ? raw.toLowerCase() : n};
  }

  function compare(a, b) {
    if (typeof a === typeof b) return a < b ? -1 : a > b ? 1 : 0;
    return typeof a === "number" ? -1 : 1;
  }

  function sortTable(table, th, index) {
    var body = table.tBodies[0];
    if (!body) return;
    var descending = th.getAttribute("aria-sort") === "ascending";
    Array.prototype.forEach.call(th.parentNode.cells, function (c) {
      c.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var rows = Array.prototype.map.call(body.rows, function (row, i) {
      return {row: row, i: i, key: sortKey(row.cells[index] || row.cells[0])};
    });
    rows.sort(function (x, y) {
      if (x.key.missing !== y.key.missing) return x.key.missing ? 1 : -1;
      var c = compare(x.key.value, y.key.value);
      if (descending) c = -c;
      return c || x.i - y.i;
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    if (!table.tHead || !table.tHead.rows.length) return;
    var head = table.tHead.rows[table.tHead.rows.length - 1];
    Array.prototype.forEach.call(head.cells, function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.title = "sort by this column";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener("click", function () { sortTable(table, th, index); });
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("table.filterable"), function (table) {
    var body = table.tBodies[0];
    if (!body) return;
    var label = document.createElement("label");
    label.className = "filter";
    var input = document.createElement("input");
    input.type = "search";
    input.placeholder = "address, port, member";
    input.setAttribute("aria-label", "filter the rows of " + (table.id || "this table"));
    var count = document.createElement("span");
    count.className = "muted";
    label.appendChild(document.createTextNode("Filter"));
    label.appendChild(input);
    label.appendChild(count);
    var wrap = table.parentNode;
    wrap.parentNode.insertBefore(label, wrap);
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      var shown = 0;
      Array.prototype.forEach.call(body.rows, function (row) {
        var hit = !q || row.textContent.toLowerCase().indexOf(q) !== -1;
        row.hidden = !hit;
        if (hit) shown += 1;
      });
      count.textContent = q ? shown + " of " + body.rows.length + " rows" : "";
    });
  });

  function setCollapsed(section, button, collapsed) {
    section.classList.toggle("collapsed", collapsed);
    button.setAttribute("aria-expanded", collapsed ? "false" : "true");
    button.textContent = collapsed ? "show" : "hide";
  }

  var toggles = [];
  Array.prototype.forEach.call(document.querySelectorAll("section.collapsible"), function (s) {
    var heading = s.querySelector(":scope > h2, :scope > h3");
    if (!heading) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "toggle";
    heading.appendChild(button);
    setCollapsed(s, button, false);
    button.addEventListener("click", function () {
      setCollapsed(s, button, !s.classList.contains("collapsed"));
    });
    toggles.push({section: s, button: button});
  });

  function reveal() {
    var id;
    try { id = decodeURIComponent(location.hash.slice(1)); } catch (e) { return; }
    var target = id && document.getElementById(id);
    if (!target) return;
    toggles.forEach(function (t) {
      if (t.section.contains(target)) setCollapsed(t.section, t.button, false);
    });
  }
  window.addEventListener("hashchange", reveal);
  reveal();
}());
