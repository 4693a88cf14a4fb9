"""LaTeX: escaping text for it (Unicode included, so that it builds under any style),
compiling the report with latexmk (no rc file, no shell escape, paranoid file access), the
lines of a failed log that matter, and the page budget read back from the ``.aux`` file."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from pathlib import Path

from coursework.records import storage
from coursework.records.errors import ReportError

TEX_INSTALL = (
    "sudo apt-get install texlive-latex-recommended texlive-latex-extra "
    "texlive-fonts-recommended latexmk lmodern   (or: sudo make setup-tex)"
)
_TEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}
_TEX_RE = re.compile("|".join(re.escape(k) for k in _TEX) + r"|[^\x00-\x7f]")

# Unicode as commands that pdflatex knows under any class or style (no font encoding, no
# inputenc declarations assumed): Greek as math, accents composed, common symbols
_GREEK = (
    "alpha beta gamma delta varepsilon zeta eta theta iota kappa lambda mu nu xi o pi rho "
    "varsigma sigma tau upsilon varphi chi psi omega"
).split()
_CAPITAL = dict(
    zip(
        "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ",
        "A B Gamma Delta E Z H Theta I K Lambda M N Xi O "
        "Pi P Sigma T Upsilon Phi X Psi Omega".split(),
        strict=True,
    )
)
_SYMBOLS = {
    **{chr(0x3B1 + i): "o" if n == "o" else f"\\ensuremath{{\\{n}}}" for i, n in enumerate(_GREEK)},
    **{c: f"\\ensuremath{{\\{n}}}" if len(n) > 1 else n for c, n in _CAPITAL.items()},
    "ϑ": r"\ensuremath{\vartheta}",
    "ϕ": r"\ensuremath{\phi}",
    "ϵ": r"\ensuremath{\epsilon}",
    "µ": r"\ensuremath{\mu}",
    "ß": r"\ss{}",
    "æ": r"\ae{}",
    "Æ": r"\AE{}",
    "œ": r"\oe{}",
    "Œ": r"\OE{}",
    "ø": r"\o{}",
    "Ø": r"\O{}",
    "ł": r"\l{}",
    "Ł": r"\L{}",
    "å": r"\aa{}",
    "Å": r"\AA{}",
    "\u00a0": "~",
    "–": "--",
    "—": "---",
    "‘": "`",
    "’": "'",
    "“": "``",
    "”": "''",
    "…": r"\ldots{}",
    "°": r"\ensuremath{^\circ}",
    "±": r"\ensuremath{\pm}",
    "×": r"\ensuremath{\times}",
    "÷": r"\ensuremath{\div}",
    "·": r"\ensuremath{\cdot}",
    "→": r"\ensuremath{\rightarrow}",
    "←": r"\ensuremath{\leftarrow}",
    "≤": r"\ensuremath{\leq}",
    "≥": r"\ensuremath{\geq}",
    "≠": r"\ensuremath{\neq}",
    "≈": r"\ensuremath{\approx}",
    "∞": r"\ensuremath{\infty}",
    "√": r"\ensuremath{\surd}",
    "£": r"\pounds{}",
    "§": r"\S{}",
    "¶": r"\P{}",
    "©": r"\copyright{}",
    "€": "EUR",
}
_ACCENTS = {
    "\u0300": "`",
    "\u0301": "'",
    "\u0302": "^",
    "\u0303": "~",
    "\u0304": "=",
    "\u0306": "u",
    "\u0307": ".",
    "\u0308": '"',
    "\u030a": "r",
    "\u030b": "H",
    "\u030c": "v",
    "\u0327": "c",
    "\u0328": "k",
}


class UnsupportedCharacter(ValueError):
    """A character that pdflatex cannot typeset under every style."""

    def __init__(self, char: str):
        self.char = char
        name = unicodedata.name(char, "unnamed")
        super().__init__(
            f"character {char!r} (U+{ord(char):04X} {name}) cannot be typeset by "
            "pdflatex under every style: write it another way (Greek letters, "
            "accented Latin letters and common symbols work)"
        )


def unicode_tex(char: str) -> str:
    """One non-ASCII character as LaTeX that any style compiles: ``é`` -> ``\\'{e}``,
    ``α`` -> ``\\ensuremath{\\alpha}``; UnsupportedCharacter for the rest."""
    if char in _SYMBOLS:
        return _SYMBOLS[char]
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], list(decomposed[1:])
    if (
        not marks
        or not base.isascii()
        or not base.isalpha()
        or any(m not in _ACCENTS for m in marks)
    ):
        raise UnsupportedCharacter(char)
    out = {"i": r"\i{}", "j": r"\j{}"}.get(base, base)
    for mark in marks:
        out = f"\\{_ACCENTS[mark]}{{{out}}}"
    return out


def tex(value: object) -> str:
    """Escape any value for LaTeX text: ``a&b_%`` -> ``a\\&b\\_\\%``, ``α`` ->
    ``\\ensuremath{\\alpha}``; a character no style can typeset is a ReportError naming it."""

    def one(m: re.Match) -> str:
        """One character of the value as LaTeX (escaped, or a non-ASCII one spelled out)."""
        c = m.group()
        if c in _TEX:
            return _TEX[c]
        try:
            return unicode_tex(c)
        except UnsupportedCharacter as exc:
            raise ReportError(f"{exc}, in {str(value)[:60]!r}") from None

    return _TEX_RE.sub(one, str(value))


# A citation in a spec's text (research question, hypothesis, a run's description):
# ``[@ioffe2015]`` or ``[@nielsen2015, chapter 3]``, a key of references.bib
SPEC_CITE = re.compile(r"\s*\[@([A-Za-z0-9_:.+-]+)(?:,\s*([^\]]*))?\]")


def spec_cites(text: str) -> list[str]:
    """The keys a spec's text cites (``[@key]``), in order."""
    return [m.group(1) for m in SPEC_CITE.finditer(str(text))]


def tex_cited(value: object) -> str:
    """:func:`tex`, with each ``[@key]`` / ``[@key, note]`` of a spec's text as
    ``\\cwcite[note]{key}{key}``: a ``\\cite`` of the bibliography (the report checks the key
    is there)."""
    text, out, pos = str(value), [], 0
    for m in SPEC_CITE.finditer(text):
        note = f"[{tex(m.group(2).strip())}]" if m.group(2) else ""
        out += [tex(text[pos : m.start()]), f"\\cwcite{note}{{{m.group(1)}}}{{{tex(m.group(1))}}}"]
        pos = m.end()
    return "".join(out) + tex(text[pos:])


# A submission's TeX may read and write only in the folder it compiles (and below): no
# absolute path, no "..", no hidden file (kpathsea's "paranoid"); a file TeX finds on its own
# search path (classes, packages, fonts) is still read. A student's own report reads their
# prose where it lives (../ of the report folder), so it compiles without this.
PARANOID = {"openin_any": "p", "openout_any": "p"}
LATEXMK = [
    "latexmk",
    "-norc",
    "-pdf",
    "-pdflatex=pdflatex %O %S",
    "-interaction=nonstopmode",
    "-halt-on-error",
    "-no-shell-escape",
    "-file-line-error",
    "-outdir=build",
    "report.tex",
]
Wrap = Callable[[list[str], dict[str, str]], tuple[list[str], dict[str, str]]]


def compile_pdf(report_dir: Path, wrap: Wrap | None = None) -> Path | None:
    """latexmk on ``report_dir/report.tex``; None (and a message) if TeX is not installed.

    No rc file is read (``-norc``: a ``latexmkrc`` beside the report is Perl that latexmk
    would run), the project's settings are given on the command line, and shell escape is
    off. ``wrap`` (command, environment -> the same, sandboxed) runs it in a sandbox, with
    TeX's file access :data:`PARANOID`: how ``make mark`` compiles a submission's sources.
    """
    if shutil.which("latexmk") is None or shutil.which("pdflatex") is None:
        print(
            f"LaTeX is not installed, so only the .tex files were written to {report_dir}/ "
            f"(and report-overleaf.zip, which compiles on Overleaf).\n"
            f"  Install TeX Live: {TEX_INSTALL}"
        )
        return None
    cmd, env = LATEXMK, dict(os.environ)
    if wrap is not None:
        cmd, env = wrap(
            cmd, {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", **PARANOID}
        )
    try:
        proc = subprocess.run(
            cmd, cwd=report_dir, env=env, capture_output=True, text=True, timeout=600
        )
    except subprocess.TimeoutExpired:
        raise ReportError(f"LaTeX on {report_dir / 'report.tex'} ran past 10 minutes") from None
    built = report_dir / "build" / "report.pdf"
    if proc.returncode != 0 or not built.exists():
        raise ReportError(
            f"LaTeX failed on {report_dir / 'report.tex'}:\n"
            + latex_error(report_dir / "build" / "report.log", proc.stdout + proc.stderr)
        )
    pdf = report_dir / "report.pdf"  # copied whole: never a half-written PDF in its place
    storage.write_bytes(pdf, built.read_bytes())
    return pdf


def latex_error(log: Path, fallback: str) -> str:
    """The lines of a LaTeX log that say what went wrong and where, not the whole log."""
    text = log.read_text(errors="replace") if log.exists() else fallback
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.startswith("!") or re.match(r"^[^:\s]+\.tex:\d+:", line):
            out.extend(lines[i : i + 4])
    return "\n".join(out[:24]) or "\n".join(lines[-20:])


# --------------------------------------------------------------------------- page budget


def page_budget(aux: Path, questions: list[str]) -> dict:
    """From LaTeX's ``.aux`` file: the page the appendix starts on (``\\label{appendix}``),
    so the pages of the body, and each section's length in pages (from the positions that
    ``\\cwmark`` saved: columns passed plus the fraction of a column)."""
    text = aux.read_text(errors="replace")
    start = re.search(r"\\newlabel\{appendix\}\{\{[^}]*\}\{(\d+)\}", text)
    layout = re.search(r"\\gdef\s*\\cwlayout\{\{([\d.]+)pt\}\{(\d)\}\{([\d.]+)pt\}\}", text)
    marks = {
        m[0]: (int(m[1]), int(m[2]), int(m[3]))
        for m in re.findall(
            r"\\zref@newlabel\{cw-([^}]*)\}\{\\posx\{(-?\d+)\}\\posy\{(-?\d+)\}\\abspage\{(\d+)\}",
            text,
        )
    }
    body = int(start.group(1)) - 1 if start else None
    sections = {}
    if layout:
        height, cols, width = float(layout[1]) * 65536, int(layout[2]), float(layout[3]) * 65536

        def where(mark):
            """A mark's column, counted over the pages, and its height on its page."""
            x, y, page = marks[mark]
            return (page - 1) * cols + (1 if cols == 2 and x > width / 2 else 0), y

        for q in questions:
            if f"start-{q}" in marks and f"end-{q}" in marks:
                (c0, y0), (c1, y1) = where(f"start-{q}"), where(f"end-{q}")
                sections[q] = round((c1 - c0 + (y0 - y1) / height) / cols, 2)
    return {"body_pages": body, "sections": sections}


def check_budget(budget: dict, page_limit: int, source: str) -> str:
    """A sentence on the page budget: within it, or over by how much and where."""
    pages = budget["body_pages"]
    if pages is None:
        return "report: could not find the appendix label in the LaTeX output"
    if pages <= page_limit:
        return (
            f"report: the paper is {pages} page(s) before the appendix, within the limit of "
            f"{page_limit} ({source})"
        )
    longest = sorted(budget["sections"].items(), key=lambda kv: -kv[1])
    return (
        f"report: the paper is {pages} pages before the appendix, {pages - page_limit}"
        f" over the limit of {page_limit} ({source}); longest "
        "sections: "
        + ", ".join(f"{q} {n:.1f} pages" for q, n in longest[:3])
        + ". Shorten those (prose, or fewer runs in the body), or choose fewer questions."
    )


# --------------------------------------------------------------------------- layout

OVERFULL_PT = 1.0  # an overfull line this much too wide is visible (TeX's hfuzz is 0.1 pt)
_MARK = re.compile(
    r"\\zref@newlabel\{cw-([^}]*)\}\{\\posx\{(-?\d+)\}\\posy\{(-?\d+)\}"
    r"\\abspage\{(\d+)\}"
)
_OVERFULL = re.compile(
    r"^Overfull \\hbox \(([\d.]+)pt too wide\) (?:in paragraph|detected) "
    r"at lines? (\d+)(?:--(\d+))?",
    re.M,
)
_UNDEFINED = re.compile(
    r"LaTeX Warning: (Reference|Citation) `([^']+)' on page (\d+) "
    r"undefined"
)
_OPENED = re.compile(r"\(([^()\s]+\.[A-Za-z]+)|\)")


def input_file(log: str, pos: int) -> str:
    """The ``.tex`` file TeX was reading at ``pos`` of its log (by the parentheses around
    each file it opened; a message's own parentheses may mislead it: a best guess)."""
    stack: list[str] = []
    for m in _OPENED.finditer(log, 0, pos):
        if m[1]:
            stack.append(m[1])
        elif stack:
            stack.pop()
    tex_files = [f for f in stack if f.endswith(".tex")]
    return Path(tex_files[-1]).name if tex_files else "report.tex"


def layout(build: Path) -> list[str]:
    """What a reader sees wrong in the layout of the compiled paper (``build``: latexmk's
    output folder): a body page that holds only floats, a float after the references,
    overfull lines (over :data:`OVERFULL_PT`), unresolved references and citations. Read
    from the ``.aux`` marks (``\\cwmark``, ``\\cwfloatmark`` and the paragraph marks of
    ``cw.sty``) and the last pass's ``.log``; a sentence each, none when all is well."""
    aux, log = build / "report.aux", build / "report.log"
    text = aux.read_text(errors="replace") if aux.exists() else ""
    marks = {m[0]: (int(m[1]), int(m[2]), int(m[3])) for m in _MARK.findall(text)}
    lay = re.search(r"\\gdef\s*\\cwlayout\{\{([\d.]+)pt\}\{(\d)\}\{([\d.]+)pt\}\}", text)
    cols, width = (int(lay[2]), float(lay[3]) * 65536) if lay else (1, 0.0)

    def order(mark: tuple[int, int, int]) -> tuple[int, int, int]:
        """Where a mark falls: page, then its place on it."""
        x, y, page = mark
        return page, int(cols == 2 and x > width / 2), -y

    out = []
    start = re.search(r"\\newlabel\{appendix\}\{\{[^}]*\}\{(\d+)\}", text)
    last = int(start[1]) - 1 if start else max((m[2] for m in marks.values()), default=0)
    text_pages = {m[2] for n, m in marks.items() if n.startswith("text-")}
    floats = {n.removeprefix("float-"): m for n, m in marks.items() if n.startswith("float-")}
    lone: dict[int, list[str]] = {}
    for label, m in floats.items():  # marks of the body's floats only (cw.sty)
        if text_pages and m[2] not in text_pages and m[2] <= last:
            lone.setdefault(m[2], []).append(label)
    out += [
        f"page {page} holds only floats ({', '.join(sorted(labels))}): shorten or move "
        "the text around them, or make a figure smaller"
        for page, labels in sorted(lone.items())
    ]
    refs = marks.get("references")
    late = sorted(label for label, m in floats.items() if refs and order(m) > order(refs))
    if late:
        out.append(f"{len(late)} float(s) after the references ({', '.join(late)})")
    logged = log.read_text(errors="replace") if log.exists() else ""
    wide = []
    for hit in _OVERFULL.finditer(logged):
        if float(hit[1]) > OVERFULL_PT:
            where = input_file(logged, hit.start())
            lines = hit[2] + (f"--{hit[3]}" if hit[3] else "")
            wide.append((float(hit[1]), f"{where} line{'s' if hit[3] else ''} {lines}"))
    if wide:
        worst = max(wide)
        out.append(
            f"{len(wide)} overfull line(s), the widest {worst[0]:.1f}pt too wide ({worst[1]})"
        )
    missing: dict[str, list[str]] = {}
    for kind, key, page in _UNDEFINED.findall(logged):
        missing.setdefault(kind.lower(), []).append(f"{key} (page {page})")
    out += [
        f"unresolved {kind}s: {', '.join(dict.fromkeys(keys))}" for kind, keys in missing.items()
    ]
    return out
