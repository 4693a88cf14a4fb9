"""What a submission holds, read as data only: its layout, ``LISTING.txt``,
``SUBMISSION.json``, its code against the template, the report's settings, and files too large
to read."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from coursework.analysis import manifest
from coursework.analysis.checks import Row, short
from coursework.records import layout, storage
from coursework.records.errors import ResultsError
from coursework.records.layout import ResultsSet
from coursework.records.project import code_digest
from coursework.records.record import RunRecord
from coursework.report import render as report
from coursework.report.submission import DESCRIPTION, LISTING, read_listing
from coursework.verify import archive
from coursework.verify.changes import Changes, changes
from coursework.verify.options import MAX_JSON_BYTES
from coursework.verify.sheets import Sheet
from coursework.verify.verdicts import Verdict, absent, whole

# SUBMISSION.json's fields that marking needs, and their types (the others are read where
# they are used, and may be missing)
DESCRIPTION_FIELDS: dict[str, type] = {"results_set": str}
RESULTS_SET_NAME = r"[A-Za-z0-9_.@+-]+"  # a name, never a path out of the submission
LISTING_LINE_BYTES = 1024  # a line of LISTING.txt: size, sha256 and a path (~100 bytes)
# The most a .csv may hold to be read: the template's are a few kB (a history.csv is an epoch
# a line) to ~2 MB (verification.csv, a row per check, at the archive's 20,000 files). Parsed
# into dicts a CSV takes up to ~100 times its bytes (a row of one short cell: a dict each), so
# this keeps one file under ~400 MB, where options.MAX_CSV_BYTES (64 MiB) allowed ~6 GB.
MAX_CSV_READ = 4 << 20
LINE_ENDS = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")  # str.splitlines's


def submission_root(files: Path) -> Path | None:
    """The folder of the unpacked zip that holds ``LISTING.txt`` (``submission/``, or the top)."""
    if (files / LISTING).is_file():
        return files
    tops = [p for p in files.iterdir() if p.is_dir()]
    return tops[0] if len(tops) == 1 and (tops[0] / LISTING).is_file() else None


def listing_bound(max_files: int = archive.MAX_FILES) -> int:
    """The most bytes ``LISTING.txt`` may hold: a header and a generous line for each file
    the archive may hold."""
    return (max_files + 1) * LISTING_LINE_BYTES


def check_listing(root: Path, max_files: int = archive.MAX_FILES) -> list[Row]:
    """Every file against ``LISTING.txt``: same size and sha256, none missing, none unlisted.

    A listing of more bytes than :func:`listing_bound` (its size checked before it is read),
    or more lines than the archive may hold files, is one BROKEN row: never read whole, nor
    split into a million lines."""
    path = root / LISTING
    bound, nbytes = listing_bound(max_files), path.stat().st_size
    if nbytes > bound:
        expected, got = f"<= {bound:,} bytes", f"{nbytes:,} bytes"
        return [whole("listing: size", LISTING, expected, got, Verdict.BROKEN)]
    with open(path, "rb") as f:
        text = f.read(bound).decode("utf-8", errors="replace")
    lines = sum(1 for _ in LINE_ENDS.finditer(text))
    if lines > max_files + 1:
        expected, got = f"<= {max_files + 1:,} lines", f"{lines:,} lines"
        return [whole("listing: size", LISTING, expected, got, Verdict.BROKEN)]
    listed = read_listing(text)
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    present.discard(LISTING)
    rows = []
    for name, (size, digest) in sorted(listed.items()):
        if name not in present:
            rows.append(absent("listing: file", name, digest[:12]))
            continue
        got = manifest.sha256(root / name)
        ok = got == digest and (root / name).stat().st_size == size
        verdict = Verdict.OK if ok else Verdict.EDITED
        rows.append(whole("listing sha256", name, digest[:12], got[:12], verdict))
    rows += [
        whole("listing: file listed", name, "in LISTING.txt", "not listed", Verdict.UNLISTED)
        for name in sorted(present - set(listed))
    ]
    return rows


def _described(text: str) -> dict[str, Any]:
    """``SUBMISSION.json``'s text as a dict with :data:`DESCRIPTION_FIELDS` of their types.

    Raises:
        ValueError: not JSON, or a field missing or of another type (``no <field>``).
    """
    desc = json.loads(text)
    for name, kind in DESCRIPTION_FIELDS.items():
        if not isinstance(desc, dict) or not isinstance(desc.get(name), kind):
            raise ValueError(f"no {name}")
    return dict(desc)


def read_description(root: Path) -> tuple[dict[str, Any], list[Row]]:
    """``SUBMISSION.json``, or what can be found without it (the one results set)."""
    path = root / DESCRIPTION
    try:
        return _described(path.read_text(encoding="utf-8")), []
    except (OSError, ValueError) as exc:
        sets = [s for s in layout.sets(root / "results") if s != "slurm-logs"]
        desc = {"results_set": sets[0]} if len(sets) == 1 else {}
        why = short(exc, 60)
        return desc, [
            whole("submission description", DESCRIPTION, "readable", why, Verdict.MISSING)
        ]


def bad_results_set(results_set: str | None) -> list[Row]:
    """A row if the description's results set is not a plain name (``../..``: a path out of
    the submission); it is never followed."""
    if (
        results_set
        and not re.fullmatch(RESULTS_SET_NAME, results_set)
        or results_set in (".", "..")
    ):
        return [
            whole(
                "submission description",
                DESCRIPTION,
                "a results set's name",
                short(results_set, 60),
                Verdict.BROKEN,
            )
        ]
    return []


def code_of(root: Path) -> dict[str, Path]:
    """The handed-in code: its files by path under ``code/``."""
    code = root / "code"
    return (
        {p.relative_to(code).as_posix(): p for p in sorted(code.rglob("*")) if p.is_file()}
        if code.is_dir()
        else {}
    )


def check_code(root: Path, desc: dict[str, Any], sheet: Sheet) -> list[Row]:
    """What the student changed against the template (its git history is the marker's)."""
    code = code_of(root)
    if not code:
        return [absent("code", "code/", "handed in")]
    diff: Changes = changes(code, desc.get("git", {}).get("history", []))
    sheet.facts["code_changed"] = diff.summary()
    for name, c in sorted(diff.changed.items()):
        how = "added" if name in diff.added else "removed" if name in diff.removed else "changed"
        how += f", {c.note}" if c.note else ""
        row = [name, c.lines_added, c.lines_removed, how, c.bytes_added, c.bytes_removed]
        sheet.changed_files.append(row)
    base = diff.base[:10] if diff.base else diff.note
    verdict = Verdict.OK if diff.base else Verdict.NOTE
    return [whole("code: template commit", "code/", "a template commit", base, verdict)]


def check_runs_code(root: Path, desc: dict[str, Any], sheet: Sheet) -> list[Row]:
    """Which runs the handed-in code made (the digest of the training code each ``run.json``
    records), and whether ``SUBMISSION.json`` names that code; it reads every record, so it
    runs in the sandbox with the other reads (:mod:`.inspection`)."""
    code = code_of(root)
    if not code:
        return []
    digest = code_digest(code)
    handed = ResultsSet(root / "results", desc.get("results_set", ""))
    recs = [storage.read_record(p) for p in handed.record_paths()]
    by_builder: dict[str, str] = {}  # a run's code: the engine and its builder's models

    def made_here(rec: RunRecord) -> bool:
        builder = str(rec.config.builder or "")
        if builder not in by_builder:
            by_builder[builder] = code_digest(code, builder or None)
        return rec.code_sha256 in (by_builder[builder], digest)

    same = sum(made_here(r) for r in recs)
    unknown = sum(r.code_sha256 is None for r in recs)
    sheet.facts["runs_by_handed_in_code"] = f"{same}/{len(recs)}" + (
        f" ({unknown} made before runs recorded their code)" if unknown else ""
    )
    rows = []
    if desc.get("code_sha256") not in (None, digest):
        expected = short(desc["code_sha256"], 12)
        rows.append(whole("code digest", DESCRIPTION, expected, digest[:12], Verdict.EDITED))
    if same + unknown < len(recs):
        check = "code: runs made by the handed-in code"
        rows.append(whole(check, "code/", f"{len(recs)} runs", f"{same} runs", Verdict.NOTE))
    return rows


def report_settings(root: Path, rs: ResultsSet) -> dict[str, str]:
    """The report's title and author: as its ``numbers.json`` records them, else the
    handed-in ``report.toml`` (read as data only)."""
    for path, read in (
        (rs.report_dir() / report.NUMBERS, json.loads),
        (root / "code" / "report.toml", tomllib.loads),
    ):
        try:
            raw = read(path.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError):
            continue
        if isinstance(raw, dict) and "author" in raw:
            return {k: str(raw.get(k, "")) for k in ("title", "author")}
    return {}


def too_large(root: Path) -> list[Row]:
    """Files too large to read: a ``.json`` over :data:`MAX_JSON_BYTES`, a ``.csv`` over
    :data:`MAX_CSV_READ`, an ``.npz`` whose arrays' headers say more than
    :func:`coursework.records.storage.read_npz` reads (the template writes none of them)."""
    rows = []
    for path in sorted(root.rglob("*")):
        if path.suffix == ".npz" and path.is_file():
            try:
                storage.read_npz(path, load=False)
            except ResultsError as exc:
                rel = path.relative_to(root).as_posix()
                why = short(str(exc).removeprefix(f"{path}: "), 100)
                most = f"<= {storage.MAX_NPZ_ARRAY_BYTES >> 20} MiB an array"
                rows.append(whole("array size", rel, most, why, Verdict.BROKEN))
        limit = {".json": MAX_JSON_BYTES, ".csv": MAX_CSV_READ}.get(path.suffix)
        if limit and path.is_file() and path.stat().st_size > limit:
            rows.append(
                whole(
                    "file size",
                    path.relative_to(root).as_posix(),
                    f"<= {limit >> 20} MiB",
                    f"{path.stat().st_size:,} bytes",
                    Verdict.BROKEN,
                )
            )
    return rows
