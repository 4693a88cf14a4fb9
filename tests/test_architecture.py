"""The plan of the house: imports flow one way, one module knows the results layout, and
everything after training works without Keras."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coursework.commands import cli
from tests.helpers import toy_spec

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "coursework"

NO_KERAS = """
import sys

class NoKeras:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("keras", "tensorflow", "jax", "torch"):
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by the test)")

sys.meta_path.insert(0, NoKeras())
"""


def modules(package_dir: Path = PACKAGE) -> dict[str, Path]:
    """``records.results`` -> its file: every module of the package, by dotted name."""
    return {
        ".".join(p.relative_to(package_dir).with_suffix("").parts): p
        for p in package_dir.rglob("*.py")
    }


def project_imports(package_dir: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the coursework modules it imports: at the top, inside functions and under
    ``TYPE_CHECKING`` alike. ``from coursework.a.b import c`` is an edge to the module
    ``a.b.c`` if there is one, else to ``a.b`` (a module, or a package's ``__init__``)."""
    known = modules(package_dir)

    def module_of(dotted: str) -> str | None:
        for name in (dotted, f"{dotted}.__init__" if dotted else "__init__"):
            if name in known:
                return name
        return None

    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        found: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if parts[0] != "coursework" or node.level:
                    continue
                base = ".".join(parts[1:])
                for a in node.names:
                    found.add(module_of(f"{base}.{a.name}" if base else a.name) or module_of(base))
            elif isinstance(node, ast.Import):
                found |= {
                    module_of(a.name.split(".", 1)[1])
                    for a in node.names
                    if a.name.startswith("coursework.")
                }
        assert None not in found, f"{name}: an import of a coursework module that is not there"
        graph[name] = {m for m in found if m is not None} - {name}
    return graph


def package(module: str) -> str:
    """``records.results`` -> ``records``; a top-level module is its own package."""
    return module.split(".")[0]


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """Every import circle of any length, once each (by depth-first search)."""
    state: dict[str, int] = {}
    found: list[str] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                found.append(" -> ".join(path[path.index(dep) :] + [dep]))
            elif dep not in state:
                visit(dep, path + [dep])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def layers(root: Path = ROOT) -> tuple[list[str], list[str]]:
    """The layers (top first) and their lines, from docs/architecture.md."""
    text = (root / "docs" / "architecture.md").read_text()
    block = text.split("<!-- layers -->")[1].split("<!-- /layers -->")[0]
    lines = [line for line in block.strip().splitlines() if line.startswith("- ")]
    return [re.findall(r"`(\w+)/?`", line)[0] for line in lines], lines


TOP = {"__init__", "__main__"}  # the package itself: the version, and `python -m`


def upward(graph: dict[str, set[str]], order: list[str]) -> list[str]:
    """Every import of a module of a higher layer (``order``: the layers, top first)."""
    level = {name: len(order) - i for i, name in enumerate(order)}  # records lowest: 1
    return sorted(
        f"{m} imports {d}"
        for m, deps in graph.items()
        for d in deps
        if m not in TOP and d not in TOP and level[package(d)] > level[package(m)]
    )


def test_no_import_cycles():
    graph = project_imports()
    assert sum(map(len, graph.values())) > 200  # every edge: a module imported from a package
    assert cycles(graph) == []


def test_each_package_imports_only_the_packages_below_it():
    """The layers are the sub-packages of ``coursework/``, listed in docs/architecture.md (the
    top layer first, each with its modules): a module imports modules of its own package or
    of a package below."""
    order, lines = layers()
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert folders == set(order), "docs/architecture.md: layers out of date"
    unnamed = [
        f"{layer}/{p.name}"
        for layer, line in zip(order, lines, strict=True)
        for p in (PACKAGE / layer).glob("*.py")
        if p.name != "__init__.py" and f"`{p.name}`" not in line
    ]
    assert unnamed == [], "docs/architecture.md: modules not named in their layer's line"
    graph = project_imports()
    assert {m for m in graph if "." not in m} == TOP
    assert upward(graph, order) == []
    assert graph["__init__"] == set()


def test_a_planted_upward_import_and_a_planted_circle_are_both_found(tmp_path):
    """The two checks above can fail: in a copy of the package, a records module that
    imports the command line (inside a function), and two modules that import each other
    (one of them only for type checking)."""
    copy = tmp_path / "coursework"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "records" / "planted_a.py").write_text(
        "from coursework.records.planted_b import B\n\n"
        "def main():\n    from coursework.commands.cli import main as run\n    return run\n"
    )
    (copy / "records" / "planted_b.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
        "    from coursework.records import planted_a\n\nB = 1\n"
    )
    graph = project_imports(copy)
    assert "records.planted_a -> records.planted_b -> records.planted_a" in cycles(graph)
    assert upward(graph, layers()[0]) == ["records.planted_a imports commands.cli"]


def test_only_the_results_module_globs_the_results_folder():
    """Any other module lists only folders that are not results: the specs, the student's
    prose, the project's code, folders of images."""
    others = {
        "spec.py": ["EXPERIMENTS_DIR.glob"],
        "render.py": ["prose.glob"],
        "project.py": ["(root / name).rglob"],
        "images.py": ["folder.iterdir", "c.rglob"],
        "formats.py": ["path.iterdir"],
        "run_folders.py": ["backup.iterdir"],  # a run folder's own backup, named by layout.py
        # a marker's folder of zips, and an unpacked submission (not a results folder)
        "mark.py": ["path.glob"],
        "contents.py": ["files.iterdir", "root.rglob", "code.rglob", "root.rglob"],
        "sheets.py": ["(marking).iterdir"],
    }  # the marking folder's sheets
    for path in PACKAGE.rglob("*.py"):
        if path.name != "layout.py":
            found = re.findall(r"([\w.]+|\([^()]*\))\.(r?glob|iterdir)\(", path.read_text())
            assert [f"{a}.{b}" for a, b in found] == others.get(path.name, []), path.name


def test_only_the_results_module_names_the_results_files():
    """The file names of a results folder are spelled in records/layout.py alone."""
    from coursework.records import layout

    names = [
        layout.RECORD,
        layout.HISTORY,
        layout.SPEC,
        layout.PREDICTIONS,
        layout.MODEL,
        layout.BEST_WEIGHTS,
        layout.SUMMARY,
        layout.STATS,
        layout.ENSEMBLES,
        layout.MANIFEST,
        layout.VERIFICATION,
        layout.BENCH,
        layout.CALIBRATION,
    ]
    assert len(set(names)) == len(names)
    for path in PACKAGE.rglob("*.py"):
        if path.name != "layout.py":
            text = path.read_text()
            assert [n for n in names if f'"{n}"' in text or f"'{n}'" in text] == [], path.name


def test_no_private_framework_apis():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert "_flatten_layers" not in text and "tensorflow.python" not in text, path.name
    assert not (ROOT / "report_templates" / "prose" / "toy").exists()


@pytest.mark.slow
def test_collect_report_plots_and_verify_run_without_keras(tmp_path, tiny_npz):
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}", epochs=1, seeds="[0, 1]")
    res = tmp_path / "r"
    assert cli.main(["--results", str(res), "run", str(spec)]) == 0
    (tmp_path / "block").mkdir()
    (tmp_path / "block" / "sitecustomize.py").write_text(NO_KERAS)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "block"), str(ROOT)])}
    check = subprocess.run(
        [sys.executable, "-c", "import keras"], env=env, capture_output=True, text=True
    )
    assert "No module named 'keras'" in check.stderr
    steps = [["collect"], ["report"], ["verify", "--no-rerun"], ["plots"]]
    if shutil.which("latexmk"):  # a submission needs the PDF; marking it needs no Keras
        steps += [
            ["report"],
            ["submission", "--out", str(tmp_path / "sub"), "--no-notebook"],
            [
                "mark",
                str(tmp_path / "sub.zip"),
                "--sample",
                "0",
                "--marking",
                str(tmp_path / "marking"),
            ],
        ]
    for args in steps:
        proc = subprocess.run(
            [sys.executable, "-m", "coursework", "--results", str(res), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, f"{args}: {proc.stdout[-1500:]}\n{proc.stderr[-1500:]}"
    assert (res / "quick/report/toy.tex").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["run", "conv", "--only", "nope"],
        ["verify"],
        ["report"],
        ["plots"],
        ["describe", "nope"],
        ["mark", "no-such-submission.zip"],
    ],
)
def test_user_errors_are_one_line_and_exit_2(tmp_path, args, capsys):
    assert cli.main(["--results", str(tmp_path / "empty"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


@pytest.mark.slow
def test_commands_print_no_framework_noise(tmp_path, tiny_npz):
    """TensorFlow's load-time lines (absl preamble, oneDNN, CUDA drivers) are not shown; the
    command's own output is."""
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}", epochs=1)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run(
        [sys.executable, "-m", "coursework", "--results", str(tmp_path / "r"), "run", str(spec)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "epoch 1/1" in proc.stdout
    for noise in ("absl", "oneDNN", "cuda drivers", "I0000"):
        assert noise not in proc.stdout + proc.stderr


@pytest.mark.slow  # imports Keras in a new process
def test_models_is_the_projects_folder_not_an_installed_package(tmp_path):
    """``models/`` is not installed (a package named ``models`` is common): from another folder
    it is not importable, the builders still resolve, and another ``models`` is named."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("")
    code = """
import importlib.util, sys
from coursework.records.builders import resolve_builder
from coursework.records.errors import SpecError
assert importlib.util.find_spec("models") is None, "models is installed"
print(resolve_builder("conv:build").__module__)
sys.path.insert(0, sys.argv[1])
for name in [n for n in sys.modules if n == "models" or n.startswith("models.")]:
    del sys.modules[name]
import models
try:
    resolve_builder("conv:build")
except SpecError as exc:
    print(exc)
"""
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.splitlines()
    assert first == "models.conv"
    assert "another package named 'models'" in second and str(tmp_path / "models") in second
