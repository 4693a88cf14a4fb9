"""The commands that train or read what training needs: ``run``, ``data``, ``plan``,
``status``, ``slurm``, ``collect``, ``describe``, ``bench``, ``predict``, ``evaluate`` and
``questions``. Each takes the parsed command line and returns its exit status; what they
import, they import when they run (``--help`` never loads Keras)."""

from __future__ import annotations

import argparse

from coursework.records.errors import CourseworkError


def cmd_questions(args: argparse.Namespace) -> int:
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


def cmd_data(args: argparse.Namespace) -> int:
    from coursework.engine.job import dataset, plan
    from coursework.records import spec

    specs = [spec.load(q, builders=False) for q in args.question or spec.all_questions()]
    users: dict[int, tuple] = {}  # one loaded dataset -> (it, the questions that use it)
    for s in specs:
        for job in plan(s, args.profile, args.results, dataset=args.dataset):
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


def cmd_run(args: argparse.Namespace) -> int:
    """Train: a :class:`~coursework.engine.request.TrainRequest` of the command line, carried
    out by :func:`coursework.engine.trainer.train` (the specs and the backend checked before
    Keras is imported)."""
    from coursework.engine.request import TrainRequest

    request = TrainRequest.from_args(args)
    loaded = request.load()
    from coursework.engine.trainer import train

    return train(request, loaded).code


def cmd_status(args: argparse.Namespace) -> int:
    from coursework.records import spec
    from coursework.runtime import backend

    specs = [spec.load(q) for q in args.question or spec.all_questions()]
    backend.check_installed()
    from coursework.commands import status

    print(status.report(specs, args.profile, args.results, args.dataset, backend.current()))
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from coursework.records import spec
    from coursework.runtime import backend

    specs = [spec.load(q) for q in args.question or spec.all_questions()]
    backend.check_installed()
    from coursework.commands import planning
    from coursework.engine import estimate
    from coursework.engine import trainer as jobs_
    from coursework.engine.calibrate import Calibrations
    from coursework.engine.job import plan

    backend.configure(args.deterministic, args.mixed_precision)
    jobs = [
        job
        for s in specs
        for job in plan(s, args.profile, args.results, args.only, args.seeds, args.dataset)
    ]
    cache = Calibrations(args.results)
    items = estimate.timed(estimate.items(jobs) + estimate.studies(jobs), cache, calibrate=True)
    print(
        planning.table(
            items,
            args.profile,
            str(args.rs.dir()),
            str(cache.path),
            packed=jobs_.packing(args.pack_seeds),
        )
    )
    return 0


def cmd_slurm(args: argparse.Namespace) -> int:
    from coursework.commands import cluster, slurm
    from coursework.engine.request import TrainRequest
    from coursework.records import spec

    s = spec.load(args.question)
    request = TrainRequest(
        questions=(args.question,),
        results=args.results,
        profile=args.profile,
        dataset=args.dataset,
        deterministic=args.deterministic,
        mixed_precision=args.mixed_precision,
        tune=args.tune,
    )
    asked = cluster.Resources(args.partition, args.gpus, args.time, args.mem, args.cpus, args.setup)
    res, notes = cluster.fit(asked, cluster.partition(args.partition))
    path, n = slurm.write(s, request, res, args.out)
    if args.tune:
        notes += slurm.tuning_notes(s, args.profile, args.dataset)
    for note in notes:
        print(f"note: {note}")
    print(
        f"wrote {path}: {n} array tasks ({s.question}, profile {args.profile}), each with "
        f"{res.gpus} GPU{'s' * (res.gpus != 1)}, {res.cpus} CPU{'s' * (res.cpus != 1)}, "
        f"{res.mem} memory, time "
        f"{res.time or 'as the cluster sets'}\n"
        f"submit:    sbatch {path}\n"
        f"watch:     squeue --me; output in {args.results}/slurm-logs/{args.rs.name}/\n"
        f"afterwards: {slurm.collect_command(args.profile, args.dataset)}  (summary, "
        "statistics, ensembles, manifest)"
    )
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    from coursework.analysis.aggregates import write_aggregates
    from coursework.engine.tune import finish_all
    from coursework.records import results

    for best in finish_all(args.rs):
        print(
            f"study {best['question']}/{best['run']}: chose {best['params']} (trial "
            f"{best['trial'] + 1} of {best['trials']})"
        )
    write_aggregates(args.rs)
    rows = results.summary_rows(args.rs)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    print(
        f"collected {len(rows)} runs in {args.rs.dir()}: "
        + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    )
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    from coursework.commands.describe import describe
    from coursework.records import spec
    from coursework.runtime import backend

    specs = [spec.load(q) for q in args.question]
    backend.check_installed()
    for s in specs:
        print(describe(s, args.profile, args.dataset))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from coursework.commands.bench import bench, table
    from coursework.records import layout

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
    print(f"written: {layout.bench_file(args.results)}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from coursework.runtime import backend

    backend.check_installed()
    from coursework.commands import predict

    predict.predict(args.run_folder, args.files, args.out)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from coursework.runtime import backend

    backend.check_installed()
    from coursework.commands import predict

    predict.evaluate(args.run_folder, args.dataset, args.split, args.out)
    return 0
