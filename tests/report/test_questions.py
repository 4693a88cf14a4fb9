"""The paper's questions: one place decides them, for the report, verify, submission, page."""

from __future__ import annotations

from pathlib import Path

import pytest

from coursework.records.errors import ReportError
from coursework.report import questions
from coursework.report.settings import Settings


def test_report_toml_chooses_among_the_questions_with_results(capsys):
    chosen = Settings(source=Path("report.toml"), questions=["depth", "width"])
    assert questions.choose(chosen, ["conv", "depth", "width"]) == ["depth", "width"]
    assert questions.choose(Settings(source=Path("report.toml")), ["conv", "depth"]) == [
        "conv",
        "depth",
    ]
    with pytest.raises(ReportError, match=r"report.toml: questions: no complete runs of width"):
        questions.choose(chosen, ["conv", "depth"])
    # results on other data (DATASET=folder:...): what of the choice they have, else all
    assert questions.choose(chosen, ["conv"], other_data=True) == ["conv"]
    assert questions.choose(chosen, ["conv", "width"], other_data=True) == ["width"]
    assert "these results on other data have conv, width: the report holds width" in (
        capsys.readouterr().out
    )
