"use strict";
// The marking table: a row per submission, the columns marks.md has (D.columns, from
// sheets.MARK_COLUMNS), linking to each submission's sheet and its results page.
const D = JSON.parse(document.getElementById("data").textContent);
const SAFE = /^[A-Za-z0-9_.@+%-]+(\/[A-Za-z0-9_.@+%-]+)*$/; // a relative link, quoted
function linkTo(text, href) {
  if (!href || !SAFE.test(href)) return el("span", text);
  const a = el("a", text);
  a.href = href;
  return a;
}
const CELLS = {
  submission: (td, r) => td.appendChild(linkTo(r.submission, r.sheet)),
  page: (td, r) => td.appendChild(r.page ? linkTo("results page", r.page) : el("span", "-")),
};
const COLUMNS = D.columns.map((c) => ({ key: c.key, label: c.label, num: c.num, cell: CELLS[c.key] }));
const NUMBERS = D.columns.filter((c) => c.num).map((c) => c.key);
for (const r of D.rows) for (const k of NUMBERS) {
  const n = Number(r[k]);
  r[k] = r[k] === "" || Number.isNaN(n) ? r[k] : n; // numbers sort as numbers
}
document.getElementById("subtitle").textContent = `${D.rows.length} submissions marked in ${D.marking}/.`;
makeTable(document.getElementById("marks"), COLUMNS, D.rows, {
  filter: document.getElementById("filter"),
  counted: (n, all) => { document.getElementById("count").textContent = `${n} of ${all} submissions`; },
});
document.body.dataset.table = "drawn";
