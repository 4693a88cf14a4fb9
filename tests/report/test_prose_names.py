"""The names a student's prose may use (``\\result{question/run}{field}``), on the recorded
set (tests.recorded): what numbers.tex defines is what the prose may name, and a wrong name
is said with the nearest right one. The same on a trained set with an untrusted run name,
and `make report` stopping on it: tests/report/test_report.py (slow: it trains, and the
command draws the figures first)."""

from __future__ import annotations

import re

from coursework.analysis import tables
from coursework.records.layout import ResultsSet
from coursework.report import prose, sources


def test_the_prose_may_name_exactly_the_macros_of_numbers_tex(recorded):
    questions = tables.numbers(ResultsSet(recorded, "quick"))
    defined = re.findall(r"\\cwset\{([^}]*)\}\{([^}]*)\}", sources.numbers_tex(questions))
    # 4 runs x 8 fields and 4 ensembles x 2
    assert len(defined) == 40 and ("pair/conv", "meanprob") in defined
    every = "\n".join(f"\\result{{{key}}}{{{field}}}" for key, field in defined)
    assert prose.unresolved({"a.tex": every}, questions) == []
    bad = "\\result{toy/fc}{tset}\n\\result{tyo/conv}{test}\n\\result{toy/cnv}{p}\n"
    said = [(line, msg) for _, line, msg in prose.unresolved({"a.tex": bad}, questions)]
    assert [line for line, _ in said] == [1, 2, 3]
    assert "no field 'tset' for toy/fc (did you mean test?" in said[0][1]
    assert "no question 'tyo' in this report (did you mean toy/conv?" in said[1][1]
    assert "no run 'cnv' in toy (did you mean toy/conv? runs: toy/fc, toy/conv)" in said[2][1]
