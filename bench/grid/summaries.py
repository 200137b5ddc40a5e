"""Reading the run files back for a report: the runs of one row must share every
setting but the seed; missing seeds, runs from more than one kind of machine, and the
task tables, error columns and estimate-against-truth dots that bench tasks and bench
bmi share."""
import math
import os

import numpy as np

from minimi.engine.files import write_text

from .commandline import BadInput
from .planning import config_differences, read_run, run_path


def load_runs(out, experiment):
    """Every run file of an experiment, checked as a report needs them: a report averages
    the seeds of one (setting, loss), so runs that share them must share every other
    setting too, and each file must say what its place in the folder says. An
    unreadable file, or runs that differ, stop the report with an error naming the
    files (and the differing keys)."""
    runs, root, problems = [], os.path.join(out, experiment), []
    first = {}  # (setting, loss) -> (path, config) of the first run seen
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            if not (name.startswith("seed") and name.endswith(".json")):
                continue
            path = os.path.join(folder, name)
            try:
                run = read_run(path)
            except BadInput as error:
                problems.append(str(error))
                continue
            expected = run_path(out, experiment, run["setting"], run["loss_name"],
                                run["loss_params"], run["seed"])
            if os.path.normpath(expected) != os.path.normpath(path):
                problems.append(f"{path}: the file says it is {expected} (setting, loss or "
                                "seed edited or moved)")
                continue
            key = (run["setting"], run["loss"])
            if key in first:
                differ = config_differences(run["config"], first[key][1])
                if differ:
                    text = ", ".join(f"{k}={a!r} here, {b!r} there" for k, (a, b) in differ.items())
                    problems.append(f"{path}: made with other settings than {first[key][0]} "
                                    f"({text}); a report averages only runs that differ in "
                                    "their seed: redo one with --force, or report them from "
                                    "separate --out folders")
                    continue
            else:
                first[key] = (path, run["config"])
            runs.append(run)
    if problems:
        raise BadInput("\n".join(problems))
    return runs


def runs_to_report(out, experiment):
    """load_runs for a report; when there are none, says so (the report then has
    nothing to write)."""
    runs = load_runs(out, experiment)
    if not runs:
        print(f"{experiment}: no runs under {out}/{experiment}")
    return runs


def missing_runs(runs):
    """{(setting, loss): [seeds it lacks]}: within a setting every loss is expected to
    have every seed that any of its losses has (a cancelled array task, a run that
    never finished); the reports name them."""
    seeds, have = {}, {}
    for r in runs:
        seeds.setdefault(r["setting"], set()).add(r["seed"])
        have.setdefault((r["setting"], r["loss"]), set()).add(r["seed"])
    return {key: sorted(seeds[key[0]] - got) for key, got in have.items()
            if seeds[key[0]] - got}


def seeds_note(runs, setting, loss):
    """' [k of n seeds: seed j missing]' for a report row that lacks seeds, else ''."""
    lacking = missing_runs(runs).get((setting, loss))
    if not lacking:
        return ""
    held = len({r["seed"] for r in runs if r["setting"] == setting and r["loss"] == loss})
    return (f" [{held} of {held + len(lacking)} seeds: "
            f"{', '.join(f'seed {s}' for s in lacking)} missing]")


def missing_lines(runs):
    """The summary's closing lines about incomplete rows (none when all are whole)."""
    lacking = missing_runs(runs)
    if not lacking:
        return []
    return ["", "**Incomplete rows** (a seed that other losses of the setting have): " +
            "; ".join(f"{setting} {loss}: {', '.join(f'seed {s}' for s in seeds)}"
                      for (setting, loss), seeds in sorted(lacking.items()))]


def machines_lines(runs):
    """The summary's closing line where its runs were made on more than one CPU, BLAS
    kernel or BLAS thread count (none when all agree). Such runs are reported together
    as the same runs; their numbers can differ in float32 rounding."""
    made_on = {}
    for run in runs:
        v = run.get("versions") or {}
        key = tuple(v.get(k) for k in ("cpu", "blas_kernel", "blas_threads"))
        made_on[key] = made_on.get(key, 0) + 1
    if len(made_on) < 2:
        return []
    text = "; ".join(f"{count} on {'unrecorded' if cpu is None else cpu}, "
                     f"{kernel or '?'} kernel, {threads or '?'} BLAS thread(s)"
                     for (cpu, kernel, threads), count in sorted(made_on.items(), key=str))
    return ["", f"**Made on more than one kind of machine** ({text}): the same run there "
                "can differ in float32 rounding, which training carries forward "
                "(docs/benchmarks.md#reproducibility)."]


def write_summary(out, experiment, lines, runs, figures=()):
    """<out>/<experiment>/summary.md: `lines`, then the incomplete rows, the machines
    where they differ, and the figures; says where it went and returns its path."""
    lines = lines + missing_lines(runs) + machines_lines(runs)
    path = f"{out}/{experiment}/summary.md"
    if figures:  # beside the summary: named as from its folder, wherever the folder goes
        lines += ["", "Figures: " + ", ".join(f"`{os.path.relpath(f, os.path.dirname(path))}`"
                                              for f in figures)]
    write_text(path, "\n".join(lines) + "\n")
    print(f"{experiment}: summary {path}")
    return path


def finite_mean(values):
    values = [v for v in values if v is not None and math.isfinite(v)]
    return sum(values) / len(values) if values else None


# The summaries' error columns. Over several seeds the error of a task's mean shows the
# bias (how far the estimator is off on average); the mean |error| per estimate also
# counts the spread from seed to seed, what one run of the estimator can be off by.
ERROR_HEADERS = ("mean abs error of each task's mean (tasks with an estimate)",
                 "mean abs error per estimate", "tasks within 0.1")


def by_task(runs):
    """{(task, loss or estimator name): [runs]}."""
    by = {}
    for r in runs:
        by.setdefault((r["config"]["task"], r["loss"]), []).append(r)
    return by


def task_rows(runs, by, tasks, names, cell):
    """The task table: a row per task with its truth, a column per name, and in it
    cell(runs of that task and name) (empty where none ran)."""
    lines = ["| task | truth | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for task in tasks:
        truth = next(r["config"]["truth"] for r in runs if r["config"]["task"] == task)
        lines.append(f"| {task} | {truth:.3f} | " + " | ".join(
            cell(by[(task, n)]) if (task, n) in by else "" for n in names) + " |")
    return lines


def mean_error_text(errors, digits):
    """The seeds' mean error ± their spread (one seed: the error), bold within 0.1 nats."""
    mean = float(np.mean(errors))
    text = f"{mean:+.{digits}f}" + (
        f" ± {np.std(errors, ddof=1):.{digits}f}" if len(errors) > 1 else "")
    return f"**{text}**" if abs(mean) <= 0.1 else text


def error_columns(by, tasks, name):
    """The three ERROR_HEADERS columns (text) of estimator or loss `name`, from `by`
    {(task, name): [runs]}: |the seeds' mean error| averaged over the tasks, |error|
    averaged over each task's estimates and then over the tasks (each task weighs the
    same however many seeds it has), and the tasks whose mean error is within 0.1."""
    errors = [e for e in ([r["final"]["error"] for r in by.get((t, name), [])
                           if r["final"]["error"] is not None] for t in tasks) if e]
    if not errors:
        return "—", "—", f"0/{len(tasks)}"
    means = [float(np.mean(e)) for e in errors]
    each = [float(np.mean(np.abs(e))) for e in errors]
    return (f"{np.mean(np.abs(means)):.3f}", f"{np.mean(each):.3f}",
            f"{sum(abs(m) <= 0.1 for m in means)}/{len(tasks)}")


def estimate_points(ax, runs, color, label):
    """A dot per task at (truth, the mean estimate over its seeds) and a bar per run for
    its interval (an open end where it has none); runs with no estimate are left out."""
    runs = [r for r in runs if r["final"]["mi"] is not None]
    points = {}
    for r in runs:
        points.setdefault(r["config"]["task"], []).append((r["config"]["truth"], r["final"]["mi"]))
    ranged = [r for r in runs if r["final"].get("ci")]
    ax.bars([r["config"]["truth"] for r in ranged], [r["final"]["ci"][0] for r in ranged],
            [r["final"]["ci"][1] for r in ranged], color=color, lighten=0.45)
    ax.points([v[0][0] for v in points.values()],
              [float(np.mean([m for _, m in v])) for v in points.values()],
              color=color, label=label)


# ---- what the answers said: two-sided, one-sided ("at least"), flagged -------------------------

ANSWERS_NOTE = ("Two-sided: an interval, unflagged; one-sided: \"at least\" its low end, "
                "unflagged (the estimate still rose with the rows); flagged, or no estimate. "
                "The goal: no miss with neither a flag nor a one-sided answer, flagged + "
                "one-sided at most 20%, two-sided intervals holding the truth in ≥ 95%.")
ANSWER_HEADERS = ("estimates", "two-sided", "two-sided holding the truth", "one-sided",
                  "one-sided holding the truth", "flagged or none", "flagged + one-sided",
                  "misses with neither")


def answer_kind(final):
    """'none' (no estimate), 'flagged', 'one-sided' (unflagged, no upper end: "at least
    the low end") or 'two-sided' (unflagged, both ends)."""
    if final.get("ci") is None:
        return "none"
    if final["flagged"]:
        return "flagged"
    return "one-sided" if final["ci"][1] is None else "two-sided"


def holds(final, truth):
    """Whether the answer's interval holds the truth (no upper end: its low end is
    at most the truth)."""
    low, high = final["ci"]
    return low <= truth and (high is None or truth <= high)


def answer_columns(runs):
    """The ANSWER_HEADERS columns (text) of these runs: how many answers of each kind,
    how many held the truth, and the two-sided answers that missed it unflagged."""
    kinds = [(answer_kind(r["final"]), r) for r in runs]
    two = [r for k, r in kinds if k == "two-sided"]
    one = [r for k, r in kinds if k == "one-sided"]
    flagged = sum(1 for k, _ in kinds if k in ("flagged", "none"))
    two_held = sum(holds(r["final"], r["config"]["truth"]) for r in two)
    one_held = sum(holds(r["final"], r["config"]["truth"]) for r in one)
    return (str(len(runs)), str(len(two)), share(two_held, len(two)), str(len(one)),
            share(one_held, len(one)), str(flagged), share(flagged + len(one), len(runs)),
            str(len(two) - two_held))


def share(part, whole):
    """'part/whole (p%)', or '—' when there is no whole."""
    return f"{part}/{whole} ({part / whole:.0%})" if whole else "—"


def answers_table(groups, key_headers):
    """Markdown lines: a row per (key, runs) in `groups`, the key's cells (a tuple under
    `key_headers`) then answer_columns, and a row over all of them."""
    lines = ["| " + " | ".join((*key_headers, *ANSWER_HEADERS)) + " |",
             "|---" * (len(key_headers) + len(ANSWER_HEADERS)) + "|"]
    every = []
    for key, runs in groups:
        every += runs
        lines.append("| " + " | ".join((*key, *answer_columns(runs))) + " |")
    if len(groups) > 1:
        lines.append("| " + " | ".join(("**all**", *[""] * (len(key_headers) - 1),
                                        *answer_columns(every))) + " |")
    return lines
