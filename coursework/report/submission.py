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
  report's folder, and a ``MANIFEST.json`` of exactly these files
  (:func:`coursework.analysis.manifest.of_part`). The questions trained and not in the paper
  stay out, and one line says which;
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
import csv
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coursework import __version__
from coursework.analysis import manifest
from coursework.records import results
from coursework.records.errors import ReportError, ResultsError
from coursework.records.project import ROOT, code_digest, code_files
from coursework.report import prose
from coursework.report.render import NUMBERS, OVERLEAF, prose_paths
from coursework.report.settings import SETTINGS_FILE

NEVER = (".h5", ".keras", ".npz", ".npy", ".pyc")  # in the code
WEIGHTS = (".h5", ".keras")  # in the results: never handed in (nor listed)
LISTING, DESCRIPTION = "LISTING.txt", "SUBMISSION.json"
NOTEBOOK = Path("notebooks") / "coursework.ipynb"
ROWS = (results.SUMMARY, results.STATS, results.ENSEMBLES, results.VERIFICATION)  # by question
HISTORY_LENGTH = 5000  # commits of the git history recorded


def git(root: Path, *args: str) -> str | None:
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=60, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def description(
    results_set: str, code: dict[str, Path], root: Path = ROOT, part: Part | None = None
) -> dict:
    """``SUBMISSION.json``: what the submission holds and which code made it."""
    commits = git(root, "rev-list", f"--max-count={HISTORY_LENGTH}", "HEAD")
    status = git(root, "status", "--porcelain")
    return {
        "schema_version": results.SCHEMA_VERSION,
        "coursework_version": __version__,
        "results_set": results_set,
        "profile": results.profile_of(results_set),
        "made": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **({"questions": part.questions, "left_out": part.left_out} if part else {}),
        "git": {
            "commit": commits.split()[0] if commits else None,
            "dirty": None if status is None else bool(status),
            "history": commits.split() if commits else [],
        },
        "code_sha256": code_digest(code),
    }


@dataclass(frozen=True)
class Part:
    """The results handed in (:func:`results_part`): the paper's questions, the folders left
    out (questions trained and not in the paper), and the files: name under ``<set>/`` -> its
    bytes; ``origins``: the files made from a file of the set (a CSV of the part's rows) ->
    (that file's name, its sha256 as read); ``recorded``: the set's manifest (None: none)."""

    questions: list[str]
    left_out: list[str]
    files: dict[str, bytes]
    origins: dict[str, tuple[str, str]]
    recorded: dict | None
    in_part: Callable[[str], bool]

    def line(self) -> str:
        """The one line that says what is handed in and what is left out."""
        s = "s" if len(self.questions) > 1 else ""
        return f"results handed in: the paper's question{s} {', '.join(self.questions)}; " + (
            f"left out (not in the paper): {', '.join(self.left_out)}"
            if self.left_out
            else "none left out"
        )


def paper_questions(results_dir: Path, results_set: str) -> list[str]:
    """The questions of the paper built, as its ``report/numbers.json`` records them."""
    path = results.report_dir(results_dir, results_set) / NUMBERS
    again = f"build the report again (make report PROFILE={results.profile_of(results_set)})"
    if not path.exists():
        raise ReportError(f"{path} does not exist: {again}")
    try:
        ids = [q["id"] for q in results.read_json(path)["questions"]]
    except (KeyError, TypeError) as exc:
        raise ReportError(f"{path}: no list of questions with ids: {again}") from exc
    except ResultsError as exc:
        raise ReportError(f"{exc}: {again}") from exc
    if not ids or not all(isinstance(q, str) and q and "/" not in q for q in ids):
        raise ReportError(f"{path}: no list of questions with ids: {again}")
    return ids


def figure_question(stem: str) -> str:
    """The question of a figure, by its name (``conv-curves`` -> ``conv``)."""
    return stem.rsplit("-", 1)[0]


def ready(results_dir: Path, results_set: str) -> list[str]:
    """The paper's questions, once the results can be handed in (nothing read but the
    report's record and the runs' names): the report built, and runs of every question of
    its paper; else one error saying what to do."""
    rdir = results.report_dir(results_dir, results_set)
    profile = results.profile_of(results_set)
    if not (rdir / "report.pdf").exists():
        raise ReportError(
            f"{rdir / 'report.pdf'} does not exist: build the report first (make "
            f"report PROFILE={profile})"
        )
    ids = paper_questions(results_dir, results_set)
    for q in ids:
        if not results.record_paths(results_dir, results_set, q):
            folder = results.question_dir(results_dir, results_set, q)
            raise ResultsError(
                f"{folder}: no runs of {q!r}, a question of the paper "
                f"(report/{NUMBERS}): its run folders are missing; train it "
                f"(make {q} PROFILE={profile}), or build the report without it "
                f"(report.toml's questions, then make report PROFILE={profile})"
            )
    return ids


def results_part(results_dir: Path, results_set: str) -> Part:
    """What of ``<results>/<set>`` is handed in: the paper's questions (:func:`ready`) and
    what a marker needs to check them (see the module's docstring); read, nothing written."""
    ids = ready(results_dir, results_set)
    figures = results.figures_dir(results_dir, results_set).name
    report_folder = results.report_dir(results_dir, results_set).name

    def in_part(rel: str) -> bool:
        parts = rel.split("/")
        if rel.endswith(WEIGHTS) or parts[0] == results.MANIFEST:
            return False
        if parts[0] == figures:
            return len(parts) == 2 and (
                parts[1] == results.PROVENANCE or figure_question(Path(parts[1]).stem) in ids
            )
        return len(parts) == 1 or parts[0] in ids or parts[0] == report_folder

    files, origins, left, out_of = {}, {}, set(), set()
    for path in results.files(results_dir, results_set):
        rel = results.relative(path, results_dir, results_set)
        top = rel.split("/")[0]
        if not in_part(rel):
            if top == figures:
                out_of.add(figure_question(Path(rel).stem))
            elif "/" in rel and top not in ids:  # not a weights file of the paper's
                left.add(top)
            continue
        files[rel] = path.read_bytes()
    out_of = (out_of | left) - set(ids)
    for rel in [r for r in files if r in ROWS or r == f"{figures}/{results.PROVENANCE}"]:
        data, path = files[rel], results.set_dir(results_dir, results_set) / rel
        try:
            files[rel] = (
                _provenance_of(data, ids) if "/" in rel else _rows_of(data, ids, out_of, figures)
            )
        except (UnicodeDecodeError, ValueError, csv.Error) as exc:
            raise ResultsError(f"cannot read {path}: {exc}") from exc
        origins[rel] = (rel, hashlib.sha256(data).hexdigest())
    mpath = results.aggregate(results_dir, results_set, results.MANIFEST)
    recorded = manifest.read(results_dir, results_set) if mpath.exists() else None
    return Part(ids, sorted(left), files, origins, recorded, in_part)


def _rows_of(data: bytes, ids: list[str], out_of: set[str], figures: str) -> bytes:
    """A CSV of the whole set (``data``) with only the rows of the questions ``ids``: by its
    ``question`` column, or (``verification.csv``) by the question its ``run`` or ``file``
    names, the checks of the whole set kept, those of the questions ``out_of`` left out."""
    table = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    if not table:
        return data
    head = table[0]

    def question(row: dict) -> str | None:
        if "question" in row:
            return row["question"]
        if row.get("run") not in (None, "", "-"):
            return row["run"].split("/")[0]
        parts = row.get("file", "").split("/")
        if len(parts) < 2:
            return None
        return figure_question(Path(parts[1]).stem) if parts[0] == figures else parts[0]

    keep = []
    for cells in table[1:]:
        q = question(dict(zip(head, cells, strict=False)))
        if q in ids or ("question" not in head and q not in out_of):
            keep.append(cells)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([head, *keep])
    return buf.getvalue().encode("utf-8")


def _provenance_of(data: bytes, ids: list[str]) -> bytes:
    """``figures/provenance.json`` with only the entries of the figures of ``ids``."""
    prov = json.loads(data.decode("utf-8"))
    if not isinstance(prov, dict) or not isinstance(prov.get("figures"), dict):
        raise ValueError("no figures in it")
    prov["figures"] = {
        name: entry for name, entry in prov["figures"].items() if figure_question(name) in ids
    }
    return (json.dumps(prov, indent=2) + "\n").encode("utf-8")


def contents(
    results_dir: Path, results_set: str, root: Path = ROOT, part: Part | None = None
) -> dict[str, Path | bytes]:
    """Name in the submission -> the file on disk, or (the results handed in, ``part``:
    default :func:`results_part`) its bytes; all but the manifest of the results, made from
    them as they are written (:func:`gather`)."""
    rdir = results.report_dir(results_dir, results_set)
    part = part or results_part(results_dir, results_set)
    out: dict[str, Path | bytes] = {"report.pdf": rdir / "report.pdf"}
    if (rdir / "report-overleaf.zip").exists():
        out["report-sources.zip"] = rdir / "report-overleaf.zip"
    results_abs = Path(results_dir).resolve()
    for path in code_files(root):
        name = path.relative_to(root).as_posix()
        if results_abs not in path.resolve().parents and not name.endswith(NEVER):
            out[f"code/{name}"] = path
    out.update({f"results/{results_set}/{rel}": data for rel, data in part.files.items()})
    return out


def part_manifest(part: Part, folder: Path, results_set: str) -> dict[str, bytes]:
    """``results/<set>/MANIFEST.json`` of the results as handed in, written into the
    submission's ``folder`` (:func:`coursework.analysis.manifest.of_part`); none where the set
    has none (as it is, the marker sees it)."""
    if part.recorded is None:
        return {}
    made = manifest.of_part(
        part.recorded,
        folder / "results",
        results_set,
        part.origins,
        part.in_part,
        {"questions": part.questions, "left_out": part.left_out},
    )
    return {
        f"results/{results_set}/{results.MANIFEST}": (json.dumps(made, indent=2) + "\n").encode(
            "utf-8"
        )
    }


def gather(
    results_dir: Path,
    results_set: str,
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
    ready(results_dir, results_set)  # the report and its questions, before anything runs
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
    book = executed_notebook(root / NOTEBOOK, results_dir, results_set) if notebook else None
    part = results_part(results_dir, results_set)  # after the notebook: what it changed
    paths = contents(results_dir, results_set, root, part)
    files = {name: p if isinstance(p, bytes) else p.read_bytes() for name, p in paths.items()}
    if book is not None:
        files["notebook.ipynb"] = book
    code = {name[5:]: p for name, p in paths.items() if name.startswith("code/")}
    files[DESCRIPTION] = (
        json.dumps(description(results_set, code, root, part), indent=2) + "\n"
    ).encode()
    staged_folder, staged_zip = staging(folder)
    try:
        _write(
            files,
            folder.name,
            staged_folder,
            staged_zip,
            lambda staged: part_manifest(part, staged, results_set),
        )
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
    print(part.line())
    running = [
        d
        for d in results.in_progress_dirs(results_dir, results_set)
        if part.in_part(results.relative(d, results_dir, results_set))
    ]
    if running:
        print(
            f"note: {len(running)} run(s) still in progress (their partial files are handed "
            f"in without a run.json, e.g. "
            f"{results.relative(running[0], results_dir, results_set)}): let them finish "
            "(`make` resumes them), then `make submission` again"
        )
    for line in unwritten_lines(results_dir, results_set):
        print(line)
    return archive


def staging(folder: Path) -> tuple[Path, Path]:
    """Where :func:`gather` builds the folder and the zip, hidden beside them:
    ``.submission.partial/`` and ``.submission.zip.partial``."""
    folder = Path(folder)
    return (
        folder.parent / f".{folder.name}.partial",
        folder.parent / f".{folder.with_suffix('.zip').name}.partial",
    )


def _retired(folder: Path) -> Path:
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
        results.write_bytes(folder / entry, data)
    extra = made(folder)
    for entry, data in sorted(extra.items()):
        results.write_bytes(folder / entry, data)
    with open(archive, "xb") as f:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
            for entry, data in sorted({**files, **extra}.items()):
                z.writestr(f"{name}/{entry}", data)
                listing.append(f"{len(data):>10}  {hashlib.sha256(data).hexdigest()}  {entry}")
            text = "\n".join(listing) + "\n"
            results.write_text(folder / LISTING, text)
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


def unwritten_lines(results_dir: Path, results_set: str) -> list[str]:
    """What the report handed in leaves unwritten, one line each naming the file to edit
    ([] if nothing): its author as ``numbers.json`` records it, its prose as its Overleaf
    sources hold it (the files on disk where there are none), so that prose written after
    the report was built is still listed: it is not in the PDF."""
    rdir = results.report_dir(results_dir, results_set)
    try:
        numbers = json.loads((rdir / NUMBERS).read_text(encoding="utf-8"))
        author, ids = str(numbers.get("author", "")), [q["id"] for q in numbers["questions"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # no report built here: contents() has said so
    paths = prose_paths(results_dir, results_set, ids)
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


def executed_notebook(path: Path, results_dir: Path, results_set: str) -> bytes | None:
    """The lab book with its outputs: as saved if it has any, else executed now on these
    results (its parameters' question, complete runs skipped); None without a notebook. Where
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
                f"\nPROFILE = {results.profile_of(results_set)!r}"
                f"\nRESULTS = {str(Path(results_dir).resolve())!r}"
            )
    print(f"running {path} to hand it in with its outputs ...", flush=True)
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
