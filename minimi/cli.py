"""python -m minimi estimate X Y [options]: the MI between two files of paired rows.

X and Y are .npy arrays or .csv tables (a header row is detected, or set with
--header / --no-header); row i of X pairs with row i of Y. Prints one line, or a
JSON object with --json. Bad input is an error that names the file and the
problem, with exit code 2; the other exit codes are listed below.
"""
import argparse
import dataclasses
import math
import sys
import warnings

import numpy as np

from .estimator import DataWarning, Settings, estimate
from .estimator.samples import check_pair
from .files import dumps
from .tables import InputError, cell_value, check_file, csv_rows, is_number, read_table


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
(training diverged, or never beat the untrained critic); 4 an estimate with a
flag (not settled, or a warning about the data); 5 the figure could not be
written (the estimate was printed)."""


def add_estimator_options(p):
    """An option per setting of minimi.estimate (minimi.Settings: names, defaults and help
    written once), shared by the estimate and bmi commands, and --device."""
    defaults = Settings()
    for field in dataclasses.fields(Settings):
        default = getattr(defaults, field.name)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        help = field.metadata["help"] + ("" if default is None else f" (default: {shown})")
        if field.name == "seed":
            help += "; bmi: SEED"
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
        x, y = read_table(args.x, args.header), read_table(args.y, args.header)
        x, y = check_pair(x, y, names=(args.x, args.y))
        if args.plot and not args.plot.lower().endswith(".png"):
            raise InputError(f"--plot {args.plot}: the figure is a PNG; name it FILE.png")
        progress = None if args.quiet else _to_stderr
        result = _quiet_estimate(x, y, estimator_settings(args), args.device, progress)
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

BMI_DOC = """python -m minimi bmi SAMPLES_CSV SEED DIM_X DIM_Y [estimator options]

minimi as an external estimator of the Beyond Normal benchmark (the `bmi`
package): reads the rows of seed SEED from bmi's samples.csv (header
seed,X1..X<DIM_X>,Y1..Y<DIM_Y>), estimates I(X;Y) with minimi.estimate and prints
one number, in nats, on standard output. Errors, data warnings and the reason
when nothing could be estimated go to standard error; then the exit status is
2 (bad input) or 3 (no estimate) and nothing is printed on standard output.
"""


def bmi_parser():
    p = argparse.ArgumentParser(prog="python -m minimi bmi", description=BMI_DOC,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("samples", help="bmi's samples.csv")
    p.add_argument("sample_seed", type=int, help="whose rows to use (the file's seed column)")
    p.add_argument("dim_x", type=int)
    p.add_argument("dim_y", type=int)
    add_estimator_options(p)
    p.add_argument("--verbose", action="store_true", help="progress on stderr")
    return p


def read_bmi_samples(path, seed, dim_x, dim_y):
    """(x, y) of one seed from bmi's samples.csv: columns seed, X1..X<dim_x>, Y1..Y<dim_y>
    (in any order; the suffixes count from 1)."""
    check_file(path)
    rows = csv_rows(path)
    header = [c.strip() for c in rows[0]]
    want = ["seed"] + [f"X{i}" for i in range(1, dim_x + 1)] + \
        [f"Y{i}" for i in range(1, dim_y + 1)]
    missing = [c for c in want if c not in header]
    extra = [c for c in header if c not in want]
    if missing or extra:
        raise InputError(f"{path}: expected the columns seed, X1..X{dim_x}, Y1..Y{dim_y} "
                         f"(DIM_X={dim_x}, DIM_Y={dim_y}); missing {missing or 'none'}, "
                         f"unexpected {extra or 'none'}")
    index = [header.index(c) for c in want]
    picked = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise InputError(f"{path}: row {line} has {len(row)} columns, the header has "
                             f"{len(header)}")
        values = [cell_value(path, line, k + 1, row[k]) for k in index]
        if values[0] == seed:
            picked.append(values[1:])
    if not picked:
        seeds = sorted({float(r[index[0]]) for r in rows[1:] if is_number(r[index[0]])})
        raise InputError(f"{path}: no rows of seed {seed} (the file has seeds "
                         f"{', '.join(f'{s:g}' for s in seeds) or 'none'})")
    a = np.array(picked)
    return a[:, :dim_x], a[:, dim_x:]


def run_bmi(argv):
    args = bmi_parser().parse_args(argv)
    try:
        for name in ("dim_x", "dim_y"):
            if getattr(args, name) < 1:
                raise InputError(f"{name.upper()} must be at least 1, got {getattr(args, name)}")
        x, y = read_bmi_samples(args.samples, args.sample_seed, args.dim_x, args.dim_y)
        progress = _to_stderr if args.verbose else None
        result = _quiet_estimate(x, y, estimator_settings(args, seed=args.sample_seed),
                                 args.device, progress)
    except (InputError, ValueError, RuntimeError) as error:
        _error("bmi", error)
        return EXIT_BAD_INPUT
    for note in result.warnings:
        print(f"minimi bmi: warning: {note}", file=sys.stderr)
    if result.status != "ok":
        _error("bmi", f"no estimate: {result.reason}")
        return EXIT_NO_ESTIMATE
    if not result.settled:
        print("minimi bmi: warning: the validation estimate was still rising at the last step "
              f"({result.steps_run} steps); try --steps", file=sys.stderr)
    print(repr(result.mi))
    return EXIT_OK


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
    "bmi": ("an external estimator for the bmi benchmark: SAMPLES_CSV SEED DIM_X DIM_Y",
            run_bmi),
    "doctor": ("check versions, the device, a GEMM rate and a gradient check", run_doctor),
}


def usage():
    lines = ["usage: minimi <command> [options]   (or python -m minimi; each command has --help)",
             "", "commands:"]
    return "\n".join(lines + [f"  {name:10} {what}" for name, (what, _) in COMMANDS.items()])


def console():
    """The `minimi` command and `python -m minimi`: tune this process for training speed
    and its output streams for logs and pipes (minimi/tuning.py), then run main()."""
    from .tuning import command_streams, quiet_broken_pipe, tune_process
    tune_process()
    broken_pipe = command_streams()
    try:
        return main()
    except BrokenPipeError:
        quiet_broken_pipe()
        return broken_pipe


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]][1](argv[1:])
