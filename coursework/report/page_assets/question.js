"use strict";
// One question at a time (drawn when chosen): the appendix's confusion matrix and
// misclassified images, and each tuning study as parallel coordinates and best so far, in
// the tuning figure's colours; each marked with the paper's figure of it, where it has one.
function asInPaper(q, kind) {
  const f = q.figures.find((x) => x.name === `${q.id}-${kind}`);
  return f ? ` (the paper's figure ${f.name}, ${f.where})` : "";
}
function drawQuestion() {
  const q = current();
  const view = $("question-view");
  view.replaceChildren();
  if (!q) return;
  const ap = q.appendix || {};
  if (ap.unreadable) view.appendChild(el("p", "predictions unreadable: " + ap.unreadable, "bad"));
  if (ap.confusion) {
    view.appendChild(el("h3", `Confusion matrix of ${ap.run} seed ${ap.seed} (the best run) on the test set${asInPaper(q, "confusion")}`));
    const div = view.appendChild(el("div", null, "plot"));
    div.id = "confusion";
    if (window.Plotly) {
      const names = ap.classes.map(plain);
      Plotly.react(div, [{ type: "heatmap", z: ap.confusion, x: names, y: names, colorscale: "Blues", reversescale: true, texttemplate: "%{z}", hovertemplate: "true %{y}, predicted %{x}: %{z}<extra></extra>" }],
        { margin: { l: 60, r: 10, t: 10, b: 50 }, xaxis: { title: { text: "predicted class" }, type: "category" }, yaxis: { title: { text: "true class" }, type: "category", autorange: "reversed" } }, CONFIG);
    }
    view.appendChild(el("h3", `Misclassified test images (${ap.images.length} shown; true → predicted)${asInPaper(q, "errors")}`));
    const box = view.appendChild(el("div", null, "images"));
    for (const im of ap.images) {
      const fig = box.appendChild(el("figure"));
      const img = fig.appendChild(el("img"));
      img.src = im.src.startsWith("data:image/png;base64,") ? im.src : "";
      img.alt = `${im.true} taken for ${im.predicted}`;
      fig.appendChild(el("figcaption", `${im.true}→${im.predicted}`));
    }
  }
  for (const [n, st] of q.studies.entries()) drawStudy(view, st, n, asInPaper(q, "tuning"));
  if (!ap.confusion && !q.studies.length) view.appendChild(el("p", "No predictions or tuning studies in this question.", "note"));
}
function dimension(name, values, log) {
  if (values.some((v) => typeof v === "string")) {
    const ticks = [...new Set(values.map(String))];
    return { label: plain(name), values: values.map((v) => ticks.indexOf(String(v))), tickvals: ticks.map((_, i) => i), ticktext: ticks.map(plain) };
  }
  if (log) return { label: plain("log10 " + name), values: values.map((v) => Math.log10(v)) };
  return { label: plain(name), values };
}
function drawStudy(view, st, n, paper) {
  const trials = st.trials.filter((t) => t.val !== null);
  view.appendChild(el("h3", `Tuning study of ${st.run}: ${st.trials.length} trials` + (st.chosen === null ? "" : `, trial ${st.chosen + 1} chosen (trials counted from 1)`) + paper));
  const row = view.appendChild(el("div", null, "plots"));
  const par = row.appendChild(el("div", null, "plot")), hist = row.appendChild(el("div", null, "plot"));
  par.id = "parcoords-" + n;
  hist.id = "trials-" + n;
  if (!window.Plotly || !trials.length) return;
  const names = [...new Set(trials.flatMap((t) => Object.keys(t.params)))];
  const dims = names.map((p) => dimension(p, trials.map((t) => t.params[p] ?? null), st.log.includes(p)));
  const val = trials.map((t) => 100 * t.val);
  dims.push({ label: "val. acc. (%)", values: val });
  dims.push({ label: "trial", values: trials.map((t) => (t.status === "pruned" ? 1 : 0)), tickvals: [0, 1], ticktext: ["complete", "pruned"], range: [-0.2, 1.2] });
  Plotly.react(par, [{ type: "parcoords", dimensions: dims, line: { color: val, colorscale: "Viridis", showscale: true } }], { margin: { l: 60, r: 40, t: 50, b: 20 } }, CONFIG);
  const x = trials.map((t) => t.number + 1);
  const best = [];
  val.reduce((m, v, i) => (best[i] = Math.max(m, v)), -Infinity);
  const marks = (keep, symbol, name, colour) => ({ x: x.filter((_, i) => keep(trials[i])), y: val.filter((_, i) => keep(trials[i])), mode: "markers", name, marker: { symbol, size: 9, color: colour } });
  Plotly.react(hist, [
    marks((t) => t.status !== "pruned" && t.number !== st.chosen, "circle", "trial", COLOURS[0]),
    marks((t) => t.status === "pruned", "x", "pruned", COLOURS[1]),
    marks((t) => t.number === st.chosen, "star", "chosen", COLOURS[0]),
    { x, y: best, mode: "lines", name: "best so far", line: { color: COLOURS[2] } },
  ], { margin: { l: 50, r: 10, t: 10, b: 40 }, xaxis: { title: { text: "trial" }, dtick: 1 }, yaxis: { title: { text: "val. acc. (%)" } }, legend: { orientation: "h", y: -0.2, yanchor: "top" } }, CONFIG);
}
function provenance() {
  for (const [k, v] of Object.entries(D.provenance)) $("provenance").append(el("dt", k), el("dd", v));
}
async function loadPlotly() {
  const gz = document.getElementById("plotly-gz").textContent.trim();
  if (!gz) return;
  if (typeof DecompressionStream === "undefined") {
    $("plotly-note").textContent = "This browser cannot unpack the plots (it needs Chromium 80 or Firefox 113, or newer): the table works without them.";
    return;
  }
  const bin = atob(gz), bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const js = await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text();
  const s = document.createElement("script");
  s.textContent = js;
  document.head.appendChild(s);
}
function showQuestion(table) {
  const q = current();
  questionHead(q);
  summaryTable(q);
  table.draw();
  drawCurves();
}
function start() {
  $("title").textContent = `Results: ${D.set}`;
  $("subtitle").textContent = `${D.rows.length} runs and seeds in ${D.questions.length} questions (profile ${D.profile}).`;
  paperLine();
  for (const q of D.questions) $("question").appendChild(el("option", `${q.id}: ${q.title} (${q.paper ? "in the paper" : "not in the paper"})`)).value = q.id;
  if (D.questions.length) $("question").value = D.questions[0].id; // the paper's first
  const table = makeTable($("runs"), COLUMNS, D.rows, {
    filter: $("filter"),
    keep: (r) => r.question === $("question").value,
    decorate: (tr, i) => tr.classList.toggle("picked", picked.has(i)),
    counted: (n, all) => { $("count").textContent = `${n} of the ${all} runs and seeds`; },
  });
  $("clear").addEventListener("click", () => { picked.clear(); table.draw(); redraw(); });
  $("question").addEventListener("change", () => { showQuestion(table); drawQuestion(); });
  $("mean").addEventListener("change", drawCurves);
  showQuestion(table);
  provenance();
  compare();
  document.body.dataset.table = "drawn";
  document.body.dataset.tableMs = Math.round(performance.now());
  loadPlotly().then(() => { drawQuestion(); drawCurves(); document.body.dataset.plots = "ready";
    document.body.dataset.plotsMs = Math.round(performance.now()); },
    (e) => { $("plotly-note").textContent = "The plots could not be drawn: " + e; drawQuestion(); });
}
start();
