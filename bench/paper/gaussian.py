"""The 20-D Gaussian staircase (paper Fig. 7): every bound against a known MI.

    python -m bench gaussian [--critic concat|separable] [--levels 2,4,6,8,10]
                             [--steps-per-level N] [--batch-size 64] [--hidden 256,256]

X, Y ∈ R^20 with y = ρx + sqrt(1−ρ²)ε, I = −(20/2)·log(1−ρ²) nats, so
ρ = sqrt(1 − exp(−2I/20)). The true MI steps through the levels; every step
draws a fresh batch. Adam, lr 5e-4; λ = 1, τ = 10 unless a loss says otherwise.
Reported per level: bias, variance and MSE of the per-step values over the
second half of the level (the first half is the critic catching up).
"""
import argparse
import math

import numpy as np

import minimi as mm
from minimi import bounds
from minimi.tools.plot import Figure, ema

from ..grid import commandline, planning, records, summaries

DIM = 20
# What the paper reports for this study (a figure, no numbers), shown beside ours.
PAPER = ("Fig. 7 (20-D Gaussian, the true MI raised 5 times during training, batch 64): "
         "each regularized bound tracks the true MI with less variance than its original; "
         "InfoNCE is capped by log 64.")
ALL_LOSSES = ("mine,smile,infonce,nwj,tuba,js,remine,resmile,reinfonce,renwj,retuba,rejs,"
              "mine_ema,smile_js,renwj:target=0")
# (critic, hidden, steps per level, seeds). The quick profile keeps the concat
# critic (docs/method.md §3: the separable one changes the picture) at half width.
PROFILES = {"paper": ("concat", (256, 256), 4000, 5), "quick": ("concat", (128, 128), 1000, 1)}
PANELS = [("mine", "remine"), ("smile", "resmile"), ("infonce", "reinfonce"),
          ("nwj", "renwj", "renwj:target=0"), ("tuba", "retuba"), ("js", "rejs"),
          ("mine_ema", "smile_js")]


def rho_for(mi, dim=DIM):
    return math.sqrt(1.0 - math.exp(-2.0 * mi / dim))


def sample(rng, mi, n):
    """n fresh pairs (x, y), float32 (n, DIM) each, with I(X; Y) = mi nats."""
    rho = rho_for(mi)
    x = rng.standard_normal((n, DIM)).astype(np.float32)
    y = (rho * x + math.sqrt(1.0 - rho ** 2) * rng.standard_normal((n, DIM))).astype(np.float32)
    return x, y


def make_critic(kind, hidden, seed):
    rng = np.random.default_rng(1000 + seed)
    if kind == "concat":
        return mm.ConcatCritic(DIM, DIM, hidden=hidden, init="normal", rng=rng)
    return mm.SeparableCritic(DIM, DIM, hidden=hidden, embed_dim=32, init="normal", rng=rng)


def train(run, name, params, seed, critic_kind, hidden, levels, steps_per_level, batch_size, lr):
    rng = np.random.default_rng(seed)   # the same data stream for every loss
    critic = make_critic(critic_kind, hidden, seed)
    opt = mm.Adam(critic.parameters(), lr=lr)
    loss = bounds.make(name, **params)
    step = 0
    for mi in levels:
        for _ in range(steps_per_level):
            step += 1
            x, y = sample(rng, mi, batch_size)
            result = loss(critic(mm.Tensor(x), mm.Tensor(y)))
            run.extra("true_mi", mi)
            if not run.record(step, **result.numbers()):
                return level_stats(run.curves, levels, steps_per_level)
            opt.zero_grad()
            (-result.objective).backward()
            opt.step()
    return level_stats(run.curves, levels, steps_per_level)


def level_stats(curves, levels, steps_per_level):
    """Bias, variance and MSE of the values over the second half of each level."""
    out = {}
    values = curves["value"]
    for k, mi in enumerate(levels):
        half = values[k * steps_per_level + steps_per_level // 2:(k + 1) * steps_per_level]
        if len(half) < steps_per_level - steps_per_level // 2 or any(v is None for v in half):
            out[f"{mi:g}"] = None  # the run diverged before or during this level
            continue
        v = np.asarray(half, dtype=float)
        bias, var = float(v.mean() - mi), float(v.var())
        out[f"{mi:g}"] = {"bias": bias, "variance": var, "mse": bias * bias + var}
    return {"levels": out}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench gaussian", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commandline.common_arguments(parser, ALL_LOSSES)
    parser.add_argument("--critic", choices=("concat", "separable"),
                        help="critic (default: concat in both profiles)")
    parser.add_argument("--levels", type=commandline.positive_list, default=[2, 4, 6, 8, 10],
                        help="true MI of each level, nats (default: 2,4,6,8,10)")
    parser.add_argument("--steps-per-level", type=commandline.positive(int),
                        help="steps per level (default: 4000 paper, 1000 quick)")
    parser.add_argument("--batch-size", type=commandline.positive(int), default=64)
    parser.add_argument("--hidden", type=commandline.size_list,
                        help="hidden layer sizes, e.g. 256,256 "
                        "(default: 256,256 paper, 128,128 quick)")
    parser.add_argument("--lr", type=commandline.positive(float), default=5e-4)
    args = commandline.parse_args(parser, argv)
    critic, hidden, steps_per_level, default_seeds = PROFILES[args.profile]
    critic = args.critic or critic
    hidden = tuple(args.hidden or hidden)
    if args.batch_size < 2:
        parser.error("--batch-size: at least 2 (a batch of 1 has no marginal pairs)")
    steps_per_level = args.steps_per_level or steps_per_level
    losses = commandline.parse_losses(args.losses)
    seeds = commandline.seeds_from(args, default_seeds)
    setting = (f"{critic}_h{'x'.join(map(str, hidden))}_b{args.batch_size}_"
               f"{steps_per_level}steps")
    steps = steps_per_level * len(args.levels)
    grid = [(setting, name, params, seed,
             {"critic": critic, "hidden": list(hidden), "dim": DIM, "levels": args.levels,
              "steps_per_level": steps_per_level, "batch_size": args.batch_size, "lr": args.lr,
              "optimizer": "adam", "profile": args.profile,
              "params": bounds.make(name, **params).params})
            for name, params in losses for seed in seeds]
    todo = planning.plan(args.out, "gaussian", grid, args)
    if args.list:
        return
    print(f"gaussian: profile {args.profile}: {critic} critic {DIM}->{'->'.join(map(str, hidden))}"
          f", batch {args.batch_size}, levels {args.levels} x {steps_per_level} steps, "
          f"{len(losses)} losses x seeds {seeds} (setting {setting}): {len(todo)} of "
          f"{len(grid)} runs to do")
    for planned in todo:
        run = records.Run(planned, steps, progress_every=max(steps_per_level // 2, 1))
        run.finish(train(run, planned.name, planned.params, planned.seed, critic, hidden,
                         args.levels, steps_per_level, args.batch_size, args.lr))
    if not args.no_report:
        report(args.out)


# ---- summary and figure ---------------------------------------------------------------------

def report(out):
    runs = summaries.runs_to_report(out, "gaussian")
    if not runs:
        return None
    lines = ["# 20-D Gaussian staircase (paper Fig. 7)", ""]
    figures = []
    for setting in sorted({r["setting"] for r in runs}):
        group = [r for r in runs if r["setting"] == setting]
        lines += _table(setting, group)
        figures.append(_figure(setting, group, out))
    return summaries.write_summary(out, "gaussian", lines, runs, figures)


def _table(setting, runs):
    config = runs[0]["config"]
    levels = [f"{v:g}" for v in config["levels"]]
    B = config["batch_size"]
    lines = [f"## {setting}", "",
             f"{config['critic']} critic "
             f"{2 * DIM if config['critic'] == 'concat' else DIM}→"
             f"{'→'.join(map(str, config['hidden']))}{'→1' if config['critic'] == 'concat' else ''}"
             f", batch {B}, "
             f"{config['steps_per_level']} steps per level, Adam lr {config['lr']}; "
             f"seeds present {sorted({r['seed'] for r in runs})}. Bias and variance of the "
             "per-step values over the second half of each level, averaged over seeds "
             f"(InfoNCE cannot exceed log {B} = {math.log(B):.2f}).", ""]
    for stat in ("bias", "variance", "mse"):
        lines += [f"**{stat}** (levels in nats)", "",
                  "| loss | " + " | ".join(levels) + " | status |",
                  "|---|" + "---|" * (len(levels) + 1)]
        order = [name for pair in PANELS for name in pair]
        for loss in sorted({r["loss"] for r in runs},
                           key=lambda n: order.index(n) if n in order else len(order)):
            group = [r for r in runs if r["loss"] == loss]
            cells = []
            for level in levels:
                values = [r["final"]["levels"].get(level) for r in group]
                values = [v[stat] for v in values if v is not None]
                cells.append("—" if not values else _num(float(np.mean(values))))
            diverged = [f"seed {r['seed']} at step {r['diverged_at_step']}" for r in group
                        if r["status"] == "diverged"]
            status = ("diverged: " + "; ".join(diverged) if diverged else "ok") + \
                summaries.seeds_note(runs, setting, loss)
            lines.append(f"| {loss} | " + " | ".join(cells) + f" | {status} |")
        lines.append("")
    return lines


def _num(v):
    return f"{v:.3g}" if abs(v) >= 1000 else f"{v:.2f}"


def _figure(setting, runs, out):
    config = runs[0]["config"]
    B = config["batch_size"]
    present = {r["loss"] for r in runs}
    panels = [[name for name in pair if name in present] for pair in PANELS]
    panels = [p for p in panels if p]
    cols = 2
    fig = Figure(rows=(len(panels) + 1) // cols, cols=cols, panel_size=(520, 300),
                 title=f"20-D Gaussian, {setting}: raw values (light), EMA span 200 (dark), "
                       "lowest seed")
    top = max(config["levels"]) + 4
    for k, names in enumerate(panels):
        ax = fig.panel(k // cols, k % cols, title=" vs ".join(names), xlabel="step",
                       ylabel="nats", ylim=(-2, top), xlim=(0, config["steps_per_level"] *
                                                            len(config["levels"])))
        shown = [(min((r for r in runs if r["loss"] == name), key=lambda r: r["seed"]), color)
                 for name, color in zip(names, ("blue", "red", "green"))]
        for r, color in shown:  # every raw curve first, so no EMA is hidden under one
            ax.line(range(1, len(r["curves"]["value"]) + 1), r["curves"]["value"], color=color,
                    lighten=0.7, width=1)
        for r, color in shown:
            label = r["loss"] + (f" (diverged at {r['diverged_at_step']})"
                                 if r["status"] == "diverged" else "")
            values = r["curves"]["value"]
            ax.line(range(1, len(values) + 1), ema(values, 200), color=color, width=2, label=label)
        truth = [mi for mi in config["levels"] for _ in range(config["steps_per_level"])]
        ax.line(list(range(1, len(truth) + 1)), truth, color="black", width=1, label="true MI")
        ax.hline(math.log(B), color="gray", label=f"log {B}")
    return fig.save(f"{out}/gaussian/{setting}.png")
