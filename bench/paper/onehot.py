"""The one-hot instability study (paper Figs. 1–3, 5); its grid and training also run
the C* sweep (Fig. 4, bench/paper/cstar.py).

    python -m bench onehot [--batch-size 100,32] [--steps 3000] [--lam 1] [...]

X is uniform over the 16 one-hot vectors and Y = X, so I(X; Y) = log 16.
Each step draws B joint pairs (x_i, x_i) and B independent pairs (x'_i, y'_i);
the critic (Linear 32→64, ReLU, Linear 64→1 without bias) is trained with
plain SGD. Every step logs the value, both terms, and the critic's outputs on
the joint support T(e_i, e_i) and off it T(e_i, e_j), i ≠ j.
"""
import argparse
import math

import numpy as np

import minimi as mm
from minimi import bounds
from minimi.tools.plot import Figure

from ..grid import commandline, planning, records, summaries

N = 16
TRUE_MI = math.log(N)
# What the paper reports for this study (figures, no numbers), shown beside ours.
PAPER = ("Figs. 1–2 (batch 100, 3000 iterations): MINE's first and second terms drift in "
         "parallel after its estimate has converged; NWJ's do not. Fig. 3 (batch 32): MINE's "
         "and NWJ's estimates diverge and NWJ's critic outputs explode. Fig. 5 (batch 32): "
         "ReMINE and ReNWJ avoid both the drift and the explosion.")
DEFAULT_LOSSES = "mine,nwj,remine,renwj,renwj:target=0"
PROFILES = {  # (seeds, steps); the paper uses 5 seeds
    "onehot": {"paper": (5, 3000), "quick": (3, 3000)},
    "cstar": {"paper": (5, 1500), "quick": (2, 1500)},
}


def train(run, name, params, seed, batch_size, steps, lr):
    """One SGD run of the one-hot critic; fills `run` and returns its final numbers."""
    rng = np.random.default_rng(seed)
    critic = mm.one_hot_critic(N, rng=np.random.default_rng(1000 + seed))
    opt = mm.SGD(critic.parameters(), lr=lr)
    loss = bounds.make(name, **params)
    eye = np.eye(N, dtype=np.float32)
    grid_x, grid_y = mm.Tensor(np.repeat(eye, N, axis=0)), mm.Tensor(np.tile(eye, (N, 1)))
    for step in range(1, steps + 1):
        x = eye[rng.integers(0, N, batch_size)]
        joint = critic.pairs(mm.Tensor(x), mm.Tensor(x))
        marginal = critic.pairs(mm.Tensor(eye[rng.integers(0, N, batch_size)]),
                                mm.Tensor(eye[rng.integers(0, N, batch_size)]))
        result = loss((joint, marginal), "onehot")
        with mm.no_grad():    # T(e_i, e_j) for every pair: on the support when i = j
            outputs = critic.pairs(grid_x, grid_y).data.reshape(N, N)
        on, off = outputs.diagonal(), bounds.off_diagonal(outputs)
        logged = result.numbers(on_mean=on.mean(), on_min=on.min(), on_max=on.max(),
                                off_mean=off.mean(), off_min=off.min(), off_max=off.max())
        for key in ("on_mean", "on_min", "on_max", "off_mean", "off_min", "off_max"):
            run.extra(key, logged.pop(key))
        if not run.record(step, **logged):
            break
        opt.zero_grad()
        (-result.objective).backward()
        opt.step()
    return summarize_curves(run.curves, run.status)


def summarize_curves(curves, status):
    """The numbers a summary quotes, from the curves alone."""
    values = curves["value"]
    n = len(values)
    last500 = [v for v in values[-500:] if v is not None]
    exploded = next((step for step, v in enumerate(values, start=1)
                     if v is not None and abs(v) > 10), None)
    return {
        "steps_run": n,
        "value_last500": summaries.finite_mean(last500),
        "abs_error_last500": summaries.finite_mean([abs(v - TRUE_MI) for v in last500]),
        "second_last500": summaries.finite_mean(curves["second"][-500:]),
        "first_last500": summaries.finite_mean(curves["first"][-500:]),
        "first_slope_per_1000": slope(curves["first"][-2000:]) if status == "ok" else None,
        "second_slope_per_1000": slope(curves["second"][-2000:]) if status == "ok" else None,
        "exploded_at_step": exploded,
        "max_abs_value": max((abs(v) for v in values if v is not None), default=None),
        "off_support_final": curves["off_mean"][-1] if curves.get("off_mean") else None,
        "on_support_final": curves["on_mean"][-1] if curves.get("on_mean") else None,
    }


def slope(values):
    """Least-squares slope per 1000 steps (None when under 100 finite points)."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 100:
        return None
    x = np.array([p[0] for p in points], float)
    y = np.array([p[1] for p in points], float)
    return float(np.polyfit(x, y, 1)[0] * 1000)


# ---- the two experiments ------------------------------------------------------------------

def main(argv=None):
    parser = arguments("onehot", DEFAULT_LOSSES, [100, 32], "batch sizes, comma-separated "
                                                            "(default: 100,32)")
    parser.add_argument("--lam", type=float, help="λ for every regularized loss "
                                                  "(default: each loss's own, 1.0)")
    args = commandline.parse_args(parser, argv)
    losses = commandline.parse_losses(args.losses)
    if args.lam is not None:
        if not (math.isfinite(args.lam) and args.lam >= 0):
            parser.error(f"--lam: must be a finite number ≥ 0, got {args.lam}")
        losses = [(n, {**p, "lam": args.lam} if "lam" in bounds.parameters(n) else p)
                  for n, p in losses]
    run_grid(args, "onehot", losses, report)


def arguments(experiment, default_losses, default_batches, batch_help):
    """The parser a study on one-hot data shares: the grid's options, batch sizes, steps
    and SGD's learning rate."""
    parser = argparse.ArgumentParser(prog=f"python -m bench {experiment}", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commandline.common_arguments(parser, default_losses)
    parser.add_argument("--batch-size", type=commandline.size_list, default=default_batches,
                        help=batch_help)
    steps = PROFILES[experiment]["quick"][1]
    parser.add_argument("--steps", type=commandline.positive(int),
                        help=f"SGD steps per run (default: {steps})")
    parser.add_argument("--lr", type=commandline.positive(float), default=0.1,
                        help="SGD learning rate (default: 0.1)")
    return parser


def run_grid(args, experiment, losses, report):
    """Every (batch size, loss, seed) of a one-hot study not already done, then its
    report(out)."""
    default_seeds, default_steps = PROFILES[experiment][args.profile]
    steps = args.steps or default_steps
    batch_sizes = args.batch_size
    seeds = commandline.seeds_from(args, default_seeds)
    grid = [(f"batch{batch_size}", name, params, seed,
             {"batch_size": batch_size, "steps": steps, "lr": args.lr, "optimizer": "sgd",
              "n": N, "true_mi": TRUE_MI, "profile": args.profile,
              "params": bounds.make(name, **params).params})
            for batch_size in batch_sizes for name, params in losses for seed in seeds]
    todo = planning.plan(args.out, experiment, grid, args)
    if args.list:
        return
    print(f"{experiment}: profile {args.profile}, {len(losses)} losses x batch {batch_sizes} "
          f"x seeds {seeds}, {steps} steps, SGD lr {args.lr}: {len(todo)} of {len(grid)} runs "
          "to do")
    for planned in todo:
        run = records.Run(planned, steps)
        run.finish(train(run, planned.name, planned.params, planned.seed,
                         planned.config["batch_size"], steps, args.lr))
    if not args.no_report:
        report(args.out)


# ---- summaries and figures ---------------------------------------------------------------

def _num(v):
    return f"{v:.3g}" if abs(v) >= 1e4 else f"{v:.3f}"


def mean_sd(values):
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    if len(values) == 1:
        return _num(values[0])
    return f"{_num(float(np.mean(values)))} ± {_num(float(np.std(values, ddof=1)))}"


def by(runs, *keys):
    groups = {}
    for r in runs:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    return groups


def report(out):
    """summary.md and figures from the run files alone."""
    runs = summaries.runs_to_report(out, "onehot")
    if not runs:
        return None
    return summaries.write_summary(out, "onehot", _onehot_summary(runs), runs,
                                   _onehot_figures(runs, out))


def _onehot_summary(runs):
    lines = ["# One-hot study (paper Figs. 1–3, 5)", "",
             f"X uniform over {N} one-hot vectors, Y = X: true MI = log {N} = {TRUE_MI:.4f} nats. "
             "Mean ± sd over seeds; slopes are least-squares fits over the last 2000 steps, "
             "per 1000 steps.", "",
             "| batch | loss | runs (diverged) | NaN/inf at step | abs(V) > 10 at step | "
             "mean abs(V − log 16), last 500 | 1st-term slope | 2nd-term slope | "
             "off-support output, end |",
             "|---|---|---|---|---|---|---|---|---|"]
    groups = by(runs, "setting", "loss")
    for (setting, loss), group in sorted(groups.items(), key=lambda kv: (-_batch(kv[0][0]),
                                                                          kv[0][1])):
        finals = [r["final"] for r in group]
        diverged = [r for r in group if r["status"] == "diverged"]
        nan_steps = ", ".join(str(r["diverged_at_step"]) for r in diverged) or "—"
        exploded = ", ".join(str(f["exploded_at_step"]) for f in finals
                             if f["exploded_at_step"] is not None) or "—"
        lines.append(
            f"| {_batch(setting)} | {loss} | {len(group)} ({len(diverged)})"
            f"{summaries.seeds_note(runs, setting, loss)} | {nan_steps} | "
            f"{exploded} | {mean_sd([f['abs_error_last500'] for f in finals])} | "
            f"{mean_sd([f['first_slope_per_1000'] for f in finals])} | "
            f"{mean_sd([f['second_slope_per_1000'] for f in finals])} | "
            f"{mean_sd([f['off_support_final'] for f in finals])} |")
    lines += ["", "## What the curves say", ""]
    lines += _findings(groups)
    return lines


def _batch(setting):
    return int(setting.replace("batch", "")) if setting.startswith("batch") else 0


def _findings(groups):
    """Sentences with numbers, from the measured curves."""
    out = []
    mine, remine = groups.get(("batch100", "mine")), groups.get(("batch100", "remine"))
    if mine:
        second = [r["final"]["second_slope_per_1000"] for r in mine]
        first = [r["final"]["first_slope_per_1000"] for r in mine]
        text = (f"- Drift at batch 100: MINE's second term moves by {mean_sd(second)} per 1000 "
                f"steps over the last 2000 steps and its first term by {mean_sd(first)}, while "
                f"its value stays at {mean_sd([r['final']['value_last500'] for r in mine])}")
        if remine:
            text += (f"; ReMINE's second term moves by "
                     f"{mean_sd([r['final']['second_slope_per_1000'] for r in remine])} "
                     f"(value {mean_sd([r['final']['value_last500'] for r in remine])})")
        out.append(text + ".")
    for (setting, loss), group in sorted(groups.items()):
        if setting != "batch32":
            continue
        events = []
        for r in sorted(group, key=lambda r: r["seed"]):
            f = r["final"]
            if r["status"] == "diverged":
                events.append(f"seed {r['seed']} went NaN/inf at step {r['diverged_at_step']}")
            elif f["exploded_at_step"] is not None:
                events.append(f"seed {r['seed']} exceeded |V| = 10 at step "
                              f"{f['exploded_at_step']} (max |V| {f['max_abs_value']:.1f})")
        out.append(f"- Batch 32, {loss}: " + ("; ".join(events) if events else
                                               f"all {len(group)} runs stayed finite with |V| ≤ 10"
                                               f" (max |V| {max(r['final']['max_abs_value'] or 0 for r in group):.2f})") + ".")
    for (setting, loss), group in sorted(groups.items()):
        errors = [r["final"]["abs_error_last500"] for r in group]
        out.append(f"- {setting}, {loss}: mean abs(V − log 16) over the last 500 steps "
                   f"{mean_sd(errors)}.")
    return out


def first_seed(group):
    return min(group, key=lambda r: r["seed"])


def _onehot_figures(runs, out):
    paths = []
    for (setting,), group in sorted(by(runs, "setting").items()):
        losses = sorted({r["loss"] for r in group})
        fig = Figure(rows=len(losses), cols=2, panel_size=(460, 260),
                     title=f"One-hot, {setting}: value, terms and critic outputs (lowest seed)")
        for row, loss in enumerate(losses):
            r = first_seed([g for g in group if g["loss"] == loss])
            c = r["curves"]
            steps = list(range(1, len(c["value"]) + 1))
            note = f" (NaN at {r['diverged_at_step']})" if r["status"] == "diverged" else ""
            ax = fig.panel(row, 0, title=f"{loss}{note}", xlabel="step", ylabel="nats",
                           ylim=ylim(c["value"] + c["first"] + c["second"], -6, 12))
            ax.line(steps, c["value"], color="blue", label="value", width=1)
            ax.line(steps, c["first"], color="orange", label="first term", width=1)
            ax.line(steps, c["second"], color="green", label="second term", width=1)
            ax.hline(TRUE_MI, label="log 16")
            ax = fig.panel(row, 1, title=f"{loss}: critic outputs", xlabel="step",
                           ylabel="T", ylim=ylim(c["on_max"] + c["off_min"], -100, 100))
            for key, color in (("on", "red"), ("off", "blue")):
                ax.line(steps, c[f"{key}_max"], color=color, lighten=0.6, width=1)
                ax.line(steps, c[f"{key}_min"], color=color, lighten=0.6, width=1)
                ax.line(steps, c[f"{key}_mean"], color=color, width=2,
                        label=f"{key} support (mean, min/max)")
        paths.append(fig.save(f"{out}/onehot/{setting}.png"))
    return paths


def ylim(values, lo, hi):
    finite = [v for v in values if v is not None]
    if not finite:
        return (lo, hi)
    a, b = max(min(finite), lo), min(max(finite), hi)
    pad = 0.05 * (b - a) if b > a else 1.0
    return (a - pad, b + pad)
