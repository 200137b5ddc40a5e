"""ReMINE with different C* (paper Fig. 4): the regularizer pins the second term at C,
whatever C is, and the value stays near log 16. On the one-hot data and critic of
bench/paper/onehot.py, with its grid and training.

    python -m bench cstar [--targets -5,-2,0,2,5] [--steps 1500] [...]
"""
from minimi.tools.plot import Figure

from ..grid import commandline, summaries
from .onehot import TRUE_MI, arguments, by, first_seed, mean_sd, run_grid, ylim

# What the paper reports for this study (a figure, no numbers), shown beside ours.
PAPER = ("Fig. 4 (batch 100, 1500 iterations): ReMINE's second term settles at each C* "
         "tried and the drift of MINE's terms stops; the estimate stays near log 16.")


def main(argv=None):
    parser = arguments("cstar", "remine:lam=0.1", [100], "batch size (default: 100)")
    parser.add_argument("--targets", type=commandline.number_list, default=[-5, -2, 0, 2, 5],
                        help="values of C (default: -5,-2,0,2,5)")
    args = commandline.parse_args(parser, argv)
    losses = [(n, {**p, "target": float(c)}) for n, p in commandline.parse_losses(args.losses)
              for c in args.targets]
    run_grid(args, "cstar", losses, report)


def report(out):
    """summary.md and the figure from the run files alone."""
    runs = summaries.runs_to_report(out, "cstar")
    if not runs:
        return None
    return summaries.write_summary(out, "cstar", _summary(runs), runs, _figures(runs, out))


def _summary(runs):
    lines = ["# C* sweep (paper Fig. 4)", "",
             f"ReMINE pins its second term lme(S_M) at C. True MI = log 16 = {TRUE_MI:.4f}. "
             "Means over the last 500 steps, mean ± sd over seeds.", "",
             "| C | loss | runs | second term | abs(second − C) | value | abs(value − log 16) |",
             "|---|---|---|---|---|---|---|"]
    for (loss,), group in sorted(by(runs, "loss").items(),
                                 key=lambda kv: kv[1][0]["loss_params"].get("target", 0)):
        C = group[0]["loss_params"].get("target", 0.0)
        finals = [r["final"] for r in group]
        lines.append(
            f"| {C:g} | {loss} | {len(group)} | {mean_sd([f['second_last500'] for f in finals])}"
            f" | {mean_sd([abs(f['second_last500'] - C) if f['second_last500'] is not None else None for f in finals])}"
            f" | {mean_sd([f['value_last500'] for f in finals])} | "
            f"{mean_sd([f['abs_error_last500'] for f in finals])} |")
    return lines


def _figures(runs, out):
    targets = sorted({r["loss_params"].get("target", 0.0) for r in runs})
    fig = Figure(rows=1, cols=len(targets), panel_size=(330, 280),
                 title="ReMINE with different C* (lowest seed): value, first and second term")
    for col, C in enumerate(targets):
        r = first_seed([g for g in runs if g["loss_params"].get("target", 0.0) == C])
        c = r["curves"]
        steps = list(range(1, len(c["value"]) + 1))
        ax = fig.panel(0, col, title=f"C* = {C:g}", xlabel="step", ylabel="nats",
                       ylim=ylim(c["value"] + c["first"] + c["second"] + [C, TRUE_MI], -8, 12))
        for key, color in (("value", "blue"), ("first", "orange"), ("second", "green")):
            ax.line(steps, c[key], color=color, label=key if col == 0 else None, width=1)
        ax.hline(C, color="orange", label="C*" if col == 0 else None)
        ax.hline(TRUE_MI, label="log 16" if col == 0 else None)
    return [fig.save(f"{out}/cstar/cstar.png")]
