"""The results a submission hands in (``make submission``): the paper's questions, as its
``report/numbers.json`` records them, and what a marker needs to check them, the CSVs and
figure provenance cut to their rows and entries, with the manifest of exactly these files.
Read from the results set; nothing written but into the submission's folder."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coursework.analysis import manifest
from coursework.records import layout
from coursework.records.errors import ReportError, ResultsError
from coursework.records.layout import ResultsSet
from coursework.report.questions import NUMBERS, built

WEIGHTS = (".h5", ".keras")  # in the results: never handed in (nor listed)
ROWS = (layout.SUMMARY, layout.STATS, layout.ENSEMBLES, layout.VERIFICATION)  # by question


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


def figure_question(stem: str) -> str:
    """The question of a figure, by its name (``conv-curves`` -> ``conv``)."""
    return stem.rsplit("-", 1)[0]


def ready(rs: ResultsSet) -> list[str]:
    """The paper's questions, once the results can be handed in (nothing read but the
    report's record and the runs' names): the report built, and runs of every question of
    its paper; else one error saying what to do."""
    rdir = rs.report_dir()
    profile = rs.profile
    if not (rdir / "report.pdf").exists():
        raise ReportError(
            f"{rdir / 'report.pdf'} does not exist: build the report first (make "
            f"report PROFILE={profile})"
        )
    ids = built(rs)
    for q in ids:
        if not rs.record_paths(q):
            folder = rs.question_dir(q)
            raise ResultsError(
                f"{folder}: no runs of {q!r}, a question of the paper "
                f"(report/{NUMBERS}): its run folders are missing; train it "
                f"(make {q} PROFILE={profile}), or build the report without it "
                f"(report.toml's questions, then make report PROFILE={profile})"
            )
    return ids


def results_part(rs: ResultsSet) -> Part:
    """What of ``<results>/<set>`` is handed in: the paper's questions (:func:`ready`) and
    what a marker needs to check them (see the module's docstring); read, nothing written."""
    ids = ready(rs)
    figures = rs.figures_dir().name
    report_folder = rs.report_dir().name

    def in_part(rel: str) -> bool:
        """Whether a file of the set (its name under the set) is handed in."""
        parts = rel.split("/")
        if rel.endswith(WEIGHTS) or parts[0] in (layout.MANIFEST, layout.PAGE):
            return False  # the part's own manifest and page are made from the part
        if parts[0] == figures:
            return len(parts) == 2 and (
                parts[1] == layout.PROVENANCE or figure_question(Path(parts[1]).stem) in ids
            )
        return len(parts) == 1 or parts[0] in ids or parts[0] == report_folder

    files, origins, left, out_of = {}, {}, set(), set()
    for path in rs.files():
        rel = rs.relative(path)
        top = rel.split("/")[0]
        if not in_part(rel):
            if top == figures:
                out_of.add(figure_question(Path(rel).stem))
            elif "/" in rel and top not in ids:  # not a weights file of the paper's
                left.add(top)
            continue
        files[rel] = path.read_bytes()
    out_of = (out_of | left) - set(ids)
    for rel in [r for r in files if r in ROWS or r == f"{figures}/{layout.PROVENANCE}"]:
        data, path = files[rel], rs.dir() / rel
        try:
            files[rel] = (
                _provenance_of(data, ids) if "/" in rel else _rows_of(data, ids, out_of, figures)
            )
        except (UnicodeDecodeError, ValueError, csv.Error) as exc:
            raise ResultsError(f"cannot read {path}: {exc}") from exc
        origins[rel] = (rel, hashlib.sha256(data).hexdigest())
    mpath = rs.aggregate(layout.MANIFEST)
    recorded = manifest.read(rs) if mpath.exists() else None
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
        """The question a row is about (None: the set as a whole)."""
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


def part_manifest(part: Part, staged: ResultsSet) -> dict[str, bytes]:
    """``results/<set>/MANIFEST.json`` of the results as handed in, written into the
    submission's folder (``staged``: the set in its ``results/``;
    :func:`coursework.analysis.manifest.of_part`); none where the set has none (as it is, the
    marker sees it)."""
    if part.recorded is None:
        return {}
    made = manifest.of_part(
        part.recorded,
        staged,
        part.origins,
        part.in_part,
        {"questions": part.questions, "left_out": part.left_out},
    )
    return {
        f"results/{staged.name}/{layout.MANIFEST}": (json.dumps(made, indent=2) + "\n").encode(
            "utf-8"
        )
    }
