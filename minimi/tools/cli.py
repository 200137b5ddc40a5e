"""python -m minimi estimate X Y [options]: the MI between two files of paired rows.

X and Y are .npy arrays or .csv tables (a header row is detected, or set with
--header / --no-header); row i of X pairs with row i of Y. Prints one line, or a
JSON object with --json. Bad input is an error that names the file and the
problem, with exit code 2; the other exit codes are listed below.
"""
import argparse
import dataclasses
import math
import os
import sys
import warnings

import numpy as np

from ..engine.files import dumps, write_json
from ..estimator import DataWarning, Settings, estimate
from ..estimator.inputs import check_pair
from .tables import InputError, cell_value, csv_rows, is_number, read_table


def _to_stderr(line):
    """Progress lines go to standard error: standard output holds the answer."""
    print(line, file=sys.stderr, flush=True)


def _sizes(text):
    try:
        sizes = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 128,128, got {text!r}")
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return sizes


# exit codes, the first that applies: bad input, no estimate, figure failed, flagged, ok
EXIT_OK, EXIT_BAD_INPUT, EXIT_NO_ESTIMATE, EXIT_FLAGGED, EXIT_FIGURE = 0, 2, 3, 4, 5
EXIT_CODES = """exit status: 0 an estimate; 2 bad input (nothing estimated); 3 no estimate
(training diverged, or made the critic worse than untrained); 4 an estimate with a
flag (a failed check of its interval, not settled, or a warning about the data);
5 the figure could not be written (the estimate was printed)."""


def add_estimator_options(p):
    """An option per setting of minimi.estimate (minimi.Settings: names, defaults and help
    written once), shared by the estimate and bmi commands, and --device."""
    defaults = Settings()
    for field in dataclasses.fields(Settings):
        default = getattr(defaults, field.name)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        help = field.metadata["help"] + ("" if default is None else f" (default: {shown})")
        if field.name == "seed":
            help += "; minimi bmi: the --sample-seed, if given"
        kind = _sizes if field.type is tuple else field.type  # the setting's annotation
        p.add_argument("--" + field.name.replace("_", "-"), dest=field.name, default=None,
                       type=kind, help=help, choices=field.metadata["choices"])
    p.add_argument("--device", choices=("cpu", "gpu"), help="default: $MINIMI_DEVICE or cpu")


def estimator_settings(args, seed=0):
    """minimi.Settings from the parsed options: the ones given, the defaults for the rest
    (the seed defaults to `seed`)."""
    given = {name: getattr(args, name) for name in Settings.names()
             if getattr(args, name) is not None}
    return Settings.of(**{"seed": seed, **given})


def parser():
    p = argparse.ArgumentParser(prog="python -m minimi estimate", description=__doc__,
                                epilog=EXIT_CODES,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("x", help="samples of X: .npy or .csv, one row per sample")
    p.add_argument("y", help="samples of Y, row i paired with row i of X")
    add_estimator_options(p)
    header = p.add_mutually_exclusive_group()
    header.add_argument("--header", action="store_true", default=None,
                        help="row 1 of a CSV file holds column names (default: detected; "
                             "an error when row 1 could be either)")
    header.add_argument("--no-header", dest="header", action="store_false",
                        help="row 1 of a CSV file is data")
    p.add_argument("--json", action="store_true", help="print a JSON object instead")
    p.add_argument("--bits", action="store_true", help="report in bits instead of nats")
    p.add_argument("--plot", metavar="FILE.png", help="draw the training curve to this PNG")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def _error(what, text):
    print(f"minimi {what}: error: {text}", file=sys.stderr)


def run_estimate(argv):
    args = parser().parse_args(argv)
    try:
        settings = estimator_settings(args).check()   # every option before the files
        if args.plot and not args.plot.lower().endswith(".png"):
            raise InputError(f"--plot {args.plot}: the figure is a PNG; name it FILE.png")
        x, y = read_table(args.x, args.header), read_table(args.y, args.header)
        x, y = check_pair(x, y, names=(args.x, args.y))
        progress = None if args.quiet else _to_stderr
        result = _quiet_estimate(x, y, settings, args.device, progress)
    except (InputError, ValueError, RuntimeError) as error:
        _error("estimate", error)
        return EXIT_BAD_INPUT
    for note in result.warnings:
        print(f"minimi estimate: warning: {note}", file=sys.stderr)
    # the answer first: a figure that fails to draw must not lose it
    print(dumps(result.as_dict(bits=args.bits)) if args.json else result.summary(bits=args.bits),
          flush=True)
    code = EXIT_NO_ESTIMATE if result.status != "ok" else \
        EXIT_FLAGGED if result.flagged else EXIT_OK
    if args.plot:
        try:
            plot_curve(result, args.plot, args.bits)
        except OSError as error:
            _error("estimate", f"could not write the figure {args.plot}: {error}")
            return code if code == EXIT_NO_ESTIMATE else EXIT_FIGURE
    return code


def _quiet_estimate(x, y, settings, device, progress):
    """estimate() with its DataWarnings held back: the commands print them as lines."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return estimate(x, y, settings, device=device, progress=progress)


# ---- minimi bmi: an external estimator of the `bmi` benchmark ---------------------------------

BMI_DOC = """python -m minimi bmi SAMPLE_CSV DIM_X DIM_Y [estimator options]

minimi as an external estimator of the bmi benchmark (`pip install benchmark-mi`):
reads the sample that bmi writes (bmi.utils.save_sample: columns X0..X<DIM_X-1>,
Y0..Y<DIM_Y-1>), estimates I(X;Y) with minimi.estimate and prints one number, in
nats, on standard output, and nothing else on either stream: bmi reads standard
output and standard error together. A file with a seed column (bmi's development
layout: seed, X1.., Y1..) needs --sample-seed K: the rows of seed K are used, and K
seeds the estimator unless --seed is given.

Without a number it stands behind, it prints why on standard error and nothing on
standard output; bmi records the run as failed with that message. Exit status: 2
bad input, 3 no estimate (diverged, untrained, ...), 4 a flagged estimate (a failed
check of its interval, not settled, or a warning about the data; --accept-flagged
prints it anyway). --result FILE.json keeps the whole estimate (its interval, flags
and status) beside bmi's record, whether or not a number was printed.
"""


def bmi_parser():
    p = argparse.ArgumentParser(prog="python -m minimi bmi", description=BMI_DOC,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("samples", help="the sample CSV bmi wrote")
    p.add_argument("dim_x", type=int)
    p.add_argument("dim_y", type=int)
    add_estimator_options(p)
    p.add_argument("--sample-seed", type=int,
                   help="use the rows of this seed (a file with a seed column)")
    p.add_argument("--accept-flagged", action="store_true",
                   help="print a flagged estimate instead of failing (exit 4)")
    p.add_argument("--verbose", action="store_true",
                   help="progress on stderr (bmi then cannot read the number)")
    p.add_argument("--result", metavar="FILE.json",
                   help="also write the whole estimate as JSON (as `minimi estimate --json`)")
    return p


def read_bmi_samples(path, dim_x, dim_y, sample_seed=None):
    """(x, y) from a bmi sample CSV: columns X0..X<dim_x-1>, Y0..Y<dim_y-1> (bmi 0.1.3),
    or X1.., Y1.. (its development layout); with a seed column, the rows of
    `sample_seed`. Columns may come in any order."""
    rows = csv_rows(path)
    header = [c.strip() for c in rows[0]]
    has_seed = "seed" in header
    if has_seed and sample_seed is None:
        raise InputError(f"{path}: the file has a seed column: pass --sample-seed K to say "
                         "whose rows to use")
    if sample_seed is not None and not has_seed:
        raise InputError(f"{path}: --sample-seed {sample_seed} given, but the file has no seed "
                         "column")
    base = 0 if "X0" in header or "Y0" in header else 1
    want = [f"X{i}" for i in range(base, base + dim_x)] + \
        [f"Y{i}" for i in range(base, base + dim_y)]
    expected = (["seed"] if has_seed else []) + want
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    if missing or extra:
        raise InputError(f"{path}: expected the columns X{base}..X{base + dim_x - 1}, "
                         f"Y{base}..Y{base + dim_y - 1}{' and seed' if has_seed else ''} "
                         f"(DIM_X={dim_x}, DIM_Y={dim_y}); missing {missing or 'none'}, "
                         f"unexpected {extra or 'none'}")
    index = [header.index(c) for c in expected]
    picked = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise InputError(f"{path}: row {line} has {len(row)} columns, the header has "
                             f"{len(header)}")
        values = [cell_value(path, line, k + 1, row[k]) for k in index]
        if not has_seed:
            picked.append(values)
        elif values[0] == sample_seed:
            picked.append(values[1:])
    if not picked:
        seeds = sorted({float(r[index[0]]) for r in rows[1:] if is_number(r[index[0]])})
        raise InputError(f"{path}: no rows of seed {sample_seed} (the file has seeds "
                         f"{', '.join(f'{s:g}' for s in seeds) or 'none'})" if has_seed else
                         f"{path}: a header but no rows")
    a = np.array(picked)
    return a[:, :dim_x], a[:, dim_x:]


def run_bmi(argv):
    from .bmi_adapter import NoEstimate, checked_estimate
    args = bmi_parser().parse_args(argv)
    try:
        for name in ("dim_x", "dim_y"):
            if getattr(args, name) < 1:
                raise InputError(f"{name.upper()} must be at least 1, got {getattr(args, name)}")
        settings = estimator_settings(args, seed=args.sample_seed or 0).check()
        if args.result:
            _check_result_path(args.result)
        x, y = read_bmi_samples(args.samples, args.dim_x, args.dim_y, args.sample_seed)
        x, y = check_pair(x, y, names=("X", "Y"))
    except (InputError, ValueError, RuntimeError) as error:
        _error("bmi", error)
        return EXIT_BAD_INPUT
    try:
        result = checked_estimate(x, y, settings, args.accept_flagged, args.device,
                                  _to_stderr if args.verbose else None)
    except NoEstimate as error:
        _error("bmi", error)
        _keep_result(args.result, error.result)
        return EXIT_NO_ESTIMATE if error.result.status != "ok" else EXIT_FLAGGED
    except (ValueError, RuntimeError) as error:
        _error("bmi", error)
        return EXIT_BAD_INPUT
    if not _keep_result(args.result, result):
        return EXIT_BAD_INPUT
    print(repr(result.mi))
    return EXIT_OK


def _check_result_path(path):
    """--result names a file we can write, checked before any training."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise InputError(f"--result {path}: is a folder; name a file, e.g. result.json")
    if os.path.exists(folder) and not os.access(folder, os.W_OK):
        raise InputError(f"--result {path}: the folder {folder} is not writable")


def _keep_result(path, result):
    """Write --result, if asked; False (and why, on standard error) when it cannot be."""
    try:
        if path:
            write_json(path, result.as_dict())
        return True
    except OSError as error:
        _error("bmi", f"could not write --result {path}: {error}")
        return False


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


def run_doctor(argv):
    from .doctor import main as doctor
    return doctor(argv)


COMMANDS = {
    "estimate": ("estimate I(X;Y) from two files of paired rows", run_estimate),
    "bmi": ("an external estimator for the bmi benchmark: SAMPLE_CSV DIM_X DIM_Y", run_bmi),
    "doctor": ("check versions, the device, a GEMM rate and a gradient check", run_doctor),
}


def usage():
    lines = ["usage: minimi <command> [options]   (or python -m minimi; each command has --help)",
             "", "commands:"]
    return "\n".join(lines + [f"  {name:10} {what}" for name, (what, _) in COMMANDS.items()])


def console():
    """The `minimi` command and `python -m minimi`: tune this process for training speed
    and its output streams for logs and pipes (minimi/tools/tuning.py), then run main()."""
    from .tuning import run_command
    return run_command(main)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]][1](argv[1:])
