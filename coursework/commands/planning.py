"""``make plan``: what a command will train and how long it will take, before it starts.

Per run and seed: epochs x training images per epoch (the expanded set counted 5x) and an
estimated time on this machine and backend, from the measured calibration of its network
(:mod:`coursework.engine.calibrate`, corrected by the runs that finished since); runs already
complete are counted and marked. ``run`` prints the same plan in one line and passes the
estimates on for the time left in its progress lines.
"""

from __future__ import annotations

from coursework.engine.estimate import (  # what `make plan` shares with `run`
    Item,
    machine_name,
    millions,
    totals,
)
from coursework.engine.seeded import duration


def table(plan: list[Item], profile: str, where: str, cache: str, packed: bool = False) -> str:
    """``make plan``: per question and run, then per question and for the whole command;
    ``packed``: the seeds of each run train together (marked ``p`` by their seed count)."""
    lines = [
        f"Plan of profile {profile} on {machine_name()}; results in {where}",
        "",
        f"{'question':14s} {'run':22s} {'seeds':>5s} {'epochs':>6s} {'images/epoch':>12s} "
        f"{'images':>10s} {'time':>9s}  complete",
    ]
    groups: dict[tuple[str, str], list[Item]] = {}
    for item in plan:
        groups.setdefault((item.job.run.question, item.job.run.name), []).append(item)
    by_question: dict[str, list[Item]] = {}
    for (question, run), group in groups.items():
        cfg = group[0].job.run.config
        t = totals(group)
        epochs = f"{'<=' if cfg.early_stopping else ''}{cfg.epochs}"
        seeds = f"{len(group)}{'p' if packed and len(group) > 1 and ':' not in run else ''}"
        lines.append(
            f"{question:14s} {run:22s} {seeds:>5s} {epochs:>6s} "
            f"{group[0].epoch_images:12,d} {millions(t['images']):>10s} "
            f"{_time(t['seconds']):>9s}  {sum(i.complete for i in group)}/{len(group)}"
        )
        by_question.setdefault(question, []).extend(group)
    lines.append("")
    for question, group in by_question.items():
        t = totals(group)
        lines.append(
            f"{question:14s} {'(question)':22s} {len(group):5d} {'':6s} {'':12s} "
            f"{millions(t['images']):>10s} {_time(t['seconds']):>9s}  "
            f"{sum(i.complete for i in group)}/{len(group)}"
        )
    t = totals(plan)
    left = t["jobs"] - t["complete"] + t["studies"] - t["studies_done"]
    lines += [
        "",
        f"all: {t['jobs']} runs and seeds"
        + (f" and {t['studies']} stud{'y' if t['studies'] == 1 else 'ies'}" if t["studies"] else "")
        + f", {millions(t['images'])} training images, "
        f"about {_time(t['seconds'])} one at a time; left to train: {left} "
        f"({millions(t['images_left'])} images, about {_time(t['seconds_left'])}).",
    ]
    lines += _notes(plan, cache, packed)
    return "\n".join(lines)


def _notes(plan: list[Item], cache: str, packed: bool) -> list[str]:
    """What the table's marks mean, and where its times come from."""
    lines = []
    if any(i.job.run.name.endswith(":study") for i in plan):
        lines.append(
            "':study': a tuned run's Optuna study on the validation split, all its "
            "trials (pruning may end some sooner)."
        )
    if packed:
        lines.append(
            "'p': the run's seeds train together as one program (jax.vmap; PACK=0 trains "
            "them one by one); the times are those of one by one."
        )
    if any(i.job.run.config.early_stopping for i in plan):
        lines.append(
            "'<=': early stopping may end a run sooner; its images and time are at "
            "most those shown."
        )
    lines.append(
        f"Times are estimates from a short calibration of each network on this "
        f"machine ({cache}), the fastest of a few passes; a finished run whose "
        f"epochs took 30% more or less corrects its network's. Other work on the "
        f"machine slows training down."
    )
    return lines


def _time(seconds: float | None) -> str:
    return "?" if seconds is None else duration(seconds)
