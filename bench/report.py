"""python -m bench report --out DIR [--html]: rebuild every summary.md and figure from
the run files alone (after an interrupted grid, or runs gathered from several machines),
and with --html the page DIR/index.html that shows them all (bench/page.py)."""
import argparse
import os

from . import page
from .paper import cifar_report, cstar, gaussian, onehot
from .speed import scale
from .speed import summary as speed
from .truth import bmi_tasks, tasks

# name: (its report, what the paper reports for it: the CIFAR tables carry their own)
REPORTS = {
    "onehot": (onehot.report, onehot.PAPER),
    "cstar": (cstar.report, cstar.PAPER),
    "gaussian": (gaussian.report, gaussian.PAPER),
    "slb": (lambda out: cifar_report.report(out, "slb"), None),
    "clb": (lambda out: cifar_report.report(out, "clb"), None),
    "lambda": (cifar_report.lambda_figure, None),
    "tasks": (tasks.report, None),
    "bmi": (bmi_tasks.report, None),
    "speed": (speed.report, None),
    "scale": (scale.report, None),
}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench report", description=__doc__)
    parser.add_argument("--out", default="results", help="results folder (default: results/)")
    parser.add_argument("--html", action="store_true",
                        help="also write OUT/index.html: every figure and summary on one page")
    parser.add_argument("experiments", nargs="*", help=f"which (default: all present of "
                                                       f"{', '.join(REPORTS)})")
    args = parser.parse_args(argv)
    unknown = [e for e in args.experiments if e not in REPORTS]
    if unknown:
        parser.error(f"unknown experiment(s) {unknown}: choose from {', '.join(REPORTS)}")
    chosen = args.experiments or [e for e in REPORTS if os.path.isdir(os.path.join(args.out, e))]
    if not chosen:
        parser.error(f"no experiment folders under {args.out}/")
    written = [REPORTS[e][0](args.out) for e in chosen]
    if args.html:
        written.append(page.write_page(args.out, chosen, {e: REPORTS[e][1] for e in chosen
                                                          if REPORTS[e][1]}))
    return written
