"""``report.toml``: the report's settings (title, author, questions, page limit, style, or a
course's own class or style file), read and checked: a bad field is one ReportError naming the
file and the field."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from coursework.records.errors import ReportError
from coursework.records.fields import choices_of, nearest, problem, schema_errors, type_name
from coursework.records.project import ROOT
from coursework.report.latex import tex

if TYPE_CHECKING:
    from pydantic.json_schema import JsonDict

SETTINGS_FILE = ROOT / "report.toml"
PLACEHOLDER_AUTHOR = "Your name (your student number)"  # report.toml as shipped


def author_unwritten(author: str) -> bool:
    """Whether the author is still report.toml's placeholder, or none: the paper builds, and
    ``make report``, ``make submission`` and ``make mark`` list it as unwritten."""
    name = " ".join(author.split()).casefold()
    return not name or name == PLACEHOLDER_AUTHOR.casefold()


@dataclass
class Settings:
    """``report.toml`` read: its files found (:class:`ReportToml` is the file as written)."""

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


def option(
    meaning: str,
    default: Any,
    *,
    latex: bool = False,
    suffixes: tuple[str, ...] = (),
    file_if_suffix: bool = False,
    **constraints: Any,
) -> Any:
    """A field of ``report.toml``: its meaning, its default and what else its value must be:
    ``latex``, text the paper prints (that LaTeX cannot misread); ``suffixes``, a file,
    relative to ``report.toml``, of one of these kinds (``file_if_suffix``: only where the
    value ends in one of them); ``constraints``, pydantic's."""
    extra: JsonDict = {"latex": latex, "suffixes": list(suffixes), "file_if_suffix": file_if_suffix}
    return Field(default, description=meaning, json_schema_extra=extra, **constraints)


class ReportToml(BaseModel):
    """``report.toml`` as written: each field's TOML type, default and what else it must be."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", defer_build=True)

    title: str = option("the paper's title", "Deep learning coursework", latex=True)
    author: str = option("your name (and student number), as the paper prints it", "", latex=True)
    questions: list[str] = option("the questions the paper reports, in order", [])
    page_limit: int = option("the most pages of the body", 6, ge=1)
    style: Literal["paper", "article"] = option("the built-in look: two columns or one", "paper")
    document_class: str | None = option(
        "a course's own LaTeX class file", None, suffixes=(".cls",), alias="class"
    )
    style_file: str | None = option("a course's own LaTeX style file", None, suffixes=(".sty",))
    bibliography: str | None = option(
        "a BibTeX file of your own references", None, suffixes=(".bib",)
    )
    bibliography_style: str = option(
        "a BibTeX style by name, or a .bst file", "plain", suffixes=(".bst",), file_if_suffix=True
    )


# one message for both: the file's comment says them together
RANGE = "field 'page_limit' must be at least 1 and 'questions' a list of question ids"
# each field by the name report.toml gives it
FIELDS = {f.alias or name: f for name, f in ReportToml.model_fields.items()}


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML table of ``path`` ({} where there is no file)."""
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not valid TOML: {exc}") from exc


def type_error(key: str, value: object, e: ErrorDetails) -> str | None:
    """What is wrong with a field's name or TOML type (None where nothing is)."""
    f = FIELDS.get(key)
    what = problem(e, f)
    if f is None or what == "unknown":
        near = nearest(key, FIELDS)
        return (
            f"unknown field {key!r} ("
            + (f"did you mean `{near}`? " if near else "")
            + f"known: {', '.join(FIELDS)})"
        )
    if what == "type":
        return f"field {key!r} must be a {type_name(f.annotation)}, got {value!r}"
    return None


def value_error(name: str, value: Any, e: ErrorDetails | None) -> str | None:
    """What is wrong with a field's value, its type right (None where nothing is)."""
    f = FIELDS[name]
    if extra_of(f)["latex"]:
        try:
            tex(value)
        except ReportError as exc:
            return f"field {name!r}: {str(exc).split(', in ')[0]}"
    if e is not None and problem(e, f) == "choice":
        allowed = " or ".join(f'"{c}"' for c in choices_of(f.annotation))
        return f"field {name!r} must be {allowed}, got {value!r}"
    return RANGE if e is not None else None


def extra_of(f: FieldInfo) -> dict[str, Any]:
    """What :func:`option` says of a field beside its type."""
    return dict(f.json_schema_extra) if isinstance(f.json_schema_extra, dict) else {}


def file_of(name: str, value: str, base: Path) -> tuple[Path | None, str | None]:
    """The file a field names, resolved against ``base``, and what is wrong with it."""
    extra = extra_of(FIELDS[name])
    suffixes = tuple(extra["suffixes"])
    if not suffixes or (extra["file_if_suffix"] and not value.endswith(suffixes)):
        return None, None
    file = (base / value).resolve()
    if file.suffix not in suffixes or not file.is_file():
        return None, f"field {name!r}: {file} is not a {' or '.join(suffixes)} file"
    return file, None


def check(raw: dict[str, Any], base: Path) -> tuple[dict[str, Path], list[str]]:
    """Every field of ``raw`` checked against :class:`ReportToml`: the files they name, by
    field, and every error (names and types first, then values, then files)."""
    found = schema_errors(ReportToml, raw)
    wrong = {k: e for k, e in found.items() if type_error(k, raw[k], e)}
    errors = [str(type_error(k, raw[k], e)) for k, e in wrong.items()]
    typed = [name for name in FIELDS if name in raw and name not in wrong]
    for name in typed:
        if (e := value_error(name, raw[name], found.get(name))) and e not in errors:
            errors.append(e)
    files = {}
    for name in typed:
        file, e = file_of(name, raw[name], base)
        errors += [e] if e else []
        if file is not None:
            files[name] = file
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
    given = ReportToml.model_validate(raw)
    s = Settings(
        given.title, given.author, given.questions, given.page_limit, given.style, source=path
    )
    s.document_class = files.get("class")
    s.style_file = files.get("style_file")
    s.bibliography = files.get("bibliography")
    for main in (s.document_class, s.style_file):
        if main is not None:
            s.companions.update(companions(main))
    if "bibliography_style" in files:
        s.bibliography_style = str(files["bibliography_style"])
    else:
        s.bibliography_style = given.bibliography_style
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
