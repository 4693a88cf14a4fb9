"""The student's prose: per question ``motivation.tex`` and ``discussion.tex`` (and, if the
student writes them, ``research_question.tex`` and ``hypothesis.tex``, which replace the
spec's), and the ``abstract.tex``, under ``report_templates/prose/``; each created once with a
guide to what to write, and never overwritten.

Read as LaTeX reads them (comments left out), the prose is checked twice: every
``\\result{question/run}{field}`` must name a macro of ``numbers.tex`` (:func:`unresolved`; a
wrong one would print a bold ``??``), and what still holds the guide's "not written yet", or
nothing, is listed as unwritten (:func:`unwritten`): a note, since students write last."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from coursework.analysis import contract, display
from coursework.records import spec
from coursework.records.errors import ReportError
from coursework.records.project import REPORT_TEMPLATES
from coursework.report.latex import tex
from coursework.report.settings import author_unwritten

PROSE = REPORT_TEMPLATES / "prose"

PROSE_GUIDE = {
    "motivation": """%% Motivation for "{title}" -- written by you; never overwritten.
%% Say why this question matters, what you expect and why, and why each run was chosen:
%% what does each run isolate? Cite the figures and numbers with macros from numbers.tex, e.g.
%% \\result{{{q}/{run}}}{{test}} (mean test accuracy, %) or \\result{{{q}/{run}}}{{testsd}}.
%% Cite papers with \\cite{{key}}, keys from report_templates/references.bib: \\cite{{nielsen2015}}.
%% The research question and hypothesis come from experiments/{q}.toml; to put them in your own
%% words, write them in research_question.tex and hypothesis.tex in this folder.
\\textit{{(Motivation not written yet: edit
\\nolinkurl{{report_templates/prose/{q}/motivation.tex}}.)}}
""",
    "discussion": """%% Discussion and conclusions for "{title}" -- yours; never overwritten.
%% What do the results show? Is each difference larger than the spread over seeds? Does the
%% evidence support the hypothesis? What would you try next?
%% Numbers: \\result{{{q}/{run}}}{{test}}; papers: \\cite{{nielsen2015}} (references.bib).
\\textit{{(Discussion not written yet: edit
\\nolinkurl{{report_templates/prose/{q}/discussion.tex}}.)}}
""",
}
ABSTRACT_GUIDE = """%% Your abstract -- never overwritten. In a few sentences: the questions, how
%% you answered them, and what you found (with numbers: \\result{question/run}{test}).
%% Cite papers with \\cite{key}, keys from report_templates/references.bib: \\cite{nielsen2015}.
\\textit{(Abstract not written yet: edit \\nolinkurl{report_templates/prose/abstract.tex}.)}
"""


# the parts of a question that go into the paper, in its order; the student writes these two
PAPER_PARTS = ("research_question", "hypothesis", "motivation", "discussion")
WRITTEN_PARTS = ("motivation", "discussion")
# the guides' placeholder line, as PROSE_GUIDE and ABSTRACT_GUIDE write it
_NOT_WRITTEN = re.compile(r"\((?:Abstract|Motivation|Discussion) not written yet: edit\s")
_COMMENT = re.compile(r"(?<!\\)%.*")
_RESULT = re.compile(r"\\result(?![A-Za-z@])")
_ARGS = re.compile(r"\s*\{([^{}]*)\}\s*\{([^{}]*)\}")


def uncommented(text: str) -> str:
    """``text`` without its LaTeX comments, line by line (so line numbers still hold)."""
    return "\n".join(_COMMENT.sub("", line) for line in text.split("\n"))


def write_once(path: Path, text: str) -> None:
    """Create a prose file with its guide; never touch one that exists."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def abstract_file(prose_root: Path | None) -> Path:
    """The abstract's prose file, in ``prose_root`` (default: the project's prose folder)."""
    return (Path(prose_root) if prose_root is not None else PROSE) / "abstract.tex"


def prose_dir(prose_root: Path | None, qid: str, report_dir: Path) -> Path:
    """Where a question's prose files are (nothing written).

    With the default root (``report_templates/prose``) that is there for the project's own
    questions (``experiments/*.toml``); any other question's prose, unless it has a folder
    there, is inside the report folder, so that no report writes into the source tree."""
    own = prose_root is not None or qid in spec.all_questions()
    folder = (Path(prose_root) if prose_root is not None else PROSE) / qid
    return folder if own or folder.exists() else report_dir / "prose" / qid


def prose_folder(prose_root: Path | None, q: contract.QuestionNumbers, report_dir: Path) -> Path:
    """The folder of a question's prose files (:func:`prose_dir`), each created with a guide
    if missing."""
    folder = prose_dir(prose_root, q.id, report_dir)
    first_run = q.tables["main"].rows[0].run
    for part, guide in PROSE_GUIDE.items():
        write_once(
            folder / f"{part}.tex",
            guide.format(
                title=q.title,
                q=display.macro_key(q.id),
                run=display.macro_key(first_run),
                q_tex=tex(q.id),
            ),
        )
    return folder


def paper_paths(abstract: Path, folders: dict[str, Path]) -> dict[str, Path]:
    """Where the prose of the paper is, written or not: label (``abstract``,
    ``question/part``) -> file; ``folders``: question id -> its prose folder."""
    out = {"abstract": abstract}
    out.update(
        {
            f"{qid}/{part}": folder / f"{part}.tex"
            for qid, folder in folders.items()
            for part in PAPER_PARTS
        }
    )
    return out


def read_texts(paths: dict[str, Path]) -> dict[str, str]:
    """The text of each file of ``paths`` that exists (the optional parts often do not)."""
    return {
        label: path.read_text(encoding="utf-8", errors="replace")
        for label, path in paths.items()
        if path.is_file()
    }


def shown(path: Path) -> str:
    """A path as a student reads it: relative to the current folder (the project, under
    make) where it is inside it."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def check_results(paths: dict[str, Path], questions: list[contract.QuestionNumbers]) -> None:
    """One ReportError for every ``\\result`` of the prose files ``paths`` that
    ``numbers.tex`` does not define: the first in full (file:line, the nearest names), the
    others by place, so that no paper with a ``??`` is built."""
    texts = {
        shown(path): path.read_text(encoding="utf-8", errors="replace")
        for path in paths.values()
        if path.is_file()
    }
    problems = unresolved(texts, questions)
    if problems:
        (name, line, why), rest = problems[0], problems[1:]
        raise ReportError(
            f"{name}:{line}: {why}"
            + (
                f" (and {len(rest)} more: {', '.join(f'{n}:{i}' for n, i, _ in rest[:8])}"
                + (" ..." if len(rest) > 8 else "")
                + ")"
                if rest
                else ""
            )
        )


def unwritten_lines(
    labels: list[str], paths: dict[str, Path], author: str, settings_file: Path, heading: str
) -> list[str]:
    """The list a student reads: ``heading``, then one line per unwritten part naming the
    file to edit ([] when all is written)."""
    if not labels:
        return []
    lines = [heading]
    for label in labels:
        if label == "author":
            lines.append(
                f"  author: {shown(settings_file)} ("
                + (f'still "{author.strip()}"' if author.strip() else "empty")
                + ")"
            )
        else:
            lines.append(f"  {label}: {shown(paths[label])}")
    return lines


def unwritten(author: str, texts: dict[str, str], ids: list[str]) -> list[str]:
    """What the paper still lacks, in its order: ``author`` (the placeholder, or none), then
    the abstract and each question's motivation and discussion that are missing from
    ``texts`` (label -> text), empty, or still hold the guide's "not written yet"."""
    out = ["author"] if author_unwritten(author) else []
    for label in ["abstract", *(f"{q}/{part}" for q in ids for part in WRITTEN_PARTS)]:
        body = uncommented(texts.get(label, ""))
        if not body.strip() or _NOT_WRITTEN.search(body):
            out.append(label)
    return out


def _nearest(name: str, names: list[str], cutoff: float = 0.5) -> str | None:
    """The valid name nearest ``name``: one it starts with (``fc/seed-0`` -> ``fc``), or
    else the closest by difflib."""
    prefixes = [n for n in names if name.startswith(n) and n]
    if prefixes:
        return max(prefixes, key=len)
    found = difflib.get_close_matches(name, names, n=1, cutoff=cutoff)
    return found[0] if found else None


def _hint(near: str | None, listing: str) -> str:
    """A message's parenthesis: the nearest name, if there is one, and what there is."""
    return f" (did you mean {near}? {listing})" if near else f" ({listing})"


def _listed(names: list[str], most: int = 12) -> str:
    """At most ``most`` of the names, and how many there are in all."""
    return ", ".join(names[:most]) + (f", ... ({len(names)} in all)" if len(names) > most else "")


def cited(texts: dict[str, str]) -> set[str]:
    """The runs (``question/run``) whose numbers the prose ``texts`` quote with ``\\result``,
    outside comments."""
    out = set()
    for text in texts.values():
        body = uncommented(text)
        for hit in _RESULT.finditer(body):
            args = _ARGS.match(body, hit.end())
            if args is not None:
                out.add(args.group(1).strip())
    return out


def unresolved(
    texts: dict[str, str], questions: list[contract.QuestionNumbers]
) -> list[tuple[str, int, str]]:
    """Every ``\\result`` of ``texts`` (name -> LaTeX) that ``numbers.tex`` of ``questions``
    does not define, outside comments: (name, line, what is wrong, with the nearest names).

    The names are the macros' own (:func:`coursework.analysis.display.macro_key`), matched
    exactly, as LaTeX matches them."""
    fields: dict[str, list[str]] = {}
    for q in questions:
        for m in q.macros:
            fields.setdefault(m.key, []).append(m.field)
    runs: dict[str, list[str]] = {}
    for key in fields:
        question, run = key.split("/", 1)
        runs.setdefault(question, []).append(run)
    problems = []
    for name, text in texts.items():
        body = uncommented(text)
        for hit in _RESULT.finditer(body):
            line = body.count("\n", 0, hit.start()) + 1
            args = _ARGS.match(body, hit.end())
            if args is None:
                problems.append(
                    (
                        name,
                        line,
                        "\\result wants two arguments, "
                        "\\result{question/run}{field}, as in numbers.tex",
                    )
                )
                continue
            key, field = args.groups()
            if "#" in key + field:  # inside the student's own macro: its arguments vary
                continue
            why = _unknown(key, field, fields, runs)
            if why:
                problems.append((name, line, f"\\result{{{key}}}{{{field}}}: {why}"))
    return problems


# a field as a student may write it, and the field of numbers.tex that holds it
FIELD_WORDS = {
    "mean": "test",
    "accuracy": "test",
    "acc": "test",
    "test_accuracy": "test",
    "sd": "testsd",
    "std": "testsd",
    "val_accuracy": "val",
    "best_epoch": "epoch",
}


def _unknown(
    key: str, field: str, fields: dict[str, list[str]], runs: dict[str, list[str]]
) -> str | None:
    """What is wrong with ``\\result{key}{field}`` (None: it is a macro of numbers.tex)."""
    if field in fields.get(key, []):
        return None
    question, _, run = key.partition("/")
    if not run:
        near = next((k for k in fields if k.endswith(f"/{key}")), None) or _nearest(
            key, list(fields)
        )
        return "not question/run" + _hint(near, f"questions: {_listed(list(runs))}")
    if question not in runs:
        near = _nearest(question, list(runs))
        if near is not None and run in runs[near]:
            near = f"{near}/{run}"
        return f"no question {question!r} in this report" + _hint(
            near, f"questions: {_listed(list(runs))}; report.toml's `questions` chooses them"
        )
    if key not in fields:
        near = _nearest(run, runs[question])
        per_run = "; a macro is per run, over all its seeds" if "/" in run else ""
        return f"no run {run!r} in {question}" + _hint(
            near and f"{question}/{near}",
            f"runs: {_listed([f'{question}/{r}' for r in runs[question]])}{per_run}",
        )
    others = [k for k, fs in fields.items() if field in fs]
    word = FIELD_WORDS.get(field.lower())
    return f"no field {field!r} for {key}" + _hint(
        word if word in fields[key] else _nearest(field, fields[key]),
        f"fields: {', '.join(fields[key])}"
        + (f"; {field} is there for {_listed(others, 4)}" if others else ""),
    )
