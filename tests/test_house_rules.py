"""The house rules a newcomer can rely on: rooms read in one sitting, settings read by name
through their types, statuses and verdicts spelled once (docs/architecture.md, Conventions)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("coursework", "models")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def sources(root: Path = ROOT) -> Iterator[Path]:
    """Every Python file of the package and the model builders."""
    for folder in SOURCES:
        yield from sorted((root / folder).rglob("*.py"))


def long_modules(root: Path = ROOT) -> list[str]:
    """``path: N lines`` for each module over the limit."""
    found = []
    for path in sources(root):
        lines = path.read_text().count("\n")
        if lines > MAX_MODULE_LINES:
            found.append(f"{path.relative_to(root)}: {lines} lines")
    return found


def long_functions(root: Path = ROOT) -> list[str]:
    """``path:function: N lines`` for each function or method over the limit (its decorators
    not counted, its docstring counted)."""
    found = []
    for path in sources(root):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found.append(f"{path.relative_to(root)}:{node.name}: {lines} lines")
    return found


def _strings(node: ast.AST | None) -> list[ast.Constant]:
    """The string constants of ``node``: itself, or the items of a tuple, list or set."""
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return [n for n in items if isinstance(n, ast.Constant) and isinstance(n.value, str)]


VALUE_NAMES = ("status", "verdict", "state", "kind")
RECORDS = {"State", "Row", "Check"}  # records whose positional arguments hold a state/verdict


def value_positions(tree: ast.AST, words: set[str]) -> list[ast.Constant]:
    """The string constants of ``tree`` in the places a status or verdict is a value, not a
    column's name: compared (``x == "complete"``, ``x in ("ok", "note")``), returned, given
    to a ``status=``/``verdict=``/``state=`` argument, assigned to such a name, the arguments
    of ``State(...)``/``Row(...)``, and the keys of a dict keyed by them (most of its keys are
    ``words``: ``{"complete": "kept", ...}``; a row's ``{"note": ""}`` is not)."""
    found: list[ast.Constant] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                found += _strings(side)
        elif isinstance(node, ast.Return):
            found += _strings(node.value)
        elif isinstance(node, ast.keyword) and any(w in (node.arg or "") for w in VALUE_NAMES):
            found += _strings(node.value)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in targets]
            if any(w in n.lower() for n in names for w in VALUE_NAMES):
                found += _strings(node.value)
        elif isinstance(node, ast.Call):
            callee = node.func.id if isinstance(node.func, ast.Name) else None
            if callee in RECORDS:
                for arg in node.args:
                    found += _strings(arg)
        elif isinstance(node, ast.Dict):
            keys = [k for k in node.keys if k is not None for k in _strings(k)]
            if 2 * sum(k.value in words for k in keys) > len(keys):
                found += keys
    return found


def spelled(words: set[str], allowed: set[str], root: Path = ROOT) -> list[str]:
    """``path:line: 'word'`` for each status or verdict spelled as a string where a value is
    (:func:`value_positions`) in a module other than ``allowed`` (paths relative to ``root``).
    A column or key named like one (``row["note"]``) is a name, not a verdict."""
    found = []
    for path in sources(root):
        rel = str(path.relative_to(root))
        if rel in allowed:
            continue
        for node in value_positions(ast.parse(path.read_text()), words):
            if node.value in words:
                found.append(f"{rel}:{node.lineno}: {node.value!r}")
    return sorted(set(found))


def config_reads(allowed: set[str], root: Path = ROOT) -> list[str]:
    """``path:line`` for each read of a training config by string key (``cfg["epochs"]``,
    ``config.get("epochs")``) outside ``allowed``: a config is a ``TrainConfig``, read by
    attribute, so that a misspelt name fails when the code is checked, not at report time."""
    found = []
    names = {"cfg", "config"}
    for path in sources(root):
        rel = str(path.relative_to(root))
        if rel in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            target = None
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                target = node.value
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                target = node.func.value
            last = target.attr if isinstance(target, ast.Attribute) else None
            if isinstance(target, ast.Name):
                last = target.id
            if last in names:
                found.append(f"{rel}:{node.lineno}")
    return found


CSV = "a CSV row (summary.csv, stats.csv, ensembles.csv, verification.csv)"
BEST = "a study's best.json (its choice: params, trial), not a run's record"
SPEC = "an experiment file's TOML table, before it is a spec"
LAYER = "a row of a network's layer table (its trainable params)"
# (module, the expression read by a record field's name): why it is no run record
NOT_RECORDS = {
    ("coursework/analysis/contract.py", "r"): "a table row of numbers.json",
    ("coursework/analysis/question.py", "e"): CSV,
    ("coursework/analysis/question.py", "q.rows"): "the question's tables, by name",
    ("coursework/analysis/question.py", "r"): CSV,
    ("coursework/analysis/stats_table.py", "r"): CSV,
    ("coursework/analysis/words.py", "la"): LAYER,
    ("coursework/commands/describe.py", "arch"): "a run's described architecture",
    ("coursework/commands/describe.py", "row"): LAYER,
    ("coursework/commands/training.py", "best"): BEST,
    ("coursework/commands/training.py", "row"): CSV,
    ("coursework/engine/tune.py", "best"): BEST,
    ("coursework/engine/tune.py", "old"): BEST,
    ("coursework/engine/tune.py", "out"): BEST,
    ("coursework/lab/__init__.py", "a"): "a run's described architecture",
    ("coursework/lab/__init__.py", "df"): "a pandas data frame of summary.csv",
    ("coursework/lab/__init__.py", "stats"): "a pandas data frame of stats.csv",
    ("coursework/records/results.py", "r"): "a summary.csv row, before it is written",
    ("coursework/records/spec.py", "best"): BEST,
    ("coursework/records/spec.py", "data"): SPEC,
    ("coursework/records/spec.py", "table"): SPEC,
    ("coursework/records/validate.py", "data"): SPEC,
    ("coursework/records/validate.py", "table"): SPEC,
    ("coursework/report/drawings.py", "storage.read_json(best)"): BEST,
    ("coursework/report/handed_in.py", "row"): CSV,
    ("coursework/report/page.py", "best"): BEST,
    ("coursework/report/page.py", "man"): "MANIFEST.json",
    ("coursework/report/page.py", "r"): CSV,
    ("coursework/report/page_html.py", "r"): CSV,
    ("coursework/report/sources.py", "r"): CSV,
    ("coursework/verify/derived.py", "r"): CSV,
    ("coursework/verify/files.py", "r"): CSV,
    ("coursework/verify/contents.py", "desc"): "SUBMISSION.json",
    ("coursework/verify/inspection.py", "desc"): "SUBMISSION.json",
    ("coursework/verify/inspection.py", "out"): "the JSON a re-run is handed, being cut down",
    ("coursework/verify/overleaf.py", "answer or {}"): "a sandboxed check's answer",
    ("coursework/verify/marker_reruns.py", "answer"): "a sandboxed re-run's answer",
    ("coursework/records/validate.py", "rule_of(f)"): "a schema field's rule: its message",
    ("coursework/records/validate.py", "found"): "a [tune] table's keys",
    ("coursework/records/validate.py", "TuneTable.model_fields"): "pydantic's fields, by name",
    ("coursework/records/validate.py", "rule_of(TuneTable.model_fields['seed'])"): (
        "a schema field's rule: its message"
    ),
}


def record_reads(
    fields: tuple[str, ...], allowed: dict[tuple[str, str], str], root: Path = ROOT
) -> list[str]:
    """``path:line: expr['field']`` for each read of a run's record by string key, on any
    name (``rec["config"]``, ``x.get("status")``, ``r.pop("seed")``: a key that is a field
    of ``RunRecord``) outside records/record.py, unless ``(path, expr)`` is ``allowed`` (a
    dict that is no record: a CSV row, best.json): a record is a ``RunRecord``, read by
    attribute (``rec.config.epochs``), so that a misspelt field fails when the code is
    checked. A field's own dict (``rec.metrics["test_accuracy"]``) is data, not a field."""
    found = []
    for path in sources(root):
        rel = str(path.relative_to(root))
        if rel == "coursework/records/record.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            key, target = None, None
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                key, target = node.slice.value, node.value
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "pop", "setdefault")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                key, target = node.args[0].value, node.func.value
            if key in fields and target is not None:
                expr = ast.unparse(target)
                if (rel, expr) not in allowed:
                    found.append(f"{rel}:{node.lineno}: {expr}[{key!r}]")
    return found


def test_no_module_over_400_lines():
    assert long_modules() == []


def test_no_function_over_60_lines():
    assert long_functions() == []


def test_training_settings_are_read_by_attribute():
    from coursework.records import config

    allowed = {str(Path(config.__file__).relative_to(ROOT))}
    assert config_reads(allowed) == []


def test_statuses_and_verdicts_are_spelled_only_by_their_enums():
    import coursework.analysis.checks as checks
    import coursework.records.record as record

    words = {str(s) for s in record.Status} | {str(v) for v in checks.Verdict}
    allowed = {str(Path(m.__file__).relative_to(ROOT)) for m in (record, checks)}
    assert spelled(words, allowed) == []


def test_run_records_are_read_by_attribute():
    from coursework.records.record import FIELDS

    assert record_reads(FIELDS, NOT_RECORDS) == []


def test_each_record_exception_is_still_needed():
    """A stale exception of :data:`NOT_RECORDS` would hide a record's read named alike."""
    from coursework.records.record import FIELDS

    reads = [r.split(": ", 1) for r in record_reads(FIELDS, {})]
    found = {(where.split(":")[0], expr.rsplit("[", 1)[0]) for where, expr in reads}
    assert set(NOT_RECORDS) - found == set()


@pytest.mark.parametrize("rule", ["module", "function", "literal", "config", "record"])
def test_each_rule_finds_a_planted_breach(tmp_path, rule):
    """Each check above fails on the fault it guards against, planted in a copy."""
    package = tmp_path / "coursework"
    package.mkdir()
    (tmp_path / "models").mkdir()
    body = {
        "module": "x = 1\n" * (MAX_MODULE_LINES + 1),
        "function": "def f():\n" + "    x = 1\n" * MAX_FUNCTION_LINES + "    return x\n",
        "literal": 'def f(row):\n    """Says "complete" in prose: allowed."""\n'
        '    row["complete"] = 1  # a column named like it: allowed\n'
        '    return row.status == "complete"\n',
        "config": 'def f(cfg, run):\n    return cfg["epochs"], run.config.get("seeds")\n',
        "record": 'def f(anything, row):\n    return anything["config"], row.get("status"), '
        'row["note"]\n',
    }[rule]
    (package / "planted.py").write_text(body)
    found = {
        "module": long_modules,
        "function": long_functions,
        "literal": lambda root: spelled({"complete"}, set(), root),
        "config": lambda root: config_reads(set(), root),
        "record": lambda root: record_reads(("config", "status"), {}, root),
    }[rule](tmp_path)
    expected = {"module": 1, "function": 1, "literal": 1, "config": 2, "record": 2}[rule]
    assert len(found) == expected, found


# --------------------------------------------------------------------------- no assert on a config
def config_asserts(root: Path = ROOT) -> list[str]:
    """``path:line`` of each ``assert <x> is not None`` on a training setting: a config's
    attribute (``cfg.batch_size``, ``run.config.dataset``), or any ``x`` whose line says a
    config always has it. A setting every resolved run has is typed so (``TrainConfig``: never
    None), and one a run may lack is handled where it is read, never asserted."""
    from coursework.records.config import CONFIG_FIELDS

    def a_config(node: ast.expr) -> bool:
        name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
        return "cfg" in name or "config" in name

    found = []
    for path in sources(root):
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            test = node.test if isinstance(node, ast.Assert) else None
            if not (
                isinstance(test, ast.Compare)
                and isinstance(test.ops[0], ast.IsNot)
                and isinstance(test.comparators[0], ast.Constant)
                and test.comparators[0].value is None
            ):
                continue
            x = test.left
            on_config = (
                isinstance(x, ast.Attribute) and x.attr in CONFIG_FIELDS and a_config(x.value)
            )
            if on_config or "config always has" in lines[node.lineno - 1]:
                found.append(f"{path.relative_to(root)}:{node.lineno}: {lines[node.lineno - 1]}")
    return found


def test_no_assert_that_a_config_has_a_setting():
    assert config_asserts() == []


@pytest.mark.parametrize(
    "planted",
    [
        "    assert cfg.batch_size is not None\n",
        "    assert run.config.dataset is not None\n",
        "    assert name is not None  # a spec's config always has one\n",
    ],
)
def test_the_config_assert_rule_finds_a_planted_one(tmp_path, planted):
    """Fails on the fault it guards against, planted in a copy; an assert on something else
    (a run's tuning, a model) is no breach."""
    (tmp_path / "coursework").mkdir()
    (tmp_path / "models").mkdir()
    allowed = "    assert run.tune is not None\n    assert self.model is not None\n"
    body = f"def f(cfg, run, name):\n{allowed}{planted}    return cfg\n"
    (tmp_path / "coursework" / "planted.py").write_text(body)
    assert len(config_asserts(tmp_path)) == 1
