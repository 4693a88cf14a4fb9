"""The README and docs/ a student follows: short, nothing about how the template was made, no
path outside the repository, links that resolve, and commands that run as written."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import installed_venv, template_report_toml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
USER_DOCS = [README, *DOCS]
# words from the template's own making, which mean nothing in a student's copy
EXAMPLE_TARGETS = {"width"}  # docs/experiments.md's worked example adds this question
INTERNAL = re.compile(
    r"\.\./shared|/work/|\bCI machine\b|\bsession\b|\blent\b|\bissue \d+", re.IGNORECASE
)


def shell_lines(path: Path) -> list[str]:
    """The commands of a markdown file's ```sh blocks, continuation lines joined."""
    out = []
    for block in re.findall(r"```sh\n(.*?)```", path.read_text(), re.DOTALL):
        joined = re.sub(r"\\\n\s*", " ", block)
        out += [line.strip() for line in joined.splitlines() if line.strip()]
    return out


def make_commands(path: Path) -> list[str]:
    """Every `make ...` a file shows, in its shell blocks and inline code, comments cut."""
    text = path.read_text()
    found = [c.split(" #")[0].strip() for c in shell_lines(path)]
    found += re.findall(r"`(make [^`]+)`", text)
    cmds = []
    for c in found:
        cmds += [part.strip() for part in c.split("&&") if part.strip().startswith("make ")]
    return cmds


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", text, re.MULTILINE))
    return targets | {p.stem for p in (ROOT / "experiments").glob("*.toml")}


def make(
    *args: str, cwd: Path = ROOT, env: dict | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=cwd,
        text=True,
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def test_the_readme_is_short_and_starts_with_the_two_commands():
    lines = README.read_text().splitlines()
    assert len(lines) <= 170, f"README.md has {len(lines)} lines"
    first_screen = "\n".join(lines[:40])
    assert "make quick" in first_screen and "report.pdf" in first_screen


@pytest.mark.parametrize("path", USER_DOCS, ids=lambda p: p.name)
def test_user_docs_say_nothing_of_how_the_template_was_made(path):
    hits = [
        f"{path.name}:{i}: {line.strip()}"
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if INTERNAL.search(line)
    ]
    assert hits == []


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


@pytest.mark.parametrize("path", USER_DOCS, ids=lambda p: p.name)
def test_every_link_to_a_file_and_heading_resolves(path):
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
        if re.match(r"https?://", target):
            continue
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        if not dest.exists():
            broken.append(target)
        elif anchor and anchor not in {
            slug(h) for h in re.findall(r"^#+ (.+)$", dest.read_text(), re.MULTILINE)
        }:
            broken.append(target)
    assert broken == []


def test_every_docs_page_is_linked_from_the_readme():
    text = README.read_text()
    assert [p.name for p in DOCS if f"(docs/{p.name})" not in text] == []


@pytest.mark.parametrize("path", USER_DOCS, ids=lambda p: p.name)
def test_every_make_command_shown_names_a_target_and_variables_make_knows(path):
    targets = make_targets()
    help_text = make("help").stdout
    known = set(re.findall(r"^  ([A-Z_]+)=", help_text, re.MULTILINE))
    bad = []
    for cmd in make_commands(path):
        words = shlex.split(cmd)[1:]
        names = [
            w for w in words if "=" not in w and not w.startswith("-") and not w.isupper()
        ]  # `make QUESTION`: a placeholder
        variables = [w.split("=")[0] for w in words if re.match(r"^[A-Z_]+=", w)]
        if [n for n in names if n not in targets | EXAMPLE_TARGETS] or [
            v for v in variables if v not in known
        ]:
            bad.append(cmd)
    assert bad == []


def test_make_help_shows_every_variable_the_makefile_reads():
    text = (ROOT / "Makefile").read_text()
    used = set(re.findall(r"\$\(([A-Z][A-Z_]*)\)", text))
    internal = set(re.findall(r"^([A-Z][A-Z_]*)\s*:?=", text, re.MULTILINE))
    internal |= {"MAKE", "MAKEFILE_LIST", "KERAS_BACKEND"} | {
        v for v in used if v.startswith("SAVED_") or v.startswith("EXTRA_BACKEND_")
    }
    shown = set(re.findall(r"^  ([A-Z_]+)=", make("help").stdout, re.MULTILINE))
    assert used - internal - shown == set()
    out = make("help", "PROFILE=quick").stdout
    assert "results/quick/report" in out and "$(PROFILE)" not in out


def fake_checkout(tmp_path: Path) -> Path:
    """The Makefile with an environment whose installs are all up to date, so that make
    only decides, and installs nothing; its Python is this one."""
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    template_report_toml(tmp_path / "report.toml", in_project=True)  # never a student's
    shutil.copytree(ROOT / "locks", tmp_path / "locks")
    (tmp_path / "report_templates").mkdir()
    shutil.copy(ROOT / "report_templates/references.bib", tmp_path / "report_templates")
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "conv.toml").write_text("")
    installed_venv(tmp_path)
    return tmp_path


def chosen(cwd: Path, *args: str) -> tuple[str, str]:
    out = make("help", *args, cwd=cwd, env={"KERAS_BACKEND": ""}).stdout
    return (
        re.search(r"^  BACKEND=(\S*)", out, re.MULTILINE)[1],
        re.search(r"^  EXTRA=(\S*)", out, re.MULTILINE)[1],
    )


def test_the_environment_remembers_the_backend_and_each_backends_install(tmp_path):
    repo = fake_checkout(tmp_path)
    env = {"KERAS_BACKEND": ""}
    assert chosen(repo) == ("tensorflow", "tensorflow")
    assert make("env", "BACKEND=jax", cwd=repo, env=env).returncode == 0
    assert chosen(repo) == ("jax", "jax")  # `make quick BACKEND=jax`, then `make report`
    assert make("env", "EXTRA=jax-cuda", cwd=repo, env=env).returncode == 0
    assert chosen(repo) == ("jax", "jax-cuda")  # EXTRA=jax-cuda means JAX
    assert make("env", "BACKEND=tensorflow", cwd=repo, env=env).returncode == 0
    assert chosen(repo) == ("tensorflow", "tensorflow")
    assert chosen(repo, "BACKEND=jax") == ("jax", "jax-cuda")  # JAX's own install, kept
    assert chosen(repo, "QUESTIONS=conv") == ("tensorflow", "tensorflow")


def test_report_toml_questions_choose_what_quick_and_plan_run(tmp_path):
    repo = fake_checkout(tmp_path)
    for q in ("skip", "depth"):
        (repo / "experiments" / f"{q}.toml").write_text("")
    out = make("-n", "quick", cwd=repo, env={"KERAS_BACKEND": ""}).stdout
    assert "run conv depth skip --profile quick" in out  # empty list: every question
    toml = (
        (repo / "report.toml").read_text().replace("questions = []", 'questions = ["skip", "conv"]')
    )
    (repo / "report.toml").write_text(toml)
    out = make("-n", "quick", "plan", cwd=repo, env={"KERAS_BACKEND": ""}).stdout
    assert "run skip conv --profile quick" in out and "plan skip conv --profile full" in out
    out = make("-n", "all", "QUESTIONS=depth", cwd=repo, env={"KERAS_BACKEND": ""}).stdout
    assert "run depth --profile full" in out and '--questions "depth"' in out


@pytest.mark.slow
def test_the_worked_example_of_a_new_question_trains_as_written(tmp_path, monkeypatch, capsys):
    """docs/experiments.md's builder and experiment file, copied out of the page, train (one
    seed, in the quick profile) and `describe` shows the new question's networks."""
    import models
    from coursework.commands import cli

    text = (ROOT / "docs" / "experiments.md").read_text()
    files = dict(re.findall(r"<!-- file: (\S+) -->\n```\w+\n(.*?)```", text, re.DOTALL))
    assert set(files) == {"models/width.py", "experiments/width.toml"}
    (tmp_path / "width.py").write_text(files["models/width.py"])
    spec = tmp_path / "width.toml"
    spec.write_text(files["experiments/width.toml"])
    monkeypatch.setattr(models, "__path__", [*models.__path__, str(tmp_path)])
    assert cli.main(["describe", str(spec)]) == 0
    assert capsys.readouterr().out.count("(input 28x28x1, 10 classes)") == 3
    res = tmp_path / "results"
    assert cli.main(["--results", str(res), "run", str(spec), "--seeds", "0"]) == 0
    assert len(list((res / "quick" / "width").glob("*/seed-0/run.json"))) == 3


def test_a_mistake_in_report_toml_stops_make_before_anything_trains(tmp_path):
    repo = fake_checkout(tmp_path)
    toml = (
        (repo / "report.toml")
        .read_text()
        .replace("questions = []", 'questions = ["conv", "convv"]')
    )
    (repo / "report.toml").write_text(toml)
    proc = make("-n", "quick", cwd=repo, env={"KERAS_BACKEND": ""})
    assert proc.returncode != 0 and " run " not in proc.stdout
    assert "report.toml: questions: no question convv" in proc.stderr
