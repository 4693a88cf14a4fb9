"""Spec validation: every bad spec stops with one message naming the file, the run and the key."""

from __future__ import annotations

import pytest

from coursework.records import spec
from tests.helpers import toy_spec, write_spec


def error_for(tmp_path, body_runs=None, **kw) -> str:
    path = toy_spec(tmp_path, "mnist-5k", body_runs, **kw)
    with pytest.raises(spec.SpecError) as exc:
        spec.load(str(path))
    msg = str(exc.value)
    assert str(path) in msg
    return msg


def test_every_shipped_spec_is_valid():
    questions = spec.all_questions()
    assert "conv" in questions
    for q in questions:
        s = spec.load(q)
        for profile in ("quick", "full"):
            assert s.resolve(profile)


def test_valid_toy_spec_resolves_profiles(tmp_path):
    path = toy_spec(tmp_path, "mnist-5k", """
        [[runs]]
        name = "a"
        epochs = 9
        model = { conv_maps = [], hidden = [8] }
        profiles.quick = { epochs = 1 }
    """)
    s = spec.load(str(path))
    assert s.resolve("quick")[0].config["epochs"] == 1
    assert s.resolve("full")[0].config["epochs"] == 9
    assert s.resolve("full")[0].config["model"] == {"conv_maps": [], "hidden": [8]}


def test_unknown_key(tmp_path):
    msg = error_for(tmp_path, """
        [[runs]]
        name = "a"
        epoks = 3
    """)
    assert "run 'a'" in msg and "'epoks'" in msg


def test_wrong_type(tmp_path):
    msg = error_for(tmp_path, """
        [[runs]]
        name = "a"
        batch_size = "ten"
    """)
    assert "run 'a'" in msg and "'batch_size'" in msg and "int" in msg


def test_bool_is_not_an_int(tmp_path):
    msg = error_for(tmp_path, """
        [[runs]]
        name = "a"
        epochs = true
    """)
    assert "'epochs'" in msg


def test_missing_builder_module_and_function(tmp_path):
    msg = error_for(tmp_path, """
        [[runs]]
        name = "a"
        builder = "nosuchmodule:build"
    """)
    assert "run 'a'" in msg and "'builder'" in msg and "nosuchmodule" in msg
    msg = error_for(tmp_path, """
        [[runs]]
        name = "b"
        builder = "conv:nosuchfunction"
    """)
    assert "run 'b'" in msg and "nosuchfunction" in msg


def test_builder_argument_that_does_not_exist(tmp_path):
    msg = error_for(tmp_path, """
        [[runs]]
        name = "a"
        model = { colour = "red" }
    """)
    assert "run 'a'" in msg and "colour" in msg


def test_duplicate_run_name(tmp_path):
    msg = error_for(tmp_path, """
        [[runs]]
        name = "a"
        [[runs]]
        name = "a"
    """)
    assert "run 'a'" in msg and "duplicate" in msg


def test_bad_profiles(tmp_path):
    path = write_spec(tmp_path, """
        question = "toy"
        title = "t"
        research_question = "q"
        hypothesis = "h"
        builder = "conv:build"
        [defaults]
        dataset = "mnist-5k"
        optimizer = "sgd"
        learning_rate = 0.1
        batch_size = 8
        epochs = 1
        seeds = [0]
        [profiles.quick]
        epochs = "many"
        [[runs]]
        name = "a"
        profiles.medium = { epochs = 2 }
    """)
    with pytest.raises(spec.SpecError) as exc:
        spec.load(str(path))
    msg = str(exc.value)
    assert "profile 'full' is missing" in msg
    assert "profile 'quick'" in msg and "'epochs'" in msg
    assert "run 'a'" in msg and "'medium'" in msg


def test_unknown_profile_on_the_command_line(tmp_path):
    s = spec.load(str(toy_spec(tmp_path, "mnist-5k")))
    with pytest.raises(spec.SpecError, match="no profile 'fast'"):
        s.resolve("fast")


def test_not_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("question = [unclosed")
    with pytest.raises(spec.SpecError, match="not valid TOML"):
        spec.load(str(bad))
    with pytest.raises(spec.SpecError, match="no such spec"):
        spec.load("no-such-question")


def test_choices_checked(tmp_path):
    msg = error_for(tmp_path, """
        [[runs]]
        name = "a"
        optimizer = "adamw"
    """)
    assert "'optimizer'" in msg and "adamw" in msg
