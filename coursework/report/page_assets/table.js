"use strict";
// A plain HTML table of rows (objects): a header click sorts by its column (again: the
// other way), the filter box keeps the rows with its words in any cell; a column's
// fmt(value, row) writes its cells. Cells are text (textContent), never markup: the rows
// come from files a student or a submission wrote.
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function makeTable(host, columns, rows, opts) {
  const state = { key: null, dir: 1, words: [], keep: opts.keep || (() => true) };
  const table = el("table"), head = el("tr"), body = el("tbody");
  table.createTHead().appendChild(head);
  table.appendChild(body);
  for (const c of columns) {
    const th = el("th", c.label, c.num ? "num" : "");
    th.dataset.key = c.key;
    th.addEventListener("click", () => {
      state.dir = state.key === c.key ? -state.dir : 1;
      state.key = c.key;
      for (const h of head.children) h.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
      draw();
    });
    head.appendChild(th);
  }
  const shown = (v, c, r) => (v === null || v === undefined ? "" : c.fmt ? c.fmt(v, r) : String(v));
  function order(a, b) {
    const c = columns.find((x) => x.key === state.key);
    const x = rows[a][c.key], y = rows[b][c.key];
    if (x === null || x === undefined || x === "") return 1; // empty cells last, both ways
    if (y === null || y === undefined || y === "") return -1;
    if (c.num) return state.dir * (x - y) || a - b;
    return state.dir * String(x).localeCompare(String(y), "en", { numeric: true }) || a - b;
  }
  function draw() {
    const idx = rows.map((_, i) => i).filter((i) => state.keep(rows[i]) && matches(i));
    if (state.key !== null) idx.sort(order);
    body.replaceChildren();
    for (const i of idx) {
      const tr = el("tr");
      tr.dataset.row = i;
      for (const c of columns) {
        const td = el("td", null, c.num ? "num" : "");
        if (c.cell) c.cell(td, rows[i], i);
        else td.textContent = shown(rows[i][c.key], c, rows[i]);
        tr.appendChild(td);
      }
      if (opts.decorate) opts.decorate(tr, i);
      body.appendChild(tr);
    }
    if (opts.counted) opts.counted(idx.length, rows.length);
  }
  function matches(i) {
    if (!state.words.length) return true;
    const all = columns.map((c) => shown(rows[i][c.key], c, rows[i])).join(" ").toLowerCase();
    return state.words.every((w) => all.includes(w));
  }
  if (opts.filter) {
    opts.filter.addEventListener("input", () => {
      state.words = opts.filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      draw();
    });
  }
  host.replaceChildren(table);
  draw();
  return { draw, state };
}
