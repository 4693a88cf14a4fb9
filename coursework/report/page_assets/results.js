"use strict";
// The results page: the runs table, curves of the picked runs, two runs compared, a
// question's confusion matrix, misclassified images and tuning studies, the provenance.
// Everything is drawn from the JSON blob #data; Plotly is drawn on demand.
const D = JSON.parse(document.getElementById("data").textContent);
const $ = (id) => document.getElementById(id);
const picked = new Set();
const COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
const CONFIG = { displaylogo: false, responsive: true };
const pct = (v) => (100 * v).toFixed(2);
// Plotly reads a few HTML tags in its labels: untrusted names go in as text
const plain = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const label = (r) => `${r.question}/${r.run} seed ${r.seed}`;
const COLUMNS = [
  { key: "pick", label: "", cell: pickBox },
  { key: "question", label: "question" },
  { key: "run", label: "run" },
  { key: "seed", label: "seed", num: true },
  { key: "what", label: "settings" },
  { key: "status", label: "status" },
  { key: "best_epoch", label: "best epoch", num: true },
  { key: "val", label: "val. acc. (%)", num: true, fmt: pct },
  { key: "test", label: "test acc. (%)", num: true, fmt: pct },
  { key: "seconds", label: "time (s)", num: true },
  { key: "params", label: "parameters", num: true, fmt: (v) => v.toLocaleString("en") },
  { key: "verify", label: "verify" },
];
function pickBox(td, row, i) {
  const box = el("input");
  box.type = "checkbox";
  box.checked = picked.has(i);
  box.setAttribute("aria-label", "pick " + label(row));
  box.addEventListener("change", () => {
    if (box.checked) picked.add(i); else picked.delete(i);
    td.parentElement.classList.toggle("picked", box.checked);
    redraw();
  });
  td.appendChild(box);
}
function redraw() { drawCurves(); compare(); }
function stats(members, key) {
  const series = members.map((i) => D.curves[i][key]);
  const n = Math.max(0, ...series.map((s) => s.length));
  const out = { mean: [], lo: [], hi: [] };
  for (let e = 0; e < n; e++) {
    const v = series.map((s) => s[e]).filter((x) => x !== null && x !== undefined);
    out.mean.push(v.length ? v.reduce((a, b) => a + b, 0) / v.length : null);
    out.lo.push(v.length ? Math.min(...v) : null);
    out.hi.push(v.length ? Math.max(...v) : null);
  }
  return out;
}
function groups() {
  const rows = [...picked].sort((a, b) => a - b);
  if (!$("mean").checked) return rows.map((i) => ({ name: label(D.rows[i]), members: [i] }));
  const byRun = new Map();
  for (const i of rows) {
    const r = D.rows[i], key = r.question + "/" + r.run;
    if (!byRun.has(key)) {
      const members = D.rows.map((x, j) => j).filter((j) => D.rows[j].question === r.question && D.rows[j].run === r.run);
      byRun.set(key, { name: `${key} (mean of ${members.length} seeds)`, members });
    }
  }
  return [...byRun.values()];
}
function traces(g, metric, colour, scale) {
  const epochs = D.curves[g.members.reduce((a, b) => (D.curves[b].epoch.length > D.curves[a].epoch.length ? b : a))].epoch;
  const out = [];
  const s = (v) => v.map((x) => (x === null ? null : x * scale));
  for (const [key, dash, what] of [["val_" + metric, "solid", "validation"], [metric, "dot", "training"]]) {
    const st = stats(g.members, key);
    const name = plain(`${g.name}, ${what}`);
    if (g.members.length > 1 && what === "validation") {
      out.push({ x: epochs, y: s(st.hi), mode: "lines", line: { width: 0, color: colour }, hoverinfo: "skip", showlegend: false });
      out.push({ x: epochs, y: s(st.lo), mode: "lines", line: { width: 0, color: colour }, fill: "tonexty", opacity: 0.2, hoverinfo: "skip", showlegend: false });
    }
    out.push({ x: epochs, y: s(st.mean), mode: "lines", name, line: { color: colour, dash } });
  }
  return out;
}
function axes(title) {
  return { title: { text: title }, margin: { l: 50, r: 10, t: 40, b: 10 }, xaxis: { title: { text: "epoch" }, automargin: true }, legend: { orientation: "h", y: -0.22, yanchor: "top" }, showlegend: true };
}
function drawCurves() {
  $("curves-note").hidden = picked.size > 0;
  if (!window.Plotly) return;
  const acc = [], loss = [];
  groups().forEach((g, n) => {
    const c = COLOURS[n % COLOURS.length];
    acc.push(...traces(g, "accuracy", c, 100));
    loss.push(...traces(g, "loss", c, 1));
  });
  Plotly.react($("acc"), acc, axes("accuracy (%)"), CONFIG);
  Plotly.react($("loss"), loss, axes("loss"), CONFIG);
}
function compare() {
  const two = [...picked].sort((a, b) => a - b);
  const table = $("compare"), body = $("compare-settings");
  table.hidden = two.length !== 2;
  $("compare-note").hidden = two.length === 2;
  body.replaceChildren();
  if (two.length !== 2) return;
  const [a, b] = two.map((i) => D.rows[i]);
  $("compare-a").textContent = label(a);
  $("compare-b").textContent = label(b);
  const keys = [...new Set([...Object.keys(a.settings), ...Object.keys(b.settings)])];
  const differ = keys.filter((k) => (a.settings[k] ?? "") !== (b.settings[k] ?? ""));
  for (const k of differ) {
    const tr = el("tr");
    tr.dataset.key = k;
    tr.append(el("td", k), el("td", a.settings[k] ?? "-"), el("td", b.settings[k] ?? "-"));
    body.appendChild(tr);
  }
  if (!differ.length) body.appendChild(el("tr")).appendChild(el("td", "no setting differs"));
}
function runsTable() {
  const qs = [...new Set(D.rows.map((r) => r.question))];
  for (const q of qs) $("question-filter").appendChild(el("option", q)).value = q;
  const t = makeTable($("runs"), COLUMNS, D.rows, {
    filter: $("filter"),
    keep: (r) => !$("question-filter").value || r.question === $("question-filter").value,
    decorate: (tr, i) => tr.classList.toggle("picked", picked.has(i)),
    counted: (n, all) => { $("count").textContent = `${n} of ${all} runs and seeds`; },
  });
  $("question-filter").addEventListener("change", t.draw);
  $("clear").addEventListener("click", () => { picked.clear(); t.draw(); redraw(); });
}
