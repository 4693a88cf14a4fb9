"""The marking page (``marking/index.html``) shows what ``marks.md`` shows: every column of
the table of all submissions (:data:`coursework.verify.sheets.MARK_COLUMNS`), in its order,
with each submission's values, and the links to its sheet and results page after them."""

from __future__ import annotations

from coursework.verify import marks_page, sheets
from tests.report.test_page import blob, fake_sheet


def test_the_marking_page_has_every_column_of_marks_md(tmp_path):
    marking = tmp_path / "marking"
    fake_sheet(marking, "ada.zip", failed=False, page=True)
    fake_sheet(marking, "bob.zip", failed=True, page=False)
    data = blob(marks_page.write(marking).read_text())
    keys = [c["key"] for c in data.get("columns", [])]
    assert keys == [*sheets.MARK_COLUMNS, "page"], keys
    sheets.write_marks(marking)
    table = (marking / "marks.md").read_text().splitlines()
    assert table[0] == "| " + " | ".join(sheets.MARK_COLUMNS) + " |"
    ada = next(r for r in data["rows"] if r["submission"] == "ada.zip")
    assert (ada["questions"], ada["unwritten"], ada["runs_by_handed_in_code"]) == (
        "conv skip",
        "skip",
        "4/4",
    )
    for line, row in zip(table[2:], data["rows"], strict=True):  # the same cells as marks.md
        assert line == sheets._cells(*(row[k] for k in sheets.MARK_COLUMNS))
    numeric = {c["key"] for c in data["columns"] if c.get("num")}
    assert numeric == {"pages", "page_limit", "checks", "passed", "failed"}
