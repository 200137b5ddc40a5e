"""minimi beside the field's own estimators, through the released bmi's harness, on
bmi's own tasks (Czyż et al., "Beyond Normal", `pip install benchmark-mi==0.1.3`).

    python -m bench bmi [--profile quick|full] [--estimators minimi,ksg,...]
                        [--tasks ID,...] [--samples N[,N...]] [--seeds N] [--out DIR]

bmi lives in a throwaway environment of its own (bench/truth/bmi_env.py, built once);
bench/truth/bmi_worker.py runs there. For each task, sample size and seed it draws bmi's
sample with task.sample, writes it with bmi.utils.save_sample and hands it to
bmi.benchmark.run_estimator with each estimator: minimi as bmi runs any external
estimator (the command `python -m minimi bmi SAMPLE_CSV DIM_X DIM_Y`, defaults,
--accept-flagged so that its flagged numbers are scored too, and its flags kept
with --result), bmi's KSG, CCA and neural estimators with bmi's defaults, and
torch-mist with its README call's settings (its own `mist` command, run by
bench/truth/mist_command.py as an external estimator too, in an environment of its
own with PyTorch for the CPU, built once; where it cannot be installed the default
profiles go on without it and say so).

One run file per (task, samples, estimator, seed) under
<out>/bmi/<task>_n<samples>/<estimator>/; an interrupted grid resumes, --task K/N
shares it out. The summary: estimate − truth per task and estimator, each
estimator's mean |error|, tasks within 0.1 nats, failures and median seconds per
estimate; a figure of estimate against truth with a panel per estimator. Seconds
are those the estimate took in its own process: minimi's and torch-mist's commands
report them (starting Python and importing PyTorch left out); bmi's
estimators run in the harness's process.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

from minimi.engine.files import write_json
from minimi.tools.plot import PALETTE, Figure

from ..grid import commandline, planning, records, summaries
from . import bmi_env, mist_command

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WORKER = os.path.join(HERE, "bmi_worker.py")
MIST_COMMAND = os.path.join(HERE, "mist_command.py")
ESTIMATORS = ("minimi", "ksg", "cca", "bmi-infonce", "bmi-nwj", "bmi-dv", "bmi-mine",
              "torch-mist")
# one task of each kind; the 1v1 normal, bimodal and wiggly tasks are one task for
# minimi's rank marginals, so one of them stands for all three
QUICK_TASKS = ("1v1-normal-0.75", "1v1-additive-0.1", "student-identity-2-2-1",
               "multinormal-dense-5-5-0.5", "multinormal-sparse-25-25-2-2.0",
               "swissroll_x-normal_cdf-1v1-normal-0.75", "spiral-multinormal-sparse-5-5-2-2.0",
               "asinh-student-identity-5-5-2")
# tasks (None: all 40), seeds, sample sizes, estimators
PROFILES = {"quick": (QUICK_TASKS, 1, [5000], ("minimi", "ksg", "cca", "bmi-infonce",
                                                "torch-mist")),
            "full": (None, 5, [5000, 10000], ESTIMATORS)}
BMI_DEFAULTS = "bmi 0.1.3 defaults (neural: verbose off, seeded with the run's seed)"
OTHERS_SETTINGS = {"torch-mist": f"torch-mist 0.2.17, its README call's settings: "
                                 f"{mist_command.CALL}, seed=the run's seed"}


def _worker(python, argument, folder):
    """Start bench/truth/bmi_worker.py in the bmi environment; what it says besides its
    RESULT lines (JAX's warnings) goes to worker.log in `folder`."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = ROOT      # for `python -m minimi` in the commands it starts
    with open(os.path.join(folder, "worker.log"), "w") as log:
        return subprocess.Popen([python, WORKER, argument], cwd=folder, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=log)


def _results(process, folder):
    """The worker's RESULT lines, parsed, as they come; a worker that fails raises
    with the end of its log."""
    for line in process.stdout:
        if line.startswith("RESULT "):
            yield json.loads(line[len("RESULT "):])
    if process.wait():
        with open(os.path.join(folder, "worker.log")) as log:
            said = log.read().strip()
        raise RuntimeError(f"the bmi worker failed (exit {process.returncode}): {said[-1500:]}")


def catalogue(python):
    """bmi's tasks: {id: {"dims": [dx, dy], "truth": nats}}, asked of bmi once and kept
    beside its environment (a fixed bmi release has fixed tasks)."""
    kept = os.path.join(os.path.dirname(os.path.dirname(python)), "minimi-catalogue.json")
    if os.path.exists(kept):
        with open(kept) as f:
            return json.load(f)
    with tempfile.TemporaryDirectory(prefix="minimi-bmi-") as folder:
        (tasks,) = list(_results(_worker(python, "--catalogue", folder), folder))
    tasks = {t["task"]: t for t in tasks}
    write_json(kept, tasks)
    return tasks


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench bmi", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commandline.common_arguments(parser, None, tuple(PROFILES), losses=False)
    parser.add_argument("--estimators", help=f"comma-separated, of {', '.join(ESTIMATORS)} "
                                             "(default: the profile's)")
    parser.add_argument("--tasks", help="comma-separated bmi task ids (default: the profile's; "
                                        "--list shows the grid)")
    parser.add_argument("--samples", type=commandline.size_list,
                        help="rows per sample, one or more sizes (default: 5000 quick, "
                             "5000,10000 full)")
    parser.add_argument("--minimi-options", default="", metavar="'OPTIONS'",
                        help="options for `python -m minimi bmi`, e.g. '--bound infonce' "
                             "(default: none, minimi's defaults)")
    args = commandline.parse_args(parser, argv)
    task_ids, default_seeds, default_samples, default_estimators = PROFILES[args.profile]
    estimators = args.estimators.split(",") if args.estimators else list(default_estimators)
    unknown = [e for e in estimators if e not in ESTIMATORS]
    if unknown:
        raise commandline.BadInput(f"--estimators: unknown {', '.join(unknown)}; known: "
                                   f"{', '.join(ESTIMATORS)}")
    sizes = args.samples or default_samples
    if "minimi" in estimators and min(sizes) < 50:
        raise commandline.BadInput(f"--samples: minimi needs at least 50 rows, got {min(sizes)}")
    options, settings = minimi_options(args.minimi_options)
    seeds = commandline.seeds_from(args, default_seeds)
    planning.check_out(args.out, create=not args.list)
    try:
        python = bmi_env.BMI.ensure(log=lambda text: print(f"bmi: {text}", file=sys.stderr))
    except RuntimeError as error:
        raise commandline.BadInput(f"the released bmi is needed and cannot be installed here: "
                                   f"{error}") from None
    torch_mist, notes = None, []
    if "torch-mist" in estimators and not args.list:
        try:
            torch_mist = bmi_env.TORCH_MIST.ensure(
                log=lambda text: print(f"bmi: {text}", file=sys.stderr))
        except RuntimeError as error:
            if args.estimators:           # asked for by name: an error, before any run
                raise commandline.BadInput(f"--estimators torch-mist: it cannot be installed "
                                           f"here: {error}") from None
            estimators.remove("torch-mist")
            notes.append(f"torch-mist is left out: it cannot be installed here ({error})")
            print(f"bmi: {notes[-1]}", file=sys.stderr)
    known = catalogue(python)
    wanted = args.tasks.split(",") if args.tasks else list(task_ids or known)
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise commandline.BadInput(f"--tasks: not a bmi task: {', '.join(unknown)}; bmi's tasks: "
                                   f"{', '.join(known)}")
    grid = [(f"{task}_n{samples}", name, {}, seed,
             {"task": task, "dims": known[task]["dims"], "truth": known[task]["truth"],
              "samples": samples, "estimator": name, "profile": args.profile, "bmi": "0.1.3",
              "settings": settings if name == "minimi" else
              OTHERS_SETTINGS.get(name, BMI_DEFAULTS),
              "options": options if name == "minimi" else []})
            for samples in sizes for task in wanted for seed in seeds for name in estimators]
    todo = planning.plan(args.out, "bmi", grid, args)
    if args.list:
        return
    print(f"bmi: profile {args.profile}, {len(wanted)} tasks x {len(estimators)} estimators x "
          f"seeds {seeds}, {','.join(map(str, sizes))} samples: {len(todo)} of {len(grid)} "
          "runs to do", file=sys.stderr, flush=True)
    if todo:
        run_grid(python, todo, torch_mist)
    if not args.no_report:
        report(args.out, notes)


# what the bench sets itself for every minimi run
OWN_OPTIONS = ("--seed", "--sample-seed", "--accept-flagged", "--result", "--verbose")


def minimi_options(text):
    """(the options as a list, the minimi.Settings they make, as a dict), checked
    as `minimi bmi` checks them, before anything runs."""
    from minimi.tools import cli
    options = shlex.split(text)
    own = [o.split("=")[0] for o in options if o.split("=")[0] in OWN_OPTIONS]
    if own:
        raise commandline.BadInput(f"--minimi-options: {own[0]} is set by the bench itself")
    try:
        parsed = cli.bmi_parser().parse_args(["sample.csv", "1", "1", *options])
        settings = cli.estimator_settings(parsed).check()
    except SystemExit:
        raise commandline.BadInput(f"--minimi-options {text!r}: not options of `python -m minimi "
                                   "bmi` (its --help lists them)") from None
    except ValueError as error:
        raise commandline.BadInput(f"--minimi-options {text!r}: {error}") from None
    return options, planning.settings_record(settings)


def run_grid(python, todo, torch_mist=None):
    """Run the planned units in one worker, writing each run file as it finishes;
    torch_mist: the Python of the torch-mist environment, if any unit needs it."""
    start = time.perf_counter()
    commands = {"minimi": [sys.executable, "-m", "minimi", "bmi"]}
    if torch_mist:
        commands["torch-mist"] = [sys.executable, MIST_COMMAND,
                                  "--mist", bmi_env.mist_executable(torch_mist)]
    with tempfile.TemporaryDirectory(prefix="minimi-bmi-") as folder:
        plan = {"commands": commands, "folder": folder,
                "units": [{"key": i, "task": p.config["task"], "samples": p.config["samples"],
                           "seed": p.seed, "estimator": p.name, "options": p.config["options"]}
                          for i, p in enumerate(todo)]}
        with open(os.path.join(folder, "plan.json"), "w") as f:
            json.dump(plan, f)
        worker = _worker(python, os.path.join(folder, "plan.json"), folder)
        for done, line in enumerate(_results(worker, folder), start=1):
            planned = todo[line["key"]]
            final = final_of(line, planned.config["truth"])
            run = records.Run(planned, steps=1)
            run.status = "ok" if final["success"] else "failed"
            run.finish(final)
            elapsed = time.perf_counter() - start
            print(f"[bmi {planned.label}] {records.shown(final['mi'])} (truth "
                  f"{final['truth']:.3f}{', flagged' if final['flagged'] else ''}"
                  f"{'' if final['success'] else ', failed: ' + final['message'][:80]}) "
                  f"{final['seconds'] or 0:.1f} s; {done}/{len(todo)} runs, "
                  f"{elapsed / done * (len(todo) - done):.0f}s left",
                  file=sys.stderr, flush=True)


def final_of(line, truth):
    """A run file's `final` from the worker's line: bmi's RunResult, and for the
    commands their --result: minimi's flags and interval, and for both the seconds
    the estimate took in its own process (bmi's time includes starting it)."""
    run, kept = line["run"], line["command_result"] or {}
    mi = records.finite_or_none(run["mi_estimate"]) if run["success"] else None
    info = run["additional_information"]
    message = info.get("error", "") + (" " + info["subprocess_output"]
                                       if "subprocess_output" in info else "")
    return {"mi": mi, "truth": truth, "error": None if mi is None else mi - truth,
            "success": bool(run["success"]) and mi is not None, "message": message.strip(),
            "seconds": records.finite_or_none(kept.get("elapsed_s", run["time_in_seconds"])),
            "harness_seconds": records.finite_or_none(run["time_in_seconds"]),
            "flagged": bool(kept.get("flagged")), "flag_reasons": kept.get("flag_reasons", []),
            "ci": kept.get("ci"), "minimi_status": kept.get("status"),
            **{key: kept.get(key) for key in KEPT}}


# what a minimi run file keeps of its --result besides the above: why the interval is
# one-sided, and the evidence its upper end was judged on
KEPT = ("one_sided", "stderr", "subsample_mi", "trend", "trend_stderr", "neighbour_mi",
        "neighbour_stderr", "gaussian_mi", "gaussian_stderr")


# ---- summary and figure ---------------------------------------------------------------------

def report(out, notes=()):
    runs = summaries.runs_to_report(out, "bmi")
    if not runs:
        return None
    lines = ["# minimi beside bmi's estimators, on bmi's tasks", "",
             "Through bmi 0.1.3's own harness (`run_estimator`), each estimator with its "
             "defaults (torch-mist: its README call's settings); estimate − truth in nats, "
             "mean ± sd over seeds. **Bold**: within 0.1 nats. ⚑: minimi flagged the estimate (its "
             "number is scored anyway; bmi alone would record a failure). ✗: no estimate. "
             "Seconds: the estimate in its own process (minimi's and torch-mist's commands "
             "say how long, without starting Python and importing their libraries).", "",
             *(f"Note: {n}." for n in notes), *([""] if notes else [])]
    figures = []
    for samples in sorted({r["config"]["samples"] for r in runs}):
        group = [r for r in runs if r["config"]["samples"] == samples]
        lines += table(group, samples) + answers(group, samples)
        figures.append(figure(group, out, samples))
    return summaries.write_summary(out, "bmi", lines, runs, figures)


def _estimators(runs):
    names = {r["loss"] for r in runs}
    return [n for n in ESTIMATORS if n in names] + sorted(names - set(ESTIMATORS))


def _cell(runs):
    errors = [r["final"]["error"] for r in runs if r["final"]["error"] is not None]
    failed = len(runs) - len(errors)
    if not errors:
        return "✗"
    text = summaries.mean_error_text(errors, 3)
    flagged = sum(1 for r in runs if r["final"]["flagged"])
    return text + (" ⚑" * min(flagged, 1)) + (f" ✗{failed}" if failed else "")


def table(runs, samples):
    """The per-task table and the per-estimator summary for one sample size."""
    names = _estimators(runs)
    tasks = sorted({r["config"]["task"] for r in runs},
                   key=lambda t: (min(r["config"]["dims"][0] for r in runs
                                      if r["config"]["task"] == t), t))
    by = summaries.by_task(runs)
    lines = [f"## {samples} samples", ""] + summaries.task_rows(runs, by, tasks, names, _cell)
    lines += ["", f"| estimator | {' | '.join(summaries.ERROR_HEADERS)} | "
                  "runs failed | runs flagged | median s per estimate |", "|---" * 7 + "|"]
    for name in names:
        mine = [r for r in runs if r["loss"] == name]
        seconds = [r["final"]["seconds"] for r in mine if r["final"]["seconds"] is not None]
        lines.append(
            f"| {name} | {' | '.join(summaries.error_columns(by, tasks, name))} | "
            f"{sum(1 for r in mine if r['final']['error'] is None)}/{len(mine)} | "
            f"{sum(1 for r in mine if r['final']['flagged'])}/{len(mine)} | "
            f"{f'{np.median(seconds):.1f}' if seconds else '—'} |")
    failures = [f"{r['config']['task']} {r['loss']} seed{r['seed']}: {r['final']['message'][:200]}"
                for r in runs if r["final"]["error"] is None]
    if failures:
        lines += ["", "Failed runs: " + "; ".join(failures)]
    return lines + [""]


# bmi's tasks by the kind of their dependence; every other task is Gaussian after a
# map of each coordinate (a multinormal, or a 1-D normal seen through half_cube,
# normal_cdf, wiggly or a bimodal map): rank marginals undo those maps
FAMILIES = (("spiral", "spiral"), ("student", "Student-t"), ("additive", "additive noise"),
            ("swissroll", "swiss roll"))


def task_family(task):
    return next((name for part, name in FAMILIES if part in task), "Gaussian after maps")


def answers(runs, samples):
    """minimi's answers per task family: two-sided, one-sided, flagged (runs from before
    one-sided answers are left out)."""
    mine = [r for r in runs if r["loss"] == "minimi" and "one_sided" in r["final"]]
    if not mine:
        return []
    order = ["Gaussian after maps"] + [name for _, name in FAMILIES]
    groups = {}
    for r in mine:
        groups.setdefault(task_family(r["config"]["task"]), []).append(r)
    keyed = [((fam,), groups[fam]) for fam in order if fam in groups]
    return ([f"### minimi's answers per task family, {samples} samples", "",
             summaries.ANSWERS_NOTE, ""]
            + summaries.answers_table(keyed, ("task family",)) + [""])


def figure(runs, out, samples):
    names = _estimators(runs)
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    top = max(r["config"]["truth"] for r in runs) * 1.15 + 0.2
    low = min([-0.5] + [r["final"]["mi"] - 0.1 for r in runs if r["final"]["mi"] is not None])
    fig = Figure(rows=rows, cols=cols, panel_size=(360, 300),
                 title=f"Estimate against true MI on bmi's tasks, {samples} samples "
                       "(dots: mean over seeds; bars: minimi's interval)")
    for k, name in enumerate(names):
        ax = fig.panel(k // cols, k % cols, title=name, xlabel="true MI (nats)",
                       ylabel="estimate (nats)", xlim=(0, top), ylim=(low, top))
        ax.line([0, top], [0, top], color="gray", width=1, label="estimate = truth")
        for flagged, color, label in ((False, PALETTE[0], "estimate"),
                                      (True, PALETTE[1], "flagged by minimi")):
            mine = [r for r in runs if r["loss"] == name and r["final"]["flagged"] == flagged]
            if any(r["final"]["mi"] is not None for r in mine):
                summaries.estimate_points(ax, mine, color, label)
    return fig.save(f"{out}/bmi/estimates_n{samples}.png")
