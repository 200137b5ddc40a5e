"""How the default estimate's time and memory grow with rows and columns.

    python -m bench scale [--cases NAME,...] [--out DIR]

Each case is the default minimi.estimate (with its interval, seed 0) on data of known
MI, in a process of its own so that its peak memory is its own:

  rows_1e4, rows_1e5, rows_1e6   a 5+5-D Gaussian, I = 1 nat, 10^4 to 10^6 rows
  rows_1e6_1+1                   a 1+1-D Gaussian, I = 1 nat, 10^6 rows (KSG applies)
  cols_5, cols_50, cols_500      a d+d-D Gaussian, I = 1 nat spread over the d pairs
                                 of columns, 10^4 rows
  image_3072+10                  x: 3072 columns, the first a label's mean (0 to 9)
                                 plus N(0, 1) noise, the rest noise; y: the label,
                                 one-hot (10 columns); I = I(label; x_1), by quadrature

For each: seconds, training steps, peak resident memory of the estimate's process and
of its workers, the estimate, its error, whether the interval held the truth, and the
seconds of the second opinions (KSG, the Gaussian copula) timed again alone on the same
rows: their share of the estimate's time (target ≤ 20%). Writes DIR/scale/summary.md
and DIR/scale/scale.png (time and memory against rows × columns) and one JSON file
a case, DIR/scale/CASE.json (a case already there, made by the same commit, is not run
again).
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

import numpy as np

from ..grid.commandline import BadInput

TRUE_MI = 1.0


def gaussian(rows, d, rng):
    """x, y (rows, d) with y_j = ρ x_j + sqrt(1 − ρ²) ε_j and I(X; Y) = TRUE_MI nats."""
    rho = math.sqrt(1.0 - math.exp(-2.0 * TRUE_MI / d))
    x = rng.standard_normal((rows, d))
    return x, rho * x + math.sqrt(1.0 - rho ** 2) * rng.standard_normal((rows, d)), TRUE_MI


def label_mi(classes=10, sigma=1.0):
    """I(C; X) in nats for C uniform on 0..classes−1 and X = C + σ·N(0, 1):
    h(X) − h(X | C), h(X) of the mixture by the trapezoid rule on a fine grid."""
    grid = np.linspace(-8 * sigma, classes - 1 + 8 * sigma, 200_001)
    density = np.mean([np.exp(-0.5 * ((grid - c) / sigma) ** 2) for c in range(classes)],
                      axis=0) / (sigma * math.sqrt(2 * math.pi))
    safe = np.where(density > 0, density, 1.0)          # 0·log 0 = 0
    h_mix = -np.trapezoid(density * np.log(safe), grid)
    return float(h_mix - 0.5 * math.log(2 * math.pi * math.e * sigma ** 2))


def image(rows, rng, pixels=3072, classes=10):
    """x (rows, pixels): a label's mean in the first column, noise everywhere; y the
    label one-hot (rows, classes); the true MI."""
    label = rng.integers(0, classes, rows)
    x = rng.standard_normal((rows, pixels))
    x[:, 0] += label
    return x, np.eye(classes)[label], label_mi(classes)


CASES = {
    "rows_1e4": lambda rng: gaussian(10_000, 5, rng),
    "rows_1e5": lambda rng: gaussian(100_000, 5, rng),
    "rows_1e6": lambda rng: gaussian(1_000_000, 5, rng),
    "rows_1e6_1+1": lambda rng: gaussian(1_000_000, 1, rng),
    "cols_5": lambda rng: gaussian(10_000, 5, rng),
    "cols_50": lambda rng: gaussian(10_000, 50, rng),
    "cols_500": lambda rng: gaussian(10_000, 500, rng),
    "image_3072+10": lambda rng: image(10_000, rng),
}


def peak_mb(who):
    """Peak resident memory (Linux reports KiB) of this process or of its largest child."""
    return resource.getrusage(who).ru_maxrss / 1024


def run_case(name):
    """In the case's own process: the figures of one case, as a dict."""
    import minimi
    from minimi.estimator import copula, neighbours

    from ..grid.records import source_commit
    minimi.tune_process()
    x, y, truth = CASES[name](np.random.default_rng(0))
    data_mb = (x.nbytes + y.nbytes) / 2 ** 20
    start = time.perf_counter()
    result = minimi.estimate(x, y, seed=0, progress=lambda line: print(line, file=sys.stderr))
    seconds = time.perf_counter() - start
    opinions = {}
    for label, module in (("ksg", neighbours), ("copula", copula)):
        begin = time.perf_counter()
        value = module.second_opinion(x, y, 0)
        opinions[label] = {"seconds": time.perf_counter() - begin, "applies": value is not None}
    held = (result.ci is not None and result.ci[0] <= truth
            and (result.ci[1] is None or truth <= result.ci[1]))
    return {"case": name, "rows": len(x), "columns": [x.shape[1], y.shape[1]], "truth": truth,
            "mi": result.mi, "error": None if result.mi is None else result.mi - truth,
            "ci": result.ci, "held": held, "flagged": result.flagged,
            "status": result.status, "steps_run": result.steps_run, "seconds": seconds,
            "second_opinions": opinions,
            "second_opinion_share": sum(o["seconds"] for o in opinions.values()) / seconds,
            "data_mb": data_mb, "peak_mb": peak_mb(resource.RUSAGE_SELF),
            "worker_peak_mb": peak_mb(resource.RUSAGE_CHILDREN),
            "summary": result.summary(), "commit": source_commit()}


def summary(runs):
    """The Markdown table of the runs."""
    lines = ["| case | rows | columns | seconds | steps | peak MB (workers) | data MB | "
             "estimate | truth | error | interval held | second opinions: s (share) |",
             "|---" * 12 + "|"]
    for r in runs:
        ops = ", ".join(f"{k} {v['seconds']:.1f}" for k, v in r["second_opinions"].items()
                        if v["applies"]) or "none apply"
        mi = "—" if r["mi"] is None else f"{r['mi']:.3f}"
        error = "—" if r["error"] is None else f"{r['error']:+.3f}"
        lines.append(f"| {r['case']} | {r['rows']:,} | {r['columns'][0]}+{r['columns'][1]} | "
                     f"{r['seconds']:.1f} | {r['steps_run']} | {r['peak_mb']:.0f} "
                     f"({r['worker_peak_mb']:.0f}) | {r['data_mb']:.0f} | {mi} | "
                     f"{r['truth']:.3f} | {error} | {'yes' if r['held'] else 'NO'}"
                     f"{' (flagged)' if r['flagged'] else ''} | {ops} "
                     f"({100 * r['second_opinion_share']:.0f}%) |")
    return "\n".join(lines)


def figure(runs, path):
    """Seconds and peak memory against log10(rows x columns): the cases that add rows
    and those that add columns as two series."""
    from minimi.tools.plot import Figure
    cells = {r["case"]: math.log10(r["rows"] * sum(r["columns"])) for r in runs}
    xlim = (min(cells.values()) - 0.3, max(cells.values()) + 0.3)
    series = [("more rows", "blue", [r for r in runs if r["case"].startswith("rows")]),
              ("more columns", "green", [r for r in runs if not r["case"].startswith("rows")])]
    fig = Figure(1, 2, title="the default estimate: time and memory as the data grow")
    for col, (title, unit, value) in enumerate((
            ("time", "log10 seconds", lambda r: r["seconds"]),
            ("peak memory of the estimate's process", "log10 MB", lambda r: r["peak_mb"]))):
        ys = [math.log10(value(r)) for r in runs]
        ax = fig.panel(0, col, title=title, xlabel="log10(rows x columns)", ylabel=unit,
                       xlim=xlim, ylim=(min(ys) - 0.3, max(ys) + 0.6))  # the legend above
        for label, color, some in series:
            ax.points([cells[r["case"]] for r in some], [math.log10(value(r)) for r in some],
                      color=color, label=label)
    fig.save(path)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _made_here(path):
    """Whether a case's file exists and was made by this checkout's commit (no changes)."""
    from ..grid.records import source_commit
    if not os.path.exists(path):
        return False
    with open(path) as f:
        commit = json.load(f).get("commit")
    return commit is not None and "+" not in commit and commit == source_commit()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", help=f"comma-separated (default: all of {', '.join(CASES)})")
    parser.add_argument("--out", default="results", help="results folder (results)")
    parser.add_argument("--report", action="store_true",
                        help="only rebuild the table and figure from the case files in DIR/scale")
    parser.add_argument("--case", help=argparse.SUPPRESS)   # inside a case's own process
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case)))
        return
    if args.report:
        report(args.out)
        return
    names = args.cases.split(",") if args.cases else list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        raise BadInput(f"--cases: unknown case(s) {unknown}: choose from {', '.join(CASES)}")
    folder = os.path.join(args.out, "scale")
    os.makedirs(folder, exist_ok=True)
    from minimi.engine.files import write_json
    runs, start = [], time.perf_counter()
    for i, name in enumerate(names):
        path = os.path.join(folder, f"{name}.json")
        if not _made_here(path):
            print(f"case {i + 1}/{len(names)}: {name}", file=sys.stderr)
            done = subprocess.run([sys.executable, "-m", "bench", "scale", "--case", name],
                                  stdout=subprocess.PIPE, text=True, cwd=ROOT)
            if done.returncode:
                print(f"case {name} failed (exit {done.returncode}); the others go on",
                      file=sys.stderr)
                continue
            write_json(path, json.loads(done.stdout.strip().splitlines()[-1]))
        with open(path) as f:
            runs.append(json.load(f))
        elapsed = time.perf_counter() - start
        print(f"{name}: {runs[-1]['summary']} ({runs[-1]['seconds']:.1f} s); {elapsed:.0f} s "
              f"so far", file=sys.stderr)
    if runs:
        print(write_summary(runs, folder))


def report(out):
    """`bench report`'s part: the table and figure from the case files in OUT/scale
    (None when there are none)."""
    folder = os.path.join(out, "scale")
    runs = []
    for name in CASES:
        path = os.path.join(folder, f"{name}.json")
        if os.path.exists(path):
            with open(path) as f:
                runs.append(json.load(f))
    if not runs:
        print(f"scale: no `bench scale` case files under {folder}")
        return None
    write_summary(runs, folder)
    print(f"scale: summary {os.path.join(folder, 'summary.md')}")
    return os.path.join(folder, "summary.md")


def write_summary(runs, folder):
    """DIR/scale/summary.md and scale.png from the runs; returns the table."""
    table = summary(runs)
    figure(runs, os.path.join(folder, "scale.png"))
    commits = sorted({str(r.get("commit"))[:12] for r in runs})
    with open(os.path.join(folder, "summary.md.tmp"), "w") as f:
        f.write(f"# The default estimate as the data grow\n\n`python -m bench scale`, made by "
                f"commit {', '.join(commits)}.\n\n{table}\n\n![time and memory](scale.png)\n")
    os.replace(os.path.join(folder, "summary.md.tmp"), os.path.join(folder, "summary.md"))
    return table
