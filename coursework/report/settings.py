"""``report.toml``: the report's settings (title, author, questions, page limit, style, or a
course's own class or style file), read and checked: a bad field is one ReportError naming the
file and the field."""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

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


def read_settings(path: Path = SETTINGS_FILE, questions: list[str] | None = None) -> Settings:
    """Read and check ``report.toml`` (defaults where it is absent); ``questions`` overrides
    its list. A bad field is a ReportError naming the file and the field."""
    path = Path(path)
    raw: dict = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ReportError(f"{path}: not valid TOML: {exc}") from exc
    types = {
        "title": str,
        "author": str,
        "questions": list,
        "page_limit": int,
        "style": str,
        "class": str,
        "style_file": str,
        "bibliography": str,
        "bibliography_style": str,
    }
    for key, value in raw.items():
        if key not in types:
            near = difflib.get_close_matches(key, list(types), n=1, cutoff=0.6)
            raise ReportError(
                f"{path}: unknown field {key!r} ("
                + (f"did you mean `{near[0]}`? " if near else "")
                + f"known: {', '.join(types)})"
            )
        if not isinstance(value, types[key]) or isinstance(value, bool):
            raise ReportError(
                f"{path}: field {key!r} must be a {types[key].__name__}, got {value!r}"
            )
    s = Settings(
        source=path,
        **{k: raw[k] for k in ("title", "author", "questions", "page_limit", "style") if k in raw},
    )
    for key in ("title", "author"):
        try:
            tex(getattr(s, key))
        except ReportError as exc:
            raise ReportError(f"{path}: field {key!r}: {str(exc).split(', in ')[0]}") from None
    if s.style not in ("paper", "article"):
        raise ReportError(f'{path}: field \'style\' must be "paper" or "article", got {s.style!r}')
    if s.page_limit < 1 or not all(isinstance(q, str) for q in s.questions):
        raise ReportError(
            f"{path}: field 'page_limit' must be at least 1 and 'questions' a list of question ids"
        )

    def existing(key: str, suffixes: tuple[str, ...]) -> Path | None:
        if key not in raw:
            return None
        file = (path.parent / raw[key]).resolve()
        if file.suffix not in suffixes or not file.is_file():
            raise ReportError(
                f"{path}: field {key!r}: {file} is not a {' or '.join(suffixes)} file"
            )
        return file

    s.document_class = existing("class", (".cls",))
    s.style_file = existing("style_file", (".sty",))
    s.bibliography = existing("bibliography", (".bib",))
    for main in (s.document_class, s.style_file):
        if main is not None:
            s.companions.update(companions(main))
    if raw.get("bibliography_style", "").endswith(".bst"):
        s.bibliography_style = str(existing("bibliography_style", (".bst",)))
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
