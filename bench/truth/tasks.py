"""Every bound on distributions with known MI (bench/truth/distributions.py): how close
does `minimi.estimate` get, with each bound, on data that is not one Gaussian?

    python -m bench tasks [--profile quick|interval|paper] [--losses ...] [--seeds N]
                          [--samples N[,N...]] [--marginals rank|standard] [--out DIR]

One run file per (task, loss, seed, sample size) under <out>/tasks/<task>_n<samples>/,
with the estimate, its interval and flags, the truth and the estimator's status.
The summary is a table of estimate − truth per task and loss, each loss's mean
absolute error and its failures (diverged, untrained, not settled), the
interval's coverage of the truth per bound family and sample size, and a figure
of estimate against truth with a panel per bound family. The interval profile
runs the default bound on 1000, 5000 and 10000 rows with three seeds.
"""
import argparse
import contextlib
import math
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np

import minimi
from minimi import bounds
from minimi.estimator.workers import die_with_parent
from minimi.tools.plot import PALETTE, Figure

from ..grid import commandline, planning, records, summaries
from . import distributions as D

ALL_LOSSES = ",".join(bounds.BOUNDS) + ",renwj:target=0"
PANELS = [("MINE", ("mine", "remine", "mine_ema")), ("SMILE", ("smile", "resmile", "smile_js")),
          ("InfoNCE", ("infonce", "reinfonce")), ("NWJ", ("nwj", "renwj", "renwj:target=0")),
          ("TUBA", ("tuba", "retuba")), ("JS", ("js", "rejs"))]


def quick_tasks():
    """Seven tasks, one of each kind. No mapped task: with rank marginals (the
    default) a mapped task gives its base's estimate exactly."""
    return [D.sparse_normal(2, 2, 1.0), D.dense_normal(5, 5, 1.0), D.dense_normal(25, 25, 1.0),
            D.student(2, 2, 1), D.student(2, 2, 2, correlation_mi=1.0),
            D.AdditiveUniform(0.1), D.sparse_normal(5, 5, 10.0, pairs=5)]


def paper_tasks():
    """The whole suite: 34 tasks."""
    normals = [make(d, d, mi) for make in (D.sparse_normal, D.dense_normal)
               for d in (2, 5, 25) for mi in (0.5, 1.0, 2.0)]
    mapped = [D.Mapped(base, name) for name in D.MAPS
              for base in (D.sparse_normal(5, 5, 1.0), D.dense_normal(5, 5, 1.0))]
    students = [D.student(2, 2, nu) for nu in (1, 2, 5)] + \
        [D.student(2, 2, nu, correlation_mi=1.0) for nu in (2, 5)]
    return normals + mapped + students + [D.AdditiveUniform(0.1), D.AdditiveUniform(0.75),
                                          D.sparse_normal(5, 5, 10.0, pairs=5)]


PROFILES = {"quick": (quick_tasks, 1, [5000], ALL_LOSSES),
            "interval": (quick_tasks, 3, [1000, 5000, 10000], minimi.Settings().bound),
            "paper": (paper_tasks, 5, [10000], ALL_LOSSES)}
ESTIMATE_PARAMS = ("lam", "target", "tau")   # what minimi.estimate passes to a bound
ESTIMATE_STEPS = minimi.Settings().steps
# what estimate_run sets itself; the config records the other settings' defaults
SET_PER_RUN = ("bound", "seed", "marginals", "steps") + ESTIMATE_PARAMS


# BLAS threads per estimate, whatever --jobs and the cores: float32 products round
# differently on another thread count, so this keeps a run file the same bit for bit
# under any --jobs or --cpus-per-task. The estimator's products are small enough that a
# second thread buys little (docs/benchmarks.md#reproducibility); the cores go to
# estimates side by side instead.
ESTIMATE_BLAS_THREADS = 1


def estimate_run(task_name, name, params, seed, samples, marginals, steps):
    """One estimate on fresh samples of a task: (status, diverged_at_step, the run
    file's `final`, its curves, the versions that made it). Runs in a worker process
    under --jobs."""
    task = catalogue()[task_name]
    x, y = task.sample(samples, np.random.default_rng(seed))
    with minimi.backend.blas_thread_count(ESTIMATE_BLAS_THREADS):
        result = minimi.estimate(x, y, bound=name, seed=seed, marginals=marginals,
                                 steps=steps, **params)
        made_by = records.versions()
    error = None if result.mi is None else result.mi - task.mi
    covered = None if result.ci is None else result.ci[0] <= task.mi <= result.ci[1]
    final = {"mi": result.mi, "truth": task.mi, "error": error, "stderr": result.stderr,
             "ci": result.ci, "ci_level": result.ci_level, "covered": covered,
             "flagged": result.flagged, "flag_reasons": result.flag_reasons,
             "subsample_mi": result.subsample_mi, "neighbour_mi": result.neighbour_mi,
             "neighbour_stderr": result.neighbour_stderr,
             "gaussian_mi": result.gaussian_mi, "gaussian_stderr": result.gaussian_stderr,
             "one_sided": result.one_sided, "trend": result.trend,
             "trend_stderr": result.trend_stderr,
             "validation_mi": result.validation_mi,
             "estimate_status": result.status, "reason": result.reason,
             "settled": result.settled, "warnings": result.warnings,
             "best_step": result.best_step, "steps_run": result.steps_run,
             "rejected_mi": result.rejected_mi, "seconds": result.elapsed_s}
    curves = {"validation_step": [s for s, _ in result.validation],
              "validation": [v for _, v in result.validation]}
    return result.status, result.diverged_at_step, final, curves, made_by


def catalogue():
    """Every task of both profiles, by name."""
    return {t.name: t for t in paper_tasks() + quick_tasks()}


THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "MINIMI_THREADS")


@contextlib.contextmanager
def _threads_for_workers(threads):
    """Worker processes inherit this environment when they start, before they import
    NumPy: each gets its share of the cores (two BLAS pools of two threads on two
    cores made every estimate several times slower)."""
    saved = {key: os.environ.get(key) for key in THREAD_VARIABLES}
    os.environ.update({key: str(threads) for key in THREAD_VARIABLES})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench tasks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commandline.common_arguments(parser, None, tuple(PROFILES))
    parser.add_argument("--samples", type=commandline.size_list,
                        help="rows drawn per task and seed, one or more sizes separated by "
                             "commas (default: 5000 quick, 1000,5000,10000 interval, 10000 "
                             "paper)")
    parser.add_argument("--marginals", choices=("rank", "standard"), default="rank",
                        help="the estimator's marginal map (default: rank, its default)")
    parser.add_argument("--tasks", help="comma-separated task names (default: the profile's); "
                                        "--list shows them")
    parser.add_argument("--steps", type=commandline.positive(int),
                        help="the estimator's most training steps (default: its own, 5000)")
    parser.add_argument("--jobs", type=commandline.positive(int),
                        default=minimi.backend.cpus(),
                        help="estimates run at once, in worker processes sharing the cores "
                             "(default: one per CPU this process may use)")
    args = commandline.parse_args(parser, argv)
    make_tasks, default_seeds, default_samples, default_losses = PROFILES[args.profile]
    sizes = args.samples or default_samples
    if min(sizes) < 50:
        parser.error(f"--samples: minimi.estimate needs at least 50 rows, got {min(sizes)}")
    known = catalogue()
    if args.tasks:
        unknown = [n for n in args.tasks.split(",") if n not in known]
        if unknown:
            raise commandline.BadInput(f"--tasks: unknown task(s) {', '.join(unknown)}; known: "
                                       f"{', '.join(known)}")
        tasks = [known[n] for n in args.tasks.split(",")]
    else:
        tasks = make_tasks()
    losses = commandline.parse_losses(args.losses or default_losses)
    for name, params in losses:
        extra = sorted(set(params) - set(ESTIMATE_PARAMS))
        if extra:
            raise commandline.BadInput(f"--losses: {name}:{extra[0]}=… cannot be set here (the "
                                       f"estimator passes {', '.join(ESTIMATE_PARAMS)} only)")
    seeds = commandline.seeds_from(args, default_seeds)
    defaults = minimi.Settings()
    grid = [(f"{task.name}_n{samples}", name, params, seed,
             {"task": task.name, "family": task.family, "dims": list(task.dims),
              "truth": task.mi, "samples": samples, "marginals": args.marginals,
              "profile": args.profile,
              "estimator": planning.settings_record(defaults, leave=SET_PER_RUN),
              "steps": args.steps or ESTIMATE_STEPS,
              "params": bounds.make(name, **params).params})
            for samples in sizes for task in tasks for name, params in losses
            for seed in seeds]
    todo = planning.plan(args.out, "tasks", grid, args)
    if args.list:
        return
    jobs = min(args.jobs, max(len(todo), 1))
    print(f"tasks: profile {args.profile}, {len(tasks)} tasks x {len(losses)} losses x seeds "
          f"{seeds}, {','.join(map(str, sizes))} samples, {args.marginals} marginals: "
          f"{len(todo)} of {len(grid)} runs to do, {jobs} at a time")
    start = time.perf_counter()
    work = [(p, (p.config["task"], p.name, p.params, p.seed, p.config["samples"],
                 args.marginals, p.config["steps"])) for p in todo]
    for done, (planned, (status, diverged_at, final, curves, made_by)) in enumerate(
            _finished(work, jobs), start=1):
        run = records.Run(planned, steps=1)
        run.curves, run.status, run.diverged_at_step = curves, status, diverged_at
        run.made_by = made_by
        run.finish(final)
        elapsed = time.perf_counter() - start
        print(f"[tasks {planned.label}] {records.shown(final['mi'])} (truth "
              f"{final['truth']:.3f}, {status}"
              f"{'' if final['settled'] or status != 'ok' else ', not settled'}) "
              f"{done}/{len(todo)} runs, {elapsed / done:.1f} s/run, "
              f"{elapsed / done * (len(todo) - done):.0f}s left", file=sys.stderr, flush=True)
    if not args.no_report:
        report(args.out)


def _finished(work, jobs):
    """(planned, estimate_run's result) as each estimate finishes: in this process
    for one job, else in `jobs` worker processes sharing the cores."""
    if jobs == 1:
        for planned, args in work:
            yield planned, estimate_run(*args)
        return
    threads = max(1, minimi.backend.cpus() // jobs)
    with _threads_for_workers(threads), \
            ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(estimate_run, *args): planned for planned, args in work}
        for future in as_completed(futures):
            yield futures[future], future.result()


# ---- summary and figure ---------------------------------------------------------------------

def _order(losses):
    flat = [n for _, names in PANELS for n in names]
    return sorted(losses, key=lambda n: (flat.index(n) if n in flat else len(flat), n))


def report(out):
    runs = summaries.runs_to_report(out, "tasks")
    if not runs:
        return None
    lines = ["# Every bound on tasks with known MI", "",
             "`minimi.estimate` with its defaults and each bound; estimate − truth in nats, mean "
             "± sd over seeds. **Bold**: within 0.1 nats. ✗: no estimate (the status says why: "
             "diverged, untrained, non_finite). ~: an estimate that had not settled.", ""]
    figures = []
    for setting in sorted({(r["config"]["samples"], r["config"]["marginals"]) for r in runs}):
        group = [r for r in runs if (r["config"]["samples"], r["config"]["marginals"]) == setting]
        lines += _table(group, *setting)
        figures.append(_figure(group, out, *setting))
    lines += coverage_table(runs) + answers_table(runs)
    return summaries.write_summary(out, "tasks", lines, runs, figures)


def _cell(runs):
    errors = [r["final"]["error"] for r in runs if r["final"]["error"] is not None]
    failed = [r["status"] for r in runs if r["final"]["error"] is None]
    if not errors:
        return "✗ " + ", ".join(sorted(set(failed)))
    text = summaries.mean_error_text(errors, 2)
    unsettled = sum(1 for r in runs if r["final"]["error"] is not None and
                    not r["final"]["settled"])
    return text + (" ~" if unsettled else "") + (f" ✗{len(failed)}" if failed else "")


def _table(runs, samples, marginals):
    known = list(catalogue())                                         # the suite's order
    tasks = sorted({r["config"]["task"] for r in runs},
                   key=lambda t: (known.index(t) if t in known else len(known), t))
    losses = _order({r["loss"] for r in runs})
    by = summaries.by_task(runs)
    lines = [f"## {samples} samples, {marginals} marginals", ""]
    lines += summaries.task_rows(runs, by, tasks, losses, _cell)
    lines += ["", f"| loss | {' | '.join(summaries.ERROR_HEADERS)} | failures | not settled |",
              "|---" * 6 + "|"]
    for loss in losses:
        mine = [r for r in runs if r["loss"] == loss]
        failures = {}
        for r in mine:
            if r["final"]["error"] is None:
                failures[r["status"]] = failures.get(r["status"], 0) + 1
        unsettled = sum(1 for r in mine if r["final"]["error"] is not None and
                        not r["final"]["settled"])
        failed = ", ".join(f"{k} {v}" for k, v in sorted(failures.items())) or "0"
        lines.append(f"| {loss} | {' | '.join(summaries.error_columns(by, tasks, loss))} | "
                     f"{failed} | {unsettled} |")
    return lines + [""]


def coverage_table(runs):
    """How often each bound family's interval held the truth, per sample size."""
    lines = ["## The interval against the truth", "",
             "Per bound family and sample size: runs; estimates; their interval's coverage of "
             "the truth (all, and unflagged only); median width (Gaussian tasks up to 5 nats); "
             "flagged or no "
             "estimate; misses that carried no flag. The target: coverage ≥ 90% at a "
             "nominal 95%, width ≤ 0.3 nats, flagged or none ≤ 20%, no unflagged miss.", "",
             "| family | rows | runs | estimates | covered | covered, unflagged | median width "
             "(Gaussian) | flagged or none | unflagged misses |", "|---" * 9 + "|"]
    family = {name: fam for fam, names in PANELS for name in names}
    groups = {}
    for r in runs:
        if "covered" not in r["final"]:     # a run file from before the interval
            continue
        key = (family.get(r["loss"], r["loss"]), r["config"]["samples"])
        groups.setdefault(key, []).append(r)
    order = [fam for fam, _ in PANELS]
    for (fam, samples), group in sorted(groups.items(), key=lambda kv: (
            order.index(kv[0][0]) if kv[0][0] in order else len(order), kv[0])):
        finals = [r["final"] for r in group]
        est = [f for f in finals if f["ci"] is not None]
        plain = [f for f in est if not f["flagged"]]
        widths = [f["ci"][1] - f["ci"][0] if f["ci"][1] is not None else math.inf
                  for r, f in zip(group, finals)
                  if f["ci"] is not None and r["config"]["family"] == "normal"
                  and r["config"]["truth"] <= 5]
        lines.append(
            f"| {fam} | {samples} | {len(group)} | {len(est)} | {_share(est, 'covered')} | "
            f"{_share(plain, 'covered')} | "
            f"{f'{np.median(widths):.2f}' if widths else '—'} | "
            f"{sum(1 for f in finals if f['ci'] is None or f['flagged'])}/{len(finals)} | "
            f"{sum(1 for f in plain if not f['covered'])} |")
    return lines + [""] if groups else []


def answers_table(runs):
    """What the answers said, per bound family and rows, then per task family and rows:
    two-sided, one-sided ("at least"), flagged; the goal: no miss with neither, flagged +
    one-sided ≤ 20%, two-sided holding the truth ≥ 95%."""
    runs = [r for r in runs if "one_sided" in r["final"]]   # from before one-sided answers: none
    if not runs:
        return []
    family = {name: fam for fam, names in PANELS for name in names}
    order = [fam for fam, _ in PANELS]

    def grouped(key, rank):
        groups = {}
        for r in runs:
            groups.setdefault(key(r), []).append(r)
        return [(tuple(map(str, k)), groups[k]) for k in sorted(groups, key=rank)]
    by_bound = grouped(lambda r: (family.get(r["loss"], r["loss"]), r["config"]["samples"]),
                       lambda k: (order.index(k[0]) if k[0] in order else len(order), k))
    by_task = grouped(lambda r: (r["config"]["family"], r["config"]["samples"]), lambda k: k)
    return (["## The answers: two-sided, one-sided, flagged", "", summaries.ANSWERS_NOTE, ""]
            + summaries.answers_table(by_bound, ("bound family", "rows")) + [""]
            + summaries.answers_table(by_task, ("task family", "rows")) + [""])


def _share(finals, key):
    return summaries.share(sum(1 for f in finals if f[key]), len(finals))


def _figure(runs, out, samples, marginals):
    truths = [r["config"]["truth"] for r in runs]
    top = max(truths) * 1.1 + 0.2
    # every estimate on the panel, however far below the truth (a bar may run off it)
    low = min([-0.5] + [r["final"]["mi"] - 0.2 for r in runs if r["final"]["mi"] is not None])
    fig = Figure(rows=2, cols=3, panel_size=(420, 320),
                 title=f"Estimate against true MI, {samples} samples, {marginals} marginals "
                       "(dots: mean over seeds; bars: each run's interval)")
    for k, (family, names) in enumerate(PANELS):
        ax = fig.panel(k // 3, k % 3, title=family, xlabel="true MI (nats)",
                       ylabel="estimate (nats)", xlim=(0, top), ylim=(low, top))
        ax.line([0, top], [0, top], color="gray", width=1, label="estimate = truth")
        for name, color in zip([n for n in names if any(r["loss"] == n for r in runs)],
                               PALETTE):
            summaries.estimate_points(ax, [r for r in runs if r["loss"] == name], color, name)
    return fig.save(f"{out}/tasks/estimates_n{samples}_{marginals}.png")
