"""The commands of the paper and of marking: ``plots``, ``report``, ``page``,
``submission``, ``verify``, ``retrain`` and ``mark``. Each takes the parsed command line and
returns its exit status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from coursework.records.errors import CourseworkError, ReportError, ResultsError

if TYPE_CHECKING:
    from coursework.records.layout import ResultsSet
    from coursework.report.settings import Settings


def cmd_plots(args: argparse.Namespace) -> int:
    from coursework.analysis import manifest

    _figures(args.rs)
    manifest.update(args.rs)
    return 0


def _figures(rs: ResultsSet) -> None:
    """Redraw the figures that are out of date, and say how many."""
    from coursework.report.plots import all_figures

    done = all_figures(rs)
    print(
        f"figures: {len(done.drawn)} drawn, {len(done.kept)} up to date "
        f"({len(done.paths)} files in {rs.figures_dir()})"
    )


def cmd_report(args: argparse.Namespace) -> int:
    from coursework.report import questions
    from coursework.report.settings import SETTINGS_FILE, read_settings

    settings = read_settings(args.settings or SETTINGS_FILE, args.questions)
    out = paper(args.rs, settings)
    print(f"report: {out} (the questions {', '.join(questions.built(args.rs))})")
    try:
        _page(args.rs)
    except ReportError as exc:  # the paper is built: the page is the lesser thing
        print(f"note: no results page: {exc}")
    return 0


def cmd_page(args: argparse.Namespace) -> int:
    _page(args.rs)
    return 0


def _page(rs: ResultsSet) -> None:
    """Write the results page (every run on one page, from the results files) and say
    where; after the manifest, whose digest it shows (it is in no manifest itself)."""
    from coursework.report import page_html

    if not rs.record_paths():
        raise ResultsError(
            f"no runs under {rs.dir()}: run experiments first (make quick, or make "
            f"QUESTION PROFILE={rs.profile})"
        )
    path = page_html.write(rs)
    print(f"page: {path} ({path.stat().st_size / 1e6:.1f} MB; open it in a browser)")


def paper(
    rs: ResultsSet,
    settings: Settings,
    say: bool = True,
) -> Path:
    """Figures (the out-of-date ones redrawn: the paper never shows a figure drawn from other
    results), the paper, then the manifest (also where the paper stops on a mistake: the
    figures drawn are listed): what ``report``, ``make quick`` and ``lab.report`` do. Return
    the PDF's path (the ``.tex`` file's where TeX is not installed).

    Args:
        say: print the line of figures drawn (the command does; the lab book does not).
    """
    from coursework.analysis import manifest
    from coursework.report.plots import all_figures
    from coursework.report.render import build

    if say:
        _figures(rs)
    else:
        all_figures(rs)
    try:
        return build(rs, settings=settings)
    finally:
        manifest.update(rs)


def cmd_submission(args: argparse.Namespace) -> int:
    from coursework.report import questions, submission

    archive = submission.gather(args.rs, args.out, notebook=not args.no_notebook)
    print(f"submission: {archive.with_suffix('')}/ and {archive} (see LISTING.txt inside)")
    if note := questions.mismatch(args.rs):
        print(note)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from coursework.analysis import checks
    from coursework.records import layout
    from coursework.report import questions
    from coursework.runtime import backend
    from coursework.verify import integrity as verify

    if not args.no_rerun:
        backend.configure(deterministic=True)  # byte identity needs it, on a GPU too
    rows = verify.verify(
        args.rs,
        args.question,
        args.sample,
        args.tolerance,
        not args.no_rerun,
    )
    print(checks.table(rows))
    if note := questions.mismatch(args.rs):
        print(note)
    for r in rows:
        if r.verdict == checks.Verdict.NOTE:
            print(
                f"note: {r.check}: {r.file}: {r.got}"
                + (
                    "; a re-run may then differ in the last digits (`make setup` installs the "
                    "locked versions)"
                    if r.check.startswith("lock")
                    else ""
                )
            )
    bad = [r for r in rows if not r.ok]
    where = args.rs.aggregate(layout.VERIFICATION)
    if bad:
        files = sorted({r.file for r in bad})
        print(
            f"\nverify: {len(bad)} of {len(rows)} checks FAILED, in: "
            f"{', '.join(files[:10])}{' ...' if len(files) > 10 else ''}\n"
            f"details: {where}",
            file=sys.stderr,
        )
        return 1
    print(f"\nverify: all {len(rows)} checks passed; details: {where}")
    return 0


def cmd_retrain(args: argparse.Namespace) -> int:
    from coursework.records import layout, storage
    from coursework.runtime import backend
    from coursework.verify.reproduce import retrain

    backend.check_installed()
    backend.configure(deterministic=True)  # as make verify: byte identity needs it
    rec = storage.read_record(args.record)
    new = retrain(rec, args.out)
    if isinstance(new, str):
        raise CourseworkError(f"{args.record}: {new}")
    storage.write_record(args.out / layout.RECORD, new)
    print(f"re-trained {rec.question}/{rec.run} seed {rec.seed} into {args.out}")
    return 0


def cluster_sender(args: argparse.Namespace) -> Callable | None:
    """With ``--slurm``: what sends a batch's pending re-runs, each task asking for the
    resources given, fitted to the partition (as ``make slurm`` fits them)."""
    if not args.slurm:
        return None
    from coursework.commands import cluster, cohort

    asked = cluster.Resources(
        args.partition, args.gpus, args.time or "", args.mem, args.cpus, args.setup
    )
    res, notes = cluster.fit(asked, cluster.partition(args.partition))
    if args.mem is None:  # the sandbox's memory and some: cohort.send sets it
        res = replace(res, mem="")
    for note in notes:
        print(f"note: {note}")

    def send(waiting: list, marking: Path) -> list:
        return cohort.send(waiting, marking, res, args.rerun_speed)

    return send


def cmd_mark(args: argparse.Namespace) -> int:
    """0 when every submission was marked, whatever the verdicts (the last line counts
    them); an error only when marking itself could not run."""
    from coursework.report.settings import read_settings
    from coursework.verify import folders, mark, sheets
    from coursework.verify.bounded import GiB
    from coursework.verify.options import Options, parse_sample

    try:
        sample, target = parse_sample(str(args.sample))
    except ValueError as exc:
        raise CourseworkError(f"--sample: {exc}: a count, 'quoted' or a chance '90%'") from None
    options = Options(
        sample=sample,
        tolerance=args.tolerance,
        page_limit=args.page_limit or read_settings().page_limit,
        max_bytes=args.max_mb << 20,
        max_files=args.max_files,
        unsafe=args.unsafe,
        target=target,
        memory=int(args.memory_gb * GiB),
        tasks=args.tasks,
        disk=int(args.disk_gb * GiB),
        rerun_speed=args.rerun_speed,
        inspect_seconds=args.inspect_seconds,
        rerun_min_seconds=args.min_rerun_seconds,
        handed_in_engine=args.handed_in_engine,
        slurm=args.slurm,
    )
    marked = mark.mark(
        args.submission, args.marking, options, again=args.again, send=cluster_sender(args)
    )
    table = sheets.all_sheets(args.marking)
    if len(table) > len(marked):
        print(
            f"\nthe table holds {len(table)} submissions: these {len(marked)} and "
            f"{len(table) - len(marked)} marked before"
        )
    print(f"marking page: {args.marking / folders.PAGE} (each submission's sheet and results page)")
    print(sheets.summary(marked, args.marking))  # the last line: what a script reads
    return 0
