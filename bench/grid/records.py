"""One run's record: curves as it trains, divergence at its step, progress lines with
rate and time left, and its JSON file (RUN_KEYS), written atomically with the versions
and the machine that made it."""
import functools
import math
import os
import platform
import subprocess
import sys
import time

import numpy as np

import minimi
from minimi.engine.files import write_json

from .commandline import loss_label

RUN_KEYS = ("experiment", "setting", "loss", "loss_name", "loss_params", "seed", "config",
            "status", "diverged_at_step", "final", "curves", "elapsed_s", "versions")


def versions():
    """What made a run, beyond its config: the versions, the device, and what decides
    float32 rounding (the CPU, the BLAS, its kernel and thread count). Runs agree bit
    for bit only where all of these do (docs/benchmarks.md#reproducibility)."""
    import PIL
    import scipy
    blas = minimi.backend.blas_info()
    return {"minimi": minimi.__version__, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "pillow": PIL.__version__,
            "platform": platform.platform(), "device": minimi.backend.device(),
            "cpu": cpu_model(), "blas": blas["blas"], "blas_kernel": blas["blas_kernel"],
            "blas_threads": blas["blas_threads"], "commit": source_commit()}


@functools.lru_cache(maxsize=None)
def source_commit(here=None):
    """The git commit of the minimi checkout that runs (or of folder `here`), with
    '+changes' where its tracked files differ from it (the run then came from code no
    commit holds); None outside a checkout of its own (an installed copy) or without git."""
    here = here or os.path.dirname(os.path.dirname(os.path.abspath(minimi.__file__)))

    def git(*args):
        return subprocess.run(["git", "-C", here, *args], capture_output=True, text=True,
                              timeout=30, check=True).stdout.strip()
    try:
        if os.path.realpath(git("rev-parse", "--show-toplevel")) != os.path.realpath(here):
            return None
        commit = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+changes" if changed else "")


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


def shown(value, missing="—"):
    """A number as the progress lines and summaries print it: 3 decimals, or `missing`."""
    return missing if value is None or not math.isfinite(value) else f"{value:.3f}"


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
