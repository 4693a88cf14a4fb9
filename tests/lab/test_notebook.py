"""The lab book: committed without outputs, and run end to end it writes what the command line
writes."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from coursework.records.layout import ResultsSet
from coursework.report import submission
from coursework.runtime import backend
from coursework.verify import integrity
from tests.helpers import metric_columns, needs_tex, run_cli

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "coursework.ipynb"


def test_the_committed_notebook_has_no_outputs_and_a_parameters_cell():
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(
        c.get("outputs") == [] and c.get("execution_count") is None for c in code
    ), "clear the notebook's outputs before committing"
    assert [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]


@pytest.mark.slow  # runs the lab book
def test_make_submission_runs_the_lab_book_on_a_question_of_the_paper_built_as_it_is(tmp_path):
    """The lab book run to be handed in: its question one of the paper's (the paper's first
    where the book's is not), and its report cell told not to build the paper again (a
    rebuilt paper of other questions than `make report` built was handed in unnoticed)."""
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('QUESTION = "conv"\nBUILD_REPORT = True')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print(QUESTION, BUILD_REPORT, PROFILE)")]
    path = tmp_path / "book.ipynb"
    nbformat.write(nb, path)
    rs = ResultsSet(tmp_path / "results", "quick")
    for paper, shown in ((["skip", "conv"], "conv False quick"), (["skip"], "skip False quick")):
        ran = json.loads(submission.executed_notebook(path, rs, paper))
        assert "".join(ran["cells"][-1]["outputs"][0]["text"]).strip() == shown


@pytest.mark.slow
@needs_tex
@pytest.mark.skipif(
    shutil.which("latexmk") is None or backend.current() != "tensorflow",
    reason="trains and builds a report: once, in the TensorFlow pass",
)
def test_the_notebook_runs_top_to_bottom_and_writes_the_clis_bytes(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    [params] = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    res = tmp_path / "nb-results"
    params.source = (
        f'QUESTION = "conv"\nPROFILE = "quick"\nONLY = ["fc100", "conv1"]\n'
        f"SEEDS = [0]\nRESULTS = {str(res)!r}\nOWN_IMAGES = []\nBUILD_REPORT = True\n"
    )
    nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 5  # live view, curves, validation, comparison, confusion, errors
    text = json.dumps([o.get("data", {}).get("text/plain", "") for o in outputs])
    assert "predicted" in text and "report.pdf" in text
    # the same run and seed from the command line: the same history, byte for byte
    cli = tmp_path / "cli-results"
    assert (
        run_cli(
            "--results", cli, "run", "conv", "--profile", "quick", "--only", "fc100", "--seeds", "0"
        )
        == 0
    )
    rel = "quick/conv/fc100/seed-0/history.csv"
    assert metric_columns(res / rel) == metric_columns(cli / rel)
    # and make verify passes on what the notebook made, re-training a run
    rows = integrity.verify(ResultsSet(res, "quick"), sample=1)
    assert all(r.ok for r in rows), [r for r in rows if not r.ok]
    # make submission hands the lab book in with its outputs, as saved
    root = tmp_path / "student"
    (root / "notebooks").mkdir(parents=True)
    nbformat.write(nb, root / "notebooks" / "coursework.ipynb")
    archive = submission.gather(ResultsSet(res, "quick"), tmp_path / "submission", root=root)
    with zipfile.ZipFile(archive) as z:
        handed = json.loads(z.read("submission/notebook.ipynb"))
    assert sum(len(c.get("outputs", [])) for c in handed["cells"]) == len(outputs)
