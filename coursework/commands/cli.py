"""Command line: ``python -m coursework COMMAND ...`` (``--help`` on any command).

Every command takes ``--profile`` (default: quick) and the top-level ``--results DIR``. A user
error (bad spec, dataset, results folder, backend, report input) prints one ``error: ...``
line and exits 2; a failed run or a failed ``verify`` exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from coursework.records.errors import CourseworkError, SpecError

DEFAULT_PROFILE = "quick"
# --profile auto (what make passes where PROFILE is not given, for the commands that read
# results): full where it has runs, else quick (records.results.profile_had)
AUTO = "auto"


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--seeds wants integers like 0,1,2, got {text!r}"
        ) from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError("--seeds wants non-negative integers like 0,1,2")
    return seeds


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"wants a positive integer, got {text!r}")
    return int(text)


def _names(text: str) -> list[str]:
    return [s for s in text.replace(",", " ").split() if s]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m coursework", description=__doc__)
    p.add_argument(
        "--results", type=Path, default=Path("results"), help="results folder (default: results)"
    )
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, text: str, profile: bool = True) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=text, description=text)
        if profile:
            c.add_argument(
                "--profile",
                default=DEFAULT_PROFILE,
                help=f"quick or full (default: {DEFAULT_PROFILE})",
            )
            c.add_argument(
                "--dataset",
                default=None,
                help="every run on this dataset instead of the spec's (mnist, "
                "mnist-5k, fashion-mnist, cifar10, cifar100, pickles:PATH, npz:PATH, "
                "folder:PATH); results in their own folder, results/<profile>@<data>",
            )
        return c

    r = command("run", "train the runs of a question and log them")
    r.add_argument("question", nargs="+", help="question id (experiments/<id>.toml) or a .toml")
    r.add_argument("--only", type=_names, help="comma-separated run names")
    r.add_argument("--seeds", type=_seeds, help="comma-separated seeds, e.g. 0,1")
    r.add_argument(
        "--force",
        action="store_true",
        help="train complete runs again (make QUESTION FORCE=1); a stale run, one "
        "whose settings differ from its experiment file's, is trained again anyway",
    )
    r.add_argument(
        "--deterministic",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="byte-identical re-runs (default: on without a GPU, off with one, "
        "where it can cost several times)",
    )
    r.add_argument(
        "--mixed-precision", action="store_true", help="16-bit compute, float32 weights (GPU)"
    )
    r.add_argument(
        "--jobs",
        type=_positive,
        default=1,
        help="train N run/seed pairs at once in worker processes (several on one "
        "GPU, or one per GPU); the results are the same (default: 1)",
    )
    r.add_argument(
        "--task",
        type=int,
        default=None,
        metavar="K",
        help="train only the K-th run and seed (0-based, as a Slurm array task; "
        "see the slurm command) and write nothing shared: `collect` does that; "
        "with --tune, the K-th trial of the question's studies",
    )
    r.add_argument(
        "--tune",
        action="store_true",
        help="only tune: run the Optuna studies of the tuned runs (their [tune] "
        "tables) and choose their parameters on the validation split; without it, "
        "`run` tunes what is not tuned yet, then trains the seeds",
    )

    d = command(
        "data",
        "fetch and check the datasets the questions' runs need (downloaded "
        "into Keras' cache where missing: run it where there is a network, such as a "
        "cluster's login node); print their sizes and fingerprints",
    )
    d.add_argument("question", nargs="*", help="question ids or .toml files (default: all)")

    pl = command(
        "plan",
        "what the questions will train (runs, seeds, epochs, images) and how "
        "long it will take on this machine, from a short calibration of each network "
        "(cached); which runs are complete",
    )
    pl.add_argument("question", nargs="*", help="question ids or .toml files (default: all)")
    pl.add_argument("--only", type=_names, help="comma-separated run names")
    pl.add_argument("--seeds", type=_seeds, help="comma-separated seeds, e.g. 0,1")
    pl.add_argument(
        "--deterministic",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="as for run (the speed depends on it)",
    )
    pl.add_argument("--mixed-precision", action="store_true", help="as for run")

    st = command(
        "status",
        "where every run and seed stands against its experiment file now: "
        "complete, stale (with the settings that differ), missing, stopped, being "
        "trained, failed; and what the next run command does",
    )
    st.add_argument("question", nargs="*", help="question ids or .toml files (default: all)")

    sl = command("slurm", "write an sbatch array script for a question: one task per run and seed")
    sl.add_argument("question", help="question id (experiments/<id>.toml) or a .toml")
    sl.add_argument("--partition", default="", help="Slurm partition (default: the cluster's)")
    sl.add_argument("--gpus", type=int, default=1, help="GPUs per task (default: 1; 0: CPU)")
    sl.add_argument("--time", default="04:00:00", help="time limit per task (default: 04:00:00)")
    sl.add_argument("--mem", default="16G", help="memory per task (default: 16G)")
    sl.add_argument("--cpus", type=int, default=4, help="CPU cores per task (default: 4)")
    sl.add_argument(
        "--setup", default="", help="shell lines to run first in each task, e.g. 'module load cuda'"
    )
    sl.add_argument(
        "--deterministic",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="passed on to run",
    )
    sl.add_argument("--mixed-precision", action="store_true", help="passed on to run")
    sl.add_argument(
        "--out",
        type=Path,
        default=None,
        help="script to write (default: slurm/<question>-<profile>.sbatch)",
    )
    sl.add_argument(
        "--tune",
        action="store_true",
        help="a task per trial of the tuned runs' studies (run it, then collect, "
        "before the seeds' script)",
    )
    command(
        "collect",
        "rebuild summary, statistics, ensembles and manifest from the run "
        "folders (after Slurm array tasks)",
    )

    d = command("describe", "layer table and parameter count of every run")
    d.add_argument("question", nargs="+")
    command("plots", "figures from the results files")
    rp = command("report", "render the LaTeX report (settings: report.toml) and compile the PDF")
    rp.add_argument(
        "--questions",
        type=_names,
        default=None,
        help="the questions of the paper, in order (default: report.toml's list, "
        "else every question with results); commas or spaces between them",
    )
    rp.add_argument(
        "--settings",
        type=Path,
        default=None,
        help="report settings file (default: report.toml in the project)",
    )
    su = command(
        "submission",
        "gather what you hand in: the PDF, the code and the per-run "
        "CSVs (no weights) into submission/ and submission.zip",
    )
    su.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder to write (default: submission/ in the project)",
    )
    su.add_argument(
        "--no-notebook",
        action="store_true",
        help="do not run the lab book to hand it in with outputs (it is among the code as it is)",
    )

    v = command(
        "verify",
        "check the results' integrity and re-train runs to compare "
        "(writes verification.csv; exit 1 on any mismatch)",
    )
    v.add_argument("--question", help="only this question")
    v.add_argument(
        "--sample", type=_positive, help="re-train a seeded sample of N runs (default: all)"
    )
    v.add_argument(
        "--tolerance",
        type=float,
        default=0.005,
        help="accuracy tolerance where byte identity cannot be expected (default: 0.005)",
    )
    v.add_argument("--no-rerun", action="store_true", help="integrity checks only")
    v.add_argument(
        "--set",
        dest="set_name",
        default=None,
        metavar="FOLDER",
        help="the results set by its folder name under --results (quick, "
        "quick@bees-1a2b3c), instead of --profile and --dataset",
    )

    rt = command(
        "retrain",
        "re-train one run from its run.json (config, seed, dataset, with "
        "determinism on) into a folder: how `mark` re-runs a submission's runs with the "
        "submission's own code",
        profile=False,
    )
    rt.add_argument("record", type=Path, help="a run.json")
    rt.add_argument(
        "--out", type=Path, required=True, help="folder for the new run.json and history.csv"
    )

    mk = command(
        "mark",
        "a marker's check of handed-in submissions (a zip, or a folder of "
        "zips): unpack safely, check every file and number, compile the report, show "
        "what the student changed, re-train a sample of runs; a sheet per submission "
        "and marks.csv",
        profile=False,
    )
    mk.add_argument("submission", type=Path, help="a submission zip, or a folder of them")
    mk.add_argument(
        "--marking",
        type=Path,
        default=Path("marking"),
        help="folder for everything marking writes (default: marking)",
    )
    mk.add_argument(
        "--sample",
        type=int,
        default=2,
        help="runs to re-train per submission, drawn from a secret seed (default: "
        "2; 0: integrity only)",
    )
    mk.add_argument(
        "--tolerance",
        type=float,
        default=0.005,
        help="accuracy tolerance where byte identity cannot be expected (default: 0.005)",
    )
    mk.add_argument(
        "--page-limit",
        type=_positive,
        default=None,
        help="the course's limit on the body's pages (default: report.toml's)",
    )
    mk.add_argument(
        "--again", action="store_true", help="mark again what is already marked (default: skip it)"
    )
    mk.add_argument(
        "--max-mb",
        type=_positive,
        default=1024,
        help="largest unpacked size of a submission, MB (default: 1024)",
    )
    mk.add_argument(
        "--max-files",
        type=_positive,
        default=20000,
        help="most files in a submission (default: 20000)",
    )
    mk.add_argument(
        "--unsafe",
        action="store_true",
        help="where bubblewrap cannot sandbox, run a submission's code (re-runs, "
        "LaTeX) without one (default: refuse; the sheet records which)",
    )

    b = command(
        "bench",
        "images/s of the project's training path against a plain "
        "model.fit, per backend (writes <results>/bench.json)",
        profile=False,
    )
    b.add_argument(
        "--batch-sizes",
        type=_seeds,
        default=[10, 64, 256],
        help="comma-separated batch sizes (default: 10,64,256)",
    )
    b.add_argument(
        "--epochs",
        type=_positive,
        default=5,
        help="epochs per path and batch size; the first is warm-up (default: 5)",
    )
    b.add_argument(
        "--images",
        type=_positive,
        default=None,
        help="use only the first N images (default: all 10,000)",
    )
    b.add_argument(
        "--backends",
        type=_names,
        default=None,
        help="comma-separated Keras backends (default: every one installed)",
    )
    b.add_argument("--no-torch", action="store_true", help="leave out the plain PyTorch reference")
    b.add_argument(
        "--deterministic",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="determinism (default: as for run)",
    )

    pr = command("predict", "predict the class of images with a trained run's model", profile=False)
    pr.add_argument("run_folder", type=Path, help="e.g. results/quick/conv/conv2/seed-0")
    pr.add_argument("files", type=Path, nargs="+", help="image files, or one .npz (x, y)")
    pr.add_argument("--out", type=Path, help="also write the predictions as CSV")
    ev = command(
        "evaluate",
        "accuracy and confusion matrix of a trained run's model on a dataset split",
        profile=False,
    )
    ev.add_argument("run_folder", type=Path, help="e.g. results/quick/conv/conv2/seed-0")
    ev.add_argument("--dataset", help="default: the dataset the run was trained on")
    ev.add_argument("--split", choices=("train", "val", "test"), default="test")
    ev.add_argument("--out", type=Path, help="confusion matrix figure (.pdf; a .png beside)")

    qs = command("questions", "list the questions in experiments/", profile=False)
    qs.add_argument(
        "--chosen",
        action="store_true",
        help="only the ids of the chosen ones, report.toml's `questions`, checked "
        "(nothing where the list is empty: every question); what make runs",
    )
    qs.add_argument(
        "--settings",
        type=Path,
        default=None,
        help="the report settings file (default: report.toml)",
    )
    return p


# --------------------------------------------------------------------------- commands


def cmd_questions(args) -> int:
    from coursework.records import spec

    if args.chosen:
        from coursework.report.settings import SETTINGS_FILE, read_settings

        chosen = read_settings(args.settings or SETTINGS_FILE).questions
        unknown = [q for q in chosen if q not in spec.all_questions()]
        if unknown:
            raise CourseworkError(
                f"{args.settings or SETTINGS_FILE}: questions: no question "
                f"{', '.join(unknown)} in experiments/ (there are: "
                f"{', '.join(spec.all_questions())})"
            )
        print(" ".join(chosen))
        return 0
    for q in spec.all_questions():
        print(f"{q:16s} {spec.load(q, builders=False).title}")
    return 0


def cmd_data(args) -> int:
    from coursework.engine.jobs import dataset, plan
    from coursework.records import spec

    specs = [spec.load(q, builders=False) for q in args.question or spec.all_questions()]
    users: dict[int, tuple] = {}  # one loaded dataset -> (it, the questions that use it)
    for s in specs:
        for job in plan(s, args.profile, args.results, on=args.dataset):
            ds = dataset(job.run.config)  # loaded once per name, size and colour
            users.setdefault(id(ds), (ds, []))[1].append(s.question)
    for ds, questions in users.values():
        sizes = " / ".join(f"{ds.sizes[k]:,}" for k in ("train", "val", "test"))
        print(
            f"{ds.name}: {'x'.join(map(str, ds.input_shape))} images, {ds.num_classes} "
            f"classes, {sizes} (training / validation / test), sha256 "
            f"{ds.fingerprint()[:16]}; used by {', '.join(dict.fromkeys(questions))}"
        )
    return 0


def cmd_run(args) -> int:
    from coursework.records import spec
    from coursework.runtime import backend

    specs = [spec.load(q) for q in args.question]  # validate all before training
    backend.check_installed()
    from coursework.engine.jobs import check_data, plan, run_question, tuned
    from coursework.runtime import workers

    settings = backend.configure(args.deterministic, args.mixed_precision)
    gpus = ", ".join(g["name"] for g in backend.accelerators()) or "no GPU: the CPU"
    print(
        f"backend {backend.chosen()} {backend.version()} on {gpus}, determinism "
        f"{'on' if settings['deterministic'] else 'off'}, mixed precision "
        f"{'on (' + settings['policy'] + ')' if settings['mixed_precision'] else 'off'}"
        + (f", {args.jobs} jobs at once" if args.jobs > 1 else ""),
        flush=True,
    )
    plans = [
        (s, plan(s, args.profile, args.results, args.only, args.seeds, args.dataset)) for s in specs
    ]
    if args.task is not None and not args.tune:
        if len(plans) != 1:
            raise SpecError("--task: give exactly one question")
        s, jobs = plans[0]
        if not 0 <= args.task < len(jobs):
            raise SpecError(
                f"--task {args.task}: {s.path} has tasks 0 to {len(jobs) - 1} in "
                f"profile {args.profile} (one per run and seed)"
            )
        plans = [(s, [jobs[args.task]])]
    check_data([job for _, jobs in plans for job in jobs])  # before anything trains
    with contextlib.ExitStack() as stack:  # with --jobs: one pool of workers for everything
        pool = (
            stack.enter_context(workers.pool(args.jobs, settings=settings))
            if args.jobs > 1
            else None
        )
        # tuned runs: their studies first (a Slurm task of the seeds expects them finished)
        if (args.task is None or args.tune) and any(
            job.run.tune is not None for _, jobs in plans for job in jobs
        ):
            from coursework.engine.tune import tune_question

            for s in specs:
                tune_question(
                    s,
                    args.profile,
                    args.results,
                    args.only,
                    args.dataset,
                    args.jobs,
                    args.task if args.tune else None,
                    pool,
                )
        if args.tune:
            if args.task is None:  # the studies in the manifest (a task leaves it to collect)
                from coursework.analysis.aggregates import write_aggregates

                write_aggregates(args.results, args.results_set)
            return 0
        plans = [(s, tuned(jobs)) for s, jobs in plans]
        _backend_note([job for _, jobs in plans for job in jobs], args.force)
        plans = _with_plan(plans, args)
        failed = sum(
            run_question(s, jobs, args.force, args.jobs, shared=args.task is None, pool=pool)
            for s, jobs in plans
        )
    if failed:
        print(f"{failed} run(s) failed; see 'error' in their run.json", file=sys.stderr)
    return 1 if failed else 0


def _backend_note(jobs: list, force: bool) -> None:
    """Say so where complete runs were trained with another backend (they are kept)."""
    from coursework.commands.status import backend_note
    from coursework.engine.jobs import state
    from coursework.runtime import backend

    note = backend_note([(job, state(job)) for job in jobs], backend.chosen(), force)
    if note:
        print(f"note: {note}", flush=True)


def cmd_status(args) -> int:
    from coursework.records import spec
    from coursework.runtime import backend

    specs = [spec.load(q) for q in args.question or spec.all_questions()]
    backend.check_installed()
    from coursework.commands import status

    print(status.report(specs, args.profile, args.results, args.dataset, backend.chosen()))
    return 0


def _with_plan(plans: list, args) -> list:
    """Print the one-line plan; return the jobs with the estimated time after each (for the
    progress lines; not with --jobs, where runs overlap)."""
    from coursework.commands import planning
    from coursework.engine.calibrate import Calibrations
    from coursework.records import results

    jobs = [job for _, js in plans for job in js]
    plan = planning.items(jobs)
    calibrate = args.task is None and sum(item.images for item in plan) >= planning.CALIBRATE_FROM
    plan = planning.timed(plan, Calibrations(args.results), calibrate)
    studies = planning.timed(planning.studies(jobs), Calibrations(args.results), calibrate)
    print(
        planning.line(
            plan + studies, str(results.set_dir(args.results, args.results_set)), args.force
        ),
        flush=True,
    )
    if args.jobs > 1:
        return plans
    timed = iter(planning.with_times_after(jobs, plan, args.force))
    return [(s, [next(timed) for _ in js]) for s, js in plans]


def cmd_plan(args) -> int:
    from coursework.records import spec
    from coursework.runtime import backend

    specs = [spec.load(q) for q in args.question or spec.all_questions()]
    backend.check_installed()
    from coursework.commands import planning
    from coursework.engine.calibrate import Calibrations
    from coursework.engine.jobs import plan
    from coursework.records import results

    backend.configure(args.deterministic, args.mixed_precision)
    jobs = [
        job
        for s in specs
        for job in plan(s, args.profile, args.results, args.only, args.seeds, args.dataset)
    ]
    cache = Calibrations(args.results)
    plan = planning.timed(planning.items(jobs) + planning.studies(jobs), cache, calibrate=True)
    print(
        planning.table(
            plan,
            args.profile,
            str(results.set_dir(args.results, args.results_set)),
            str(cache.path),
        )
    )
    return 0


def cmd_slurm(args) -> int:
    from coursework.commands import slurm
    from coursework.records import spec

    s = spec.load(args.question)
    flags = (
        []
        if args.deterministic is None
        else ["--deterministic" if args.deterministic else "--no-deterministic"]
    )
    flags += ["--mixed-precision"] if args.mixed_precision else []
    res = slurm.Resources(args.partition, args.gpus, args.time, args.mem, args.cpus, args.setup)
    path, n = slurm.write(
        s, args.profile, args.results, res, args.dataset, flags, args.out, args.tune
    )
    print(
        f"wrote {path}: {n} array tasks ({s.question}, profile {args.profile})\n"
        f"submit:    sbatch {path}\n"
        f"watch:     squeue --me; output in {args.results}/slurm-logs/{args.results_set}/\n"
        f"afterwards: {slurm.collect_command(args.profile, args.dataset)}  (summary, "
        "statistics, ensembles, manifest)"
    )
    return 0


def cmd_collect(args) -> int:
    from coursework.analysis.aggregates import write_aggregates
    from coursework.engine.tune import finish_all
    from coursework.records import results

    for best in finish_all(args.results, args.results_set):
        print(
            f"study {best['question']}/{best['run']}: chose {best['params']} (trial "
            f"{best['trial'] + 1} of {best['trials']})"
        )
    write_aggregates(args.results, args.results_set)
    rows = results.summary_rows(args.results, args.results_set)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    print(
        f"collected {len(rows)} runs in {results.set_dir(args.results, args.results_set)}: "
        + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    )
    return 0


def cmd_plots(args) -> int:
    from coursework.analysis import manifest

    _figures(args)
    manifest.update(args.results, args.results_set)
    return 0


def _figures(args) -> None:
    """Redraw the figures that are out of date, and say how many."""
    from coursework.records.results import figures_dir
    from coursework.report.plots import all_figures

    done = all_figures(args.results, args.results_set)
    print(
        f"figures: {len(done.drawn)} drawn, {len(done.kept)} up to date "
        f"({len(done.paths)} files in {figures_dir(args.results, args.results_set)})"
    )


def cmd_report(args) -> int:
    from coursework.analysis import manifest
    from coursework.report.render import build
    from coursework.report.settings import SETTINGS_FILE, read_settings

    settings = read_settings(args.settings or SETTINGS_FILE, args.questions)
    _figures(args)  # the paper never shows a figure drawn from other results
    out = build(args.results, args.results_set, settings=settings)
    manifest.update(args.results, args.results_set)
    print(f"report: {out}")
    return 0


def cmd_submission(args) -> int:
    from coursework.report import submission

    archive = submission.gather(
        args.results, args.results_set, args.out, notebook=not args.no_notebook
    )
    print(f"submission: {archive.with_suffix('')}/ and {archive} (see LISTING.txt inside)")
    return 0


def cmd_verify(args) -> int:
    from coursework.analysis import checks
    from coursework.records import results
    from coursework.runtime import backend
    from coursework.verify import integrity as verify

    if not args.no_rerun:
        backend.configure(deterministic=True)  # byte identity needs it, on a GPU too
    rows = verify.verify(
        args.results,
        args.results_set,
        args.question,
        args.sample,
        args.tolerance,
        not args.no_rerun,
    )
    print(checks.table(rows))
    for r in rows:
        if r.verdict == "note":
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
    where = results.aggregate(args.results, args.results_set, results.VERIFICATION)
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


def cmd_retrain(args) -> int:
    from coursework.records import results
    from coursework.runtime import backend
    from coursework.verify.rerun import retrain

    backend.check_installed()
    backend.configure(deterministic=True)  # as make verify: byte identity needs it
    rec = results.read_json(args.record)
    new = retrain(rec, args.out)
    if "error" in new:
        raise CourseworkError(f"{args.record}: {new['error']}")
    results.write_json(args.out / results.RECORD, new)
    print(f"re-trained {rec['question']}/{rec['run']} seed {rec['seed']} into {args.out}")
    return 0


def cmd_mark(args) -> int:
    """0 when every submission was marked, whatever the verdicts (the last line counts
    them); an error only when marking itself could not run."""
    from coursework.report.settings import read_settings
    from coursework.verify import mark, sheets

    if args.sample < 0:
        raise CourseworkError("--sample wants 0 or more runs")
    options = mark.Options(
        sample=args.sample,
        tolerance=args.tolerance,
        page_limit=args.page_limit or read_settings().page_limit,
        max_bytes=args.max_mb << 20,
        max_files=args.max_files,
        unsafe=args.unsafe,
    )
    marked = mark.mark(args.submission, args.marking, options, again=args.again)
    table = sheets.all_sheets(args.marking)
    if len(table) > len(marked):
        print(
            f"\nthe table holds {len(table)} submissions: these {len(marked)} and "
            f"{len(table) - len(marked)} marked before"
        )
    print(sheets.summary(marked, args.marking))
    return 0


def cmd_describe(args) -> int:
    from coursework.commands.describe import describe
    from coursework.records import spec
    from coursework.runtime import backend

    specs = [spec.load(q) for q in args.question]
    backend.check_installed()
    for s in specs:
        print(describe(s, args.profile, args.dataset))
    return 0


def cmd_bench(args) -> int:
    from coursework.commands.bench import bench, table
    from coursework.records import results

    if args.epochs < 2 or 0 in args.batch_sizes:
        raise CourseworkError(
            "bench wants --epochs of at least 2 (the first is warm-up) and positive batch sizes"
        )
    out = bench(
        args.results,
        args.batch_sizes,
        args.epochs,
        args.backends,
        False if args.no_torch else None,
        args.deterministic,
        args.images,
    )
    print(table(out))
    print(f"written: {results.bench_file(args.results)}")
    return 0


def cmd_predict(args) -> int:
    from coursework.runtime import backend

    backend.check_installed()
    from coursework.commands import predict

    predict.predict(args.run_folder, args.files, args.out)
    return 0


def cmd_evaluate(args) -> int:
    from coursework.runtime import backend

    backend.check_installed()
    from coursework.commands import predict

    predict.evaluate(args.run_folder, args.dataset, args.split, args.out)
    return 0


COMMANDS = {
    "questions": cmd_questions,
    "data": cmd_data,
    "run": cmd_run,
    "plan": cmd_plan,
    "status": cmd_status,
    "plots": cmd_plots,
    "report": cmd_report,
    "verify": cmd_verify,
    "describe": cmd_describe,
    "bench": cmd_bench,
    "submission": cmd_submission,
    "predict": cmd_predict,
    "evaluate": cmd_evaluate,
    "slurm": cmd_slurm,
    "collect": cmd_collect,
    "retrain": cmd_retrain,
    "mark": cmd_mark,
}


# the commands that build models; the others work without Keras
KERAS_COMMANDS = {
    "data",
    "run",
    "plan",
    "status",
    "slurm",
    "describe",
    "bench",
    "predict",
    "evaluate",
    "retrain",
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command in KERAS_COMMANDS or (args.command == "verify" and not args.no_rerun):
        from coursework.runtime import backend

        backend.import_keras()  # first, without the framework's load-time noise
    if hasattr(args, "profile"):
        from coursework.records.results import profile_had, set_dir, set_name

        auto = args.profile == AUTO
        if auto:
            args.profile = profile_had(args.results, args.dataset)
        args.results_set = getattr(args, "set_name", None) or set_name(args.profile, args.dataset)
        if auto:
            print(
                f"profile {args.profile}: the results in "
                f"{set_dir(args.results, args.results_set)}"
                + (
                    " (no full-profile runs yet; PROFILE=full once there are)"
                    if args.profile == "quick"
                    else ""
                ),
                flush=True,
            )
    try:
        return COMMANDS[args.command](args)
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
