"""Command line: ``python -m coursework COMMAND ...`` (``--help`` on any command).

Every command takes ``--profile`` (default: quick) and the top-level ``--results DIR``. A user
error (bad spec, dataset, results folder, backend, report input) prints one ``error: ...``
line and exits 2; a failed run or a failed ``verify`` exits 1.
"""

from __future__ import annotations

import argparse
import sys

from coursework.commands.arguments import AUTO, build
from coursework.commands.table import COMMANDS, KERAS_COMMANDS
from coursework.records.errors import CourseworkError


def parser() -> argparse.ArgumentParser:
    """The parser of every command (:data:`coursework.commands.table.COMMANDS`)."""
    return build(COMMANDS, __doc__)


def main(argv: list[str] | None = None) -> int:
    """Run the command of ``argv`` (default: ``sys.argv``); return its exit status."""
    from coursework.runtime import logs, workers

    workers.whole_lines()  # a line is one write, with the workers' lines beside it
    logs.configure()  # what the engine says: one line each, as printed (runtime/logs.py)
    args = parser().parse_args(argv)
    commands = {c.name: c.run for c in COMMANDS}
    if args.command in KERAS_COMMANDS or (args.command == "verify" and not args.no_rerun):
        from coursework.runtime import backend

        backend.import_keras()  # first, without the framework's load-time noise
    if hasattr(args, "profile"):
        from coursework.records.layout import ResultsSet, profile_had, set_name

        auto = args.profile == AUTO
        if auto:
            args.profile = profile_had(args.results, args.dataset)
        name = getattr(args, "set_name", None) or set_name(args.profile, args.dataset)
        args.rs = ResultsSet(args.results, name)
        if auto:
            print(
                f"profile {args.profile}: the results in "
                f"{args.rs.dir()}"
                + (
                    " (no full-profile runs yet; PROFILE=full once there are)"
                    if args.profile == "quick"
                    else ""
                ),
                flush=True,
            )
    try:
        return commands[args.command](args)
    except CourseworkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.command != "run":
            raise
        print(
            "\ninterrupted: every finished epoch is kept. Run the same command again to "
            "resume: complete runs are skipped, and the interrupted one goes on after its "
            "last finished epoch.",
            file=sys.stderr,
        )
        return 130
