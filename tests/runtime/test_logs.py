"""What the package says goes through :mod:`logging`: one line each, its message alone, on the
stream its print used; a run's lines carry its label and names; events are scoped."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from coursework.engine import events
from coursework.engine.context import RunContext
from coursework.records import spec
from coursework.runtime import logs


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_information_on_stdout_warnings_on_stderr_each_its_message_alone(capsys):
    logs.configure()
    logs.configure()  # a second command start in one process: still one line each
    log = logging.getLogger("coursework.engine.somewhere")
    log.info("    epoch 1/3: loss 1.3693, accuracy 58.93% (4.2 s, 946 img/s)")
    log.warning("1 run(s) failed; see 'error' in their run.json")
    out, err = capsys.readouterr()
    assert out == "    epoch 1/3: loss 1.3693, accuracy 58.93% (4.2 s, 946 img/s)\n"
    assert err == "1 run(s) failed; see 'error' in their run.json\n"


def test_a_runs_lines_carry_its_label_and_names(capsys, tmp_path: Path):
    run = spec.load("depth").resolve("quick")[0]
    ctx = RunContext(run, 1, None, tmp_path, label="[depth/layers-1 seed 1]")  # type: ignore[arg-type]
    logger = logging.getLogger("coursework.engine.somewhere")
    kept = Kept()
    logger.addHandler(kept)
    try:
        ctx.log(logger).info("    resuming after epoch %d", 2)
    finally:
        logger.removeHandler(kept)
    assert capsys.readouterr().out == "[depth/layers-1 seed 1]    resuming after epoch 2\n"
    (record,) = kept.records
    assert (record.label, record.question, record.run, record.seed) == (  # type: ignore[attr-defined]
        "[depth/layers-1 seed 1]",
        "depth",
        run.name,
        1,
    )


def test_event_scopes_nest_and_stay_in_their_context(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(events.ENV, str(tmp_path / "events.jsonl"))
    with events.scope(question="q", run="a", seed=0):
        with events.scope(seed=1):
            events.emit("inner")
        other = threading.Thread(target=events.emit, args=("thread",))
        other.start()
        other.join()
        events.emit("outer")
    events.emit("after")
    said = {e["event"]: e for e in events.Reader(tmp_path / "events.jsonl").read()}
    assert (said["inner"]["run"], said["inner"]["seed"]) == ("a", 1)
    assert (said["outer"]["run"], said["outer"]["seed"]) == ("a", 0)
    assert "run" not in said["thread"]  # another thread's training is not this one's
    assert "run" not in said["after"]
