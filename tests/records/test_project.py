"""The digest of the code that trains a run: the engine, and the models its builder loads."""

from __future__ import annotations

from coursework.records.project import code_digest, models_used
from tests.helpers import write_files as tree

BASE = {
    "coursework/engine.py": "ENGINE = 1\n",
    "models/__init__.py": "",
    "models/common.py": "def mlp(): ...\n",
    "models/conv.py": "import keras\nfrom models.common import mlp\n",
    "models/skip.py": "from models import common\n",
    "models/depth.py": "from .common import mlp\n",
    "models/wide.py": "from . import common\n",
    "README.md": "not code\n",
}


def test_a_question_of_ones_own_is_no_change_to_the_code_of_the_others(tmp_path):
    """Adding models/mine.py made every run "trained by other engine code" (make status said
    so once per question; a marker's sheet read "runs made by the handed-in code: 6/42")."""
    before = code_digest(tree(tmp_path / "a", BASE), "conv:build")
    mine = {**BASE, "models/mine.py": "from models.common import mlp\n"}
    assert code_digest(tree(tmp_path / "b", mine), "conv:build") == before
    assert code_digest(tree(tmp_path / "b", mine)) != code_digest(tree(tmp_path / "a", BASE))
    # what the run loads does change it: the engine, its builder's module and its imports
    for name in ("coursework/engine.py", "models/common.py", "models/conv.py"):
        edited = {**BASE, name: BASE[name] + "# edited\n"}
        assert code_digest(tree(tmp_path / name, edited), "conv:build") != before, name


def test_the_models_a_builder_loads_are_read_from_its_imports(tmp_path):
    files = tree(tmp_path, {**BASE, "models/broken.py": "def (:\n"})
    assert models_used(files, "skip:build") == {
        "models/__init__.py",
        "models/skip.py",
        "models/common.py",
    }
    assert models_used(files, "broken:build") == {"models/__init__.py", "models/broken.py"}
    for relative in ("depth", "wide"):  # relative imports too
        assert "models/common.py" in models_used(files, f"{relative}:build"), relative
