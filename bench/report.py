"""python -m bench report --out DIR: rebuild every summary.md and figure from the
run files alone (after an interrupted grid, or runs gathered from several machines)."""
import argparse
import os

from .paper import cifar_report, cstar, gaussian, onehot
from .truth import tasks

REPORTS = {
    "onehot": onehot.report,
    "cstar": cstar.report,
    "gaussian": gaussian.report,
    "slb": lambda out: cifar_report.report(out, "slb"),
    "clb": lambda out: cifar_report.report(out, "clb"),
    "lambda": cifar_report.lambda_figure,
    "tasks": tasks.report,
}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench report", description=__doc__)
    parser.add_argument("--out", default="results", help="results folder (default: results/)")
    parser.add_argument("experiments", nargs="*", help=f"which (default: all present of "
                                                       f"{', '.join(REPORTS)})")
    args = parser.parse_args(argv)
    unknown = [e for e in args.experiments if e not in REPORTS]
    if unknown:
        parser.error(f"unknown experiment(s) {unknown}: choose from {', '.join(REPORTS)}")
    chosen = args.experiments or [e for e in REPORTS if os.path.isdir(os.path.join(args.out, e))]
    if not chosen:
        parser.error(f"no experiment folders under {args.out}/")
    return [REPORTS[e](args.out) for e in chosen]
