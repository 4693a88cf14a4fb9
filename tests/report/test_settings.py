"""``report.toml`` against its schema: every bad field named in one error, in the words the
file's comments use, types first, then values, then files."""

from __future__ import annotations

import pytest

from coursework.records.errors import ReportError
from coursework.report import settings
from coursework.report.settings import RANGE, ReportToml, Settings, check, read_settings


def test_every_error_of_a_file_is_said_together_types_then_values_then_files(tmp_path):
    raw = {
        "style": "poster",
        "page_limit": 0,
        "questions": [1],
        "titel": "x",
        "author": 5,
        "class": "missing.cls",
        "bibliography_style": "mine.bst",
    }
    files, errors = check(raw, tmp_path)
    assert files == {}
    assert errors == [
        "unknown field 'titel' (did you mean `title`? known: title, author, questions, "
        "page_limit, style, class, style_file, bibliography, bibliography_style)",
        "field 'author' must be a str, got 5",
        RANGE,  # once, for page_limit and questions alike
        "field 'style' must be \"paper\" or \"article\", got 'poster'",
        f"field 'class': {tmp_path / 'missing.cls'} is not a .cls file",
        f"field 'bibliography_style': {tmp_path / 'mine.bst'} is not a .bst file",
    ]


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ({"page_limit": True}, "field 'page_limit' must be a int, got True"),
        ({"questions": "conv"}, "field 'questions' must be a list, got 'conv'"),
        ({"style": 1}, "field 'style' must be a str, got 1"),
        ({"colour": 1}, "unknown field 'colour' (known: title, "),
        ({"document_class": "a.cls"}, "unknown field 'document_class' ("),
        ({"title": "Name ツ"}, "field 'title': "),
    ],
)
def test_one_bad_field_is_one_error(tmp_path, raw, said):
    _, errors = check(raw, tmp_path)
    assert len(errors) == 1 and errors[0].startswith(said), errors


def test_a_good_file_reads_with_the_schema_defaults(tmp_path):
    (tmp_path / "course.cls").write_text("\\RequirePackage{extra}\n")
    (tmp_path / "extra.sty").write_text("")
    path = tmp_path / "report.toml"
    path.write_text('author = "A. Student"\nclass = "course.cls"\nbibliography_style = "abbrv"\n')
    s = read_settings(path)
    assert (s.title, s.page_limit, s.style, s.questions) == (
        "Deep learning coursework",
        6,
        "paper",
        [],
    )
    assert s.author == "A. Student" and s.bibliography_style == "abbrv"
    assert s.document_class == tmp_path / "course.cls"
    assert s.companions == {"extra.sty": tmp_path / "extra.sty"}
    path.write_text("page_limit = 0\n")
    with pytest.raises(ReportError, match=f"{path}: {RANGE}"):
        read_settings(path)


def test_the_schema_defaults_are_the_settings_defaults():
    defaults = Settings()
    for name in ("title", "author", "questions", "page_limit", "style", "bibliography_style"):
        assert ReportToml.model_fields[name].default == getattr(defaults, name), name
    assert list(settings.FIELDS)[5] == "class"  # as report.toml spells it
