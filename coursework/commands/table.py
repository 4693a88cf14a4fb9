"""Every command of ``python -m coursework``, as data: its name, help, arguments and
function, in the order ``--help`` lists them (:func:`coursework.commands.arguments.build`
makes the parser)."""

from __future__ import annotations

from pathlib import Path

from coursework.commands import paper, training
from coursework.commands.arguments import (
    MARK_LIMITS,
    ONLY,
    PACK,
    QUESTION,
    QUESTIONS,
    RUN_FOLDER,
    SEEDS,
    TOLERANCE,
    Command,
    arg,
    cluster,
    determinism,
    names,
    positive,
    seeds,
)

RUN = (
    arg("question", nargs="+", help=QUESTION),
    ONLY,
    SEEDS,
    arg(
        "--force",
        action="store_true",
        help="train complete runs again (make QUESTION FORCE=1); a stale run, one "
        "whose settings differ from its experiment file's, is trained again anyway",
    ),
    *determinism(
        "byte-identical re-runs (default: on without a GPU, off with one, "
        "where it can cost several times)"
    ),
    arg("--mixed-precision", action="store_true", help="16-bit compute, float32 weights (GPU)"),
    PACK,
    arg(
        "--jobs",
        type=positive,
        default=1,
        help="train N run/seed pairs at once in worker processes (several on one "
        "GPU, or one per GPU); the results are the same (default: 1)",
    ),
    arg(
        "--task",
        type=int,
        default=None,
        metavar="K",
        help="train only the K-th run and seed (0-based, as a Slurm array task; "
        "see the slurm command) and write nothing shared: `collect` does that; "
        "with --tune, the K-th trial of the question's studies",
    ),
    arg(
        "--tune",
        action="store_true",
        help="only tune: run the Optuna studies of the tuned runs (their [tune] "
        "tables) and choose their parameters on the validation split; without it, "
        "`run` tunes what is not tuned yet, then trains the seeds",
    ),
)

PLAN = (
    QUESTIONS,
    ONLY,
    SEEDS,
    *determinism("as for run (the speed depends on it)"),
    arg("--mixed-precision", action="store_true", help="as for run"),
    PACK,
)

SLURM = (
    arg("question", help=QUESTION),
    *cluster("04:00:00", "04:00:00"),
    *determinism("passed on to run"),
    arg("--mixed-precision", action="store_true", help="passed on to run"),
    arg(
        "--out",
        type=Path,
        default=None,
        help="script to write (default: slurm/<question>-<profile>.sbatch)",
    ),
    arg(
        "--tune",
        action="store_true",
        help="a task per trial of the tuned runs' studies (run it, then collect, "
        "before the seeds' script)",
    ),
)

REPORT = (
    arg(
        "--questions",
        type=names,
        default=None,
        help="the questions of the paper, in order (default: report.toml's list, "
        "else every question with results); commas or spaces between them",
    ),
    arg(
        "--settings",
        type=Path,
        default=None,
        help="report settings file (default: report.toml in the project)",
    ),
)

SUBMISSION = (
    arg(
        "--out",
        type=Path,
        default=None,
        help="folder to write (default: submission/ in the project)",
    ),
    arg(
        "--no-notebook",
        action="store_true",
        help="do not run the lab book to hand it in with outputs (it is among the code as it is)",
    ),
)

VERIFY = (
    arg("--question", help="only this question"),
    arg("--sample", type=positive, help="re-train a seeded sample of N runs (default: all)"),
    TOLERANCE,
    arg("--no-rerun", action="store_true", help="integrity checks only"),
    arg(
        "--set",
        dest="set_name",
        default=None,
        metavar="FOLDER",
        help="the results set by its folder name under --results (quick, "
        "quick@bees-1a2b3c), instead of --profile and --dataset",
    ),
)

RETRAIN = (
    arg("record", type=Path, help="a run.json"),
    arg("--out", type=Path, required=True, help="folder for the new run.json and history.csv"),
)

MARK = (
    arg("submission", type=Path, help="a submission zip, or a folder of them"),
    arg(
        "--marking",
        type=Path,
        default=Path("marking"),
        help="folder for everything marking writes (default: marking)",
    ),
    arg(
        "--sample",
        default="2",
        help="runs to re-train per submission, drawn from a secret seed, the runs the "
        "prose quotes first: a count (default: 2; 0: integrity only), 'quoted' (every "
        "quoted run and seed) or a chance such as '90%%' (that one faked quoted run is "
        "re-trained)",
    ),
    TOLERANCE,
    arg(
        "--page-limit",
        type=positive,
        default=None,
        help="the course's limit on the body's pages (default: report.toml's)",
    ),
    arg(
        "--again", action="store_true", help="mark again what is already marked (default: skip it)"
    ),
    arg(
        "--max-mb",
        type=positive,
        default=1024,
        help="largest unpacked size of a submission, MB (default: 1024)",
    ),
    arg(
        "--max-files",
        type=positive,
        default=20000,
        help="most files in a submission (default: 20000)",
    ),
    arg(
        "--unsafe",
        action="store_true",
        help="where bubblewrap cannot sandbox, run a submission's code (re-runs, "
        "LaTeX) without one (default: refuse; the sheet records which)",
    ),
    *MARK_LIMITS,
)

BENCH = (
    arg(
        "--batch-sizes",
        type=seeds,
        default=[10, 64, 256],
        help="comma-separated batch sizes (default: 10,64,256)",
    ),
    arg(
        "--epochs",
        type=positive,
        default=5,
        help="epochs per path and batch size; the first is warm-up (default: 5)",
    ),
    arg(
        "--images",
        type=positive,
        default=None,
        help="use only the first N images (default: all 10,000)",
    ),
    arg(
        "--backends",
        type=names,
        default=None,
        help="comma-separated Keras backends (default: every one installed)",
    ),
    arg("--no-torch", action="store_true", help="leave out the plain PyTorch reference"),
    *determinism("determinism (default: as for run)"),
)

PREDICT = (
    RUN_FOLDER,
    arg("files", type=Path, nargs="+", help="image files, or one .npz (x, y)"),
    arg("--out", type=Path, help="also write the predictions as CSV"),
)

EVALUATE = (
    RUN_FOLDER,
    arg("--dataset", help="default: the dataset the run was trained on"),
    arg("--split", choices=("train", "val", "test"), default="test"),
    arg("--out", type=Path, help="confusion matrix figure (.pdf; a .png beside)"),
)

LIST = (
    arg(
        "--chosen",
        action="store_true",
        help="only the ids of the chosen ones, report.toml's `questions`, checked "
        "(nothing where the list is empty: every question); what make runs",
    ),
    arg(
        "--settings",
        type=Path,
        default=None,
        help="the report settings file (default: report.toml)",
    ),
)

COMMANDS = (
    Command("run", "train the runs of a question and log them", training.cmd_run, RUN),
    Command(
        "data",
        "fetch and check the datasets the questions' runs need (downloaded "
        "into Keras' cache where missing: run it where there is a network, such as a "
        "cluster's login node); print their sizes and fingerprints",
        training.cmd_data,
        (QUESTIONS,),
    ),
    Command(
        "plan",
        "what the questions will train (runs, seeds, epochs, images) and how "
        "long it will take on this machine, from a short calibration of each network "
        "(cached); which runs are complete",
        training.cmd_plan,
        PLAN,
    ),
    Command(
        "status",
        "where every run and seed stands against its experiment file now: "
        "complete, stale (with the settings that differ), missing, stopped, being "
        "trained, failed; and what the next run command does",
        training.cmd_status,
        (QUESTIONS,),
    ),
    Command(
        "slurm",
        "write an sbatch array script for a question: one task per run and seed",
        training.cmd_slurm,
        SLURM,
    ),
    Command(
        "collect",
        "rebuild summary, statistics, ensembles and manifest from the run "
        "folders (after Slurm array tasks)",
        training.cmd_collect,
    ),
    Command(
        "describe",
        "layer table and parameter count of every run",
        training.cmd_describe,
        (arg("question", nargs="+"),),
    ),
    Command("plots", "figures from the results files", paper.cmd_plots),
    Command(
        "report",
        "render the LaTeX report (settings: report.toml) and compile the PDF",
        paper.cmd_report,
        REPORT,
    ),
    Command(
        "page",
        "every run on one page, from the results files: results/<set>/index.html (offline)",
        paper.cmd_page,
    ),
    Command(
        "submission",
        "gather what you hand in: the PDF, the code and the per-run "
        "CSVs (no weights) into submission/ and submission.zip",
        paper.cmd_submission,
        SUBMISSION,
    ),
    Command(
        "verify",
        "check the results' integrity and re-train runs to compare "
        "(writes verification.csv; exit 1 on any mismatch)",
        paper.cmd_verify,
        VERIFY,
    ),
    Command(
        "retrain",
        "re-train one run from its run.json (config, seed, dataset, with "
        "determinism on) into a folder: how `mark` re-runs a submission's runs with the "
        "submission's own code",
        paper.cmd_retrain,
        RETRAIN,
        profile=False,
    ),
    Command(
        "mark",
        "a marker's check of handed-in submissions (a zip, or a folder of "
        "zips): unpack safely, check every file and number, compile the report, show "
        "what the student changed, re-train a sample of runs; a sheet per submission "
        "and marks.csv",
        paper.cmd_mark,
        MARK,
        profile=False,
    ),
    Command(
        "bench",
        "images/s of the project's training path against a plain "
        "model.fit, per backend (writes <results>/bench.json)",
        training.cmd_bench,
        BENCH,
        profile=False,
    ),
    Command(
        "predict",
        "predict the class of images with a trained run's model",
        training.cmd_predict,
        PREDICT,
        profile=False,
    ),
    Command(
        "evaluate",
        "accuracy and confusion matrix of a trained run's model on a dataset split",
        training.cmd_evaluate,
        EVALUATE,
        profile=False,
    ),
    Command(
        "questions",
        "list the questions in experiments/",
        training.cmd_questions,
        LIST,
        profile=False,
    ),
)

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
