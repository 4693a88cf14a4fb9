"use strict";
// The marking table: a row per submission, linking to its sheet and its results page.
const D = JSON.parse(document.getElementById("data").textContent);
const SAFE = /^[A-Za-z0-9_.@+%-]+(\/[A-Za-z0-9_.@+%-]+)*$/; // a relative link, quoted
function linkTo(text, href) {
  if (!href || !SAFE.test(href)) return el("span", text);
  const a = el("a", text);
  a.href = href;
  return a;
}
const COLUMNS = [
  { key: "submission", label: "submission", cell: (td, r) => td.appendChild(linkTo(r.submission, r.sheet)) },
  { key: "author", label: "author" },
  { key: "verdict", label: "verdict" },
  { key: "pages", label: "pages", num: true },
  { key: "page_limit", label: "limit", num: true },
  { key: "checks", label: "checks", num: true },
  { key: "passed", label: "passed", num: true },
  { key: "failed", label: "failed", num: true },
  { key: "reruns_agreeing", label: "re-runs agreeing" },
  { key: "code_changed", label: "code changed" },
  { key: "first_failure", label: "first failure" },
  { key: "page", label: "results", cell: (td, r) => td.appendChild(r.page ? linkTo("results page", r.page) : el("span", "-")) },
];
for (const r of D.rows) for (const k of ["pages", "page_limit", "checks", "passed", "failed"]) {
  const n = Number(r[k]);
  r[k] = r[k] === "" || Number.isNaN(n) ? r[k] : n; // numbers sort as numbers
}
document.getElementById("subtitle").textContent = `${D.rows.length} submissions marked in ${D.marking}/.`;
makeTable(document.getElementById("marks"), COLUMNS, D.rows, {
  filter: document.getElementById("filter"),
  counted: (n, all) => { document.getElementById("count").textContent = `${n} of ${all} submissions`; },
});
document.body.dataset.table = "drawn";
