"""What every experiment shares: the command line, one JSON file per run written
atomically, resume-by-skipping, divergence, progress lines and versions.

A run is one experiment × setting × loss × seed. Its file is
<out>/<experiment>/<setting>/<loss folder>/seed<K>.json with the keys in
RUN_KEYS; a run whose file exists is skipped unless --force, so an
interrupted grid resumes where it stopped.
"""
import argparse
import json
import math
import os
import platform
import sys
import time

import numpy as np

import minimi
from minimi import bounds

RUN_KEYS = ("experiment", "setting", "loss", "loss_name", "loss_params", "seed", "config",
            "status", "diverged_at_step", "final", "curves", "elapsed_s", "versions")


# ---- losses on the command line ------------------------------------------------------

def parse_losses(text):
    """'mine,renwj:target=0,lam=0.5,nwj' -> [('mine', {}), ('renwj', {'target': 0.0,
    'lam': 0.5}), ('nwj', {})]: an item with '=' and no ':' continues the loss before it."""
    specs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        if "=" in item and ":" not in item and specs:
            specs[-1] += "," + item
        else:
            specs.append(item)
    losses = []
    for spec in specs:
        try:
            losses.append(bounds.parse(spec))
        except ValueError as error:
            valid = "; ".join(f"{n}({', '.join(f'{k}={v}' for k, v in bounds.parameters(n).items())})"
                              for n in bounds.BOUNDS)
            raise SystemExit(f"--losses: {error}\nvalid losses and parameters: {valid}")
    return losses


def loss_label(name, params):
    """Display name: 'renwj:target=0'."""
    if not params:
        return name
    return name + ":" + ",".join(f"{k}={_number(v)}" for k, v in sorted(params.items()))


def loss_folder(name, params):
    """Folder name that carries the parameters: 'renwj_target=0'."""
    return loss_label(name, params).replace(":", "_").replace(",", "_")


def _number(v):
    return f"{v:g}"


def common_arguments(parser, default_losses):
    parser.add_argument("--losses", default=default_losses,
                        help=f"comma-separated bounds, each optionally with parameters, e.g. "
                             f"renwj:target=0 or remine:lam=0.1 (default: {default_losses})")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--seeds", type=int, help="run seeds 0..N-1")
    group.add_argument("--seed", type=int, help="run this seed only")
    parser.add_argument("--out", default="results", help="results folder (default: results/)")
    parser.add_argument("--profile", choices=("quick", "paper"),
                        default=os.environ.get("PROFILE", "quick"),
                        help="quick (minutes on 2 cores) or the paper's settings "
                             "(default: $PROFILE or quick)")
    parser.add_argument("--force", action="store_true", help="rerun runs whose file exists")
    parser.add_argument("--no-report", action="store_true",
                        help="skip the summary and figures after the grid")


def attach_values(argv, options):
    """['--targets', '-5,2'] -> ['--targets=-5,2'], so that argparse does not take a
    value starting with '-' for an option."""
    argv, out = list(argv), []
    while argv:
        item = argv.pop(0)
        if item in options and argv:
            item = f"{item}={argv.pop(0)}"
        out.append(item)
    return out


def seeds_from(args, default_count):
    if args.seed is not None:
        return [args.seed]
    return list(range(args.seeds if args.seeds is not None else default_count))


def positive(kind):
    """argparse type: a positive int or float."""
    def check(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return check


def number_list(text):
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}")


# ---- one run ---------------------------------------------------------------------------------

def versions():
    import PIL
    import scipy
    return {"minimi": minimi.__version__, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "pillow": PIL.__version__,
            "platform": platform.platform(), "device": minimi.backend.device()}


def finite_or_none(value):
    return value if value is not None and math.isfinite(value) else None


class Run:
    """Collects one run's curves and writes its JSON; use as the loop's companion.

        run = Run(out, "onehot", "batch100", "mine", {}, seed=0, config={...}, steps=3000)
        for step in range(steps):
            ...
            if not run.record(step, value=v, objective=o, first=f, second=s):
                break          # diverged: NaN/inf value or objective
        run.finish(final={...})
    """

    def __init__(self, out, experiment, setting, name, params, seed, config, steps,
                 progress_every=500):
        self.path = run_path(out, experiment, setting, name, params, seed)
        self.experiment, self.setting, self.seed = experiment, setting, seed
        self.name, self.params = name, dict(params)
        self.config, self.steps, self.progress_every = dict(config), steps, progress_every
        self.curves = {}
        self.status, self.diverged_at_step = "ok", None
        self.start = time.perf_counter()

    def record(self, step, **values):
        """Append this step's numbers; False (and status 'diverged') when the value or
        the objective is not finite."""
        for key, v in values.items():
            self.curves.setdefault(key, []).append(finite_or_none(v))
        bad = [k for k in ("value", "objective") if k in values and not math.isfinite(values[k])]
        if bad:
            self.status, self.diverged_at_step = "diverged", step
            self._progress(step, values.get("value"), note=f"diverged ({', '.join(bad)} "
                                                              "not finite)")
            return False
        if (step + 1) % self.progress_every == 0 or step + 1 == self.steps:
            self._progress(step, values.get("value"))
        return True

    def extra(self, key, value):
        """Append to a curve that is not checked for divergence."""
        self.curves.setdefault(key, []).append(finite_or_none(value))

    def _progress(self, step, value, note=""):
        elapsed = time.perf_counter() - self.start
        rate = (step + 1) / elapsed if elapsed > 0 else float("inf")
        left = (self.steps - step - 1) / rate if rate > 0 else float("nan")
        shown = "nan" if value is None or not math.isfinite(value) else f"{value:.3f}"
        print(f"[{self.experiment} {self.setting} {loss_label(self.name, self.params)} "
              f"seed{self.seed}] step {step + 1}/{self.steps} value {shown} "
              f"{rate:.0f} steps/s, {left:.0f}s left {note}".rstrip(), file=sys.stderr, flush=True)

    def finish(self, final):
        payload = {
            "experiment": self.experiment, "setting": self.setting,
            "loss": loss_label(self.name, self.params), "loss_name": self.name,
            "loss_params": self.params, "seed": self.seed, "config": self.config,
            "status": self.status, "diverged_at_step": self.diverged_at_step,
            "final": {k: finite_or_none(v) if isinstance(v, float) else v for k, v in final.items()},
            "curves": {k: [None if v is None else float(f"{v:.6g}") for v in c]
                       for k, c in self.curves.items()},
            "elapsed_s": round(time.perf_counter() - self.start, 3), "versions": versions(),
        }
        write_json(self.path, payload)
        return payload


def run_path(out, experiment, setting, name, params, seed):
    return os.path.join(out, experiment, setting, loss_folder(name, params), f"seed{seed}.json")


def write_json(path, payload):
    """Write JSON atomically: a temporary file in the same folder, then rename."""
    write_text(path, json.dumps(payload, allow_nan=False))  # NaN raises before any write


def write_text(path, text):
    """Write a text file atomically."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def should_skip(path, force):
    """True when the run's file exists and --force was not given (resume)."""
    if os.path.exists(path) and not force:
        print(f"skip {path} (exists; --force reruns it)", file=sys.stderr)
        return True
    return False


def load_runs(out, experiment):
    """Every run file of an experiment (unreadable ones are reported and left out)."""
    runs, root = [], os.path.join(out, experiment)
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            if name.startswith("seed") and name.endswith(".json"):
                path = os.path.join(folder, name)
                try:
                    with open(path) as f:
                        runs.append(json.load(f))
                except (OSError, json.JSONDecodeError) as error:
                    print(f"warning: cannot read {path}: {error}", file=sys.stderr)
    return runs


def finite_mean(values):
    values = [v for v in values if v is not None and math.isfinite(v)]
    return sum(values) / len(values) if values else None
