"""Writing results: one clear error for a folder that cannot be written, and never half a file."""

from __future__ import annotations

import errno
import os

import pytest

from coursework.commands import cli
from coursework.records import errors, storage
from tests.helpers import toy_spec


def test_unwritable_results_folder_is_one_clear_error(tmp_path, tiny_npz, capsys):
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}", epochs=1)
    blocker = tmp_path / "results"
    blocker.write_text("a file where the results folder should be")
    assert cli.main(["--results", str(blocker), "run", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "not writable" in err and str(blocker) in err and "Traceback" not in err


def test_full_disk_leaves_the_old_file_whole_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "summary.csv"
    storage.write_text(path, "complete, old\n")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(errors.ResultsError, match=r"summary\.csv.*No space left"):
        storage.write_text(path, "new and half written")
    assert path.read_text() == "complete, old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.csv"]
