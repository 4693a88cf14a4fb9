"""Spec validation: every bad spec stops with one message naming the file, the run and the key."""

from __future__ import annotations

import pytest

from coursework.records import spec
from tests.helpers import FC_AND_CONV, toy_spec, write_spec


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
    path = toy_spec(
        tmp_path,
        "mnist-5k",
        """
        [[runs]]
        name = "a"
        epochs = 9
        model = { conv_maps = [], hidden = [8] }
        profiles.quick = { epochs = 1 }
    """,
    )
    s = spec.load(str(path))
    assert s.resolve("quick")[0].config.epochs == 1
    assert s.resolve("full")[0].config.epochs == 9
    assert s.resolve("full")[0].config.model == {"conv_maps": [], "hidden": [8]}


def test_unknown_key(tmp_path):
    msg = error_for(
        tmp_path,
        """
        [[runs]]
        name = "a"
        epoks = 3
    """,
    )
    assert "run 'a'" in msg and "'epoks'" in msg


def test_wrong_type(tmp_path):
    msg = error_for(
        tmp_path,
        """
        [[runs]]
        name = "a"
        batch_size = "ten"
    """,
    )
    assert "run 'a'" in msg and "'batch_size'" in msg and "int" in msg


def test_bool_is_not_an_int(tmp_path):
    msg = error_for(
        tmp_path,
        """
        [[runs]]
        name = "a"
        epochs = true
    """,
    )
    assert "'epochs'" in msg


def test_missing_builder_module_and_function(tmp_path):
    msg = error_for(
        tmp_path,
        """
        [[runs]]
        name = "a"
        builder = "nosuchmodule:build"
    """,
    )
    assert "run 'a'" in msg and "'builder'" in msg and "nosuchmodule" in msg
    msg = error_for(
        tmp_path,
        """
        [[runs]]
        name = "b"
        builder = "conv:nosuchfunction"
    """,
    )
    assert "run 'b'" in msg and "nosuchfunction" in msg


def test_builder_argument_that_does_not_exist(tmp_path):
    msg = error_for(
        tmp_path,
        """
        [[runs]]
        name = "a"
        model = { colour = "red" }
    """,
    )
    assert "run 'a'" in msg and "colour" in msg


def test_duplicate_run_name(tmp_path):
    msg = error_for(
        tmp_path,
        """
        [[runs]]
        name = "a"
        [[runs]]
        name = "a"
    """,
    )
    assert "run 'a'" in msg and "duplicate" in msg


def test_bad_profiles(tmp_path):
    path = write_spec(
        tmp_path,
        """
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
    """,
    )
    with pytest.raises(spec.SpecError) as exc:
        spec.load(str(path))
    msg = str(exc.value)
    assert "profile 'quick'" in msg and "'epochs'" in msg
    assert "run 'a'" in msg and "'medium'" in msg
    assert "full" not in msg  # one profile is enough (a quick try)
    text = path.read_text().replace('"many"', "2")
    path.write_text(text.replace("profiles.medium", "profiles.quick"))
    quick_only = spec.load(str(path))
    assert [r.config.epochs for r in quick_only.resolve("quick")] == [2]
    with pytest.raises(spec.SpecError, match=f"{path}: no profile 'full' \\(it has: quick\\)"):
        quick_only.resolve("full")


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
    msg = error_for(
        tmp_path,
        """
        [[runs]]
        name = "a"
        optimizer = "adamw"
    """,
    )
    assert "'optimizer'" in msg and "adamw" in msg


def lines_with(msg: str, word: str) -> list[str]:
    return [line for line in msg.splitlines() if word in line]


def test_a_misspelled_key_is_one_error_line_naming_the_nearest_known_key(tmp_path):
    path = write_spec(
        tmp_path,
        """
        question = "toy"
        title = "t"
        research_question = "q"
        hypothesis = "h"
        builder = "conv:build"
        [defualts]
        [defaults]
        dataset = "mnist-5k"
        optimizer = "sgd"
        learning_rate = 0.1
        batch_size = 8
        epochs = 1
        seeds = [0]
        [profiles.quick]
        learnig_rate = 0.1
        [profiles.full]
        zzz = 1
        [tune]
        trails = 4
        [[runs]]
        name = "a"
        descripton = "the baseline"
        optimizer = "momentun"
        tune.params = { learnig_rate = [0.1, 0.2] }
    """,
    )
    with pytest.raises(spec.SpecError) as exc:
        spec.load(str(path))
    msg = str(exc.value)
    for wrong, right in (
        ("'defualts'", "'defaults'"),
        ("'learnig_rate' (", "'learning_rate'"),
        ("'trails'", "'trials'"),
        ("'descripton'", "'description'"),
        ("'momentun'", "'momentum'"),
        ("params.learnig_rate", "'learning_rate'"),
    ):
        [line] = lines_with(msg, wrong)
        assert line.startswith(f"{path}: ") and f"(did you mean {right}?)" in line, line
    [line] = lines_with(msg, "'zzz'")  # nothing close: the known keys, as before
    assert "profile 'full'" in line and "known: dataset, " in line and "did you mean" not in line


def test_a_bad_builder_argument_in_defaults_is_one_error_not_one_per_profile_or_run(tmp_path):
    msg = error_for(tmp_path, FC_AND_CONV, extra_defaults='model = { activaton = "relu" }')
    [line] = lines_with(msg, "activaton")
    assert "every run" in line and "profiles 'quick', 'full'" in line, line
    assert "(did you mean 'activation'?)" in line
    # one run's own argument: named with that run, still once for both profiles
    msg = error_for(
        tmp_path,
        """
        [[runs]]
        name = "a"
        model = { colour = "red" }
        [[runs]]
        name = "b"
        [[runs]]
        name = "c"
        model = { colour = "red" }
        profiles.full = { model = { pool = "max" } }
    """,
    )
    [line] = lines_with(msg, "colour")
    assert "runs 'a', 'c', profiles 'quick', 'full'" in line and "(it takes: conv_maps" in line


def test_quick_takes_a_named_dataset_at_mnist_5k_size_and_full_takes_all_of_it(tmp_path):
    s = spec.load(str(toy_spec(tmp_path, "mnist-5k")))

    def datasets(profile: str, on: str | None) -> set[str]:
        return {run.config.dataset for run, _ in s.tasks(profile, dataset=on)}

    assert datasets("quick", "fashion-mnist") == {"fashion-mnist-5k"}
    assert datasets("quick", "cifar100") == {"cifar100-5k"}
    assert datasets("quick", "mnist") == {"mnist-5k"}
    assert datasets("full", "fashion-mnist") == {"fashion-mnist"}
    assert datasets("full", "mnist") == {"mnist"}
    for own in ("npz:/data/emnist.npz", "folder:bees", "pickles:usu", "cifar10-5k"):
        assert datasets("quick", own) == {own}  # own data, or a subset asked for, as given
    assert datasets("quick", None) == {"mnist-5k"}  # the spec's own


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ("{ batch_size = [16.0, 32] }", "key 'batch_size' must be int, got float 16.0"),
        ("{ batch_size = { low = 16, high = 64 } }", "its range needs int = true"),
        ("{ early_stopping = [-1, 2] }", "key 'early_stopping' must be >= 0, got -1"),
        ("{ learning_rate = { low = 0.0, high = 1.0 } }", "must be positive, got 0.0"),
    ],
)
def test_a_tuned_setting_is_searched_over_values_it_may_take(tmp_path, params, said):
    """Every trial's config is one a run may have: no study stops part-way on a value its
    setting cannot take."""
    msg = error_for(tmp_path, f'[[runs]]\nname = "a"\ntune.params = {params}\n')
    assert f"run 'a', tune: params.{params.split()[1]}: " in msg and said in msg, msg


def test_a_tuned_setting_over_values_it_may_take_loads(tmp_path):
    runs = """
        [[runs]]
        name = "a"
        tune.params = { batch_size = { low = 16, high = 64, int = true }, momentum = [0, 0.9] }
    """
    assert spec.load(str(toy_spec(tmp_path, "mnist-5k", runs))).resolve("quick")[0].tune
