"""Command line: ``python -m coursework COMMAND ...`` (``--help`` on any command)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--seeds wants integers like 0,1,2, got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError("--seeds wants non-negative integers like 0,1,2")
    return seeds


def _names(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m coursework", description=__doc__)
    p.add_argument("--results", type=Path, default=Path("results"),
                   help="results folder (default: results)")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="train the runs of a question and log them")
    r.add_argument("question", nargs="+", help="question id (experiments/<id>.toml) or a .toml")
    r.add_argument("--profile", default="quick", help="quick or full (default: quick)")
    r.add_argument("--only", type=_names, help="comma-separated run names")
    r.add_argument("--seeds", type=_seeds, help="comma-separated seeds, e.g. 0,1")
    r.add_argument("--force", action="store_true", help="re-run complete runs")

    d = sub.add_parser("describe", help="layer table and parameter count of every run")
    d.add_argument("question", nargs="+")
    d.add_argument("--profile", default="full")

    for name, text in (("plots", "figures from the results files"),
                       ("report", "render the LaTeX report and compile the PDF")):
        c = sub.add_parser(name, help=text)
        c.add_argument("--profile", default="full")

    sub.add_parser("questions", help="list the questions in experiments/")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from coursework import data, results, spec
    from coursework.report import ReportError

    try:
        if args.command == "questions":
            for q in spec.all_questions():
                s = spec.load(q)
                print(f"{q:16s} {s.title}")
            return 0
        if args.command == "run":
            from coursework.train import run_question

            specs = [spec.load(q) for q in args.question]  # validate all before training
            failed = 0
            for s in specs:
                failed += run_question(s, args.profile, args.results, args.only, args.seeds,
                                       args.force)
            if failed:
                print(f"{failed} run(s) failed; see 'error' in their run.json", file=sys.stderr)
            return 1 if failed else 0
        if args.command == "plots":
            from coursework.plots import all_figures

            paths = all_figures(args.results, args.profile)
            print(f"{len(paths)} figure files in {args.results / args.profile / 'figures'}")
            return 0
        if args.command == "report":
            from coursework.report import build

            print(f"report: {build(args.results, args.profile)}")
            return 0
        if args.command == "describe":
            from coursework.describe import describe

            for q in args.question:
                print(describe(spec.load(q), args.profile))
            return 0
    except (spec.SpecError, data.DataError, results.ResultsError, ReportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
