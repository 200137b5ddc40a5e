"""The benchmarks' command line: the options every grid shares, losses given as
`name:param=value`, argument types that refuse a bad value before any training, and
BadInput, which `python -m bench` prints and exits 2 on."""
import argparse
import math
import os
import sys

from minimi import bounds


class BadInput(SystemExit):
    """A bad argument or results folder, found before any training: `python -m bench`
    prints the message and exits with status 2."""

    def __init__(self, message):
        super().__init__(2)
        self.message = message

    def __str__(self):
        return self.message


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
