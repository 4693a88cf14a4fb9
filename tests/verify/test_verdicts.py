"""Verdicts spelled once, written as the plain strings they always were; SUBMISSION.json
read from its table of fields."""

from __future__ import annotations

import csv
import io
import json

import pytest

from coursework.verify.contents import read_description
from coursework.verify.verdicts import Verdict, absent, whole


def test_a_verdict_is_written_as_its_plain_string():
    row = absent("summary", "summary.csv")
    assert row.csv() == {
        "run": "-",
        "seed": "-",
        "check": "summary",
        "kind": "summary",
        "file": "summary.csv",
        "expected": "present",
        "got": "missing",
        "verdict": "MISSING",
    }
    assert json.dumps(row.csv()).endswith('"verdict": "MISSING"}')
    out = io.StringIO()
    csv.writer(out).writerow([row.verdict, Verdict.NOT_RUN])
    assert out.getvalue() == "MISSING,NOT RUN\r\n"
    assert f"[{row.verdict}]" == "[MISSING]" and str(Verdict.PASS) == "pass"


def test_a_row_of_the_whole_set_passes_unless_told():
    assert whole("figure", "figures/").ok
    assert whole("lock", "locks/x.txt", verdict=Verdict.NOTE).ok
    assert not whole("report", "report/", verdict=Verdict.FAILED).ok


@pytest.mark.parametrize(
    "text, got",
    [
        ('{"results_set": "quick", "git": {}}', None),
        ('{"results_set": 3}', "no results_set"),
        ('["quick"]', "no results_set"),
        ("{", "Expecting property name enclosed in double quotes: line 1..."),
    ],
)
def test_the_description_is_read_from_its_table_of_fields(tmp_path, text, got):
    (tmp_path / "SUBMISSION.json").write_text(text)
    desc, rows = read_description(tmp_path)
    if got is None:
        assert desc == {"results_set": "quick", "git": {}} and rows == []
    else:
        assert desc == {} and [(r.got, r.verdict) for r in rows] == [(got, "MISSING")]
