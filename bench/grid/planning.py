"""The grid of runs, laid out before any training. A run is one experiment × setting ×
loss × seed; its file is <out>/<experiment>/<setting>/<loss folder>/seed<K>.json.
`plan` lays the grid out in a fixed order, deals it out to `--task K/N`, and looks at
every run file that already exists: one made with the same config is skipped (so an
interrupted grid resumes), one made with other settings or unreadable is an error
naming it (`--force` redoes it)."""
import json
import os
import sys
import zipfile

import numpy as np

from minimi.engine.files import dumps

from .commandline import BadInput, loss_folder, loss_label
from .records import RUN_KEYS

# config keys that name a preset rather than a setting: a run is the same run under either
LABEL_KEYS = ("profile",)


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


def run_path(out, experiment, setting, name, params, seed):
    return os.path.join(out, experiment, setting, loss_folder(name, params), f"seed{seed}.json")
