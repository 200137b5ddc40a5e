"""What every experiment shares: the command line, the grid of runs, one JSON file
per run written atomically, resume, divergence, progress lines and versions.

A run is one experiment × setting × loss × seed. Its file is
<out>/<experiment>/<setting>/<loss folder>/seed<K>.json with the keys in
RUN_KEYS. Before any training, `plan` lays out the grid in a fixed order, deals
it out to `--task K/N`, and looks at every run file that already exists: one
made with the same config is skipped (so an interrupted grid resumes), one made
with other settings or unreadable is an error naming it (`--force` redoes it).
"""
import argparse
import json
import math
import os
import platform
import sys
import time
import zipfile

import numpy as np

import minimi
from minimi import bounds
from minimi.engine.files import dumps, write_json, write_text  # noqa: F401 - writers

RUN_KEYS = ("experiment", "setting", "loss", "loss_name", "loss_params", "seed", "config",
            "status", "diverged_at_step", "final", "curves", "elapsed_s", "versions")
# config keys that name a preset rather than a setting: a run is the same run under either
LABEL_KEYS = ("profile",)


class BadInput(SystemExit):
    """A bad argument or results folder, found before any training: `python -m bench`
    prints the message and exits with status 2."""

    def __init__(self, message):
        super().__init__(2)
        self.message = message

    def __str__(self):
        return self.message


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
            raise BadInput(f"--losses: {error}\nvalid losses and parameters: {valid}")
    if not losses:
        raise BadInput(f"--losses: no loss in {text!r}; name at least one of "
                       f"{', '.join(bounds.BOUNDS)}")
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


def common_arguments(parser, default_losses, profiles=("quick", "paper"), losses=True):
    """--losses (None: the profile's; losses=False: no such option), --seeds/--seed,
    --out, --profile, --force, ..."""
    if losses:
        parser.add_argument("--losses", default=default_losses,
                            help=f"comma-separated bounds, each optionally with parameters, "
                                 f"e.g. renwj:target=0 or remine:lam=0.1 (default: "
                                 f"{default_losses or 'the profile’s'})")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--seeds", type=positive(int), help="run seeds 0..N-1")
    group.add_argument("--seed", type=non_negative_int, help="run this seed only")
    parser.add_argument("--out", default="results", help="results folder (default: results/)")
    parser.add_argument("--profile", choices=profiles,
                        default=os.environ.get("PROFILE", "quick"),
                        help="quick (minutes on 2 cores), paper (the paper's settings) or "
                             "another of this benchmark's presets (default: $PROFILE or quick)")
    parser.add_argument("--force", action="store_true",
                        help="redo runs whose file exists (and discard their checkpoints)")
    parser.add_argument("--no-report", action="store_true",
                        help="skip the summary and figures after the grid")
    parser.add_argument("--task", type=task_share, metavar="K/N",
                        help="run only share K (0-based) of N: run i of the grid goes to "
                             "task i mod N, so a job array of N tasks covers it once")
    parser.add_argument("--list", action="store_true",
                        help="print the grid with run indices and whether each is done; "
                             "run nothing")


def parse_args(parser, argv):
    """parser.parse_args, where an option's value may start with '-' (--task -1/2,
    --targets -5,2): such a value is attached to its option (--task=-1/2), so that the
    error is about the value, not 'expected one argument'."""
    argv = list(sys.argv[1:] if argv is None else argv)
    takes_value = {s for a in parser._actions if a.option_strings and a.nargs != 0
                   for s in a.option_strings}
    known = {s for a in parser._actions for s in a.option_strings}
    out = []
    while argv:
        item = argv.pop(0)
        if item in takes_value and argv and argv[0].startswith("-") and argv[0] not in known:
            item = f"{item}={argv.pop(0)}"
        out.append(item)
    return parser.parse_args(out)


def seeds_from(args, default_count):
    if args.seed is not None:
        return [args.seed]
    return list(range(args.seeds if args.seeds is not None else default_count))


def positive(kind):
    """argparse type: a finite positive int or float."""
    def check(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}")
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"must be positive and finite, got {text}")
        return value
    check.__name__ = f"positive {kind.__name__}"
    return check


def non_negative_int(text):
    """argparse type: an int ≥ 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def number_list(text, positive_only=False):
    """argparse type: finite numbers separated by commas (at least one)."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}")
    if not values:
        raise argparse.ArgumentTypeError(f"expected at least one number, got {text!r}")
    bad = [v for v in values if not math.isfinite(v) or (positive_only and v <= 0)]
    if bad:
        raise argparse.ArgumentTypeError(
            f"{'positive ' if positive_only else ''}finite numbers only, got {bad[0]:g}")
    return values


def positive_list(text):
    return number_list(text, positive_only=True)


def size_list(text):
    """argparse type: positive integers separated by commas, e.g. layer sizes '256,256'."""
    try:
        sizes = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}")
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return sizes


def task_share(text):
    """argparse type: 'K/N' with 0 ≤ K < N -> (K, N)."""
    k, slash, n = text.partition("/")
    try:
        k, n = int(k), int(n)
    except ValueError:
        k = n = None
    if not slash or k is None or not 0 <= k < n:
        raise argparse.ArgumentTypeError(f"expected K/N with 0 <= K < N (e.g. 3/60), got {text!r}")
    return k, n


# ---- the grid ------------------------------------------------------------------------------

class Planned:
    """One run of a grid: its index, where its file goes, and its config."""

    def __init__(self, index, out, experiment, setting, name, params, seed, config):
        self.index, self.experiment, self.setting = index, experiment, setting
        self.name, self.params, self.seed, self.config = name, dict(params), seed, dict(config)
        self.path = run_path(out, experiment, setting, name, params, seed)

    @property
    def label(self):
        return f"{self.setting} {loss_label(self.name, self.params)} seed{self.seed}"

    @property
    def checkpoint(self):
        """Where a run that checkpoints (CIFAR) keeps its checkpoint: beside its file."""
        return self.path[:-len(".json")] + ".ckpt.npz"


def check_out(out, create=True):
    """The results folder exists or can be made, and is a folder: checked before training."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise BadInput(f"--out {out}: is a file, not a folder")
    if not create:
        return
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as error:
        raise BadInput(f"--out {out}: cannot create the folder ({error.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise BadInput(f"--out {out}: the folder is not writable")


def settings_record(settings, leave=("seed",)):
    """A minimi.Settings as a run file's config records it (tuples as lists), without
    the settings the grid sets per run (`leave`): a changed default is a changed config."""
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in vars(settings).items() if k not in leave}


def config_differences(recorded, requested):
    """{key: (recorded, requested)} where two configs differ (label keys left out)."""
    requested = json.loads(dumps(requested))  # compare as the file holds it
    keys = sorted((set(recorded) | set(requested)) - set(LABEL_KEYS))
    return {k: (recorded.get(k), requested.get(k)) for k in keys
            if recorded.get(k) != requested.get(k)}


def differences_text(differ):
    """config_differences() as a message: 'lr=0.1 there, 0.5 now, …'."""
    return ", ".join(f"{k}={a!r} there, {b!r} now" for k, (a, b) in differ.items())


def read_run(path):
    """A run file as a dict; an unreadable or incomplete one is a BadInput naming it."""
    try:
        with open(path) as f:
            run = json.load(f)
    except (OSError, ValueError) as error:
        raise BadInput(f"{path}: unreadable run file ({error}); --force redoes the run") \
            from None
    if not isinstance(run, dict) or not set(RUN_KEYS) <= set(run):
        raise BadInput(f"{path}: not a complete run file; --force redoes the run")
    return run


def plan(out, experiment, runs, args):
    """The runs of a grid still to do, after every check that needs no training.

    runs: (setting, name, params, seed, config) in the grid's fixed order. With
    --list, prints the grid and returns []. With --task K/N keeps runs i ≡ K mod N.
    A run whose file exists is skipped when its config equals the requested one;
    otherwise (or when the file is unreadable) the grid stops before any training
    with an error naming each such file, unless --force.
    """
    check_out(out, create=not getattr(args, "list", False))
    grid = [Planned(i, out, experiment, *run) for i, run in enumerate(runs)]
    if getattr(args, "task", None):
        k, n = args.task
        mine = [p for p in grid if p.index % n == k]
    else:
        mine = grid
    if getattr(args, "list", False):
        print(f"{experiment}: {len(grid)} runs" + (f"; task {k}/{n} has {len(mine)}"
                                                   if getattr(args, "task", None) else ""))
        for p in mine:
            print(f"{p.index:5d}  {p.label:50s}  {run_status(p):24s}  {p.path}")
        return []
    todo, problems = [], []
    for p in mine:
        if not os.path.exists(p.path) or args.force:
            todo.append(p)
            continue
        try:
            recorded = read_run(p.path)["config"]
        except BadInput as error:
            problems.append(str(error))
            continue
        differ = config_differences(recorded, p.config)
        if differ:
            problems.append(f"{p.path}: made with other settings: {differences_text(differ)}"
                            "; --force redoes it, or choose another --out")
        else:
            print(f"skip {p.path} (done with these settings; --force redoes it)", file=sys.stderr)
    if problems:
        raise BadInput("\n".join(problems))
    return todo


def run_status(p):
    """What --list says of a planned run: done, unreadable, other settings, resumes after
    epoch k (a checkpoint beside the run file), or to do."""
    if os.path.exists(p.path):
        try:
            recorded = read_run(p.path)["config"]
        except BadInput:
            return "unreadable"
        return "other settings" if config_differences(recorded, p.config) else "done"
    if not os.path.exists(p.checkpoint):
        return "to do"
    try:
        _, state = read_checkpoint(p.checkpoint)
        if config_differences(state.get("config", {}), p.config):
            return "checkpoint: other settings"
        return f"resumes after epoch {int(state['epoch'])}"
    except (BadInput, KeyError, TypeError, ValueError):
        return "unreadable checkpoint"


def read_checkpoint(path):
    """(arrays, state) of a checkpoint: an .npz whose 'state' entry is JSON; an
    unreadable one is a BadInput naming it."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
        state = json.loads(str(arrays.pop("state")))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as error:
        raise BadInput(f"{path}: unreadable checkpoint ({type(error).__name__}: "
                       f"{error}); --force starts the run afresh") from None
    return arrays, state


# ---- one run ---------------------------------------------------------------------------------

def versions():
    """What made a run, beyond its config: the versions, the device, and what decides
    float32 rounding (the CPU, the BLAS, its kernel and thread count). Runs agree bit
    for bit only where all of these do (docs/benchmarks.md#reproducibility)."""
    import PIL
    import scipy
    blas = minimi.engine.backend.blas_info()
    return {"minimi": minimi.__version__, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "pillow": PIL.__version__,
            "platform": platform.platform(), "device": minimi.engine.backend.device(),
            "cpu": cpu_model(), "blas": blas["blas"], "blas_kernel": blas["blas_kernel"],
            "blas_threads": blas["blas_threads"]}


def cpu_model():
    """The processor's name ('AMD EPYC', 'Intel(R) Xeon(R) ...'), or the architecture."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:  # not Linux
        pass
    return platform.processor() or platform.machine()


def finite_or_none(value):
    return value if value is not None and math.isfinite(value) else None


class Run:
    """Collects one run's curves and writes its JSON; use as the loop's companion.
    Steps count from 1, in the file, the progress lines and the summaries alike.

        run = Run(planned, steps=3000)
        for step in range(1, steps + 1):
            ...
            if not run.record(step, value=v, objective=o, first=f, second=s):
                break          # diverged: NaN/inf value or objective
        run.finish(final={...})
    """

    def __init__(self, planned, steps, progress_every=500):
        self.path, self.experiment, self.setting = planned.path, planned.experiment, \
            planned.setting
        self.name, self.params, self.seed = planned.name, dict(planned.params), planned.seed
        self.config, self.steps, self.progress_every = dict(planned.config), steps, progress_every
        self.curves = {}
        self.status, self.diverged_at_step = "ok", None
        self.made_by = {}  # versions() of another process where it ran there (a worker)
        self.start = time.perf_counter()

    def record(self, step, **values):
        """Append step `step`'s numbers (1-based); False (and status 'diverged') when
        the value or the objective is not finite."""
        for key, v in values.items():
            self.curves.setdefault(key, []).append(finite_or_none(v))
        bad = [k for k in ("value", "objective") if k in values and not math.isfinite(values[k])]
        if bad:
            self.diverged(step, f"{', '.join(bad)} not finite")
            return False
        if step % self.progress_every == 0 or step == self.steps:
            self.progress(step, f"value {shown(values.get('value'), 'nan')}")
        return True

    def diverged(self, step, why):
        """Mark the run diverged at `step` (1-based) and say so."""
        self.status, self.diverged_at_step = "diverged", step
        self.progress(step, f"diverged ({why})")

    def extra(self, key, value):
        """Append to a curve that is not checked for divergence."""
        self.curves.setdefault(key, []).append(finite_or_none(value))

    def progress(self, step, text):
        """One line on stderr: where the run is, `text`, the rate and the time left."""
        elapsed = time.perf_counter() - self.start
        rate = step / elapsed if elapsed > 0 else float("inf")
        left = (self.steps - step) / rate if rate > 0 else float("nan")
        print(f"[{self.experiment} {self.setting} {loss_label(self.name, self.params)} "
              f"seed{self.seed}] step {step}/{self.steps} {text}, {rate:.3g} steps/s, "
              f"{left:.0f}s left", file=sys.stderr, flush=True)

    def finish(self, final):
        payload = {
            "experiment": self.experiment, "setting": self.setting,
            "loss": loss_label(self.name, self.params), "loss_name": self.name,
            "loss_params": self.params, "seed": self.seed, "config": self.config,
            "status": self.status, "diverged_at_step": self.diverged_at_step,
            "final": final,
            "curves": {k: [None if v is None else float(f"{v:.6g}") for v in c]
                       for k, c in self.curves.items()},
            "elapsed_s": round(time.perf_counter() - self.start, 3),
            "versions": {**versions(), **self.made_by},
        }
        write_json(self.path, payload)
        return payload


def run_path(out, experiment, setting, name, params, seed):
    return os.path.join(out, experiment, setting, loss_folder(name, params), f"seed{seed}.json")


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
    if figures:
        lines += ["", "Figures: " + ", ".join(f"`{f}`" for f in figures)]
    path = f"{out}/{experiment}/summary.md"
    write_text(path, "\n".join(lines) + "\n")
    print(f"{experiment}: summary {path}")
    return path


def shown(value, missing="—"):
    """A number as the progress lines and summaries print it: 3 decimals, or `missing`."""
    return missing if value is None or not math.isfinite(value) else f"{value:.3f}"


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
