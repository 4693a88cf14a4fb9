"""LaTeX: escaping text for it, compiling the report with latexmk (shell escape off), the lines
of a failed log that matter, and the page budget read back from the ``.aux`` file."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from coursework.records import results
from coursework.records.errors import ReportError
from coursework.report.settings import Settings

TEX_INSTALL = ("sudo apt-get install texlive-latex-recommended texlive-latex-extra "
               "texlive-fonts-recommended latexmk lmodern   (or: sudo make setup-tex)")
_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
        "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}
_TEX_RE = re.compile("|".join(re.escape(k) for k in _TEX))


def tex(value) -> str:
    """Escape any value for LaTeX text: ``a&b_%`` -> ``a\\&b\\_\\%``."""
    return _TEX_RE.sub(lambda m: _TEX[m.group()], str(value))


def compile_pdf(report_dir: Path) -> Path | None:
    """latexmk with shell escape off; None (and a message) if TeX is not installed."""
    if shutil.which("latexmk") is None or shutil.which("pdflatex") is None:
        print(f"LaTeX is not installed, so only the .tex files were written to {report_dir}/ "
              f"(and report-overleaf.zip, which compiles on Overleaf).\n"
              f"  Install TeX Live: {TEX_INSTALL}")
        return None
    cmd = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
           "-file-line-error", "-outdir=build", "report.tex"]
    proc = subprocess.run(cmd, cwd=report_dir, capture_output=True, text=True, timeout=600)
    built = report_dir / "build" / "report.pdf"
    if proc.returncode != 0 or not built.exists():
        raise ReportError(f"LaTeX failed on {report_dir / 'report.tex'}:\n"
                          + latex_error(report_dir / "build" / "report.log", proc.stdout))
    pdf = report_dir / "report.pdf"  # copied whole: never a half-written PDF in its place
    results.write_bytes(pdf, built.read_bytes())
    return pdf


def latex_error(log: Path, fallback: str) -> str:
    """The lines of a LaTeX log that say what went wrong and where, not the whole log."""
    text = log.read_text(errors="replace") if log.exists() else fallback
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.startswith("!") or re.match(r"^[^:\s]+\.tex:\d+:", line):
            out.extend(lines[i:i + 4])
    return "\n".join(out[:24]) or "\n".join(lines[-20:])


# --------------------------------------------------------------------------- page budget


def page_budget(aux: Path, questions: list[str]) -> dict:
    """From LaTeX's ``.aux`` file: the page the appendix starts on (``\\label{appendix}``),
    so the pages of the body, and each section's length in pages (from the positions that
    ``\\cwmark`` saved: columns passed plus the fraction of a column)."""
    text = aux.read_text(errors="replace")
    start = re.search(r"\\newlabel\{appendix\}\{\{[^}]*\}\{(\d+)\}", text)
    layout = re.search(r"\\gdef\s*\\cwlayout\{\{([\d.]+)pt\}\{(\d)\}\{([\d.]+)pt\}\}", text)
    marks = {m[0]: (int(m[1]), int(m[2]), int(m[3])) for m in re.findall(
        r"\\zref@newlabel\{cw-([^}]*)\}\{\\posx\{(-?\d+)\}\\posy\{(-?\d+)\}\\abspage\{(\d+)\}",
        text)}
    body = int(start.group(1)) - 1 if start else None
    sections = {}
    if layout:
        height, cols, width = float(layout[1]) * 65536, int(layout[2]), float(layout[3]) * 65536

        def where(mark):
            x, y, page = marks[mark]
            return (page - 1) * cols + (1 if cols == 2 and x > width / 2 else 0), y

        for q in questions:
            if f"start-{q}" in marks and f"end-{q}" in marks:
                (c0, y0), (c1, y1) = where(f"start-{q}"), where(f"end-{q}")
                sections[q] = round((c1 - c0 + (y0 - y1) / height) / cols, 2)
    return {"body_pages": body, "sections": sections}


def check_budget(budget: dict, settings: Settings) -> str:
    """A sentence on the page budget: within it, or over by how much and where."""
    pages = budget["body_pages"]
    if pages is None:
        return "report: could not find the appendix label in the LaTeX output"
    if pages <= settings.page_limit:
        return (f"report: the paper is {pages} page(s) before the appendix, within the limit of "
                f"{settings.page_limit} ({settings.source.name})")
    longest = sorted(budget["sections"].items(), key=lambda kv: -kv[1])
    return (f"report: the paper is {pages} pages before the appendix, {pages - settings.page_limit}"
            f" over the limit of {settings.page_limit} ({settings.source.name}); longest "
            "sections: " + ", ".join(f"{q} {n:.1f} pages" for q, n in longest[:3])
            + ". Shorten those (prose, or fewer runs in the body), or choose fewer questions.")
