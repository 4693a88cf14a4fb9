"""What ``make mark`` runs inside the sandbox, under the marker's limits: every parse of a
submission's files, its LaTeX and its re-runs. The marker's process only unpacks the zip (with
its own bounds) and reads what these print: one JSON document on standard output, capped
(:mod:`coursework.verify.bounded`); everything else they say goes to standard error, the log.

``python -E -s -B -m coursework.verify.inside KIND`` with a JSON request on standard input:

- ``inspect`` (the marker's code, the submission's files read-only): the integrity checks,
  the report's numbers and prose (its Jinja templates render here, never in the marker's
  process), the runs made by the handed-in code, the results page, and the runs a re-run may
  choose from, each with the settings it needs (and nothing of its results);
- ``latex``: the report's sources compiled (a copy in the work folder), the body's pages and
  the layout's problems;
- ``retrain``: one run re-trained from the settings the marker hands it (never from the
  handed-in results, which are not in its sandbox), its ``run.json`` and ``history.csv``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

# --------------------------------------------------------------------------- inspect


def inspect(request: dict[str, Any]) -> dict[str, Any]:
    """The checks of an unpacked submission that read its files: the sheet's rows and facts,
    its results page, and the re-run candidates."""
    from coursework.verify import inspection
    from coursework.verify.sheets import Sheet

    sheet = Sheet.from_json(request["sheet"])
    work = Path(request["work"])
    found = inspection.read_submission(sheet, Path(request["files"]), work, request["sandboxed"])
    return {"sheet": sheet.to_json(), **found}


# --------------------------------------------------------------------------- latex


def latex(request: dict[str, Any]) -> dict[str, Any]:
    """Compile a copy of the report's sources in the work folder: the body's pages and the
    layout's problems, or the error."""
    from coursework.records.errors import ReportError
    from coursework.report import latex as tex

    sources = Path(request["work"]) / "sources"
    shutil.copytree(request["sources"], sources, symlinks=True)
    try:
        tex.compile_pdf(sources)
    except ReportError as exc:
        return {"error": str(exc).splitlines()[-1] if str(exc).strip() else "failed"}
    budget = tex.page_budget(sources / "build" / "report.aux", request["questions"])
    return {"pages": budget["body_pages"], "layout": tex.layout(sources / "build")}


# --------------------------------------------------------------------------- retrain


def retrain(request: dict[str, Any]) -> dict[str, Any]:
    """Re-train the run of ``request`` (:func:`for_retrain`'s settings) in the work folder."""
    from coursework.records import layout
    from coursework.records.record import RunRecord
    from coursework.runtime import backend
    from coursework.verify import reproduce

    backend.import_keras()
    backend.check_installed()
    backend.configure(deterministic=True)  # as make verify: byte identity needs it
    out = Path(request["work"]) / "out"
    new = reproduce.retrain(RunRecord.from_parts(request["settings"], "the settings"), out)
    if isinstance(new, str):
        return {"error": new}
    flow = out / layout.GRADIENTS
    return {
        "record": new.to_json(),
        "history": (out / layout.HISTORY).read_text(),
        "gradients": flow.read_text() if flow.exists() else None,
    }


KINDS = {"inspect": inspect, "latex": latex, "retrain": retrain}


def main(argv: list[str] | None = None) -> int:
    """Read the request, run it with every print going to the log, write the result."""
    kind = (argv if argv is not None else sys.argv[1:])[0]
    for var in ("HOME", "TMPDIR"):
        if os.environ.get(var):
            os.makedirs(os.environ[var], exist_ok=True)
    request = json.loads(sys.stdin.read())
    result = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # what the code prints is the log; the result alone goes to the output
    sys.stdout = sys.stderr
    from coursework.runtime import logs

    logs.configure()  # what training says goes there too
    try:
        answer = KINDS[kind](request)
    except Exception as exc:  # noqa: BLE001 - the outcome, for the sheet
        import traceback

        from coursework.verify.inspection import cause

        traceback.print_exc()
        answer = {"crashed": cause(exc)}
    json.dump(answer, result)
    result.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
