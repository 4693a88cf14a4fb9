"""``make submission``: what a student hands in, in one folder and one zip.

The PDF report and its LaTeX sources (``report-overleaf.zip``), the code (every file git
tracks or would track: ignored files such as ``.venv/`` and ``results/`` stay out) and the
per-run CSVs (``summary.csv``, ``stats.csv``, ``ensembles.csv`` and each run's
``history.csv``). Never weights, datasets or caches: no ``.h5``, ``.keras`` or ``.npz`` file
goes in. ``LISTING.txt`` lists every file with its size and sha256.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

from coursework.records import results
from coursework.records.errors import ReportError
from coursework.records.project import ROOT

NEVER = (".h5", ".keras", ".npz", ".npy", ".pyc")
CODE = ("coursework", "models", "experiments", "report_templates", "tests", ".ci", "Makefile",
        "README.md", "pyproject.toml", "report.toml")


def code_files(root: Path = ROOT) -> list[Path]:
    """The project's files as git sees them (tracked, or new and not ignored); without git,
    the project's own folders."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                             cwd=root, capture_output=True, text=True, timeout=60,
                             check=True).stdout.splitlines()
        paths = [root / p for p in out]
    except (OSError, subprocess.SubprocessError):
        paths = [p for name in CODE for p in ([root / name] if (root / name).is_file()
                                              else sorted((root / name).rglob("*")))]
    return sorted(p for p in paths if p.is_file() and "__pycache__" not in p.parts)


def contents(results_dir: Path, results_set: str, root: Path = ROOT) -> dict[str, Path]:
    """Name in the submission -> the file on disk."""
    base = results.set_dir(results_dir, results_set)
    rdir = results.report_dir(results_dir, results_set)
    pdf = rdir / "report.pdf"
    if not pdf.exists():
        raise ReportError(f"{pdf} does not exist: build the report first (make report "
                          f"PROFILE={results.profile_of(results_set)})")
    out = {"report.pdf": pdf}
    if (rdir / "report-overleaf.zip").exists():
        out["report-sources.zip"] = rdir / "report-overleaf.zip"
    results_abs = Path(results_dir).resolve()
    for path in code_files(root):
        if results_abs not in path.resolve().parents:
            out[f"code/{path.relative_to(root).as_posix()}"] = path
    for name in (results.SUMMARY, results.STATS, results.ENSEMBLES):
        if (base / name).exists():
            out[f"results/{results_set}/{name}"] = base / name
    for rec in results.record_paths(results_dir, results_set):
        hist = rec.parent / results.HISTORY
        if hist.exists():
            out[f"results/{results_set}/{results.relative(hist, results_dir, results_set)}"] = hist
    return {name: path for name, path in out.items() if not name.endswith(NEVER)}


def gather(results_dir: Path, results_set: str, folder: Path | None = None,
           root: Path = ROOT) -> Path:
    """Write ``folder`` (default: ``submission/`` in the project) and ``<folder>.zip``; return
    the zip's path."""
    folder = Path(folder) if folder is not None else root / "submission"
    files = contents(results_dir, results_set, root)
    if (folder / "LISTING.txt").exists():  # made by an earlier `make submission`: start clean
        shutil.rmtree(folder)
    listing = [f"{'size':>10}  sha256{' ' * 60}path"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, path in sorted(files.items()):
            data = path.read_bytes()
            results.write_bytes(folder / name, data)
            z.writestr(f"{folder.name}/{name}", data)
            listing.append(f"{len(data):>10}  {hashlib.sha256(data).hexdigest()}  {name}")
        text = "\n".join(listing) + "\n"
        results.write_text(folder / "LISTING.txt", text)
        z.writestr(f"{folder.name}/LISTING.txt", text)
    archive = folder.with_suffix(".zip")
    results.write_bytes(archive, buf.getvalue())
    return archive
