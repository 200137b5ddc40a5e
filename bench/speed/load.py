"""Speed on a busy machine: each workload idle and beside CPU-bound processes.

    python -m bench load [--busy N] [--rounds 3] [--only W,...] [--json FILE]
                         [--torch-mist] [--beside CMD]

A user's laptop or cluster node is rarely idle. Each round times every workload
twice, first idle, then with --busy N processes that spin on the CPU (`while True:
pass`; default: one per CPU this process may use), and each figure is the best of
--rounds such rounds, so that the two sides alternate. Workloads:

  separable_b64 … smallcnn_b128   one training step (median of --repeats), as in
                                  `bench speed`; each also with the BLAS thread count
                                  fixed at the CPUs (`MINIMI_THREADS`), minimi's
                                  product threads before they followed the load
  estimate_10k                    the default minimi.estimate, with its interval, on
                                  the 10,000 rows of `bench speed`'s estimate_10k: its
                                  parts in worker processes where it has CPUs for them
  estimate_10k_in_turn            the same, its parts in turn in this process
  estimate_10k_alone              the number alone (subsamples=1)

--torch-mist also times torch-mist's estimate on the same rows (its README call,
through its own `mist` command in its own environment, as `bench bmi` runs it; the
seconds from reading the data to its estimate). --beside CMD runs a command in each
phase, after minimi's workloads: its last line of output is a JSON object of
{workload: milliseconds} (a PyTorch script of the same steps, kept outside the
project), shown beside minimi's figures.

Target (docs/performance.md): beside one busy process per CPU, each figure at most
2.5× its idle time (a fair share of the CPU costs 2×).
"""
import argparse
import contextlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

import minimi as mm
from minimi.engine.files import write_json
from minimi.estimator import workers
from minimi.estimator.workers import die_with_parent

from ..grid.commandline import BadInput
from .steps import WORKLOADS, gaussian_10k
from .timing import machine, median_ms

TARGET = 2.5
SETTLE = 1.0  # seconds after starting or stopping the busy processes


@contextlib.contextmanager
def busy(n):
    """n processes that spin on the CPU while the block runs; they end with it (and
    with this process, if it is killed)."""
    parent = os.getpid()
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"],
                                 preexec_fn=lambda: die_with_parent(parent)) for _ in range(n)]
    try:
        time.sleep(SETTLE)
        yield
    finally:
        for p in spinners:
            p.kill()
        for p in spinners:
            p.wait()
        time.sleep(SETTLE)


def time_steps(names, repeats, fixed):
    """{name: ms}, the median step of each workload; with fixed=N, on N BLAS threads."""
    rng = np.random.default_rng(0)
    out = {}
    for name in names:
        step, _ = WORKLOADS[name](rng)
        n = max(5, repeats // 3) if name.startswith("smallcnn") else repeats
        with mm.backend.blas_thread_count(fixed) if fixed else contextlib.nullcontext():
            out[name] = median_ms(step, repeats=n, warmup=3)
    return out


ESTIMATES = {  # name: (how the parts run, settings changed)
    "estimate_10k": (contextlib.nullcontext, {}),
    "estimate_10k_in_turn": (workers.in_turn, {}),
    "estimate_10k_alone": (contextlib.nullcontext, {"subsamples": 1}),
}


def time_estimate(name):
    """(seconds, result) of the default estimate on estimate_10k's rows: with its
    interval, the parts in worker processes (estimate_10k) or in turn in this process
    (…_in_turn), or the number alone (…_alone)."""
    x, y, _ = gaussian_10k()
    block, changes = ESTIMATES[name]
    start = time.perf_counter()
    with block():
        result = mm.estimate(x, y, seed=0, progress=lambda line: None, **changes)
    return time.perf_counter() - start, result


def time_torch_mist(folder):
    """Seconds of torch-mist's estimate on estimate_10k's rows (from reading them)."""
    from ..truth import bmi_env, mist_command
    csv = os.path.join(folder, "gaussian_10k.csv")
    if not os.path.exists(csv):
        x, y, _ = gaussian_10k()
        header = ",".join([f"x_{i + 1}" for i in range(x.shape[1])] +
                          [f"y_{i + 1}" for i in range(y.shape[1])])
        np.savetxt(csv, np.hstack([x, y]), delimiter=",", header=header, comments="")
    mist = bmi_env.mist_executable(bmi_env.TORCH_MIST.ensure(log=print))
    with open(os.path.join(folder, "torch_mist.log"), "a") as log:
        _, seconds = mist_command.run_mist(mist, csv, 0, folder, log)
    return seconds


def time_beside(command):
    """{workload: ms} from the last line of a command's output."""
    done = subprocess.run(command, shell=True, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        raise RuntimeError(f"--beside {command!r} exited {done.returncode}: "
                           f"{(done.stderr or done.stdout).strip()[-300:]}")
    return json.loads(lines[-1])


def one_phase(args, names, folder):
    """{column: {workload: figure}} of one idle or loaded phase."""
    phase = {"minimi": time_steps(names, args.repeats, None)}
    phase["fixed"] = time_steps(names, args.repeats, mm.backend.cpus())
    phase["threads_free"] = mm.backend.free_threads()
    if args.estimate:
        for name in ESTIMATES:
            seconds, result = time_estimate(name)
            phase["minimi"][name] = 1e3 * seconds
            phase.setdefault("estimates", {})[name] = {"mi": result.mi, "ci": result.ci,
                                                       "status": result.status}
    if args.torch_mist:
        phase["torch_mist_ms"] = 1e3 * time_torch_mist(folder)
    if args.beside:
        phase["beside"] = time_beside(args.beside)
    return phase


def best(phases, column):
    """{workload: the smallest figure over the phases} of one column."""
    out = {}
    for phase in phases:
        for name, value in phase.get(column, {}).items():
            out[name] = min(out.get(name, value), value)
    return out


def table(idle, loaded, busy_n):
    """The Markdown table of the best figures (milliseconds)."""
    lines = [f"| workload | idle ms | beside {busy_n} busy ms | loaded / idle | "
             f"≤ {TARGET}× | threads fixed: idle | loaded | loaded / idle | "
             "beside: idle | loaded | minimi / beside, loaded |", "|---" * 11 + "|"]
    for name in idle["minimi"]:
        i, b = idle["minimi"][name], loaded["minimi"][name]
        fi, fb = idle["fixed"].get(name), loaded["fixed"].get(name)
        oi, ob = idle["beside"].get(name), loaded["beside"].get(name)

        def cell(v, form="{:.2f}"):
            return "—" if v is None else form.format(v)
        lines.append(
            f"| {name} | {i:.2f} | {b:.2f} | {b / i:.2f}× | "
            f"{'met' if b / i <= TARGET else 'MISSED'} | {cell(fi)} | {cell(fb)} | "
            f"{cell(fb / fi if fi and fb else None, '{:.2f}×')} | {cell(oi)} | {cell(ob)} | "
            f"{cell(b / ob if ob else None, '{:.2f}×')} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--busy", type=int, default=mm.backend.cpus(),
                        help="CPU-bound processes beside the loaded phase (default: the CPUs "
                             f"this process may use, {mm.backend.cpus()})")
    parser.add_argument("--rounds", type=int, default=3, help="idle/loaded rounds (3)")
    parser.add_argument("--repeats", type=int, default=40, help="timed steps per workload")
    parser.add_argument("--only", help="comma-separated step workloads (default: all of "
                                       f"{', '.join(WORKLOADS)})")
    parser.add_argument("--no-estimate", dest="estimate", action="store_false",
                        help="leave out the default estimate (the longest part)")
    parser.add_argument("--torch-mist", action="store_true",
                        help="also time torch-mist's estimate (its environment is built once)")
    parser.add_argument("--beside", help="a command timed in each phase; its last line: "
                                         "a JSON object {workload: ms}")
    parser.add_argument("--json", help="also write every figure to this JSON file")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        raise BadInput(f"--only: unknown workload(s) {unknown}: choose from "
                       f"{', '.join(WORKLOADS)}")
    for name in ("busy", "rounds", "repeats"):
        if getattr(args, name) < 1:
            raise BadInput(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.beside:
        shlex.split(args.beside)  # a quoting mistake fails now, not after the first phase
    info = machine()
    print(f"{info['cpu_count']} cpus, BLAS {info.get('blas')}, load average "
          f"{os.getloadavg()[0]:.2f} before the first round; {args.rounds} rounds of idle "
          f"then beside {args.busy} busy processes", file=sys.stderr)
    phases = {"idle": [], "loaded": []}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="minimi-load-") as folder:
        for round_ in range(args.rounds):
            phases["idle"].append(one_phase(args, names, folder))
            with busy(args.busy):
                phases["loaded"].append(one_phase(args, names, folder))
            elapsed = time.perf_counter() - start
            print(f"round {round_ + 1}/{args.rounds} done, {elapsed:.0f} s; about "
                  f"{elapsed / (round_ + 1) * (args.rounds - round_ - 1):.0f} s left",
                  file=sys.stderr)
    for phase in (*phases["idle"], *phases["loaded"]):
        if "torch_mist_ms" in phase:
            phase.setdefault("beside", {})["estimate_10k"] = phase["torch_mist_ms"]
    best_of = {side: {column: best(runs, column) for column in ("minimi", "fixed", "beside")}
               for side, runs in phases.items()}
    print(table(best_of["idle"], best_of["loaded"], args.busy))
    for side in phases.values():
        for phase in side:
            for name, e in phase.get("estimates", {}).items():
                if e["status"] != "ok" or not e["ci"][0] <= 1.0 <= e["ci"][1]:
                    print(f"{name} gave {e}: its interval misses the truth (1 nat) or it "
                          "failed", file=sys.stderr)
    if args.json:
        write_json(args.json, {"machine": info, "busy": args.busy, "rounds": args.rounds,
                               "phases": phases, "best": best_of, "target_ratio": TARGET})
