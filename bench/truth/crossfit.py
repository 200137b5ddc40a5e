"""Cross-fitting against today's split: is every row scored by a critic that did not
train on it worth its trainings?

    python -m bench crossfit [--tasks NAME,...] [--rows 5000] [--seeds 6] [--folds 2,5]
                             [--out DIR]

Today minimi.estimate scores one critic on its test split (test_fraction = 20% of the
rows); the critic trained on 64% and chose its checkpoint on 16%. Cross-fitting with
k folds trains k critics, critic j on the other k − 1 folds (its own validation split
carved from them), scores fold j with it, and averages the InfoNCE rule over all n
rows. That cuts the test rows' noise (n rows scored, not n/5) and
averages out which rows a critic trained on, at k trainings instead of one.

For each task (1-D and heavy-tailed, where the developers found that which rows the
critic trains on is most of the spread) and seed: the number alone (subsamples=1)
and the cross-fitted numbers, with their errors, the spread over seeds and the time
of each. The table goes to standard output; with --out, the runs to
<out>/crossfit/runs.json as they finish (an interrupted run resumes).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

import minimi
from minimi.engine.files import write_json
from minimi.estimator import recipe
from minimi.estimator.inputs import Marginals
from minimi.estimator.training import train

from ..grid import commandline
from . import distributions as D

TASKS = {"normal-1x1": lambda: D.sparse_normal(1, 1, 0.5),
         "student-nu1-1x1": lambda: D.student(1, 1, 1),
         "additive-0.1": lambda: D.AdditiveUniform(0.1),
         "student-nu1-2x2": lambda: D.student(2, 2, 1)}


def crossfit(x, y, settings, folds):
    """The cross-fitted estimate (nats) and its standard error: k = `folds` critics,
    each trained as minimi.estimate trains one, on the rows outside its fold, each
    scoring its fold. The InfoNCE rule is a mean over rows, so the folds' values
    weighted by their rows are that mean over all n rows; their bootstrap errors
    combine alike."""
    s = minimi.Settings.of(settings).check().for_columns(x.shape[1], y.shape[1])
    rng = np.random.default_rng([s.seed, 5])
    resample = np.random.default_rng([s.seed, 6])        # the bootstrap's own draws
    parts = np.array_split(rng.permutation(len(x)), folds)
    values, errors = [], []
    for j, test in enumerate(parts):
        rest = rng.permutation(np.concatenate(parts[:j] + parts[j + 1:]))
        n_val = int(round(len(rest) * s.validation_fraction))
        val, fit = rest[:n_val], rest[n_val:]
        fx, fy = Marginals(s.marginals, x[fit]), Marginals(s.marginals, y[fit])
        splits = {name: (fx(x[idx]), fy(y[idx]))
                  for name, idx in (("train", fit), ("val", val), ("test", test))}
        splits["train_sample"] = tuple(a[:len(val)] for a in splits["train"])
        data = recipe.Prepared(splits, [], [])
        run = train(data, s, rng, None, time.perf_counter())
        if run.rule != "infonce":
            raise commandline.BadInput(f"cross-fitting here averages the InfoNCE rule over "
                                       f"rows; bound {s.bound} is scored by {run.rule}")
        scores = data.scores(run.model, "test", s, rng)
        values.append(scores.value(run.rule))
        errors.append(scores.bootstrap_stderr(run.rule, resample))
    weights = np.array([len(p) for p in parts]) / len(x)
    return float(weights @ values), float(math.sqrt(weights ** 2 @ np.square(errors)))


def one_run(task, seed, rows, folds):
    """{'split': (mi, seconds), 'k=2': (mi, stderr, seconds), ...} on fresh samples."""
    x, y = task.sample(rows, np.random.default_rng(seed))
    with minimi.backend.blas_thread_count(1):
        start = time.perf_counter()
        alone = minimi.estimate(x, y, seed=seed, subsamples=1)
        record = {"split": [alone.mi, alone.stderr, time.perf_counter() - start]}
        for k in folds:
            start = time.perf_counter()
            mi, se = crossfit(x, y, minimi.Settings(seed=seed), k)
            record[f"k={k}"] = [mi, se, time.perf_counter() - start]
    return record


def table(runs, tasks, folds):
    """Markdown lines: per task and method, the mean error, the spread over seeds, the
    mean |error|, the mean standard error the method reports, and the time against the
    split's."""
    lines = ["| task | truth | method | mean error | sd over seeds | mean abs error | "
             "mean reported se | time vs split |", "|---" * 8 + "|"]
    for name in tasks:
        mine = [r for r in runs if r["task"] == name]
        if not mine:
            continue
        truth = mine[0]["truth"]
        split_time = np.mean([r["split"][2] for r in mine])
        for method in ["split"] + [f"k={k}" for k in folds]:
            done = [r[method] for r in mine if method in r]
            if not done:
                continue
            errors = np.array([d[0] - truth for d in done])
            lines.append(
                f"| {name} | {truth:.3f} | {method} | {errors.mean():+.3f} | "
                f"{errors.std(ddof=1) if len(errors) > 1 else math.nan:.3f} | "
                f"{np.abs(errors).mean():.3f} | {np.mean([d[1] for d in done]):.3f} | "
                f"{np.mean([d[2] for d in done]) / split_time:.2f}× |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench crossfit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default=",".join(TASKS),
                        help=f"comma-separated, of {', '.join(TASKS)} (default: all)")
    parser.add_argument("--rows", type=int, default=5000, help="rows per sample (default 5000)")
    parser.add_argument("--seeds", type=int, default=6, help="seeds 0..N-1 (default 6)")
    parser.add_argument("--folds", default="2,5", help="fold counts, comma-separated "
                                                       "(default 2,5)")
    parser.add_argument("--out", help="keep the runs in OUT/crossfit/runs.json and resume")
    args = parser.parse_args(argv)
    tasks = args.tasks.split(",")
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise commandline.BadInput(f"--tasks: unknown {', '.join(unknown)}; known: "
                                   f"{', '.join(TASKS)}")
    try:
        folds = [int(k) for k in args.folds.split(",")]
    except ValueError:
        raise commandline.BadInput(f"--folds {args.folds!r}: whole numbers, e.g. 2,5") from None
    if min(folds) < 2:
        raise commandline.BadInput(f"--folds {args.folds}: each at least 2")
    if args.rows < 500 or args.seeds < 1:
        raise commandline.BadInput(f"--rows {args.rows} / --seeds {args.seeds}: at least 500 "
                                   "rows (each fold needs its splits) and one seed")
    path = os.path.join(args.out, "crossfit", "runs.json") if args.out else None
    runs = []
    if path and os.path.exists(path):
        with open(path) as f:
            runs = json.load(f)
    settings = {"rows": args.rows, "folds": folds, "minimi": minimi.__version__}
    runs = [r for r in runs if r["settings"] == settings]       # only the same settings
    todo = [(t, s) for t in tasks for s in range(args.seeds)
            if not any(r["task"] == t and r["seed"] == s for r in runs)]
    start = time.perf_counter()
    for done, (name, seed) in enumerate(todo, start=1):
        task = TASKS[name]()
        record = {"task": name, "seed": seed, "truth": task.mi, "settings": settings,
                  **one_run(task, seed, args.rows, folds)}
        runs.append(record)
        if path:
            write_json(path, runs)
        elapsed = time.perf_counter() - start
        print(f"[crossfit {name} seed {seed}] split {record['split'][0]:.3f}, " + ", ".join(
            f"k={k} {record[f'k={k}'][0]:.3f}" for k in folds) + f" (truth {task.mi:.3f}); "
            f"{done}/{len(todo)}, {elapsed / done * (len(todo) - done):.0f}s left",
            file=sys.stderr, flush=True)
    print("\n".join(table(runs, tasks, folds)))
