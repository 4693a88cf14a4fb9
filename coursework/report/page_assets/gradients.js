"use strict";
// The gradient flow of the picked seeds (their gradients.csv: D.curves[i].gradients): per
// layer with a kernel, from the input to the output, the mean |gradient| of its kernel on the
// probe batch, on a log scale. One seed picked: a curve per epoch recorded (about twelve: at
// initialisation, the first, ..., the last; later ones darker), in its run's colour; several:
// each seed after its last epoch, in its run's colour and line (x: the layers' names where
// every seed has the same layers, else each layer's relative depth, as the paper's figure).
const epochName = (e) => (e === 0 ? "at initialisation" : `after epoch ${e}`);
function flowTraces(rows) {
  const flows = rows.map((i) => D.curves[i].gradients);
  const same = new Set(flows.map((g) => JSON.stringify(g.layers))).size === 1;
  const xs = (g) => (same ? g.layers.map(plain) : g.layers.map((_, j) => (g.layers.length > 1 ? j / (g.layers.length - 1) : 0)));
  const text = (g) => g.layers.map(plain);
  if (rows.length === 1) {
    const g = flows[0], st = styleOf(D.rows[rows[0]].question, D.rows[rows[0]].run), n = g.epochs.length;
    return [same, g.epochs.map((e, k) => ({ x: xs(g), y: g.grad[k], text: text(g), mode: "lines+markers", name: epochName(e), opacity: n > 1 ? 0.3 + (0.7 * k) / (n - 1) : 1, line: { color: st.color, width: 1.5 }, marker: { size: 5 } }))];
  }
  return [same, rows.map((i, k) => {
    const g = flows[k], r = D.rows[i], st = styleOf(r.question, r.run), last = g.epochs.length - 1;
    return { x: xs(g), y: g.grad[last], text: text(g), mode: "lines+markers", name: plain(`${label(r)}, ${epochName(g.epochs[last])}`), line: { color: st.color, dash: st.dash, width: 1.5 }, marker: { size: 5, symbol: st.marker || "circle" } };
  })];
}
function drawGradients() {
  const rows = [...picked].sort((a, b) => a - b).filter((i) => D.curves[i].gradients);
  const bad = rows.filter((i) => D.curves[i].gradients.unreadable);
  const good = rows.filter((i) => !D.curves[i].gradients.unreadable);
  const q = current(), fig = q ? q.figures.find((f) => f.name === `${q.id}-gradients`) : null;
  const paper = fig ? ` The paper's figure ${fig.name} (${fig.where}) draws each run after the first and the last epoch.` : "";
  $("grads-note").textContent = (!picked.size
    ? "Pick seeds in the table to draw their gradient flow (from their gradients.csv): the mean absolute gradient of each layer's kernel on the probe batch, input to output, on a log scale."
    : !rows.length ? "The picked seeds have no gradients.csv (trained before the template recorded the gradient flow)."
    : good.length === 1 ? `${label(D.rows[good[0]])}: a curve per epoch recorded (later epochs darker), log scale.`
    : "Each picked seed after its last epoch, in its run's colour and line, log scale.") + paper;
  $("grads-bad").textContent = bad.map((i) => `${label(D.rows[i])}: ${D.curves[i].gradients.unreadable}`).join("; ");
  $("grads-bad").hidden = !bad.length;
  $("grads").hidden = !good.length;
  if (!window.Plotly || !good.length) return;
  const [same, traces] = flowTraces(good);
  const xaxis = same ? { title: { text: "layer with a kernel (input → output)" }, type: "category", automargin: true } : { title: { text: "relative depth (first layer 0, last 1)" }, range: [-0.03, 1.03] };
  Plotly.react($("grads"), traces, { margin: { l: 60, r: 10, t: 10, b: 10 }, xaxis, yaxis: { type: "log", title: { text: "mean |gradient| of the kernel" } }, legend: { orientation: "h", y: -0.3, yanchor: "top" }, showlegend: true }, CONFIG);
}
