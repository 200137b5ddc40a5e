"""python -m minimi estimate X Y [options]: the MI between two files of paired rows.

X and Y are .npy arrays or .csv tables (a header row is detected); row i of X
pairs with row i of Y. Prints one line, or a JSON object with --json. Bad input
is an error that names the file and the problem, with exit code 2.
"""
import argparse
import csv
import json
import math
import os
import sys

import numpy as np

from . import bounds
from .estimate import CRITICS, MARGINALS, check_pair, estimate


class InputError(Exception):
    """Bad input: printed as 'minimi estimate: error: ...' with exit code 2."""


def read_table(path):
    """An (n, d) float array from a .npy or .csv file."""
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npy":
        try:
            a = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise InputError(f"{path}: not a readable .npy array ({error})") from None
        if a.dtype.kind not in "biuf":
            raise InputError(f"{path}: the array holds {a.dtype}, not numbers")
        return a
    if ext in (".csv", ".txt", ".tsv"):
        return _read_csv(path, "\t" if ext == ".tsv" else ",")
    raise InputError(f"{path}: unknown file type {ext or '(none)'}: use .npy or .csv")


def _read_csv(path, delimiter):
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f, delimiter=delimiter) if any(c.strip() for c in row)]
    if not rows:
        raise InputError(f"{path}: the file is empty")
    start = 0 if all(_is_number(c) for c in rows[0]) else 1  # a header row has a non-number
    width = len(rows[0])
    values = []
    for i, row in enumerate(rows[start:], start=start + 1):
        if len(row) != width:
            raise InputError(f"{path}: row {i} has {len(row)} columns, the first row has {width}")
        for j, cell in enumerate(row, start=1):
            if not _is_number(cell):
                raise InputError(f"{path}: row {i}, column {j}: {cell.strip()!r} is not a number")
        values.append([float(c) for c in row])
    if not values:
        raise InputError(f"{path}: a header row but no data")
    return np.array(values)


def _is_number(cell):
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _sizes(text):
    try:
        sizes = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 128,128, got {text!r}")
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return sizes


def parser():
    p = argparse.ArgumentParser(prog="python -m minimi estimate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("x", help="samples of X: .npy or .csv, one row per sample")
    p.add_argument("y", help="samples of Y, row i paired with row i of X")
    p.add_argument("--bound", default="remine", help=f"one of {', '.join(bounds.BOUNDS)} "
                                                     "(default: remine)")
    p.add_argument("--critic", default="separable", choices=CRITICS)
    p.add_argument("--hidden", type=_sizes, default=(128, 128), help="hidden sizes (128,128)")
    p.add_argument("--activation", default="softplus",
                   choices=("softplus", "relu", "tanh", "sigmoid"))
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--lam", type=float, help="λ of a regularized bound")
    p.add_argument("--target", type=float, help="C of a regularized bound")
    p.add_argument("--tau", type=float, help="clip of smile-type bounds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--marginals", default="rank", choices=MARGINALS,
                   help="rank: normal scores of each column's ranks (default); "
                        "standard: centre and scale only")
    p.add_argument("--device", choices=("cpu", "gpu"), help="default: $MINIMI_DEVICE or cpu")
    p.add_argument("--json", action="store_true", help="print a JSON object instead")
    p.add_argument("--bits", action="store_true", help="report in bits instead of nats")
    p.add_argument("--plot", metavar="FILE.png", help="draw the training curve to this PNG")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def run_estimate(argv):
    args = parser().parse_args(argv)
    try:
        x, y = read_table(args.x), read_table(args.y)
        x, y = check_pair(x, y, names=(args.x, args.y))
        if args.plot and not args.plot.lower().endswith(".png"):
            raise InputError(f"--plot {args.plot}: the figure is a PNG; name it FILE.png")
        progress = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
        result = estimate(x, y, bound=args.bound, critic=args.critic, hidden=args.hidden,
                          activation=args.activation, steps=args.steps,
                          batch_size=args.batch_size, lr=args.lr, lam=args.lam,
                          target=args.target, tau=args.tau, seed=args.seed,
                          test_fraction=args.test_fraction, marginals=args.marginals,
                          device=args.device, progress=progress)
    except (InputError, ValueError, RuntimeError) as error:
        print(f"minimi estimate: error: {error}", file=sys.stderr)
        return 2
    if args.plot:
        plot_curve(result, args.plot, args.bits)
    if args.json:
        print(json.dumps(result.as_dict(bits=args.bits)))
    else:
        print(result.summary(bits=args.bits))
    return 0


def plot_curve(result, path, bits=False):
    """Training values (light), their EMA, the validation estimates and the test estimate."""
    from .plot import Figure, ema
    scale = 1 / math.log(2) if bits else 1.0
    unit = "bits" if bits else "nats"
    values = [None if v is None else v * scale for v in result.curve]
    fig = Figure(rows=1, cols=1, panel_size=(720, 420),
                 title=f"{result.bound}, {result.critic} critic: training curve")
    ax = fig.panel(0, 0, xlabel="step", ylabel=unit, title="")
    steps = list(range(1, len(values) + 1))
    ax.line(steps, values, color="blue", lighten=0.7, width=1)
    ax.line(steps, ema(values, 200), color="blue", label="training batch value (EMA 200)")
    ax.line([s for s, _ in result.validation],
            [None if v is None else v * scale for _, v in result.validation],
            color="orange", label="validation, all pairs")
    if result.mi is not None and math.isfinite(result.mi):
        ax.hline(result.mi * scale, color="green", dash=False,
                 label=f"test estimate {result.mi * scale:.3f} (step {result.best_step})")
    fig.save(path)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m minimi estimate X Y [options]   (see --help of estimate)")
        return 0 if argv else 2
    if argv[0] != "estimate":
        print(f"unknown command {argv[0]!r}: the command is 'estimate'", file=sys.stderr)
        return 2
    return run_estimate(argv[1:])
