"""``report.toml``: the report's settings (title, author, questions, page limit, style, or a
course's own class or style file), read and checked: a bad field is one ReportError naming the
file and the field."""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coursework.records.errors import ReportError
from coursework.records.project import ROOT
from coursework.report.latex import tex

SETTINGS_FILE = ROOT / "report.toml"
PLACEHOLDER_AUTHOR = "Your name (your student number)"  # report.toml as shipped


def author_unwritten(author: str) -> bool:
    """Whether the author is still report.toml's placeholder, or none: the paper builds, and
    ``make report``, ``make submission`` and ``make mark`` list it as unwritten."""
    name = " ".join(author.split()).casefold()
    return not name or name == PLACEHOLDER_AUTHOR.casefold()


@dataclass
class Settings:
    """``report.toml``: see the file for what each setting does."""

    title: str = "Deep learning coursework"
    author: str = ""
    questions: list[str] = field(default_factory=list)
    page_limit: int = 6
    style: str = "paper"
    document_class: Path | None = None
    style_file: Path | None = None
    bibliography: Path | None = None
    bibliography_style: str = "plain"
    source: Path = SETTINGS_FILE
    # the files a course's class or style file loads from its own folder: name -> source
    companions: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class Field:
    """One field of ``report.toml``: its TOML type and what else its value must be."""

    name: str  # as written in report.toml
    kind: type
    meaning: str
    choices: tuple[str, ...] = ()  # the values it may take, where they are few
    minimum: int | None = None  # the least a number may be
    items: type | None = None  # the type of a list's items
    latex: bool = False  # printed in the paper: text LaTeX cannot misread
    suffixes: tuple[str, ...] = ()  # a file, relative to report.toml, of one of these kinds
    file_if_suffix: bool = False  # a file only where the value ends in one of ``suffixes``


# one message for both: the file's comment says them together
RANGE = "field 'page_limit' must be at least 1 and 'questions' a list of question ids"

FIELDS = (
    Field("title", str, "the paper's title", latex=True),
    Field("author", str, "your name (and student number), as the paper prints it", latex=True),
    Field("questions", list, "the questions the paper reports, in order", items=str),
    Field("page_limit", int, "the most pages of the body", minimum=1),
    Field("style", str, "the built-in look: two columns or one", choices=("paper", "article")),
    Field("class", str, "a course's own LaTeX class file", suffixes=(".cls",)),
    Field("style_file", str, "a course's own LaTeX style file", suffixes=(".sty",)),
    Field("bibliography", str, "a BibTeX file of your own references", suffixes=(".bib",)),
    Field(
        "bibliography_style",
        str,
        "a BibTeX style by name, or a .bst file",
        suffixes=(".bst",),
        file_if_suffix=True,
    ),
)
BY_NAME = {f.name: f for f in FIELDS}


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML table of ``path`` ({} where there is no file)."""
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not valid TOML: {exc}") from exc


def type_error(key: str, value: object) -> str | None:
    """What is wrong with a field's name or TOML type (None where nothing is)."""
    f = BY_NAME.get(key)
    if f is None:
        near = difflib.get_close_matches(key, list(BY_NAME), n=1, cutoff=0.6)
        return (
            f"unknown field {key!r} ("
            + (f"did you mean `{near[0]}`? " if near else "")
            + f"known: {', '.join(BY_NAME)})"
        )
    if not isinstance(value, f.kind) or isinstance(value, bool):
        return f"field {key!r} must be a {f.kind.__name__}, got {value!r}"
    return None


def value_error(f: Field, value: Any) -> str | None:
    """What is wrong with a field's value, its type right (None where nothing is)."""
    if f.latex:
        try:
            tex(value)
        except ReportError as exc:
            return f"field {f.name!r}: {str(exc).split(', in ')[0]}"
    if f.choices and value not in f.choices:
        allowed = " or ".join(f'"{c}"' for c in f.choices)
        return f"field {f.name!r} must be {allowed}, got {value!r}"
    if f.minimum is not None and value < f.minimum:
        return RANGE
    if f.items is not None and not all(isinstance(x, f.items) for x in value):
        return RANGE
    return None


def file_of(f: Field, value: str, base: Path) -> tuple[Path | None, str | None]:
    """The file a field names, resolved against ``base``, and what is wrong with it."""
    if not f.suffixes or (f.file_if_suffix and not value.endswith(f.suffixes)):
        return None, None
    file = (base / value).resolve()
    if file.suffix not in f.suffixes or not file.is_file():
        return None, f"field {f.name!r}: {file} is not a {' or '.join(f.suffixes)} file"
    return file, None


def check(raw: dict[str, Any], base: Path) -> tuple[dict[str, Path], list[str]]:
    """Every field of ``raw`` checked against :data:`FIELDS`: the files they name, by field,
    and every error (names and types first, then values, then files)."""
    errors = [e for k, v in raw.items() if (e := type_error(k, v))]
    typed = {k: v for k, v in raw.items() if type_error(k, v) is None}
    for f in FIELDS:
        if f.name in typed and (e := value_error(f, typed[f.name])) and e not in errors:
            errors.append(e)
    files = {}
    for f in FIELDS:
        if f.name in typed:
            file, e = file_of(f, typed[f.name], base)
            errors += [e] if e else []
            if file is not None:
                files[f.name] = file
    return files, errors


def read_settings(path: Path | None = None, questions: list[str] | None = None) -> Settings:
    """Read and check ``report.toml`` (default :data:`SETTINGS_FILE`, looked up when called:
    the tests point it at the template's defaults, never a student's file); ``questions``
    overrides its list. Every bad field is named, with the file, in one ReportError."""
    path = Path(path) if path is not None else SETTINGS_FILE
    raw = read_toml(path)
    files, errors = check(raw, path.parent)
    if errors:
        raise ReportError("\n".join(f"{path}: {e}" for e in errors))
    s = Settings(
        source=path,
        **{k: raw[k] for k in ("title", "author", "questions", "page_limit", "style") if k in raw},
    )
    s.document_class = files.get("class")
    s.style_file = files.get("style_file")
    s.bibliography = files.get("bibliography")
    for main in (s.document_class, s.style_file):
        if main is not None:
            s.companions.update(companions(main))
    if "bibliography_style" in files:
        s.bibliography_style = str(files["bibliography_style"])
    elif "bibliography_style" in raw:
        s.bibliography_style = raw["bibliography_style"]
    if questions:
        s.questions = questions
    return s


# what a class or style file loads by name, and the suffixes such a name may leave out
_LOADS = re.compile(
    r"\\(?:RequirePackage|usepackage|LoadClass|LoadClassWithOptions|input|include"
    r"|InputIfFileExists|IfFileExists|includegraphics|bibliographystyle)\*?\s*"
    r"(?:\[[^\]]*\]\s*)?\{([^{}]*)\}"
)
_SUFFIXES = (
    "",
    ".sty",
    ".cls",
    ".clo",
    ".cfg",
    ".def",
    ".tex",
    ".bst",
    ".pdf",
    ".png",
    ".jpg",
    ".eps",
)
_TEX_SOURCES = (".sty", ".cls", ".clo", ".cfg", ".def", ".tex")


def companions(main: Path) -> dict[str, Path]:
    """The files beside a course's ``.cls`` or ``.sty`` (in its folder or below) that it loads,
    and that those load in turn: name relative to the folder -> file. A course style is a
    folder: these are copied into the report and the Overleaf zip with it."""
    folder = main.parent.resolve()
    found: dict[str, Path] = {}
    todo = [main.resolve()]
    while todo:
        text = re.sub(r"(?<!\\)%.*", "", todo.pop().read_text(errors="replace"))
        for names in _LOADS.findall(text):
            for name in (n.strip() for n in names.split(",") if n.strip()):
                for suffix in _SUFFIXES:
                    file = (folder / f"{name}{suffix}").resolve()
                    if file.is_file() and folder in file.parents and file != main.resolve():
                        rel = file.relative_to(folder).as_posix()
                        if rel not in found:
                            found[rel] = file
                            if file.suffix in _TEX_SOURCES:
                                todo.append(file)
                        break
    return found
