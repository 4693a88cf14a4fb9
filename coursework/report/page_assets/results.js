"use strict";
// The results page, one question at a time (the paper's questions first; it opens on the
// paper's first): the question and whether the paper has it, a summary row per run, the
// table of its seeds, curves (every run of the question until seeds are picked) and the
// picked seeds' gradient flow (gradients.js), two seeds compared, the confusion matrix, misclassified images and tuning studies, the provenance.
// Everything is drawn from the JSON blob #data, each run in the colour and line of the
// paper's figures (D.questions[].styles: figstyle's); Plotly is drawn on demand.
const D = JSON.parse(document.getElementById("data").textContent);
const $ = (id) => document.getElementById(id);
const picked = new Set();
const COLOURS = D.colours; // the figures' palette (figstyle's)
const CONFIG = { displaylogo: false, responsive: true };
const QUESTIONS = new Map(D.questions.map((q) => [q.id, q]));
const OTHER = { color: "#777777", dash: "solid" }; // a run no figure draws (no complete seed)
const styleOf = (q, run) => (QUESTIONS.get(q) || { styles: {} }).styles[run] || OTHER;
const digits = (r) => (QUESTIONS.get(r.question) || { digits: 2 }).digits; // the paper's
const pct = (v, r) => (100 * v).toFixed(digits(r));
// Plotly reads a few HTML tags in its labels: untrusted names go in as text
const plain = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const label = (r) => `${r.question}/${r.run} seed ${r.seed}`;
const current = () => QUESTIONS.get($("question").value);
function swatch(q, run) {
  const s = el("span", null, "swatch"), st = styleOf(q, run);
  s.style.borderTopColor = st.color;
  s.style.borderTopStyle = st.dash === "solid" ? "solid" : "dashed";
  return s;
}
const runCell = (td, r) => td.append(swatch(r.question, r.run), r.run);
const COLUMNS = [
  { key: "pick", label: "", cell: pickBox },
  { key: "run", label: "run", cell: runCell },
  { key: "seed", label: "seed", num: true },
  { key: "what", label: "settings" },
  { key: "status", label: "status" },
  { key: "best_epoch", label: "best epoch", num: true },
  { key: "val", label: "val. acc. (%)", num: true, fmt: pct },
  { key: "test", label: "test acc. (%)", num: true, fmt: pct },
  { key: "seconds", label: "time (s)", num: true },
  { key: "params", label: "parameters", num: true, fmt: (v) => v.toLocaleString("en") },
  { key: "paper", label: "in the paper", fmt: (v) => (v ? "yes" : "no") },
  { key: "verify", label: "verify" },
];
const SUMMARY = [
  { key: "run", label: "run", cell: runCell },
  { key: "what", label: "settings" },
  { key: "n", label: "seeds", num: true },
  { key: "test", label: "test acc. (%), mean ± sd" },
  { key: "delta", label: "Δ baseline (pp)" },
  { key: "ci", label: "95% CI" },
  { key: "p", label: "p" },
  { key: "verdict", label: "against the baseline" },
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
function runGroup(question, run, completeOnly) {
  const members = D.rows.map((_, j) => j).filter((j) => D.rows[j].question === question && D.rows[j].run === run && (D.rows[j].complete || !completeOnly));
  return { name: `${question}/${run} (mean of ${members.length} seeds)`, members, question, run };
}
function groups() {
  const rows = [...picked].sort((a, b) => a - b);
  if (!rows.length) { // every run of the question, as the paper's figures draw it
    const q = current();
    const runs = q ? [...new Set(D.rows.filter((r) => r.question === q.id && r.complete).map((r) => r.run))] : [];
    return runs.map((run) => runGroup(q.id, run, true));
  }
  if (!$("mean").checked) return rows.map((i) => ({ name: label(D.rows[i]), members: [i], question: D.rows[i].question, run: D.rows[i].run }));
  const byRun = new Map();
  for (const i of rows) {
    const r = D.rows[i], key = r.question + "/" + r.run;
    if (!byRun.has(key)) byRun.set(key, runGroup(r.question, r.run, false));
  }
  return [...byRun.values()];
}
function traces(g, metric, scale) {
  const st = styleOf(g.question, g.run);
  const epochs = D.curves[g.members.reduce((a, b) => (D.curves[b].epoch.length > D.curves[a].epoch.length ? b : a))].epoch;
  const out = [];
  const s = (v) => v.map((x) => (x === null ? null : x * scale));
  for (const [key, what] of [["val_" + metric, "validation"], [metric, "training"]]) {
    const m = stats(g.members, key), training = what === "training";
    if (g.members.length > 1 && !training) {
      out.push({ x: epochs, y: s(m.hi), mode: "lines", line: { width: 0, color: st.color }, hoverinfo: "skip", showlegend: false });
      out.push({ x: epochs, y: s(m.lo), mode: "lines", line: { width: 0, color: st.color }, fill: "tonexty", opacity: 0.2, hoverinfo: "skip", showlegend: false });
    }
    // training as the figures draw it: the run's line, thinner and lighter
    const line = { color: st.color, dash: st.dash, width: training ? 1 : 2 };
    const trace = { x: epochs, y: s(m.mean), mode: "lines", name: plain(`${g.name}, ${what}`), line, opacity: training ? 0.5 : 1 };
    if (st.marker) Object.assign(trace, { mode: "lines+markers", marker: { symbol: st.marker, size: training ? 4 : 7, maxdisplayed: 10 } });
    out.push(trace);
  }
  return out;
}
function axes(title) {
  return { title: { text: title }, margin: { l: 50, r: 10, t: 40, b: 10 }, xaxis: { title: { text: "epoch" }, automargin: true }, legend: { orientation: "h", y: -0.22, yanchor: "top" }, showlegend: true };
}
function drawCurves() {
  drawGradients(); // the same picked seeds' gradient flow (gradients.js)
  const q = current(), figs = q ? q.figures.filter((f) => /-(val|curves)$/.test(f.name)).map((f) => f.name) : [];
  $("curves-note").textContent = picked.size
    ? "The picked seeds, each run in the colour and line of the paper's figures (training: thinner and lighter)."
    : q ? `Every run of ${q.id}, the mean over its complete seeds (band: min to max), in the colours and lines of the paper's figures${figs.length ? " (" + figs.join(", ") + ")" : ""}; training thinner and lighter. Pick seeds in the table to draw them instead.` : "";
  if (!window.Plotly) return;
  const acc = [], loss = [];
  for (const g of groups()) {
    acc.push(...traces(g, "accuracy", 100));
    loss.push(...traces(g, "loss", 1));
  }
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
  if (!differ.length) body.appendChild(el("tr")).appendChild(el("td", "no setting differs (a setting left at its builder's default is that default)"));
}
function questionHead(q) {
  const head = $("question-head");
  head.replaceChildren();
  if (!q) return;
  head.appendChild(el("h2", `${q.id}: ${q.title}`));
  const where = q.figures.map((f) => `${f.name} (${f.where})`).join(", ");
  head.appendChild(q.paper
    ? el("p", `In the paper: its runs' numbers${where ? ", and the figures " + where : ""}.`, "paper")
    : el("p", "Not in the paper: report.toml's questions (or the built paper's) leave it out.", "note"));
  if (q.research_question) head.appendChild(el("p", "Research question: " + q.research_question));
  if (q.hypothesis) head.appendChild(el("p", "Hypothesis: " + q.hypothesis));
}
function summaryTable(q) {
  const what = (run) => (D.rows.find((r) => r.question === q.id && r.run === run) || {}).what;
  const rows = q ? q.summary.map((s) => ({ ...s, question: q.id, what: what(s.run) })) : [];
  makeTable($("summary"), SUMMARY, rows, {});
  if (!rows.length) $("summary").appendChild(el("p", "No complete runs (no statistics) in this question.", "note"));
}
function paperLine() {
  const p = $("paper"), ids = D.paper.questions;
  p.textContent = ids.length
    ? `The paper's questions: ${ids.join(", ")}${D.paper.built ? "" : " (report.toml's choice: no paper built yet)"}; they come first. `
    : "No question of these results is in the paper. ";
  if (D.paper.pdf && /^[A-Za-z0-9_.@+%-]+(\/[A-Za-z0-9_.@+%-]+)*\.pdf$/.test(D.paper.pdf)) {
    const a = p.appendChild(el("a", "Open the paper (PDF)"));
    a.id = "pdf";
    a.href = D.paper.pdf;
  }
}
