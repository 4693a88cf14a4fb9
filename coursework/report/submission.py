"""``make submission``: what a student hands in, in one folder and one zip.

- ``report.pdf`` and its LaTeX sources (``report-sources.zip``, the Overleaf folder);
- ``code/``: every file git tracks or would track (ignored files such as ``.venv/`` stay
  out), the lock files included;
- ``results/<set>/``: what is reported, and what a marker needs to check it (``make mark``)
  without the student's machine (:func:`results_part`): the paper's questions
  (``report/numbers.json``, chosen by ``report.toml``), each with its runs' ``run.json``,
  ``history.csv`` and test predictions (never weights), tuning trials and recorded spec; the
  CSVs (``summary.csv``, ``stats.csv``, ``ensembles.csv``, ``verification.csv``) with their
  rows only, their figures and ``figures/provenance.json`` with their entries only, the
  report's folder, a ``MANIFEST.json`` of exactly these files
  (:func:`coursework.analysis.manifest.of_part`) and their results page, ``index.html``
  (:mod:`.page_html`, drawn from the part: a marker opens it from the unpacked zip). The
  questions trained and not in the paper stay out, and one line says which;
- ``notebook.ipynb``: the lab book (``notebooks/coursework.ipynb``) with its outputs: as you
  saved it if it has them, else run top to bottom here (nbclient; complete runs are skipped);
- ``SUBMISSION.json``: which results set, the git commit and its history (a marker finds the
  template's commit the work started from in it), the digest of the training code;
- ``LISTING.txt``: size and sha256 of every file.

It then lists what the handed-in report leaves unwritten (the placeholder author, the guides'
"not written yet"), as its Overleaf sources have it: a note, since the student decides.

Never weights, datasets or caches: no ``.h5``, ``.keras``, dataset ``.npz`` or ``.pyc`` file.

Never half made: a ``submission.zip`` there is a whole build of the results as they are, or
nothing is (:func:`gather`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

from coursework import __version__
from coursework.records import storage
from coursework.records.errors import ReportError, ResultsError
from coursework.records.layout import ResultsSet
from coursework.records.project import ROOT, code_digest, code_files
from coursework.records.record import SCHEMA_VERSION
from coursework.records.storage import write_bytes
from coursework.report import prose
from coursework.report.handed_in import Part, part_manifest, ready, results_part
from coursework.report.questions import NUMBERS
from coursework.report.render import OVERLEAF, prose_paths
from coursework.report.settings import SETTINGS_FILE

NEVER = (".h5", ".keras", ".npz", ".npy", ".pyc")  # in the code
LISTING, DESCRIPTION = "LISTING.txt", "SUBMISSION.json"
NOTEBOOK = Path("notebooks") / "coursework.ipynb"
HISTORY_LENGTH = 5000  # commits of the git history recorded


def git(root: Path, *args: str) -> str | None:
    """The output of a git command in ``root`` (None: no git, or it failed)."""
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=60, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def description(
    rs: ResultsSet, code: dict[str, Path], root: Path = ROOT, part: Part | None = None
) -> dict:
    """``SUBMISSION.json``: what the submission holds and which code made it."""
    commits = git(root, "rev-list", f"--max-count={HISTORY_LENGTH}", "HEAD")
    status = git(root, "status", "--porcelain")
    return {
        "schema_version": SCHEMA_VERSION,
        "coursework_version": __version__,
        "results_set": rs.name,
        "profile": rs.profile,
        "made": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **({"questions": part.questions, "left_out": part.left_out} if part else {}),
        "git": {
            "commit": commits.split()[0] if commits else None,
            "dirty": None if status is None else bool(status),
            "history": commits.split() if commits else [],
        },
        "code_sha256": code_digest(code),
    }


def contents(
    rs: ResultsSet, root: Path = ROOT, part: Part | None = None
) -> dict[str, Path | bytes]:
    """Name in the submission -> the file on disk, or (the results handed in, ``part``:
    default :func:`results_part`) its bytes; all but the manifest of the results, made from
    them as they are written (:func:`gather`)."""
    rdir = rs.report_dir()
    part = part or results_part(rs)
    out: dict[str, Path | bytes] = {"report.pdf": rdir / "report.pdf"}
    if (rdir / "report-overleaf.zip").exists():
        out["report-sources.zip"] = rdir / "report-overleaf.zip"
    results_abs = Path(rs.root).resolve()
    for path in code_files(root):
        name = path.relative_to(root).as_posix()
        if results_abs not in path.resolve().parents and not name.endswith(NEVER):
            out[f"code/{name}"] = path
    out.update({f"results/{rs.name}/{rel}": data for rel, data in part.files.items()})
    return out


def gather(
    rs: ResultsSet,
    folder: Path | None = None,
    root: Path = ROOT,
    notebook: bool = True,
) -> Path:
    """Write ``folder`` (default: ``submission/`` in the project) and ``<folder>.zip``; return
    the zip's path. ``notebook=False``: the lab book only as it is among the code.

    What it hands in of the results is :func:`results_part`; it says so in one line.

    Never half made, and never an older one left looking current. Once the build begins (the
    report exists, with runs of its questions: :func:`ready`; a build refused before that
    leaves everything as it was), the older zip
    and folder are removed first: they are of the results as they were, and if this build
    fails or is killed (a full disk, Ctrl-C, the machine going down), an older zip left in
    place would look like the one of the results the student has now, and be handed in. Then
    everything is built into hidden staging beside them (:func:`staging`), and put in place
    only when complete: the folder renamed in, then the zip (``os.replace``), so a
    ``submission.zip`` is there only once the whole build is. A failed build removes what it
    made and says so, one error; what a killed one left (staging only) the next removes."""
    folder = Path(folder) if folder is not None else root / "submission"
    archive = folder.with_suffix(".zip")
    ids = ready(rs)  # the report and its questions, before anything runs
    _clear(folder, archive)
    book = executed_notebook(root / NOTEBOOK, rs, ids) if notebook else None
    part = results_part(rs)  # after the notebook: what it changed
    paths = contents(rs, root, part)
    files = {name: p if isinstance(p, bytes) else p.read_bytes() for name, p in paths.items()}
    if book is not None:
        files["notebook.ipynb"] = book
    code = {n[5:]: p for n, p in paths.items() if n.startswith("code/") and isinstance(p, Path)}
    files[DESCRIPTION] = (json.dumps(description(rs, code, root, part), indent=2) + "\n").encode()
    _build(
        files, folder, archive, lambda staged: made(part, ResultsSet(staged / "results", rs.name))
    )
    print(part.line())
    for line in _notes(part, rs):
        print(line)
    return archive


def made(part: Part, staged: ResultsSet) -> dict[str, bytes]:
    """What is made from the results handed in, once they are written (``staged``: the set
    in the submission's ``results/``): their manifest, then their page (it shows the
    manifest's digest), ``results/<set>/index.html``, of the part's questions only."""
    from coursework.report import page_html

    out = part_manifest(part, staged)
    for name, data in out.items():
        write_bytes(staged.root.parent / name, data)
    page = staged.page_file().relative_to(staged.root.parent).as_posix()
    out[page] = page_html.results_html(staged).encode("utf-8")
    return out


def _clear(folder: Path, archive: Path) -> None:
    """Remove the older submission (folder and zip) before a build; a folder that is not a
    submission is refused (an empty one removed)."""
    if folder.exists() and not _a_submission(folder):
        with contextlib.suppress(OSError):
            folder.rmdir()  # an empty folder is no one's
        if folder.exists():
            raise ReportError(
                f"{folder} exists and is not a submission (no {LISTING}): move "
                "it away, or give another folder (--out)"
            )
    try:
        _remove(folder, archive)
    except OSError as exc:
        raise ResultsError(f"cannot remove the older {archive}: {exc.strerror or exc}") from exc


def _build(
    files: dict[str, bytes],
    folder: Path,
    archive: Path,
    made: Callable[[Path], dict[str, bytes]],
) -> None:
    """Write ``files`` into staging and put folder and zip in place only when whole; a
    failed build removes what it made (:func:`gather`)."""
    staged_folder, staged_zip = staging(folder)
    try:
        _write(files, folder.name, staged_folder, staged_zip, made)
        _swap(staged_folder, folder)
        os.replace(staged_zip, archive)
    except (OSError, ResultsError) as exc:
        with contextlib.suppress(OSError):
            _remove(folder, archive)
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ResultsError(
            f"{archive} not made ({why}); nothing of it is left: free some "
            "space (or mend the cause) and run `make submission` again"
        ) from exc
    finally:
        _remove_staging(folder)


def _notes(part: Part, rs: ResultsSet) -> list[str]:
    """The notes after a build: runs still in progress, what the report leaves unwritten."""
    running = [d for d in rs.in_progress_dirs() if part.in_part(rs.relative(d))]
    out = []
    if running:
        out.append(
            f"note: {len(running)} run(s) still in progress (their partial files are handed "
            f"in without a run.json, e.g. "
            f"{rs.relative(running[0])}): let them finish "
            "(`make` resumes them), then `make submission` again"
        )
    return out + unwritten_lines(rs)


def staging(folder: Path) -> tuple[Path, Path]:
    """Where :func:`gather` builds the folder and the zip, hidden beside them:
    ``.submission.partial/`` and ``.submission.zip.partial``."""
    folder = Path(folder)
    return (
        folder.parent / f".{folder.name}.partial",
        folder.parent / f".{folder.with_suffix('.zip').name}.partial",
    )


def _retired(folder: Path) -> Path:
    """Where an older submission folder goes while it is removed."""
    return folder.parent / f".{folder.name}.old"


def _a_submission(folder: Path) -> bool:
    """Whether ``folder`` is one :func:`gather` made (or an older version half made: its
    ``SUBMISSION.json`` came first): one it may remove."""
    return (folder / LISTING).exists() or (folder / DESCRIPTION).exists()


def _write(
    files: dict[str, bytes],
    name: str,
    folder: Path,
    archive: Path,
    made: Callable[[Path], dict[str, bytes]] = lambda folder: {},
) -> None:
    """The files into ``folder``, then what ``made`` makes from them there (the manifest of
    the results handed in); all of them, under ``name/``, into the zip ``archive``, with
    ``LISTING.txt``; the zip synced to disk."""
    listing = [f"{'size':>10}  sha256{' ' * 60}path"]
    folder.mkdir(parents=True)
    for entry, data in sorted(files.items()):
        write_bytes(folder / entry, data)
    extra = made(folder)
    for entry, data in sorted(extra.items()):
        write_bytes(folder / entry, data)
    with open(archive, "xb") as f:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
            for entry, data in sorted({**files, **extra}.items()):
                z.writestr(f"{name}/{entry}", data)
                listing.append(f"{len(data):>10}  {hashlib.sha256(data).hexdigest()}  {entry}")
            text = "\n".join(listing) + "\n"
            storage.write_text(folder / LISTING, text)
            z.writestr(f"{name}/{LISTING}", text)
        f.flush()
        os.fsync(f.fileno())


def _swap(staged: Path, folder: Path) -> None:
    """Put the folder ``staged`` in the place of ``folder``: anything there renamed aside,
    the new one renamed in, then the old removed."""
    old = _retired(folder)
    if folder.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, old)
    os.replace(staged, folder)
    shutil.rmtree(old, ignore_errors=True)


def _remove(folder: Path, archive: Path) -> None:
    """Remove a submission: its zip first (what is handed in), then its folder, renamed aside
    (at once) before it is deleted (file by file), so it is never seen half deleted."""
    archive.unlink(missing_ok=True)
    if folder.exists():
        old = _retired(folder)
        shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, old)
        shutil.rmtree(old)
    _remove_staging(folder)


def _remove_staging(folder: Path) -> None:
    """What a build left that was not put in place: its staging, a folder renamed aside."""
    staged_folder, staged_zip = staging(folder)
    for path in (staged_folder, _retired(folder)):
        shutil.rmtree(path, ignore_errors=True)
    staged_zip.unlink(missing_ok=True)


def unwritten_lines(rs: ResultsSet) -> list[str]:
    """What the report handed in leaves unwritten, one line each naming the file to edit
    ([] if nothing): its author as ``numbers.json`` records it, its prose as its Overleaf
    sources hold it (the files on disk where there are none), so that prose written after
    the report was built is still listed: it is not in the PDF."""
    rdir = rs.report_dir()
    try:
        numbers = json.loads((rdir / NUMBERS).read_text(encoding="utf-8"))
        author, ids = str(numbers.get("author", "")), [q["id"] for q in numbers["questions"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # no report built here: contents() has said so
    paths = prose_paths(rs, ids)
    try:
        with zipfile.ZipFile(rdir / OVERLEAF) as z:
            names = set(z.namelist())
            texts = {
                label: z.read(f"prose/{label}.tex").decode("utf-8", "replace")
                for label in paths
                if f"prose/{label}.tex" in names
            }
    except (OSError, zipfile.BadZipFile):
        texts = prose.read_texts(paths)
    return prose.unwritten_lines(
        prose.unwritten(author, texts, ids),
        paths,
        author,
        SETTINGS_FILE,
        "unwritten in the report handed in (it is a note: write them, `make report`, then "
        "`make submission` again):",
    )


def executed_notebook(path: Path, rs: ResultsSet, paper: list[str]) -> bytes | None:
    """The lab book with its outputs: as saved if it has any, else executed now on these
    results; None without a notebook. Run so that it changes nothing handed in: its question
    one of the ``paper``'s (its parameters' where it is, else the paper's first; complete runs
    are skipped), and the report shown as built, not built again (``BUILD_REPORT``). Where
    it cannot be run (no nbclient, or a cell fails), the saved one, with a note."""
    if not path.exists():
        return None
    data = path.read_bytes()
    nb = json.loads(data)
    if any(c.get("outputs") for c in nb.get("cells", []) if c.get("cell_type") == "code"):
        return data
    try:
        import nbclient
        import nbformat
    except ImportError:
        print(f"note: {path} has no outputs and nbclient is not installed: handed in as it is")
        return data
    book = nbformat.reads(data.decode(), as_version=4)
    for cell in book.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source += (
                f"\n# make submission: these results, a question of the paper, the paper as built"
                f"\nPROFILE = {rs.profile!r}\nRESULTS = {str(Path(rs.root).resolve())!r}"
                f"\nif QUESTION not in {paper!r}:  # the paper's first, all its runs"
                f"\n    QUESTION, ONLY, SEEDS = {paper[0]!r}, None, None"
                "\nBUILD_REPORT = False"
            )
    print(
        f"running {path} to hand it in with its outputs (a question of the paper; the report "
        "as built, not built again) ...",
        flush=True,
    )
    try:
        nbclient.NotebookClient(
            book,
            timeout=3600,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    except Exception as exc:  # a cell failed: what it printed is in the notebook
        print(
            f"note: {path}: a cell failed ({type(exc).__name__}); handed in with the "
            "outputs up to it"
        )
    return nbformat.writes(book).encode()


def read_listing(text: str) -> dict[str, tuple[int, str]]:
    """``LISTING.txt`` -> name -> (size, sha256); a malformed line is skipped."""
    out = {}
    for line in text.splitlines()[1:]:
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0].isdigit() and len(parts[1]) == 64:
            out[parts[2]] = (int(parts[0]), parts[1])
    return out
